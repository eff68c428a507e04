"""The next workflow task handed back inline by the completion that makes it
(`return_new_workflow_task`, core/statemachine/history/service/inline_task.py;
service/history/api/respondworkflowtaskcompleted/api.go): scheduled with no transfer
task and no sticky schedule-to-start timer, started in the same transaction with the
request id "request-from-RespondWorkflowTaskCompleted" and the completer's identity,
its start-to-close timer armed, and returned in the reply. Not when the worker did not
ask, nor when the server refused the completion."""

from __future__ import annotations

import dataclasses

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType, EventType, TaskQueueKind, TimeoutType, VersioningBehavior
from core.events import (
    ActivityType,
    HistoryEvent,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.reset_batches import INLINE_START_REQUEST_ID
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.versioning_state import TargetSeen, VersioningInfo
from core.statemachine.matching.versioning import DeploymentVersion
from core.task_queues import task_queue

E = EventType
S = 10**9
STICKY = "sticky-w1"
TIMEOUT = 10 * S  # the run's workflow task timeout
STAMP = Opaque.of({"buildId": "b1"})


class Drive:
    """One run of the history service, each request one second after the last; `tasks`
    holds the outbox tasks of the last request."""

    def __init__(self) -> None:
        self.now = 0
        start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s")
        outcome = service.start(start, self.now)
        self.state: MutableState = outcome.state
        self.events: list[HistoryEvent] = list(outcome.events)
        self.tasks: tuple[rq.Task, ...] = tuple(outcome.tasks)

    def send(self, request: rq.Request) -> rq.Reply:
        self.now += S
        outcome = service.handle(self.state, request, self.now)
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.tasks = tuple(outcome.tasks)
        return outcome.reply

    def poll(self) -> rq.WorkflowTaskToken:
        wft = self.state.wft
        assert wft is not None
        sticky = wft.sticky
        reply = self.send(
            rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p", "w1", sticky)
        )
        assert isinstance(reply, rq.WorkflowTaskStarted)
        return reply.token

    def complete(
        self, token: rq.WorkflowTaskToken, inline: bool = True, **more: object
    ) -> rq.Reply:
        fields: dict[str, object] = {"worker_version": STAMP, **more}
        return self.send(
            rq.RespondWorkflowTaskCompleted(
                token,
                identity="w1",
                sticky_queue=STICKY,
                sticky_schedule_to_start_timeout=5 * S,
                return_new_workflow_task=inline,
                history_size_bytes=321,
                **fields,  # type: ignore[arg-type]
            )
        )

    def types(self, since: int) -> list[EventType]:
        return [e.event_type for e in self.events[since:]]


def _signal(drive: Drive) -> None:
    drive.send(rq.SignalWorkflowExecution("poke", request_id="r1"))


def _started(event: HistoryEvent) -> WorkflowTaskStartedEventAttributes:
    assert isinstance(event.attributes, WorkflowTaskStartedEventAttributes)
    return event.attributes


def _pushed(drive: Drive) -> list[rq.WorkflowTaskTransfer]:
    return [t for t in drive.tasks if isinstance(t, rq.WorkflowTaskTransfer)]


def _wft_timers(drive: Drive) -> list[rq.WorkflowTaskTimeoutTask]:
    return [t for t in drive.tasks if isinstance(t, rq.WorkflowTaskTimeoutTask)]


def _assert_started_inline(drive: Drive, reply: rq.Reply) -> rq.WorkflowTaskStarted:
    """The reply carries the task the completion started, as a poll's reply would."""
    assert isinstance(reply, rq.WorkflowTaskCompletedOk)
    new = reply.new_task
    wft = drive.state.wft
    assert new is not None and wft is not None and wft.started
    assert new.token == rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, 1)
    assert new.previous_started_event_id == drive.state.last_completed_wft_started_event_id
    assert new.next_event_id == drive.state.next_event_id
    assert wft.request_id == INLINE_START_REQUEST_ID and wft.identity == "w1"
    assert _pushed(drive) == []  # nothing for matching
    (timer,) = _wft_timers(drive)  # start-to-close only: no schedule-to-start
    assert timer.timeout_type is TimeoutType.START_TO_CLOSE
    assert (timer.scheduled_event_id, timer.fire_time) == (
        wft.scheduled_event_id,
        drive.now + TIMEOUT,
    )
    return new


def test_a_signal_buffered_while_the_task_ran_gets_the_next_task_inline() -> None:
    drive = Drive()
    token = drive.poll()
    _signal(drive)  # buffered: the task runs
    written = len(drive.events)
    reply = drive.complete(token)
    new = _assert_started_inline(drive, reply)
    assert drive.types(written) == [
        E.WORKFLOW_TASK_COMPLETED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
    ]
    scheduled, started = drive.events[-2:]
    assert isinstance(scheduled.attributes, WorkflowTaskScheduledEventAttributes)
    queue = scheduled.attributes.task_queue
    assert queue is not None and (queue.name, queue.kind) == (STICKY, TaskQueueKind.STICKY)
    a = _started(started)
    assert (a.scheduled_event_id, a.request_id, a.identity) == (
        scheduled.event_id,
        INLINE_START_REQUEST_ID,
        "w1",
    )
    assert (a.worker_version, a.history_size_bytes) == (STAMP, 321)
    assert new.token.started_event_id == started.event_id
    assert drive.state.sticky_queue == STICKY  # still sticky: started from its own queue
    # the worker completes the task it was handed
    assert drive.complete(new.token, inline=False) == rq.Ok()


def test_not_asked_the_next_task_goes_through_matching() -> None:
    drive = Drive()
    token = drive.poll()
    _signal(drive)
    written = len(drive.events)
    assert drive.complete(token, inline=False) == rq.Ok()
    assert drive.types(written) == [
        E.WORKFLOW_TASK_COMPLETED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    wft = drive.state.wft
    assert wft is not None and not wft.started
    (push,) = _pushed(drive)
    assert (push.scheduled_event_id, push.task_queue, push.sticky) == (
        wft.scheduled_event_id,
        STICKY,
        True,
    )
    (timer,) = _wft_timers(drive)
    assert timer.timeout_type is TimeoutType.SCHEDULE_TO_START


def test_no_new_task_no_inline_task() -> None:
    drive = Drive()
    token = drive.poll()
    assert drive.complete(token) == rq.Ok()
    assert drive.state.wft is None and _pushed(drive) == []


def test_the_local_activity_heartbeat_gets_its_next_task_inline() -> None:
    drive = Drive()
    token = drive.poll()
    written = len(drive.events)
    reply = drive.complete(token, force_create_new_workflow_task=True)
    _assert_started_inline(drive, reply)
    assert drive.types(written) == [
        E.WORKFLOW_TASK_COMPLETED,
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
    ]
    assert _started(drive.events[-1]).request_id == INLINE_START_REQUEST_ID


def test_an_activity_cancelled_before_it_started_gets_the_next_task_inline() -> None:
    drive = Drive()
    schedule = Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id="a",
            activity_type=ActivityType(name="Act"),
            task_queue=task_queue("q"),
            start_to_close_timeout=5 * S,
        ),
    )
    first = drive.poll()  # schedules the activity and asks for the next task, to cancel it
    assert (
        drive.complete(
            first, inline=False, commands=(schedule,), force_create_new_workflow_task=True
        )
        == rq.Ok()
    )
    sid = next(e.event_id for e in drive.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    cancel = Command(
        CommandType.REQUEST_CANCEL_ACTIVITY_TASK,
        RequestCancelActivityTaskCommandAttributes(scheduled_event_id=sid),
    )
    written = len(drive.events)
    reply = drive.complete(drive.poll(), commands=(cancel,))
    _assert_started_inline(drive, reply)
    assert drive.types(written)[-3:] == [
        E.ACTIVITY_TASK_CANCELED,
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
    ]


def test_an_update_admitted_while_the_task_ran_gets_a_speculative_task_inline() -> None:
    drive = Drive()
    token = drive.poll()
    drive.send(rq.UpdateWorkflowExecution("u1", Opaque.of({"meta": {"updateId": "u1"}})))
    written = len(drive.events)
    reply = drive.complete(token)
    new = _assert_started_inline(drive, reply)
    assert drive.types(written) == [E.WORKFLOW_TASK_COMPLETED]  # the task writes nothing yet
    wft = drive.state.wft
    assert wft is not None and wft.speculative
    assert [u.sent for u in drive.state.updates] == [True]  # carried by the task
    assert new.token.scheduled_event_id == drive.state.next_event_id
    # accepted: the task's Scheduled and Started are written, with the inline request id
    accept = rq.UpdateMessage("u1/accept", "u1", rq.UpdateMessageKind.ACCEPT)
    written = len(drive.events)
    assert drive.complete(new.token, inline=False, messages=(accept,)) == rq.Ok()
    assert drive.types(written)[:3] == [
        E.WORKFLOW_TASK_SCHEDULED,
        E.WORKFLOW_TASK_STARTED,
        E.WORKFLOW_TASK_COMPLETED,
    ]
    assert _started(drive.events[written + 1]).request_id == INLINE_START_REQUEST_ID


def test_not_asked_an_updates_task_is_a_normal_one() -> None:
    drive = Drive()
    token = drive.poll()
    drive.send(rq.UpdateWorkflowExecution("u1", Opaque.of({"meta": {"updateId": "u1"}})))
    written = len(drive.events)
    assert drive.complete(token, inline=False) == rq.Ok()
    assert drive.types(written) == [E.WORKFLOW_TASK_COMPLETED, E.WORKFLOW_TASK_SCHEDULED]
    wft = drive.state.wft
    assert wft is not None and not wft.speculative and not wft.started
    assert len(_pushed(drive)) == 1


def test_a_discarded_speculative_task_hands_on_the_next_one_inline() -> None:
    drive = Drive()
    assert drive.complete(drive.poll(), inline=False) == rq.Ok()
    drive.send(rq.UpdateWorkflowExecution("u1", Opaque.of({"meta": {"updateId": "u1"}})))
    token = drive.poll()  # the speculative task
    drive.send(rq.UpdateWorkflowExecution("u2", Opaque.of({"meta": {"updateId": "u2"}})))
    reject = rq.UpdateMessage("u1/reject", "u1", rq.UpdateMessageKind.REJECT)
    written = len(drive.events)
    reply = drive.complete(token, messages=(reject,))
    assert isinstance(reply, rq.TaskDiscarded) and reply.new_task is not None
    assert reply.reset_history_event_id == drive.state.last_completed_wft_started_event_id
    wft = drive.state.wft
    assert wft is not None and wft.speculative and wft.request_id == INLINE_START_REQUEST_ID
    assert reply.new_task.token.scheduled_event_id == wft.scheduled_event_id
    assert len(drive.events) == written and _pushed(drive) == []


def test_a_refused_completion_schedules_its_retry_through_matching() -> None:
    drive = Drive()
    token = drive.poll()
    _signal(drive)  # so a close command is unhandled
    complete = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )
    written = len(drive.events)
    reply = drive.complete(token, commands=(complete,))
    assert isinstance(reply, rq.Error)
    assert drive.types(written) == [
        E.WORKFLOW_TASK_FAILED,
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    wft = drive.state.wft
    assert wft is not None and not wft.started and len(_pushed(drive)) == 1


def test_a_stamp_that_uses_versioning_is_left_off_the_inline_start() -> None:
    """The run has no assigned build id (old versioning): the server drops such a stamp
    and still starts the task inline."""
    drive = Drive()
    token = drive.poll()
    _signal(drive)
    versioned = Opaque.of({"buildId": "b2", "useVersioning": True})
    reply = drive.complete(token, worker_version=versioned)
    _assert_started_inline(drive, reply)
    assert _started(drive.events[-1]).worker_version is None


def test_a_transient_tasks_completion_hands_on_a_first_attempt() -> None:
    drive = Drive()
    drive.send(rq.RespondWorkflowTaskFailed(drive.poll()))  # the retry is transient
    token = drive.poll()
    assert token.attempt == 2
    _signal(drive)
    written = len(drive.events)
    reply = drive.complete(token)
    new = _assert_started_inline(drive, reply)
    assert new.token.attempt == 1
    assert drive.types(written)[-2:] == [E.WORKFLOW_TASK_SCHEDULED, E.WORKFLOW_TASK_STARTED]


def test_a_pinned_run_told_of_a_new_target_is_told_again_inline() -> None:
    """The inline start asked matching nothing: it reports no routing revision (the
    server's -1), which leaves what the run was told as it is, and its Started says the
    target version changed, as every task's does until the run is on its target."""
    drive = Drive()
    token = drive.poll()
    told = TargetSeen(DeploymentVersion("d", "b2"), 5)
    pinned = VersioningInfo(
        behavior=VersioningBehavior.PINNED, version=DeploymentVersion("d", "b1"), notified=told
    )
    drive.state = dataclasses.replace(drive.state, versioning=pinned)
    _signal(drive)
    reply = drive.complete(
        token,
        deployment_options=rq.WorkerDeploymentOptions("d", "b1", versioned=True),
        versioning_behavior=VersioningBehavior.PINNED,
    )
    _assert_started_inline(drive, reply)
    assert _started(drive.events[-1]).target_worker_deployment_version_changed
    versioning = drive.state.versioning
    assert versioning is not None and versioning.notified == told
