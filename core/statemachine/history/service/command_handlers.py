"""One handler per command type: validate the attributes, write the event(s).

Each handler returns None, or what fails the whole task: a WorkflowTaskFailedCause, or a
Rejection that adds the server's words for it (`command_attr_validator.go` and
`workflow_task_completed_handler.go`, handleCommand*; the limits of command_limits.py).
The events are written in the open command batch and name its WorkflowTaskCompleted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

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
from core.enums import (
    CommandType,
    ContinueAsNewInitiator,
    EventType,
    ParentClosePolicy,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from core.events import (
    ActivityTaskScheduledEventAttributes,
    MarkerRecordedEventAttributes,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecution,
    WorkflowExecutionCanceledEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
    WorkflowType,
)
from core.fastinit import replace
from core.requests import (
    StartWorkflowExecution,
    UpdateMessage,
)
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, without_nil
from core.statemachine.history.service import (
    activity,
    chain,
    child,
    command_limits,
    eager_activity,
    execution,
    nexus,
    outbound,
    run_timeouts,
    timer,
    update,
    versioning,
)
from core.statemachine.history.service.activity_tasks import normalize_timeouts
from core.statemachine.history.service.enforce import Rejection
from core.statemachine.history.service.ids import new_run_id
from core.statemachine.history.service.retry import policy_json, retry_policy, workflow_policy
from core.statemachine.history.service.state import (
    ActivityInfo,
    ChildInfo,
    ExternalInfo,
    RunStatus,
)
from core.statemachine.history.service.txn import Txn
from core.task_queues import task_queue

E = EventType
C = CommandType
Cause = WorkflowTaskFailedCause


@dataclasses.dataclass(slots=True)
class Batch:
    """What the command handlers share while one completion is applied."""

    txn: Txn
    wtc: int
    sequencing_event_id: int = 0
    messages: dict[str, UpdateMessage] = dataclasses.field(default_factory=dict)
    new_task: bool = False
    new_run: StartWorkflowExecution | None = None
    identity: str = ""  # the completing worker's (TimerCanceled records it)
    limits: Limits = DEFAULT_LIMITS  # the server's (command_limits.py)
    # the registered Nexus endpoints the commands name: name -> id (nexus.py)
    nexus_endpoints: dict[str, str] = dataclasses.field(default_factory=dict)
    # the activities granted eager execution, by activity id (eager_activity.py)
    eager_activities: list[str] = dataclasses.field(default_factory=list)


Handler = Callable[[Batch, Command], Cause | Rejection | None]


def _not_set(command: str, field: str = "") -> str:
    """The validator's words for a command without a required field, by default its
    attributes (service/history/api/command_attr_validator.go): for "StartTimer",
    "StartTimerCommandAttributes is not set on StartTimerCommand."."""
    return f"{field or command + 'CommandAttributes'} is not set on {command}Command."


def schedule_activity(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    bad = Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    if not isinstance(a, ScheduleActivityTaskCommandAttributes):
        return Rejection(bad, _not_set("ScheduleActivityTask"))
    # The task queue is checked first and has no default: the workflow's own queue is
    # not taken for a missing one (ValidateAndNormalizeEmbeddedActivity,
    # chasm/lib/activity/validator.go, and tqid.NormalizeAndValidateUserDefined).
    if a.task_queue is None:
        return Rejection(bad, "taskQueue is not set")
    if not a.task_queue.name:
        return Rejection(bad, "missing task queue name")
    if not a.activity_id:
        return Rejection(bad, "activityId is not set")
    if a.activity_type is None or not a.activity_type.name:
        return Rejection(bad, "activityType is not set")
    s = b.txn.state
    timeouts = normalize_timeouts(
        a.schedule_to_close_timeout or 0,
        a.schedule_to_start_timeout or 0,
        a.start_to_close_timeout or 0,
        a.heartbeat_timeout or 0,
        s.run_timeout,
    )
    if timeouts is None:  # one of schedule-to-close and start-to-close is required
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    schedule_to_close, schedule_to_start, start_to_close, heartbeat = timeouts
    rejected = command_limits.schedule_activity(b.limits, s, a)
    if rejected is not None:
        return rejected
    if any(x.activity_id == a.activity_id for x in s.activities):
        return Cause.SCHEDULE_ACTIVITY_DUPLICATE_ID
    try:
        policy = retry_policy(a.retry_policy)
    except ValueError:
        return Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    queue = a.task_queue.name
    scheduled = b.txn.append(
        E.ACTIVITY_TASK_SCHEDULED,
        ActivityTaskScheduledEventAttributes(
            activity_id=a.activity_id,
            activity_type=a.activity_type,
            task_queue=task_queue(queue),
            header=a.header,
            input=a.input,
            # ValidateActivityScheduleAttributes writes every timeout, 0 when unset
            schedule_to_close_timeout=schedule_to_close,
            schedule_to_start_timeout=schedule_to_start,
            start_to_close_timeout=start_to_close,
            heartbeat_timeout=heartbeat,
            workflow_task_completed_event_id=b.wtc,
            retry_policy=policy_json(policy),
            use_workflow_build_id=a.use_workflow_build_id,
            # the command's, as given: absent when it carried none (an SDK that
            # knows no priority), an empty message when it carried one
            priority=a.priority,
        ),
    )
    info = ActivityInfo(
        scheduled_event_id=scheduled,
        activity_id=a.activity_id,
        activity_type=a.activity_type.name,
        task_queue=queue,
        retry_policy=policy,
        schedule_to_close_timeout=schedule_to_close,
        schedule_to_start_timeout=schedule_to_start,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=heartbeat,
        first_scheduled_time=b.txn.now,
        scheduled_time=b.txn.now,
    )
    # an activity granted eager execution gets no transfer task; it is started once
    # every command is handled (eager_activity.py)
    eager = eager_activity.granted(b.limits, s, a)
    activity.schedule(b.txn, info, dispatch=not eager)
    if eager:
        b.eager_activities.append(a.activity_id)
    return None


def request_cancel_activity(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    bad = Cause.BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
    if not isinstance(a, RequestCancelActivityTaskCommandAttributes):
        return Rejection(bad, _not_set("RequestCancelActivityTask"))
    if not a.scheduled_event_id:
        return Rejection(bad, _not_set("RequestCancelActivityTask", "ScheduledEventId"))
    closed_at_once = activity.request_cancel(b.txn, a.scheduled_event_id, b.wtc, b.identity)
    if closed_at_once is None:
        return Cause.BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
    b.new_task = b.new_task or closed_at_once
    return None


def start_timer(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, StartTimerCommandAttributes):
        return Rejection(Cause.BAD_START_TIMER_ATTRIBUTES, _not_set("StartTimer"))
    if not a.timer_id:
        return Rejection(Cause.BAD_START_TIMER_ATTRIBUTES, _not_set("StartTimer", "TimerId"))
    # An unset or zero timeout is a timer that fires at once; only a negative one is
    # refused (ValidateTimerScheduleAttributes in history/api/command_attr_validator.go:
    # timestamp.ValidateAndCapProtoDuration turns nil into 0 and refuses only < 0).
    if a.start_to_fire_timeout is not None and a.start_to_fire_timeout < 0:
        return Cause.BAD_START_TIMER_ATTRIBUTES
    if b.txn.state.timer(a.timer_id) is not None:
        return Cause.START_TIMER_DUPLICATE_ID
    timer.start(b.txn, a.timer_id, a.start_to_fire_timeout, b.wtc)
    return None


def cancel_timer(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, CancelTimerCommandAttributes):
        return Rejection(Cause.BAD_CANCEL_TIMER_ATTRIBUTES, _not_set("CancelTimer"))
    if not a.timer_id:
        return Rejection(Cause.BAD_CANCEL_TIMER_ATTRIBUTES, _not_set("CancelTimer", "TimerId"))
    if not timer.cancel(b.txn, timer.CancelTimer(a.timer_id, b.wtc, b.identity)):
        return Cause.BAD_CANCEL_TIMER_ATTRIBUTES
    return None


def complete_workflow(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, CompleteWorkflowExecutionCommandAttributes):
        return Cause.BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES
    rejected = command_limits.complete_workflow(b.limits, a)
    if rejected is not None:
        return rejected
    s = b.txn.state
    # A cron run hands over to the chain's next run (handleCommandCompleteWorkflow and
    # handleCron, workflow_task_completed_handler.go), which gets its result.
    delay = chain.cron_delay(s, b.txn.now)
    next_run = new_run_id(s.run_id, "cron") if delay is not None else ""
    b.txn.append(
        E.WORKFLOW_EXECUTION_COMPLETED,
        WorkflowExecutionCompletedEventAttributes(
            result=a.result, workflow_task_completed_event_id=b.wtc, new_execution_run_id=next_run
        ),
    )
    # the parent is told the result, unless the chain goes on
    execution.close(b.txn, RunStatus.COMPLETED, a.result, chain_continues=delay is not None)
    if delay is not None:
        b.new_run = chain.next_run(
            s, next_run, ContinueAsNewInitiator.CRON_SCHEDULE, delay, b.txn.now, None, a.result
        )
    return None


def fail_workflow(b: Batch, command: Command) -> Cause | Rejection | None:
    """Fail the run, or retry it as a new run when its retry policy allows.

    `handleCommandFailWorkflow` (workflow_task_completed_handler.go): with a retry policy
    that allows another attempt, the Failed event names the next run, which starts after
    the backoff with attempt + 1 and initiator RETRY.
    """
    a = command.attributes
    bad = Cause.BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES
    if not isinstance(a, FailWorkflowExecutionCommandAttributes):
        return Rejection(bad, _not_set("FailWorkflowExecution"))
    if a.failure is None:
        return Rejection(bad, _not_set("FailWorkflowExecution", "Failure"))
    rejected = command_limits.fail_workflow(b.limits, a)
    if rejected is not None:
        return rejected
    s = b.txn.state
    delay, retry_state = chain.workflow_retry(s, a.failure, b.txn.now)
    # With no retry left, a cron run still hands over to the chain's next run.
    initiator = ContinueAsNewInitiator.RETRY
    if delay is None and (delay := chain.cron_delay(s, b.txn.now)) is not None:
        initiator = ContinueAsNewInitiator.CRON_SCHEDULE
    next_run = new_run_id(s.run_id, initiator.name.lower()) if delay is not None else ""
    b.txn.append(
        E.WORKFLOW_EXECUTION_FAILED,
        WorkflowExecutionFailedEventAttributes(
            failure=a.failure,
            retry_state=retry_state,
            workflow_task_completed_event_id=b.wtc,
            new_execution_run_id=next_run,
        ),
    )
    continues = delay is not None
    execution.close(b.txn, RunStatus.FAILED, a.failure, continues, retry_state)
    if delay is not None:
        # A failed cron run hands on the result it got; a retry, none (handleCron and
        # handleRetry, workflow_task_completed_handler.go).
        cron = initiator is ContinueAsNewInitiator.CRON_SCHEDULE
        result = s.last_completion_result if cron else None
        b.new_run = chain.next_run(s, next_run, initiator, delay, b.txn.now, a.failure, result)
    return None


def cancel_workflow(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, CancelWorkflowExecutionCommandAttributes):
        return Cause.BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES
    b.txn.append(
        E.WORKFLOW_EXECUTION_CANCELED,
        WorkflowExecutionCanceledEventAttributes(
            workflow_task_completed_event_id=b.wtc, details=a.details
        ),
    )
    execution.close(b.txn, RunStatus.CANCELED, a.details)
    return None


def continue_as_new(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, ContinueAsNewWorkflowExecutionCommandAttributes):
        return Cause.BAD_CONTINUE_AS_NEW_ATTRIBUTES
    rejected = command_limits.continue_as_new(b.limits, a)
    if rejected is not None:
        return rejected
    s = b.txn.state
    run_id = new_run_id(s.run_id, "continue-as-new")
    # An unset or empty type or queue keeps the run's own (command_attr_validator.go,
    # ValidateContinueAsNewWorkflowExecutionAttributes).
    named = a.workflow_type is not None and a.workflow_type.name
    workflow_type = a.workflow_type.name if named and a.workflow_type else s.workflow_type
    queue = a.task_queue.name if a.task_queue and a.task_queue.name else s.task_queue
    b.txn.append(
        E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        WorkflowExecutionContinuedAsNewEventAttributes(
            new_execution_run_id=run_id,
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=task_queue(queue),
            input=a.input,
            workflow_run_timeout=a.workflow_run_timeout or s.run_timeout,
            workflow_task_timeout=a.workflow_task_timeout or s.workflow_task_timeout,
            workflow_task_completed_event_id=b.wtc,
            backoff_start_interval=a.backoff_start_interval,
            initiator=a.initiator,
            failure=a.failure,
            last_completion_result=a.last_completion_result,
            header=a.header,
            memo=without_nil(a.memo, "fields"),
            search_attributes=without_nil(a.search_attributes, "indexedFields"),
            inherit_build_id=a.inherit_build_id,
        ),
    )
    execution.close(b.txn, RunStatus.CONTINUED_AS_NEW)
    b.new_run = replace(
        chain.next_run(
            s, run_id, ContinueAsNewInitiator.WORKFLOW, a.backoff_start_interval or 0, b.txn.now
        ),
        workflow_type=workflow_type,
        task_queue=queue,
        input=a.input,
        workflow_task_timeout=a.workflow_task_timeout or s.workflow_task_timeout,
        run_timeout=a.workflow_run_timeout or s.run_timeout,
        explicit_run_timeout=True,
        # `continueAsNew` in mutable_state_impl.go: the new run takes these from the
        # command as they are (an SDK that wants them kept sends them again).
        header=a.header,
        memo=a.memo,
        search_attributes=a.search_attributes,
        last_completion_result=a.last_completion_result,
        retry_policy=workflow_policy(a.retry_policy),
        cron_schedule=a.cron_schedule,  # the command's (`ContinueAsNew`), as the rest
        versioning=versioning.continued(b.txn.state, a, queue),
    )
    return None


def record_marker(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, RecordMarkerCommandAttributes):
        return Rejection(Cause.BAD_RECORD_MARKER_ATTRIBUTES, _not_set("RecordMarker"))
    if not a.marker_name:
        return Rejection(Cause.BAD_RECORD_MARKER_ATTRIBUTES, _not_set("RecordMarker", "MarkerName"))
    rejected = command_limits.record_marker(b.limits, a)
    if rejected is not None:
        return rejected
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


def upsert_search_attributes(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, UpsertWorkflowSearchAttributesCommandAttributes):
        return Cause.BAD_SEARCH_ATTRIBUTES
    after = command_limits.upsert_search_attributes(b.limits, b.txn.state, a)
    if isinstance(after, Rejection):
        return after
    b.txn.set(search_attributes=after)
    b.txn.append(
        E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        UpsertWorkflowSearchAttributesEventAttributes(
            workflow_task_completed_event_id=b.wtc, search_attributes=a.search_attributes
        ),
    )
    return None


def modify_properties(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, ModifyWorkflowPropertiesCommandAttributes):
        return Cause.BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES
    after = command_limits.modify_properties(b.limits, b.txn.state, a)
    if isinstance(after, Rejection):
        return after
    b.txn.set(memo=after)
    b.txn.append(
        E.WORKFLOW_PROPERTIES_MODIFIED,
        WorkflowPropertiesModifiedEventAttributes(
            workflow_task_completed_event_id=b.wtc, upserted_memo=a.upserted_memo
        ),
    )
    return None


def start_child(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, StartChildWorkflowExecutionCommandAttributes):
        return Cause.BAD_START_CHILD_EXECUTION_ATTRIBUTES
    if not a.workflow_id or a.workflow_type is None or not a.workflow_type.name:
        return Cause.BAD_START_CHILD_EXECUTION_ATTRIBUTES
    s = b.txn.state
    rejected = command_limits.start_child(b.limits, s, a)
    if rejected is not None:
        return rejected
    queue = a.task_queue.name if a.task_queue is not None and a.task_queue.name else s.task_queue
    # ValidateStartChildExecutionAttributes (service/history/api/command_attr_validator.go):
    # the run timeout is at most the execution timeout; the task timeout is the
    # namespace default when unset (not the parent's), at most 2 minutes and at most the
    # run timeout.
    run_timeout = run_timeouts.run_timeout(
        a.workflow_run_timeout or 0, a.workflow_execution_timeout or 0
    )
    task_timeout = run_timeouts.task_timeout(a.workflow_task_timeout or 0, run_timeout)
    # The header is copied as the command has it (none stays none, an empty one is
    # kept: CreateStartChildWorkflowExecutionInitiatedEvent, historybuilder/
    # event_factory.go), while a memo or search attributes with no entry left once nil
    # payloads are left out are not (without_nil: the server drops the `memo {}` SDKs
    # send).
    header = a.header
    attributes = StartChildWorkflowExecutionInitiatedEventAttributes(
        namespace=a.namespace or s.namespace,
        workflow_id=a.workflow_id,
        workflow_type=a.workflow_type,
        task_queue=task_queue(queue),
        input=a.input,
        workflow_execution_timeout=a.workflow_execution_timeout,
        workflow_run_timeout=run_timeout,
        workflow_task_timeout=task_timeout,
        # Unset policies get the server's defaults before the event is written
        # (handleCommandStartChildWorkflow in respondworkflowtaskcompleted/
        # workflow_task_completed_handler.go: SetDefaultParentClosePolicy,
        # SetDefaultWorkflowIdReusePolicy in common/enums/defaults.go), so the child's
        # start sees ALLOW_DUPLICATE, not an unspecified policy.
        parent_close_policy=a.parent_close_policy or ParentClosePolicy.TERMINATE,
        workflow_task_completed_event_id=b.wtc,
        workflow_id_reuse_policy=(
            a.workflow_id_reuse_policy or WorkflowIdReusePolicy.ALLOW_DUPLICATE
        ),
        retry_policy=workflow_policy(a.retry_policy),
        cron_schedule=a.cron_schedule,
        header=header,
        memo=without_nil(a.memo, "fields"),
        search_attributes=without_nil(a.search_attributes, "indexedFields"),
        namespace_id=s.namespace_id,
        inherit_build_id=a.inherit_build_id,
        priority=a.priority,  # the command's, as given (absent stays absent)
        control=a.control,
        # in its v0.32 form (CreateStartChildWorkflowExecutionInitiatedEvent, event_factory.go)
        versioning_override=versioning.override_v32(a.versioning_override),
    )
    initiated = b.txn.append(E.START_CHILD_WORKFLOW_EXECUTION_INITIATED, attributes)
    policy = int(a.parent_close_policy) or 1  # the server's default is TERMINATE
    namespace = a.namespace or s.namespace
    info = ChildInfo(initiated, a.workflow_id, a.workflow_type.name, policy)
    info = replace(info, namespace=namespace, header=header, control=a.control)
    child.put_child(b.txn, info)
    b.txn.task(outbound.start_child_transfer(s, initiated, attributes, command.user_metadata))
    return None


def signal_external(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, SignalExternalWorkflowExecutionCommandAttributes):
        return Cause.BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    if a.execution is None or not a.execution.workflow_id or not a.signal_name:
        return Cause.BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    s = b.txn.state
    rejected = command_limits.signal_external(b.limits, s, a)
    if rejected is not None:
        return rejected
    target = a.execution
    attributes = SignalExternalWorkflowExecutionInitiatedEventAttributes(
        workflow_task_completed_event_id=b.wtc,
        # the command's namespace as given, "" when the SDK names none: unlike a child's
        # start, the server does not fill in the run's own (handleCommandSignalExternal-
        # Workflow in workflow_task_completed_handler.go; event_factory.go copies it)
        namespace=a.namespace,
        workflow_execution=target,
        signal_name=a.signal_name,
        input=a.input,
        control=a.control,
        child_workflow_only=a.child_workflow_only,
        header=a.header,
        namespace_id=s.namespace_id,
    )
    initiated = b.txn.append(E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, attributes)
    info = ExternalInfo(initiated, target.workflow_id, target.run_id, a.control)
    b.txn.set(signals_out=(*b.txn.state.signals_out, info))
    b.txn.task(outbound.signal_external_transfer(s, initiated, attributes))
    return None


def request_cancel_external(b: Batch, command: Command) -> Cause | Rejection | None:
    a = command.attributes
    if not isinstance(a, RequestCancelExternalWorkflowExecutionCommandAttributes) or not (
        a.workflow_id
    ):
        return Cause.BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    s = b.txn.state
    rejected = command_limits.request_cancel_external(b.limits, s)
    if rejected is not None:
        return rejected
    target = WorkflowExecution(workflow_id=a.workflow_id, run_id=a.run_id)
    attributes = RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
        workflow_task_completed_event_id=b.wtc,
        namespace=a.namespace,  # as given, as for a signal (above)
        workflow_execution=target,
        control=a.control,
        child_workflow_only=a.child_workflow_only,
        reason=a.reason,
        namespace_id=s.namespace_id,
    )
    initiated = b.txn.append(E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, attributes)
    info = ExternalInfo(initiated, a.workflow_id, a.run_id)
    b.txn.set(cancels_out=(*b.txn.state.cancels_out, info))
    b.txn.task(outbound.cancel_external_transfer(s, initiated, attributes))
    return None


def protocol_message(b: Batch, command: Command) -> Cause | Rejection | None:
    """Place an update's protocol message at this point of the command order."""
    a = command.attributes
    if not isinstance(a, ProtocolMessageCommandAttributes):
        return Cause.BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE
    message = b.messages.pop(a.message_id, None)
    if message is None or not update.apply_message(b.txn, message, b.sequencing_event_id):
        return Cause.BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE
    return None


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
    C.START_CHILD_WORKFLOW_EXECUTION: start_child,
    C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: signal_external,
    C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: request_cancel_external,
    C.PROTOCOL_MESSAGE: protocol_message,
    C.SCHEDULE_NEXUS_OPERATION: nexus.schedule,
    C.REQUEST_CANCEL_NEXUS_OPERATION: nexus.request_cancel,
}
