"""One handler per command type: validate the attributes, write the event(s).

Each handler returns None, or the WorkflowTaskFailedCause that fails the whole task
(`command_attr_validator.go` and `workflow_task_completed_handler.go`, handleCommand*).
The events are written in the open command batch and name its WorkflowTaskCompleted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

from core.commands import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType, EventType, RetryState, WorkflowTaskFailedCause
from core.events import (
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    MarkerRecordedEventAttributes,
    TaskQueue,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionCanceledEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
    WorkflowType,
)
from core.statemachine.history.service import activity, execution, timer
from core.statemachine.history.service.requests import StartWorkflowExecution
from core.statemachine.history.service.retry import retry_policy
from core.statemachine.history.service.state import ActivityInfo, RunStatus, TimerInfo
from core.statemachine.history.service.txn import Txn

E = EventType
C = CommandType
Cause = WorkflowTaskFailedCause


@dataclasses.dataclass(slots=True)
class Batch:
    """What the command handlers share while one completion is applied."""

    txn: Txn
    wtc: int
    new_task: bool = False
    new_run: StartWorkflowExecution | None = None


Handler = Callable[[Batch, Command], Cause | None]


def new_run_id(run_id: str, purpose: str) -> str:
    """A run id derived from the current one. The server draws a random UUID; the model
    must be deterministic, so it hashes (a pinned hash, never `hash()`)."""
    d = hashlib.sha256(f"{run_id}/{purpose}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:32]}"


def schedule_activity(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, ScheduleActivityTaskCommandAttributes):
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    s = b.txn.state
    start_to_close = a.start_to_close_timeout or a.schedule_to_close_timeout or 0
    if not a.activity_id or a.activity_type is None or not a.activity_type.name:
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    if not start_to_close:  # one of the two timeouts is required
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    if any(x.activity_id == a.activity_id for x in s.activities):
        return Cause.SCHEDULE_ACTIVITY_DUPLICATE_ID
    try:
        policy = retry_policy(a.retry_policy)
    except ValueError:
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    queue = a.task_queue.name if a.task_queue is not None and a.task_queue.name else s.task_queue
    scheduled = b.txn.append(
        E.ACTIVITY_TASK_SCHEDULED,
        ActivityTaskScheduledEventAttributes(
            activity_id=a.activity_id,
            activity_type=a.activity_type,
            task_queue=TaskQueue(name=queue),
            header=a.header,
            input=a.input,
            schedule_to_close_timeout=a.schedule_to_close_timeout,
            schedule_to_start_timeout=a.schedule_to_start_timeout,
            start_to_close_timeout=start_to_close,
            heartbeat_timeout=a.heartbeat_timeout,
            workflow_task_completed_event_id=b.wtc,
            retry_policy=a.retry_policy,
        ),
    )
    info = ActivityInfo(
        scheduled_event_id=scheduled,
        activity_id=a.activity_id,
        activity_type=a.activity_type.name,
        task_queue=queue,
        retry_policy=policy,
        schedule_to_close_timeout=a.schedule_to_close_timeout or 0,
        schedule_to_start_timeout=a.schedule_to_start_timeout or 0,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=a.heartbeat_timeout or 0,
        first_scheduled_time=b.txn.now,
        scheduled_time=b.txn.now,
    )
    activity.put(b.txn, info)
    activity.dispatch(b.txn, info)
    activity.arm_schedule_to_close(b.txn, info)
    return None


def request_cancel_activity(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, RequestCancelActivityTaskCommandAttributes):
        return Cause.BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
    info = b.txn.state.activity(a.scheduled_event_id)
    if info is None or info.cancel_requested_event_id:
        return Cause.BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
    requested = b.txn.append(
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        ActivityTaskCancelRequestedEventAttributes(
            scheduled_event_id=info.scheduled_event_id, workflow_task_completed_event_id=b.wtc
        ),
    )
    info = dataclasses.replace(info, cancel_requested_event_id=requested)
    if info.started:
        activity.put(b.txn, info)
        return None
    # Not running (never dispatched, or backing off): cancelled at once, in this batch.
    activity.write_canceled(b.txn, info, 0, None, "")
    activity.drop(b.txn, info.scheduled_event_id)
    b.new_task = True
    return None


def start_timer(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, StartTimerCommandAttributes) or not a.timer_id:
        return Cause.BAD_START_TIMER_ATTRIBUTES
    if not a.start_to_fire_timeout or a.start_to_fire_timeout <= 0:
        return Cause.BAD_START_TIMER_ATTRIBUTES
    if b.txn.state.timer(a.timer_id) is not None:
        return Cause.START_TIMER_DUPLICATE_ID
    started = b.txn.append(
        E.TIMER_STARTED,
        TimerStartedEventAttributes(
            timer_id=a.timer_id,
            start_to_fire_timeout=a.start_to_fire_timeout,
            workflow_task_completed_event_id=b.wtc,
        ),
    )
    timer.put(b.txn, TimerInfo(a.timer_id, started, b.txn.now + a.start_to_fire_timeout))
    return None


def cancel_timer(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, CancelTimerCommandAttributes):
        return Cause.BAD_CANCEL_TIMER_ATTRIBUTES
    txn = b.txn
    info = txn.state.timer(a.timer_id)
    started = info.started_event_id if info is not None else 0
    if info is None:
        # The race of reference §2.4: the timer fired, but its TimerFired is still
        # buffered; the server deletes that event and cancels (GetAndRemoveTimerFireEvent).
        fired = None
        for event in txn.state.buffered:
            attrs = event.attributes
            if isinstance(attrs, TimerFiredEventAttributes) and attrs.timer_id == a.timer_id:
                fired, started = event, attrs.started_event_id
                break
        if fired is None:
            return Cause.BAD_CANCEL_TIMER_ATTRIBUTES
        txn.state = dataclasses.replace(
            txn.state, buffered=tuple(e for e in txn.state.buffered if e is not fired)
        )
    txn.append(
        E.TIMER_CANCELED,
        TimerCanceledEventAttributes(
            timer_id=a.timer_id, started_event_id=started, workflow_task_completed_event_id=b.wtc
        ),
    )
    timer.drop(txn, a.timer_id)
    return None


def complete_workflow(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, CompleteWorkflowExecutionCommandAttributes):
        return Cause.BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES
    b.txn.append(
        E.WORKFLOW_EXECUTION_COMPLETED,
        WorkflowExecutionCompletedEventAttributes(
            result=a.result, workflow_task_completed_event_id=b.wtc
        ),
    )
    execution.close(b.txn, RunStatus.COMPLETED)
    return None


def fail_workflow(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, FailWorkflowExecutionCommandAttributes):
        return Cause.BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES
    # Workflow retry policies and cron are not modelled: the run simply fails.
    b.txn.append(
        E.WORKFLOW_EXECUTION_FAILED,
        WorkflowExecutionFailedEventAttributes(
            failure=a.failure,
            retry_state=RetryState.RETRY_POLICY_NOT_SET,
            workflow_task_completed_event_id=b.wtc,
        ),
    )
    execution.close(b.txn, RunStatus.FAILED)
    return None


def cancel_workflow(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, CancelWorkflowExecutionCommandAttributes):
        return Cause.BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES
    b.txn.append(
        E.WORKFLOW_EXECUTION_CANCELED,
        WorkflowExecutionCanceledEventAttributes(
            workflow_task_completed_event_id=b.wtc, details=a.details
        ),
    )
    execution.close(b.txn, RunStatus.CANCELED)
    return None


def continue_as_new(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, ContinueAsNewWorkflowExecutionCommandAttributes):
        return Cause.BAD_CONTINUE_AS_NEW_ATTRIBUTES
    s = b.txn.state
    run_id = new_run_id(s.run_id, "continue-as-new")
    workflow_type = a.workflow_type.name if a.workflow_type else s.workflow_type
    queue = a.task_queue.name if a.task_queue and a.task_queue.name else s.task_queue
    b.txn.append(
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        WorkflowExecutionContinuedAsNewEventAttributes(
            new_execution_run_id=run_id,
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=TaskQueue(name=queue),
            input=a.input,
            workflow_run_timeout=a.workflow_run_timeout,
            workflow_task_timeout=a.workflow_task_timeout or s.workflow_task_timeout,
            workflow_task_completed_event_id=b.wtc,
            initiator=a.initiator,
        ),
    )
    execution.close(b.txn, RunStatus.CONTINUED_AS_NEW)
    b.new_run = StartWorkflowExecution(
        namespace=s.namespace,
        workflow_id=s.workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=queue,
        request_id=run_id,
        input=a.input,
        workflow_task_timeout=a.workflow_task_timeout or s.workflow_task_timeout,
        run_timeout=a.workflow_run_timeout or 0,
        execution_timeout=s.execution_timeout,
        first_workflow_task_backoff=a.backoff_start_interval or 0,
    )
    return None


def record_marker(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, RecordMarkerCommandAttributes) or not a.marker_name:
        return Cause.BAD_RECORD_MARKER_ATTRIBUTES
    b.txn.append(
        E.MARKER_RECORDED,
        MarkerRecordedEventAttributes(
            marker_name=a.marker_name,
            details=a.details,
            header=a.header,
            failure=a.failure,
            workflow_task_completed_event_id=b.wtc,
        ),
    )
    return None


def upsert_search_attributes(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, UpsertWorkflowSearchAttributesCommandAttributes):
        return Cause.BAD_SEARCH_ATTRIBUTES
    b.txn.append(
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        UpsertWorkflowSearchAttributesEventAttributes(
            workflow_task_completed_event_id=b.wtc, search_attributes=a.search_attributes
        ),
    )
    return None


def modify_properties(b: Batch, command: Command) -> Cause | None:
    a = command.attributes
    if not isinstance(a, ModifyWorkflowPropertiesCommandAttributes):
        return Cause.BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
    b.txn.append(
        E.WORKFLOW_PROPERTIES_MODIFIED,
        WorkflowPropertiesModifiedEventAttributes(
            workflow_task_completed_event_id=b.wtc, upserted_memo=a.upserted_memo
        ),
    )
    return None


# Child workflows, external signals and cancels, the update protocol and Nexus are not
# modelled yet: their commands are rejected with InvalidArgument (commands.py).
HANDLERS: dict[CommandType, Handler] = {
    C.SCHEDULE_ACTIVITY_TASK: schedule_activity,
    C.REQUEST_CANCEL_ACTIVITY_TASK: request_cancel_activity,
    C.START_TIMER: start_timer,
    C.CANCEL_TIMER: cancel_timer,
    C.COMPLETE_WORKFLOW_EXECUTION: complete_workflow,
    C.FAIL_WORKFLOW_EXECUTION: fail_workflow,
    C.CANCEL_WORKFLOW_EXECUTION: cancel_workflow,
    C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION: continue_as_new,
    C.RECORD_MARKER: record_marker,
    C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: upsert_search_attributes,
    C.MODIFY_WORKFLOW_PROPERTIES: modify_properties,
}
