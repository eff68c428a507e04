"""Visibility: what List/CountWorkflowExecutions see of each run.

A run's visibility record is derived from what the history service committed: its
WorkflowExecutionStarted event (type, task queue, memo, search attributes, parent),
later UpsertWorkflowSearchAttributes and WorkflowPropertiesModified events, the
`BuildIds` search attribute the service keeps from workflow task completions, and its
status and close time (Temporal writes the same facts through its visibility queue,
`service/history/visibility_queue_task_executor.go`). Records are computed on demand
from the run as persisted. The query language over them is in `query.py`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.history.service.state import RunStatus
from core.statemachine.history.service.worker_versions import build_ids_payload
from sim.persistence import RunRecord

from .query import EXECUTION_STATUSES, Query, Value, parse_datetime, parse_query
from .run_facts import state_transitions

STATUS_NUMBERS = {  # temporal.api.enums.v1.WorkflowExecutionStatus
    RunStatus.RUNNING: 1,
    RunStatus.COMPLETED: 2,
    RunStatus.FAILED: 3,
    RunStatus.CANCELED: 4,
    RunStatus.TERMINATED: 5,
    RunStatus.CONTINUED_AS_NEW: 6,
    RunStatus.TIMED_OUT: 7,
}
STATUS_NAMES = {status: EXECUTION_STATUSES[n - 1] for status, n in STATUS_NUMBERS.items()}
BUILD_IDS = "BuildIds"  # the builds that completed the run's workflow tasks (worker_versions.py)
DATETIME_TYPE = base64.b64encode(b"Datetime").decode()  # a payload's metadata "type"
KEYWORD_LIST_TYPE = base64.b64encode(b"KeywordList").decode()


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
    root: tuple[str, str] = ("", "")  # the root of its tree (root_of)

    def attribute(self, name: str) -> Value:
        """A search attribute's value, decoded from its payload (None when unset)."""
        closed = bool(self.close_time)
        if name == "StateTransitionCount":  # computed only when a query names it
            return state_transitions(self.run) if closed else None
        parent = self.parent or (None, None)
        system: dict[str, Value] = {
            "WorkflowId": self.run.workflow_id,
            "RunId": self.run.state.run_id,
            "WorkflowType": self.workflow_type,
            "ExecutionStatus": STATUS_NAMES[self.status],
            "StartTime": self.start_time,
            "ExecutionTime": self.execution_time,
            "CloseTime": self.close_time or None,
            "TaskQueue": self.task_queue,
            "ExecutionDuration": (self.close_time - self.execution_time) if closed else None,
            # only the close record carries these and StateTransitionCount
            # (getClosedVisibilityRequest, visibility_queue_task_executor.go): a
            # running run's are NULL
            "HistoryLength": self.history_length if closed else None,
            "HistorySizeBytes": self.run.size_bytes if closed else None,
            "ParentWorkflowId": parent[0],
            "ParentRunId": parent[1],
            "RootWorkflowId": self.root[0],
            "RootRunId": self.root[1],
        }
        if name in system:
            return system[name]
        payload = self.search_attributes.get(name)
        if not isinstance(payload, dict):
            return None
        return _payload_value(payload)


def _payload_value(payload: dict[str, object]) -> Value:
    """A search attribute payload's value (a Datetime's as ns since the epoch)."""
    data = payload.get("data")
    if not isinstance(data, str):
        return None
    try:
        value = json.loads(base64.b64decode(data))
    except (ValueError, TypeError):
        return None
    metadata = payload.get("metadata")
    kind = metadata.get("type") if isinstance(metadata, dict) else None
    if isinstance(value, list) and kind not in (None, KEYWORD_LIST_TYPE):
        # a list of one, as the TypeScript SDK sends every attribute: the server decodes
        # it as its item (DecodeValue, common/searchattribute/sadefs/encode_value.go)
        if not value:
            return []
        value = value[0] if len(value) == 1 else None
    if kind == DATETIME_TYPE:
        return parse_datetime(value) if isinstance(value, str) else None
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
    if state.pause_search_attribute:  # kept in mutable state, not written as an event
        attrs[PAUSE_INFO] = _keyword_list(state.pause_search_attribute)
    build_ids = build_ids_payload(state.build_ids)  # kept by the service, in no event
    if build_ids is not None:
        attrs[BUILD_IDS] = build_ids
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
        root=root_of(run),
    )


def root_of(run: RunRecord) -> tuple[str, str]:
    """The root of the run's tree: a child's is the chain's (passed down from its
    parent), any other run is its own root, a continued or retried run too
    (`service/history/workflow/mutable_state_impl.go` sets RootWorkflowId from the start
    event's root execution, present only for children)."""
    state = run.state
    if state.parent is not None and state.root is not None:
        return state.root
    return run.workflow_id, state.run_id


PAUSE_INFO = "TemporalPauseInfo"


def _keyword_list(values: tuple[str, ...]) -> dict[str, object]:
    """A KeywordList search attribute's payload, as protojson (as the server encodes
    it: json/plain, with its type in the metadata)."""
    return {
        "metadata": {"encoding": _b64(b"json/plain"), "type": _b64(b"KeywordList")},
        "data": _b64(json.dumps(list(values), separators=(",", ":")).encode()),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


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


def sort_key(record: Record, order_by: str | None) -> tuple[object, ...]:
    """Default order: running first, then by start time, newest first (as Temporal lists
    them: by CloseTime then StartTime, descending)."""
    if order_by is None:
        return (-(record.close_time or 1 << 62), -record.start_time, record.run.state.run_id)
    value = record.attribute(order_by)
    return (value is None, str(value) if isinstance(value, list) else value)


__all__ = ["Query", "parse_query"]
