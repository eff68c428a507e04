"""The validator's checks of the server's limits (rules LIMIT-*, spec/history.md).

What a history shows of the limits the history service enforces (service/enforce.py),
checked as the validator reads each event (`CHECKS`, after the event's entity machine)
and once at the end (`finish`), against the limits the history was written under:

- LIMIT-BLOB-SIZE, LIMIT-MEMO-SIZE, LIMIT-SEARCH-ATTRIBUTES-SIZE: no event holds a
  payload, memo or search-attribute map the server would have refused, converted or
  terminated the run for (memo and search attributes as the run holds them after each
  upsert is merged in);
- LIMIT-PENDING-*: a new activity, child, signal or cancel request never makes more
  pending than the limit;
- LIMIT-HISTORY-SIZE: a workflow task never starts with the history larger than the
  error level (the request would have terminated the run);
- LIMIT-HISTORY-COUNT: past the error level, only the transaction that closes the run
  is written: no new workflow task, no workflow-task timeout, and the history ends
  with its close event (the events of the run's first batch, written by a start or a
  reset, are not counted against it: the server checks no start);
- LIMIT-SUGGEST-CONTINUE-AS-NEW: a WorkflowTaskStarted suggests continue-as-new, with
  the reason, when the history's size or count reached the suggest level, and gives
  no reason the history does not show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from core.enums import EventType, SuggestContinueAsNewReason, WorkflowTaskFailedCause
from core.events import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.opaque import Opaque
from core.proto_size import (
    failure_size,
    memo_size,
    payload_data_length,
    payload_map_data_size,
    payloads_map_size,
    payloads_size,
    search_attributes_size,
    upper_bound,
)
from core.statemachine.history import limits as lim
from core.statemachine.history.fold import Fold
from core.statemachine.history.limits import merged

E = EventType
Reason = SuggestContinueAsNewReason
Check = Callable[[Fold, HistoryEvent], None]
A = TypeVar("A")
Measure = Callable[[Opaque], int]


def _typed(event: HistoryEvent, cls: type[A]) -> A | None:
    attrs = event.attributes  # (H4 has checked the type; this narrows it for the checker)
    return attrs if isinstance(attrs, cls) else None


def _blob(
    fold: Fold, event: HistoryEvent, name: str, value: Opaque | None, measure: Measure
) -> None:
    limit = fold.limits.blob_size_error
    if value is None or upper_bound(value.text) <= limit:
        return
    size = measure(value)
    if size > limit:
        fold.violate(
            lim.BLOB_SIZE,
            event,
            f"{event.event_type.name}.{name} is {size} bytes, over limit.blobSize.error {limit}",
        )


def _memo(fold: Fold, event: HistoryEvent, value: Opaque | None) -> None:
    limit = fold.limits.memo_size_error
    if value is None or upper_bound(value.text) <= limit:
        return
    size = memo_size(value)
    if size > limit:
        fold.violate(
            lim.MEMO_SIZE, event, f"the memo is {size} bytes, over limit.memoSize.error {limit}"
        )


def _search_attributes(fold: Fold, event: HistoryEvent, value: Opaque | None) -> None:
    limits = fold.limits
    most = limits.search_attribute_value_size
    if value is None or upper_bound(value.text) <= min(most, limits.search_attributes_total_size):
        return
    body = value.value()
    fields = body.get("indexedFields") if isinstance(body, dict) else None
    for name, payload in sorted((fields if isinstance(fields, dict) else {}).items()):
        size = payload_data_length(payload)
        if size > most:
            message = lim.search_attribute_value_message(name, size, most)
            fold.violate(lim.SEARCH_ATTRIBUTES_SIZE, event, message)
            return
    total = search_attributes_size(value)
    if total > limits.search_attributes_total_size:
        message = lim.search_attributes_total_message(total, limits.search_attributes_total_size)
        fold.violate(lim.SEARCH_ATTRIBUTES_SIZE, event, message)


def _pending(fold: Fold, event: HistoryEvent, kind: lim.Pending, count: int) -> None:
    limit = lim.limit_of(fold.limits, kind)
    if limit > 0 and count > limit:
        fold.violate(kind.rule, event, f"{count} {kind.description}, over the limit of {limit}")


def _payload(cls: type, name: str, measure: Measure) -> Check:
    """The check of one payload-bearing attribute of events of `cls`."""

    def check(fold: Fold, event: HistoryEvent) -> None:
        if isinstance(event.attributes, cls):
            value = getattr(event.attributes, name)
            _blob(fold, event, name, value if isinstance(value, Opaque) else None, measure)

    return check


def _new_run(
    fold: Fold,
    event: HistoryEvent,
    given: Opaque | None,
    memo: Opaque | None,
    search_attributes: Opaque | None,
) -> None:
    """What a start, a continue-as-new and a child start carry for a new run."""
    _blob(fold, event, "input", given, payloads_size)
    _memo(fold, event, memo)
    _search_attributes(fold, event, search_attributes)


def _started(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, WorkflowExecutionStartedEventAttributes)
    if a is not None:
        _new_run(fold, event, a.input, a.memo, a.search_attributes)
        fold.memo, fold.search_attributes = a.memo, a.search_attributes


def _continued(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, WorkflowExecutionContinuedAsNewEventAttributes)
    if a is not None:
        _new_run(fold, event, a.input, a.memo, a.search_attributes)


def _child(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, StartChildWorkflowExecutionInitiatedEventAttributes)
    if a is not None:
        _new_run(fold, event, a.input, a.memo, a.search_attributes)
        _pending(fold, event, lim.CHILDREN, len(fold.children))


def _activity(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, ActivityTaskScheduledEventAttributes)
    if a is not None:
        _blob(fold, event, "input", a.input, payloads_size)
        _pending(fold, event, lim.ACTIVITIES, len(fold.activities))


def _signal(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, SignalExternalWorkflowExecutionInitiatedEventAttributes)
    if a is not None:
        _blob(fold, event, "input", a.input, payloads_size)
        _pending(fold, event, lim.SIGNALS, len(fold.signals))


def _cancel(fold: Fold, event: HistoryEvent) -> None:
    _pending(fold, event, lim.CANCEL_REQUESTS, len(fold.cancels))


def _marker(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, MarkerRecordedEventAttributes)
    if a is not None:
        _blob(fold, event, "details", a.details, lambda v: payloads_map_size(v.value()))


def _upserted(fold: Fold, event: HistoryEvent, value: Opaque | None, key: str) -> None:
    limit = fold.limits.blob_size_error
    if value is not None and upper_bound(value.text) > limit:
        body = value.value()
        size = payload_map_data_size(body.get(key) if isinstance(body, dict) else None)
        if size > limit:
            message = f"an upsert of {size} bytes, over limit.blobSize.error {limit}"
            fold.violate(lim.BLOB_SIZE, event, message)


def _search_attributes_upserted(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, UpsertWorkflowSearchAttributesEventAttributes)
    if a is not None:
        _upserted(fold, event, a.search_attributes, "indexedFields")
        fold.search_attributes = merged(
            fold.search_attributes, a.search_attributes, "indexedFields"
        )
        _search_attributes(fold, event, fold.search_attributes)


def _properties_modified(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, WorkflowPropertiesModifiedEventAttributes)
    if a is not None:
        _upserted(fold, event, a.upserted_memo, "fields")
        fold.memo = merged(fold.memo, a.upserted_memo, "fields")
        _memo(fold, event, fold.memo)


def _wft_scheduled(fold: Fold, event: HistoryEvent) -> None:
    first_batch = fold.first_batch_open
    fold.first_batch_open = False
    a = _typed(event, WorkflowTaskScheduledEventAttributes)
    limit = fold.limits.history_count_error
    if a is not None and event.event_id > limit and a.attempt <= 1 and not first_batch:
        message = f"a new workflow task at event {event.event_id}, past limit.historyCount.error"
        fold.violate(lim.HISTORY_COUNT, event, f"{message} {limit}: the run must close")


def _wft_failed(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, WorkflowTaskFailedEventAttributes)
    if a is not None and a.cause is WorkflowTaskFailedCause.RESET_WORKFLOW:
        fold.first_batch_open = True  # a reset writes its run's first batch up to here


def _wft_timed_out(fold: Fold, event: HistoryEvent) -> None:
    limit = fold.limits.history_count_error
    if event.event_id > limit:
        message = f"a workflow task timed out at event {event.event_id}, past"
        fold.violate(lim.HISTORY_COUNT, event, f"{message} limit.historyCount.error {limit}")


def _wft_started(fold: Fold, event: HistoryEvent) -> None:
    a = _typed(event, WorkflowTaskStartedEventAttributes)
    if a is None:
        return
    limits = fold.limits
    size = a.history_size_bytes
    if size > limits.history_size_error:
        message = f"a workflow task started with a {size}-byte history, over"
        fold.violate(lim.HISTORY_SIZE, event, f"{message} limit.historySize.error")
    if _suggestion_wrong(a, event.event_id, limits):
        reasons = [r.name for r in a.suggest_continue_as_new_reasons]
        message = f"suggest_continue_as_new={a.suggest_continue_as_new} {reasons} with"
        fold.violate(
            lim.SUGGEST_CONTINUE_AS_NEW, event, f"{message} {size} bytes at event {event.event_id}"
        )


def _suggestion_wrong(
    a: WorkflowTaskStartedEventAttributes, event_id: int, limits: lim.Limits
) -> bool:
    """The server counts the next event id when the task starts: this event's, or (for a
    task written only when it completed) its Scheduled event's, one less."""
    reasons, suggested = a.suggest_continue_as_new_reasons, a.suggest_continue_as_new
    by_size = a.history_size_bytes >= limits.history_size_suggest_continue_as_new
    count_limit = limits.history_count_suggest_continue_as_new
    by_count = event_id - 1 >= count_limit
    return (
        (by_size and not (suggested and Reason.HISTORY_SIZE_TOO_LARGE in reasons))
        or (by_count and not (suggested and Reason.TOO_MANY_HISTORY_EVENTS in reasons))
        or (Reason.HISTORY_SIZE_TOO_LARGE in reasons and not by_size)
        or (Reason.TOO_MANY_HISTORY_EVENTS in reasons and event_id < count_limit)
    )


CHECKS: Mapping[EventType, Check] = MappingProxyType(
    {
        E.WORKFLOW_EXECUTION_STARTED: _started,
        E.WORKFLOW_EXECUTION_SIGNALED: _payload(
            WorkflowExecutionSignaledEventAttributes, "input", payloads_size
        ),
        E.WORKFLOW_EXECUTION_COMPLETED: _payload(
            WorkflowExecutionCompletedEventAttributes, "result", payloads_size
        ),
        E.WORKFLOW_EXECUTION_FAILED: _payload(
            WorkflowExecutionFailedEventAttributes, "failure", failure_size
        ),
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: _continued,
        E.WORKFLOW_TASK_SCHEDULED: _wft_scheduled,
        E.WORKFLOW_TASK_STARTED: _wft_started,
        E.WORKFLOW_TASK_FAILED: _wft_failed,
        E.WORKFLOW_TASK_TIMED_OUT: _wft_timed_out,
        E.ACTIVITY_TASK_SCHEDULED: _activity,
        E.ACTIVITY_TASK_COMPLETED: _payload(
            ActivityTaskCompletedEventAttributes, "result", payloads_size
        ),
        E.ACTIVITY_TASK_FAILED: _payload(
            ActivityTaskFailedEventAttributes, "failure", failure_size
        ),
        E.ACTIVITY_TASK_CANCELED: _payload(
            ActivityTaskCanceledEventAttributes, "details", payloads_size
        ),
        E.MARKER_RECORDED: _marker,
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED: _child,
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _signal,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: _cancel,
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _search_attributes_upserted,
        E.WORKFLOW_PROPERTIES_MODIFIED: _properties_modified,
    }
)


def finish(fold: Fold, last: HistoryEvent | None) -> None:
    """At the end of the history: past the count limit, the run must have closed."""
    limit = fold.limits.history_count_error
    if last is not None and fold.count > limit and not fold.close_event_id:
        message = f"{fold.count} events, over limit.historyCount.error {limit}, and the run"
        fold.violate(lim.HISTORY_COUNT, last, f"{message} is still open")
