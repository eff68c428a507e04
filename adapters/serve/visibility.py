"""Visibility: what List/CountWorkflowExecutions see of each run, and Temporal's query
language over it.

A run's visibility record is derived from what the history service committed: its
WorkflowExecutionStarted event (type, task queue, memo, search attributes, parent),
later UpsertWorkflowSearchAttributes and WorkflowPropertiesModified events, and its
status and close time (Temporal writes the same facts through its visibility queue,
`service/history/visibility_queue_task_executor.go`). Records are computed on demand
and remembered per (run, history length).

The query language is the SQL-like subset Temporal's visibility accepts
(`common/persistence/visibility/store/query/`): comparisons `= != > >= < <=` of a
search attribute with a value, `IN (...)`, `NOT IN`, `BETWEEN ... AND ...`,
`STARTS_WITH`, `IS NULL` / `IS NOT NULL`, combined with AND, OR, NOT and parentheses,
and an optional `ORDER BY attr [ASC|DESC]`. An unknown attribute or a syntax error is
INVALID_ARGUMENT ("invalid query: ..."), as the server answers.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.history.service.state import RunStatus
from sim.persistence import RunRecord

from . import errors

STATUS_NAMES = {
    RunStatus.RUNNING: "Running",
    RunStatus.COMPLETED: "Completed",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELED: "Canceled",
    RunStatus.TERMINATED: "Terminated",
    RunStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    RunStatus.TIMED_OUT: "TimedOut",
}
STATUS_NUMBERS = {  # temporal.api.enums.v1.WorkflowExecutionStatus
    RunStatus.RUNNING: 1,
    RunStatus.COMPLETED: 2,
    RunStatus.FAILED: 3,
    RunStatus.CANCELED: 4,
    RunStatus.TERMINATED: 5,
    RunStatus.CONTINUED_AS_NEW: 6,
    RunStatus.TIMED_OUT: 7,
}

Value = str | int | float | bool | None | list[str]


@dataclass(slots=True)
class Record:
    """One run as visibility sees it."""

    run: RunRecord
    workflow_type: str
    task_queue: str
    start_time: int
    execution_time: int
    close_time: int
    status: RunStatus
    history_length: int
    memo: dict[str, object] = field(default_factory=dict)  # protojson Payloads by key
    search_attributes: dict[str, object] = field(default_factory=dict)  # protojson
    parent: tuple[str, str] | None = None
    root: tuple[str, str] | None = None

    def attribute(self, name: str) -> Value:
        """A search attribute's value, decoded from its payload (None when unset)."""
        system: dict[str, Value] = {
            "WorkflowId": self.run.workflow_id,
            "RunId": self.run.state.run_id,
            "WorkflowType": self.workflow_type,
            "ExecutionStatus": STATUS_NAMES[self.status],
            "StartTime": self.start_time,
            "ExecutionTime": self.execution_time,
            "CloseTime": self.close_time or None,
            "HistoryLength": self.history_length,
            "TaskQueue": self.task_queue,
            "ExecutionDuration": (self.close_time - self.execution_time)
            if self.close_time
            else None,
        }
        if name in system:
            return system[name]
        payload = self.search_attributes.get(name)
        if not isinstance(payload, dict):
            return None
        return _payload_value(payload)


def _payload_value(payload: dict[str, object]) -> Value:
    data = payload.get("data")
    if not isinstance(data, str):
        return None
    try:
        value = json.loads(base64.b64decode(data))
    except (ValueError, TypeError):
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    return None


def record_of(run: RunRecord) -> Record:
    """The visibility record of `run`, from its committed events and state."""
    events = run.events
    state = run.state
    first = events[0].attributes if events else None
    memo: dict[str, object] = {}
    attrs: dict[str, object] = {}
    parent = None
    delay = 0
    if first is not None and events[0].event_type is EventType.WORKFLOW_EXECUTION_STARTED:
        memo.update(_fields(getattr(first, "memo", None), "fields"))
        attrs.update(_fields(getattr(first, "search_attributes", None), "indexedFields"))
        execution = getattr(first, "parent_workflow_execution", None)
        if execution is not None and execution.workflow_id:
            parent = (execution.workflow_id, execution.run_id)
        delay = getattr(first, "first_workflow_task_backoff", None) or 0
    for event in events[1:]:
        _apply(event, memo, attrs)
    close_time = (events[-1].event_time or 0) if not state.running and events else 0
    return Record(
        run=run,
        workflow_type=state.workflow_type,
        task_queue=state.task_queue,
        start_time=state.start_time,
        execution_time=state.start_time + delay,
        close_time=close_time,
        status=state.status,
        history_length=len(events),
        memo=memo,
        search_attributes=attrs,
        parent=parent,
    )


def _fields(value: object, key: str) -> dict[str, object]:
    if value is None:
        return {}
    data = value.value() if hasattr(value, "value") else None
    if isinstance(data, dict) and isinstance(data.get(key), dict):
        return dict(data[key])
    return {}


def _apply(event: HistoryEvent, memo: dict[str, object], attrs: dict[str, object]) -> None:
    if event.event_type is EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        for name, payload in _fields(
            getattr(event.attributes, "search_attributes", None), "indexedFields"
        ).items():
            # an upsert with an empty (null) value removes the attribute
            if isinstance(payload, dict) and _payload_value(payload) in (None, []):
                attrs.pop(name, None)
            else:
                attrs[name] = payload
    elif event.event_type is EventType.WORKFLOW_PROPERTIES_MODIFIED:
        for name, payload in _fields(
            getattr(event.attributes, "upserted_memo", None), "fields"
        ).items():
            if isinstance(payload, dict) and payload.get("data") in (None, "", "bnVsbA=="):
                memo.pop(name, None)
            else:
                memo[name] = payload


# -- the query language ----------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
      | (?P<word>`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
Predicate = Callable[[Record], bool]


def _always(record: Record) -> bool:
    return True


@dataclass(slots=True)
class Query:
    predicate: Predicate
    order_by: str | None = None
    descending: bool = False


class _Parser:
    def __init__(self, text: str, types: dict[str, str]) -> None:
        self.types = types
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _bad(f"syntax error at {text[pos : pos + 20]!r}")
            kind = m.lastgroup or ""
            value = m.group(kind)
            self.tokens.append((kind, value))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _bad("unexpected end of query")
        self.i += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        _, got = self.take()
        if got.upper() != value:
            raise _bad(f"expected {value}, got {got!r}")

    def parse(self) -> Query:
        predicate: Predicate = _always
        first = self.peek()
        if first is not None and not (first[0] == "word" and first[1].upper() == "ORDER"):
            predicate = self.disjunction()
        query = Query(predicate)
        if self.keyword("ORDER"):
            self.expect("BY")
            query.order_by = self.attribute()
            if self.keyword("DESC"):
                query.descending = True
            else:
                self.keyword("ASC")
        rest = self.peek()
        if rest is not None:
            raise _bad(f"unexpected {rest[1]!r}")
        return query

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda r: not inner(r)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def attribute(self) -> str:
        kind, name = self.take()
        if kind != "word":
            raise _bad(f"expected a search attribute, got {name!r}")
        name = name.strip("`")
        if name not in self.types:
            raise _bad(f"invalid search attribute: {name}")
        return name

    def value(self, name: str) -> Value:
        kind, text = self.take()
        if kind == "str":
            return _convert(name, self.types[name], text[1:-1])
        if kind == "num":
            return _convert(name, self.types[name], text)
        if kind == "word" and text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        raise _bad(f"expected a value for {name}, got {text!r}")

    def comparison(self) -> Predicate:
        name = self.attribute()
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            self.expect("NULL")
            return lambda r: (r.attribute(name) is None) != negate
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("(")
            options = [self.value(name)]
            while self.peek() == ("op", ","):
                self.take()
                options.append(self.value(name))
            self.expect(")")
            return lambda r: _in(r.attribute(name), options) != negate
        if self.keyword("BETWEEN"):
            low = self.value(name)
            self.expect("AND")
            high = self.value(name)
            return lambda r: _between(r.attribute(name), low, high) != negate
        if self.keyword("STARTS_WITH"):
            prefix = self.value(name)
            return lambda r: (
                (
                    isinstance(r.attribute(name), str)
                    and str(r.attribute(name)).startswith(str(prefix))
                )
                != negate
            )
        if negate:
            raise _bad("NOT must be followed by IN, BETWEEN or STARTS_WITH here")
        kind, op = self.take()
        if kind != "op" or op not in ("=", "!=", "<>", ">", ">=", "<", "<="):
            raise _bad(f"expected an operator after {name}, got {op!r}")
        right = self.value(name)
        return lambda r: _compare(r.attribute(name), op, right)


def _bad(message: str) -> errors.ServiceError:
    return errors.invalid(f"invalid query: {message}")


def _convert(name: str, kind: str, text: str) -> Value:
    if name == "ExecutionStatus":
        for status in STATUS_NAMES.values():
            if status.lower() == text.lower():
                return status
        raise _bad(f"invalid ExecutionStatus value {text!r}")
    if kind == "DATETIME":
        try:
            parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(f"invalid datetime {text!r} for {name}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.UTC)
        return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000
    if kind == "INT":
        try:
            return int(text)
        except ValueError:
            raise _bad(f"invalid integer {text!r} for {name}") from None
    if kind == "DOUBLE":
        try:
            return float(text)
        except ValueError:
            raise _bad(f"invalid number {text!r} for {name}") from None
    if kind == "BOOL":
        return text.lower() == "true"
    return text


def _compare(left: Value, op: str, right: Value) -> bool:
    if isinstance(left, list):
        return (
            (right in left) if op == "=" else (right not in left) if op in ("!=", "<>") else False
        )
    if left is None or right is None:
        return op in ("!=", "<>") and left != right
    try:
        if op == "=":
            return left == right
        if op in ("!=", "<>"):
            return left != right
        if op == ">":
            return left > right  # type: ignore[operator]
        if op == ">=":
            return left >= right  # type: ignore[operator]
        if op == "<":
            return left < right  # type: ignore[operator]
        return left <= right  # type: ignore[operator]
    except TypeError:
        return False


def _in(left: Value, options: list[Value]) -> bool:
    if isinstance(left, list):
        return any(o in left for o in options)
    return left in options


def _between(left: Value, low: Value, high: Value) -> bool:
    return _compare(left, ">=", low) and _compare(left, "<=", high)


def parse_query(text: str, types: dict[str, str]) -> Query:
    return _Parser(text, types).parse()


def sort_key(record: Record, order_by: str | None) -> tuple[object, ...]:
    """Default order: running first, then by start time, newest first (as Temporal lists
    them: by CloseTime then StartTime, descending)."""
    if order_by is None:
        return (-(record.close_time or 1 << 62), -record.start_time, record.run.state.run_id)
    value = record.attribute(order_by)
    return (value is None, str(value) if isinstance(value, list) else value)
