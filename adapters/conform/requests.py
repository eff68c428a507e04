"""The requests behind recorded events, read back field by field (for derive.py).

Each function takes a recorded event's attributes and returns the request a client,
a worker or the server's own timers made to have it written: the command behind a
command event (its fields copied from the event's fields of the same name), a worker's
protocol message behind an update event, a signal, a cancel request, a worker's
failure report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.conform.derive_nexus import nexus_command
from adapters.conform.scope import SCOPE, SCOPE_OF_EVENT
from core import requests as rq
from core.commands import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    ProtocolMessageCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType, EventType, TimeoutType, WorkflowTaskFailedCause
from core.events import HistoryEvent, OpaqueAttributes
from core.opaque import Opaque
from core.statemachine.history.service.reset import RESETTER
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.versioning_state import version_json
from core.statemachine.matching.versioning import DeploymentVersion

E = EventType
C = CommandType


class CannotReproduce(Exception):
    """The model cannot write this history: it refused a request behind it, or the
    history uses something the model does not cover (the message says what)."""


class NotModelled(CannotReproduce):
    """The history uses a feature declared out of the model's scope (`scope.SCOPE`)."""

    def __init__(self, scope_id: str) -> None:
        super().__init__(f"{scope_id}: {SCOPE[scope_id]}")
        self.scope_id = scope_id


def _a(event: HistoryEvent) -> Any:
    """The attributes, untyped: the readers take the fields their event type has."""
    return event.attributes


def namespace_id_of(events: Sequence[HistoryEvent]) -> str:
    """The id of the run's namespace, where an event names it (the frontend resolves
    it from the namespace's name; the history only shows it in a few fields)."""
    for event in events:
        value = getattr(event.attributes, "namespace_id", None)
        if isinstance(value, str) and value:
            return value
    return ""


def namespace_of(events: Sequence[HistoryEvent], namespace_id: str) -> str:
    """The name of the run's namespace (its id `namespace_id`), where an event pairs the
    two: a child's, an external signal's or cancel's event names the target's namespace
    by name and id, the server filling in the run's own when the command named none
    (workflow_task_completed_handler.go, transfer_queue_active_task_executor.go)."""
    if not namespace_id:
        return ""
    for event in events:
        name = getattr(event.attributes, "namespace", None)
        paired = getattr(event.attributes, "namespace_id", None) == namespace_id
        if paired and name and isinstance(name, str):
            return name
    return ""


def root_of(execution: Any) -> tuple[str, str] | None:
    return (execution.workflow_id, execution.run_id) if execution is not None else None


def signal_request(event: HistoryEvent) -> rq.SignalWorkflowExecution:
    """The signal behind a WorkflowExecutionSignaled event (its links are the event's:
    a Nexus caller's backlinks)."""
    a: Any = event.attributes
    sender = a.external_workflow_execution
    return rq.SignalWorkflowExecution(
        a.signal_name,
        request_id=a.request_id,
        input=a.input,
        identity=a.identity,
        header=a.header,
        external_workflow_id=sender.workflow_id if sender is not None else "",
        external_run_id=sender.run_id if sender is not None else "",
        links=event.links,
    )


def activity_failed(
    token: rq.ActivityTaskToken,
    failure: Any,
    identity: str = "",
    final: bool = False,
    worker_version: Opaque | None = None,
) -> rq.RespondActivityTaskFailed:
    """A worker's report of a failed attempt: the error type and the non-retryable flag
    are those of the failure's applicationFailureInfo, as the frontend reads them. A
    failure of another kind (canceled, terminated, server, timeout) carries neither; the
    model judges it from its kind, as the server does (core retry.py `retryable`). Only
    a failure of no kind at all (the simulator's are such) cannot say; then `final` (the
    recorded retry state said non-retryable) stands for the flag the worker must have
    sent. `worker_version` is the worker's build id stamp."""
    info = failure_info(failure, "applicationFailureInfo")
    value = failure.value() if failure is not None else None
    kinds = [k for k in value if k.endswith("FailureInfo")] if isinstance(value, dict) else []
    return rq.RespondActivityTaskFailed(
        token,
        failure,
        str(info.get("type", "")) if info is not None else "",
        info.get("nonRetryable") is True if info is not None else final and not kinds,
        identity,
        worker_version=worker_version,
    )


def deployment_options(completed: Any) -> rq.WorkerDeploymentOptions | None:
    """The Worker Deployment options a worker sent with a completion, read back from its
    WorkflowTaskCompleted: a `deploymentVersion` is written only for a VERSIONED worker,
    so its presence says the mode; a deployment name alone was sent by an UNVERSIONED
    one. None when the event names no deployment (the worker sent no options)."""
    version = completed.deployment_version.value() if completed.deployment_version else None
    if isinstance(version, dict):
        return rq.WorkerDeploymentOptions(
            str(version.get("deploymentName", "")), str(version.get("buildId", "")), True
        )
    if completed.worker_deployment_name:
        return rq.WorkerDeploymentOptions(completed.worker_deployment_name)
    return None


def reapplied_kinds(
    base: Sequence[HistoryEvent], finish: int, reset_run: Sequence[HistoryEvent], failed: int
) -> tuple[bool, bool]:
    """Whether the reset behind a reset run reapplied signals and updates, read from its
    history: the reset writes what it reapplies right after the WorkflowTaskFailed it
    ends the copied task with, before the next WorkflowTaskScheduled
    (service/history/ndc/workflow_resetter.go). A kind the base run received after the
    reset point (event `finish`) but that batch lacks was excluded by the request
    (`reset_reapply_exclude_types`, or `reset_reapply_type` NONE); a kind the base did
    not receive says nothing, and is taken as the server's default (reapplied)."""
    batch: set[EventType] = set()
    for event in reset_run[failed + 1 :]:
        if event.event_type is E.WORKFLOW_TASK_SCHEDULED:
            break
        batch.add(event.event_type)
    after = {e.event_type for e in base if e.event_id > finish}
    updates = {E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, E.WORKFLOW_EXECUTION_UPDATE_ADMITTED}
    signals = E.WORKFLOW_EXECUTION_SIGNALED not in after or E.WORKFLOW_EXECUTION_SIGNALED in batch
    return signals, not (after & updates) or E.WORKFLOW_EXECUTION_UPDATE_ADMITTED in batch


def post_reset_options(
    base: Sequence[HistoryEvent], finish: int, reset_run: Sequence[HistoryEvent], failed: int
) -> tuple[rq.UpdateWorkflowExecutionOptions, ...]:
    """The options updates a reset's post-reset operations made: written after what the
    reset reapplied, before the next WorkflowTaskScheduled (`performPostResetOperations`,
    service/history/ndc/workflow_resetter.go). The batch's WorkflowExecutionOptionsUpdated
    events past those the base run received after the reset point (which the reset
    reapplies) are theirs; each is read back as an update naming the override and the
    priority, which merges to the very options the event carries."""
    batch: list[HistoryEvent] = []
    for event in reset_run[failed + 1 :]:
        if event.event_type is E.WORKFLOW_TASK_SCHEDULED:
            break
        if event.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED:
            batch.append(event)
    reapplied = sum(
        1
        for e in base
        if e.event_id > finish and e.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED
    )
    updates = []
    paths = ("versioningOverride", "priority")
    for event in batch[reapplied:]:
        a = event.attributes  # (the event is kept opaque: its fields as JSON)
        f = a.value.value() if isinstance(a, OpaqueAttributes) else None
        f = f if isinstance(f, dict) else {}
        kept = {k: f[k] for k in paths if k in f}
        identity = str(f.get("identity", ""))
        updates.append(rq.UpdateWorkflowExecutionOptions(Opaque.of(kept), paths, identity))
    return tuple(updates)


def cancel_request(event: HistoryEvent) -> rq.RequestCancelWorkflowExecution:
    """The request behind a WorkflowExecutionCancelRequested event (its links the
    request's)."""
    a: Any = event.attributes
    sender = a.external_workflow_execution
    return rq.RequestCancelWorkflowExecution(
        links=event.links,
        reason=a.cause,
        identity=a.identity,
        external_initiated_event_id=a.external_initiated_event_id,
        external_workflow_id=sender.workflow_id if sender is not None else "",
        external_run_id=sender.run_id if sender is not None else "",
    )


def made_by_reset(events: Sequence[HistoryEvent]) -> int | None:
    """The position of the WorkflowTaskFailed (cause RESET_WORKFLOW) that the reset which
    made this run wrote, if a reset made it. A reset forks its base run's history at the
    reset point, so the new run keeps the base's events up to there, and then fails the
    pending workflow task naming the base run and the new one (replayResetWorkflow,
    forkAndGenerateBranchToken and failWorkflowTask in
    service/history/ndc/workflow_resetter.go). When the base run was itself made by a
    reset after its own reset's WorkflowTaskFailed, the copy keeps that event too
    (its newRunId is the base run's id); the run's own is the last one, since only a
    reset writes that cause and never into its base run."""
    found = None
    for i, event in enumerate(events):
        if (
            event.event_type is E.WORKFLOW_TASK_FAILED
            and getattr(event.attributes, "cause", None) is WorkflowTaskFailedCause.RESET_WORKFLOW
        ):
            found = i
    return found


def before_reset(base: Sequence[HistoryEvent]) -> Sequence[HistoryEvent]:
    """The base run's history without what a reset wrote to it: its closing
    WorkflowExecutionTerminated by "history-resetter", and the WorkflowTaskFailed
    (FORCE_CLOSE_COMMAND) that failed a task in flight just before it."""
    end = len(base)
    if end and getattr(base[end - 1].attributes, "identity", "") == RESETTER:
        end -= 1
        last = base[end - 1].attributes if end else None
        if getattr(last, "cause", None) is WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND:
            end -= 1
    return base[:end]


def failure_info(failure: Any, key: str) -> dict[str, Any] | None:
    """The `key` member (applicationFailureInfo, timeoutFailureInfo, ...) of a
    temporal.api.failure.v1.Failure, if it has one."""
    value = failure.value() if failure is not None else None
    info = value.get(key) if isinstance(value, dict) else None
    return info if isinstance(info, dict) else None


def timeout_type(failure: Any) -> TimeoutType:
    """The timeout kind recorded in an ActivityTaskTimedOut's failure."""
    info = failure_info(failure, "timeoutFailureInfo") or {}
    name = str(info.get("timeoutType", "TIMEOUT_TYPE_START_TO_CLOSE"))
    kind = TimeoutType.__members__.get(name.removeprefix("TIMEOUT_TYPE_"))
    if kind is None:
        raise CannotReproduce(f"a timeout of unknown type {name!r}")
    return kind


def _update_id(event: HistoryEvent) -> str:
    a = _a(event)
    if event.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        return str(a.protocol_instance_id)
    meta = a.meta.value() if a.meta is not None else None
    update_id = meta.get("updateId") if isinstance(meta, dict) else None
    if not isinstance(update_id, str):
        raise CannotReproduce("an update's outcome names no update id")
    return update_id


def to_message(event: HistoryEvent) -> rq.UpdateMessage | None:
    """The worker's protocol message behind an update event (None: not one)."""
    if event.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        kind = rq.UpdateMessageKind.ACCEPT
    elif event.event_type is E.WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        kind = rq.UpdateMessageKind.RESPOND
    else:
        return None
    uid = _update_id(event)
    if kind is rq.UpdateMessageKind.RESPOND:
        # the response's meta is the worker's own (the Go SDK's names no identity)
        a = _a(event)
        return rq.UpdateMessage(f"{uid}/{kind.value}", uid, kind, a.outcome, meta=a.meta)
    # the sequencing id is the worker's own (the acceptance carries it)
    sequencing = int(_a(event).accepted_request_sequencing_event_id)
    return rq.UpdateMessage(f"{uid}/{kind.value}", uid, kind, sequencing_event_id=sequencing)


# Command events -> the command each was written from. The command's fields are read
# from the event's fields of the same name (the server copies them across, after
# normalising timeouts, which is idempotent); `_RENAMED` names the exceptions.
_COMMAND_OF: dict[EventType, tuple[CommandType, type[Any]]] = {
    E.ACTIVITY_TASK_SCHEDULED: (C.SCHEDULE_ACTIVITY_TASK, ScheduleActivityTaskCommandAttributes),
    E.ACTIVITY_TASK_CANCEL_REQUESTED: (
        C.REQUEST_CANCEL_ACTIVITY_TASK,
        RequestCancelActivityTaskCommandAttributes,
    ),
    E.TIMER_STARTED: (C.START_TIMER, StartTimerCommandAttributes),
    E.TIMER_CANCELED: (C.CANCEL_TIMER, CancelTimerCommandAttributes),
    E.MARKER_RECORDED: (C.RECORD_MARKER, RecordMarkerCommandAttributes),
    E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: (
        C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        UpsertWorkflowSearchAttributesCommandAttributes,
    ),
    E.WORKFLOW_PROPERTIES_MODIFIED: (
        C.MODIFY_WORKFLOW_PROPERTIES,
        ModifyWorkflowPropertiesCommandAttributes,
    ),
    E.WORKFLOW_EXECUTION_COMPLETED: (
        C.COMPLETE_WORKFLOW_EXECUTION,
        CompleteWorkflowExecutionCommandAttributes,
    ),
    E.WORKFLOW_EXECUTION_FAILED: (
        C.FAIL_WORKFLOW_EXECUTION,
        FailWorkflowExecutionCommandAttributes,
    ),
    E.WORKFLOW_EXECUTION_CANCELED: (
        C.CANCEL_WORKFLOW_EXECUTION,
        CancelWorkflowExecutionCommandAttributes,
    ),
    E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes,
    ),
    E.START_CHILD_WORKFLOW_EXECUTION_INITIATED: (
        C.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes,
    ),
    E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        SignalExternalWorkflowExecutionCommandAttributes,
    ),
    E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        RequestCancelExternalWorkflowExecutionCommandAttributes,
    ),
}
# command field -> how to read it from the event's attributes, where the names differ
_RENAMED: dict[str, Any] = {
    "execution": lambda a: a.workflow_execution,
    "workflow_id": lambda a: a.workflow_execution.workflow_id if a.workflow_execution else "",
    "run_id": lambda a: a.workflow_execution.run_id if a.workflow_execution else "",
}


def to_command(event: HistoryEvent) -> Command | None:
    """The command a command event was written from (None: not a command)."""
    t = event.event_type
    if t is E.ACTIVITY_TASK_CANCELED:
        return None
    message = to_message(event)
    if message is not None:
        return Command(C.PROTOCOL_MESSAGE, ProtocolMessageCommandAttributes(message.message_id))
    nexus = nexus_command(event)
    if nexus is not None:
        return nexus
    if t in SCOPE_OF_EVENT:
        raise NotModelled(SCOPE_OF_EVENT[t])
    if t not in _COMMAND_OF:
        raise CannotReproduce(f"command event {t.name} is not modelled yet")
    kind, cls = _COMMAND_OF[t]
    a = _a(event)
    values: dict[str, Any] = {}
    for field in cls.FIELDS:
        if hasattr(a, field.name):
            values[field.name] = getattr(a, field.name)
        elif field.name in _RENAMED and hasattr(a, "workflow_execution"):
            values[field.name] = _RENAMED[field.name](a)
    return Command(
        kind,
        cls(**values),
        user_metadata=event.user_metadata,
        event_group_markers=event.event_group_markers,
    )


def announced_target(state: MutableState | None, started: Any) -> tuple[Opaque | None, int]:
    """The target version and routing revision matching held for a WorkflowTaskStarted
    that says the pinned run's target version changed (None and 0 when it does not).
    Matching keeps the target, the history never names it, so the deriver reads the
    flag off the event and lets the model's rules (history/service/versioning.py
    `started`) decide with it: the target the run was told of already, else a version
    that is not the run's at a revision newer than any the run knows of."""
    info = state.versioning if state is not None else None
    if info is None or not getattr(started, "target_worker_deployment_version_changed", False):
        return None, 0
    if info.notified is not None:
        told = info.notified.version
        return (version_json(told) if told is not None else None), info.notified.revision
    run = info.effective().version
    other = DeploymentVersion(run.deployment_name if run else "unknown", "unknown-target")
    return version_json(other), (info.declined.revision if info.declined else 0) + 1
