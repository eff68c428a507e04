"""The query of ListWorkers and CountWorkers: a SQL-like filter over worker heartbeats.

Temporal's matching service keeps the heartbeats and filters them itself
(`service/matching/workers/worker_query_engine.go`); its rules, which differ from the
visibility query language's (query.py):

- The query is parsed as the WHERE clause of `select * from table1 where QUERY` by the
  same SQL parser visibility uses, so a syntax error reads as visibility's does, with
  the prefix "malformed query: " ("malformed query: syntax error at position N [near
  'T']"); a query of blanks only is parsed as an empty statement ("... at position 1").
  A query that starts with `where ` or `select ` is refused before that with a plain
  error, which the frontend masks as UNKNOWN ("something went wrong, please retry
  (HASH)"); a LIMIT clause is refused, "operation is not supported: 'limit' clause";
  GROUP BY, HAVING and ORDER BY are accepted and have no effect.
- The fields: WorkerInstanceKey, WorkerIdentity, HostName, TaskQueue, DeploymentName,
  BuildId, SdkName, SdkVersion and WorkerStatus (also Status, which the parser reads
  in lower case as a keyword), strings, compared with `=`, `!=` (`<>`), `STARTS_WITH`
  and `NOT STARTS_WITH` with a quoted, non-empty value; a status is its Go name
  (`Running`, `ShuttingDown`, ...); `IS NULL` is an empty string. StartTime and
  HeartbeatTime, times, compared with `= != < <= > >=` and `[NOT] BETWEEN` with an RFC
  3339 string or an integer of Unix nanoseconds; `IS NULL` is an unset time, and
  BETWEEN never holds for one.
- Conditions combine with AND, OR and parentheses. Anything else the parser accepts
  but the engine does not take (an unknown field, NOT, IN, LIKE, a value of the wrong
  kind, an empty string, a function, a bare name) is an error of that worker's
  evaluation, and `registry_impl.go` lists only the workers whose evaluation gives true
  without error: such a query lists nothing, and no error reaches the caller. AND and
  OR evaluate left to right and stop at the first error (`a OR b` is false for a
  worker when `a` errs, whatever `b`), as the engine's evaluateAnd and evaluateOr do.

The parser here takes the subset of the SQL grammar such filters use (comparisons, IS,
BETWEEN, IN, LIKE, STARTS_WITH, REGEXP, NOT, AND, OR, parentheses, function calls, the
trailing clauses); the lexer and the syntax error positions are visibility's (query.py).
SQL the server's parser takes beyond that (XOR, arithmetic, a hexadecimal value such as
0x1, subqueries) is a syntax error here, where the server would list nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from temporalio.api.enums.v1 import common_pb2 as enums
from temporalio.api.worker.v1 import message_pb2 as worker_pb

from . import errors, query
from .query_eval import OPERATORS

Heartbeat = worker_pb.WorkerHeartbeat
MALFORMED = "malformed query: "
# Words of the SQL grammar that are no column (the lexer gives them in lower case).
_KEYWORDS = query._KEYWORDS | {"STARTS_WITH", "TRUE", "FALSE", "OFFSET"}
_COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
_WORD_OPERATORS = ("IN", "LIKE", "STARTS_WITH", "REGEXP", "RLIKE")
_INT64 = re.compile(r"[+-]?[0-9]+")
# The escapes the SQL parser writes a string value back with (vitess EncodeSQLString),
# which the engine compares: a value holding one of these never equals a plain field.
_ENCODED = {"\0": "\\0", "'": "\\'", '"': '\\"', "\b": "\\b", "\n": "\\n", "\r": "\\r"}
_ENCODED.update({"\t": "\\t", "\x1a": "\\Z", "\\": "\\\\"})


def _status(hb: Heartbeat) -> str:
    """The status as the Go API's enum String() gives it: RUNNING -> "Running"."""
    number = int(hb.status)
    if number not in enums.WorkerStatus.values():
        return str(number)
    name = enums.WorkerStatus.Name(hb.status).removeprefix("WORKER_STATUS_")
    return "".join(part.capitalize() for part in name.split("_"))


STRING_FIELDS: dict[str, Callable[[Heartbeat], str]] = {
    "WorkerInstanceKey": lambda hb: hb.worker_instance_key,
    "WorkerIdentity": lambda hb: hb.worker_identity,
    "HostName": lambda hb: hb.host_info.host_name,
    "TaskQueue": lambda hb: hb.task_queue,
    "DeploymentName": lambda hb: hb.deployment_version.deployment_name,
    "BuildId": lambda hb: hb.deployment_version.build_id,
    "SdkName": lambda hb: hb.sdk_name,
    "SdkVersion": lambda hb: hb.sdk_version,
    "WorkerStatus": _status,
    "status": _status,
}
TIME_FIELDS = {"StartTime": "start_time", "HeartbeatTime": "heartbeat_time"}


class _Unmatched(Exception):
    """An error of one worker's evaluation: the worker is not listed."""


@dataclass(frozen=True, slots=True)
class _Col:
    name: str


@dataclass(frozen=True, slots=True)
class _Val:
    kind: str  # "str", "num" (a SQL value), "bool", "null", "tuple"
    text: str


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # and, or, not, paren, compare, range, is, func
    op: str = ""
    parts: tuple[object, ...] = ()


Predicate = Callable[[Heartbeat], bool]


def parse(text: str) -> Predicate:
    """The predicate of a ListWorkers/CountWorkers query ("" lists every worker); raises
    the server's error for a query it refuses."""
    if text == "":
        return lambda hb: True
    stripped = text.strip()
    if stripped.lower().startswith(("where ", "select ")):
        raise errors.masked(f"invalid filter: {stripped}")  # prepareQuery's plain error
    if not stripped:
        raise errors.invalid(f"{MALFORMED}syntax error at position 1")
    try:
        parser = _Parser(stripped)
        expr = parser.statement()
    except errors.ServiceError as exc:  # visibility's wording of the parser's error
        old = "invalid query: malformed SQL query: "
        raise errors.invalid(MALFORMED + exc.message.removeprefix(old)) from None
    if parser.limited:
        raise errors.invalid("operation is not supported: 'limit' clause")
    return lambda hb: _holds(expr, hb)


def _holds(expr: object, hb: Heartbeat) -> bool:
    try:
        return _eval(expr, hb)
    except _Unmatched:
        return False


class _Parser(query._Parser):
    """Visibility's lexer (its tokens, where each ends, its syntax errors) under the
    worker filter's grammar."""

    def __init__(self, text: str) -> None:
        super().__init__(text, {})
        self.limited = False

    def statement(self) -> object:
        if not self.tokens:
            raise self.syntax_error()
        expr = self.disjunction_()
        if self.keyword("GROUP"):
            self.expect("BY")
            self.comma_list(self.operand)
        if self.keyword("HAVING"):
            self.disjunction_()
        if self.keyword("ORDER"):
            self.expect("BY")
            self.comma_list(self.ordering)
        if self.keyword("LIMIT"):
            self.number()
            if self.peek() == ("op", ",") or self.keyword("OFFSET"):
                if self.peek() == ("op", ","):
                    self.take()
                self.number()
            self.limited = True
        if self.peek() is not None:
            raise self.syntax_error(self.i)
        return expr

    def ordering(self) -> None:
        self.operand()
        self.keyword("ASC", "DESC")

    def number(self) -> None:
        kind, _ = self.take()
        if kind != "num":
            raise self.syntax_error(self.i - 1)

    def disjunction_(self) -> object:
        left = self.conjunction_()
        while self.keyword("OR"):
            left = _Node("or", parts=(left, self.conjunction_()))
        return left

    def conjunction_(self) -> object:
        left = self.negation_()
        while self.keyword("AND"):
            left = _Node("and", parts=(left, self.negation_()))
        return left

    def negation_(self) -> object:
        if self.keyword("NOT"):
            return _Node("not", parts=(self.negation_(),))
        return self.predicate()

    def predicate(self) -> object:
        left = self.operand()
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            kind, word = self.take()
            if kind != "word" or word.upper() not in ("NULL", "TRUE", "FALSE"):
                raise self.syntax_error(self.i - 1)
            op = ("is not " if negate else "is ") + word.lower()
            return _Node("is", op, (left,))
        negate = self.keyword("NOT")
        if self.keyword("BETWEEN"):
            low = self.operand()
            self.expect("AND")
            high = self.operand()
            return _Node("range", "not between" if negate else "between", (left, low, high))
        token = self.peek()
        word = token[1].upper() if token is not None and token[0] == "word" else ""
        if word in _WORD_OPERATORS:
            self.take()
            right = self.tuple_() if word == "IN" else self.operand()
            op = ("not " if negate else "") + word.lower()
            return _Node("compare", op, (left, right))
        if negate:
            raise self.syntax_error(self.i)
        if token is not None and token[0] == "op" and token[1] in _COMPARISONS:
            self.take()
            op = "!=" if token[1] == "<>" else token[1]
            return _Node("compare", op, (left, self.operand()))
        return left

    def tuple_(self) -> _Val:
        self.expect("(")
        self.comma_list(self.operand)
        self.expect(")")
        return _Val("tuple", "")

    def operand(self) -> object:
        kind, text = self.take()
        if kind == "op" and text == "(":
            inner = self.disjunction_()
            self.expect(")")
            return _Node("paren", parts=(inner,))
        if kind in ("str", "num"):
            return _Val(kind, query._unquote(text) if kind == "str" else text)
        if kind != "word":
            raise self.syntax_error(self.i - 1)
        upper = text.upper()
        if upper in ("TRUE", "FALSE", "NULL"):
            return _Val("null" if upper == "NULL" else "bool", upper)
        if upper in _KEYWORDS:
            raise self.syntax_error(self.i - 1)
        if self.peek() == ("op", "("):  # a function call
            self.take()
            if self.peek() != ("op", ")"):
                self.comma_list(self.operand)
            self.expect(")")
            return _Node("func", text)
        if text.startswith("`"):
            return _Col(text.strip("`"))
        # the parser gives a keyword used as a name in lower case: Status -> status
        return _Col(text.lower() if text.lower() == "status" else text)


# -- evaluation: true, false, or _Unmatched ----------------------------------------------


def _eval(expr: object, hb: Heartbeat) -> bool:
    if not isinstance(expr, _Node):  # a bare name or value is no condition
        raise _Unmatched
    if expr.kind == "and":
        return _eval(expr.parts[0], hb) and _eval(expr.parts[1], hb)
    if expr.kind == "or":
        return _eval(expr.parts[0], hb) or _eval(expr.parts[1], hb)
    if expr.kind == "paren":
        return _eval(expr.parts[0], hb)
    if expr.kind == "compare":
        return _compare(expr.op, expr.parts[0], expr.parts[1], hb)
    if expr.kind == "range":
        return _range(expr.op, expr.parts, hb)
    if expr.kind == "is":
        return _is(expr.op, expr.parts[0], hb)
    raise _Unmatched  # NOT, a function


def _column(left: object) -> str:
    if not isinstance(left, _Col):
        raise _Unmatched
    return left.name


def _compare(op: str, left: object, right: object, hb: Heartbeat) -> bool:
    name = _column(left)
    if not isinstance(right, _Val) or right.kind not in ("str", "num"):
        raise _Unmatched  # a SQL value only: not a name, a boolean, NULL or a tuple
    if name in STRING_FIELDS:
        if right.kind != "str":
            raise _Unmatched  # "value 5 is not a string value"
        value = "".join(_ENCODED.get(c, c) for c in right.text)
        if not value:
            raise _Unmatched  # "TaskQueue cannot be empty"
        have = STRING_FIELDS[name](hb)
        if op in ("=", "!="):
            return (have == value) == (op == "=")
        if op in ("starts_with", "not starts_with"):
            return have.startswith(value) == (op == "starts_with")
        raise _Unmatched
    if name in TIME_FIELDS:
        expected = _time(right)
        stamp = _stamp(hb, name) or 0  # an unset time reads as the Unix epoch
        if op not in OPERATORS or op == "<>":
            raise _Unmatched
        return bool(OPERATORS[op](stamp, expected))
    raise _Unmatched  # "unknown or unsupported worker heartbeat search field"


def _range(op: str, parts: tuple[object, ...], hb: Heartbeat) -> bool:
    name = _column(parts[0])
    if name not in TIME_FIELDS:
        raise _Unmatched
    low, high = _time(parts[1]), _time(parts[2])
    have = _stamp(hb, name)
    if have is None:
        return False  # no time, no range holds
    inside = low <= have <= high
    return inside if op == "between" else not inside


def _is(op: str, left: object, hb: Heartbeat) -> bool:
    name = _column(left)
    if op not in ("is null", "is not null"):
        raise _Unmatched
    if name in STRING_FIELDS:
        empty = STRING_FIELDS[name](hb) == ""
    elif name in TIME_FIELDS:
        empty = _stamp(hb, name) is None
    else:
        raise _Unmatched
    return empty == (op == "is null")


def _stamp(hb: Heartbeat, name: str) -> int | None:
    """A time field in ns since the epoch; None when the heartbeat does not set it."""
    field = TIME_FIELDS[name]
    if not hb.HasField(field):  # type: ignore[arg-type]
        return None
    return int(getattr(hb, field).ToNanoseconds())


def _time(value: object) -> int:
    """A time value as the engine converts it (`sqlquery.ConvertToTime`): an integer of
    Unix nanoseconds (none before the epoch), else a quoted RFC 3339 time."""
    if not isinstance(value, _Val) or value.kind not in ("str", "num"):
        raise _Unmatched
    if value.kind == "num" and _INT64.fullmatch(value.text):
        number = int(value.text)
        if -(2**63) <= number < 2**63:
            return max(number, 0)
    if value.kind != "str":
        raise _Unmatched
    when = query.parse_datetime("".join(_ENCODED.get(c, c) for c in value.text))
    if when is None:
        raise _Unmatched
    return when
