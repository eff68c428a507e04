"""Each command's limit checks, in the order the server makes them (rules LIMIT-*).

One function per command type the server limits, called by its handler in
command_handlers.py once the command's attributes are known to be well formed; each
returns None, or the Rejection (enforce.py) the command's completion meets. The order of
the checks, the causes and the error texts are the server's, from the handleCommand*
methods of service/history/api/respondworkflowtaskcompleted/
workflow_task_completed_handler.go. (The server makes some of its attribute checks
after these; where a command breaks both, the model reports the limit.)
"""

from __future__ import annotations

from collections.abc import Callable

from core.commands import (
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    RecordMarkerCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import WorkflowTaskFailedCause
from core.opaque import Opaque
from core.proto_size import (
    failure_size,
    payload_map_data_size,
    payloads_map_size,
    upper_bound,
)
from core.statemachine.history import limits as lim
from core.statemachine.history.limits import Limits, merged
from core.statemachine.history.service import enforce
from core.statemachine.history.service.enforce import Rejection
from core.statemachine.history.service.state import MutableState

Cause = WorkflowTaskFailedCause


def schedule_activity(
    limits: Limits, s: MutableState, a: ScheduleActivityTaskCommandAttributes
) -> Rejection | None:
    error = "ScheduleActivityTaskCommandAttributes.Input exceeds size limit."
    return enforce.blob(
        limits, a.input, Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, error
    ) or enforce.pending(limits, lim.ACTIVITIES, len(s.activities))


def complete_workflow(
    limits: Limits, a: CompleteWorkflowExecutionCommandAttributes
) -> Rejection | None:
    # The server names this cause for an oversized result (handleCommandCompleteWorkflow).
    error = "CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit."
    return enforce.blob(limits, a.result, Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, error)


def fail_workflow(limits: Limits, a: FailWorkflowExecutionCommandAttributes) -> Rejection | None:
    error = "FailWorkflowExecutionCommandAttributes.Failure exceeds size limit."
    cause = Cause.BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES
    return enforce.blob(limits, a.failure, cause, error, measure=failure_size)


def record_marker(limits: Limits, a: RecordMarkerCommandAttributes) -> Rejection | None:
    if a.details is None or upper_bound(a.details.text) <= limits.blob_size_error:
        return None
    error = "RecordMarkerCommandAttributes.Details exceeds size limit."
    size = payloads_map_size(a.details.value())
    return enforce.blob_size(limits, size, Cause.BAD_RECORD_MARKER_ATTRIBUTES, error)


def continue_as_new(
    limits: Limits, a: ContinueAsNewWorkflowExecutionCommandAttributes
) -> Rejection | None:
    cause = Cause.BAD_CONTINUE_AS_NEW_ATTRIBUTES
    prefix = "ContinueAsNewWorkflowExecutionCommandAttributes."
    return (
        enforce.blob(limits, a.input, cause, f"{prefix} Input exceeds size limit.")
        or enforce.memo(limits, a.memo, cause, f"{prefix} Memo exceeds size limit.")
        or enforce.search_attributes(limits, a.search_attributes, cause)
    )


def start_child(
    limits: Limits, s: MutableState, a: StartChildWorkflowExecutionCommandAttributes
) -> Rejection | None:
    cause = Cause.BAD_START_CHILD_EXECUTION_ATTRIBUTES
    prefix = "StartChildWorkflowExecutionCommandAttributes"
    return (
        enforce.blob(limits, a.input, cause, f"{prefix}. Input exceeds size limit.")
        or enforce.memo(limits, a.memo, cause, f"{prefix}.Memo exceeds size limit.")
        or enforce.search_attributes(limits, a.search_attributes, cause)
        or enforce.pending(limits, lim.CHILDREN, len(s.children))
    )


def signal_external(
    limits: Limits, s: MutableState, a: SignalExternalWorkflowExecutionCommandAttributes
) -> Rejection | None:
    error = "SignalExternalWorkflowExecutionCommandAttributes.Input exceeds size limit."
    cause = Cause.BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    return enforce.pending(limits, lim.SIGNALS, len(s.signals_out)) or enforce.blob(
        limits, a.input, cause, error
    )


def request_cancel_external(limits: Limits, s: MutableState) -> Rejection | None:
    return enforce.pending(limits, lim.CANCEL_REQUESTS, len(s.cancels_out))


def upsert_search_attributes(
    limits: Limits, s: MutableState, a: UpsertWorkflowSearchAttributesCommandAttributes
) -> Rejection | Opaque | None:
    """The run's search attributes after the upsert, or the Rejection."""
    cause = Cause.BAD_SEARCH_ATTRIBUTES
    return _upsert(
        limits,
        a.search_attributes,
        "indexedFields",
        cause,
        "UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.",
        s.search_attributes,
        lambda after: enforce.search_attributes(limits, after, cause),
    )


def modify_properties(
    limits: Limits, s: MutableState, a: ModifyWorkflowPropertiesCommandAttributes
) -> Rejection | Opaque | None:
    """The run's memo after the upsert, or the Rejection."""
    cause = Cause.BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
    error = "ModifyWorkflowPropertiesCommandAttributes. Memo exceeds size limit."
    return _upsert(
        limits,
        a.upserted_memo,
        "fields",
        cause,
        "ModifyWorkflowPropertiesCommandAttributes exceeds size limit.",
        s.memo,
        lambda after: enforce.memo(limits, after, cause, error),
    )


def _upsert(
    limits: Limits,
    upsert: Opaque | None,
    key: str,
    cause: Cause,
    error: str,
    current: Opaque | None,
    check: Callable[[Opaque | None], Rejection | None],
) -> Rejection | Opaque | None:
    """An upsert: its own keys and data against the blob limit, then the run's map with
    it merged in against the map's limits; the merged map if both pass."""
    rejected = _upserted_data(limits, upsert, key, cause, error)
    if rejected is not None:
        return rejected
    after = merged(current, upsert, key)
    return check(after) or after


def _upserted_data(
    limits: Limits, upsert: Opaque | None, key: str, cause: Cause, error: str
) -> Rejection | None:
    """An upsert's keys and data together over limit.blobSize.error (`payloadsMapSize`)."""
    if upsert is None or upper_bound(upsert.text) <= limits.blob_size_error:
        return None
    body = upsert.value()
    fields = body.get(key) if isinstance(body, dict) else None
    return enforce.blob_size(limits, payload_map_data_size(fields), cause, error)
