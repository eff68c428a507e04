"""The history service's rules, one behaviour per test (docs/temporal-semantics.md)."""

from __future__ import annotations

from core import requests as rq
from core.commands import (
    CancelTimerCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, EventType, TaskQueueKind, TimeoutType, WorkflowTaskFailedCause
from core.events import (
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskFailedEventAttributes,
)
from core.payloads import from_payloads
from core.statemachine.history.service import handle as service
from core.statemachine.history.validator import validate
from tests.core.statemachine.coverage_scenarios import Run, S, activity

E = EventType
C = CommandType


def _types(run: Run, since: int = 0) -> list[str]:
    return [e.event_type.name for e in run.events[since:]]


def complete_cmd() -> Command:
    return Command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes())


def timer_cmd(timer_id: str = "t", seconds: int = 5) -> Command:
    return Command(C.START_TIMER, StartTimerCommandAttributes(timer_id, seconds * S))


def test_close_command_must_be_last() -> None:
    run = Run()
    token = run.poll()
    before = (run.state, len(run.events))
    reply = run.send(rq.RespondWorkflowTaskCompleted(token, (complete_cmd(), timer_cmd())))
    assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.INVALID_ARGUMENT
    assert (run.state, len(run.events)) == before


def test_close_with_buffered_events_is_unhandled_command() -> None:
    run = Run()
    token = run.poll()
    run.send(rq.SignalWorkflowExecution("late"))  # buffered: the task is in flight
    assert run.state.buffered and len(run.events) == 3
    run.send(rq.RespondWorkflowTaskCompleted(token, (complete_cmd(),)))
    assert _types(run, 3) == [
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    failed = run.events[3].attributes
    assert failed.cause is WorkflowTaskFailedCause.UNHANDLED_COMMAND  # type: ignore[union-attr]
    assert run.state.running
    run.check()


def test_buffered_events_flush_after_the_commands() -> None:
    run = Run()
    token = run.poll()
    run.send(rq.SignalWorkflowExecution("during"))
    run.send(rq.RespondWorkflowTaskCompleted(token, (timer_cmd(),)))
    assert _types(run, 3) == [
        "WORKFLOW_TASK_COMPLETED",
        "TIMER_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]
    run.check()


def test_record_workflow_task_started_dedupes_and_rejects_stale() -> None:
    run = Run()
    wft = run.state.wft
    assert wft is not None
    first = run.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "r1"))
    again = run.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "r1"))
    other = run.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "r2"))
    stale = run.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp - 1, "r3"))
    unknown = run.send(rq.RecordWorkflowTaskStarted(99, wft.stamp, "r4"))
    assert isinstance(first, rq.WorkflowTaskStarted) and again == first
    assert isinstance(other, rq.Error) and other.kind is rq.ErrorKind.ALREADY_STARTED
    assert isinstance(stale, rq.Error) and stale.kind is rq.ErrorKind.OBSOLETE
    assert isinstance(unknown, rq.Error) and unknown.kind is rq.ErrorKind.NOT_FOUND
    assert _types(run).count("WORKFLOW_TASK_STARTED") == 1


def test_stale_tokens_are_not_found() -> None:
    run = Run()
    token = run.poll()
    run.send(rq.RespondWorkflowTaskCompleted(token, (activity("a"),)))
    stale = run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    assert isinstance(stale, rq.Error) and stale.kind is rq.ErrorKind.NOT_FOUND
    sid = run.events[-1].event_id
    gone = run.send(rq.RespondActivityTaskCompleted(rq.ActivityTaskToken(sid, 7)))
    assert isinstance(gone, rq.Error) and gone.kind is rq.ErrorKind.NOT_FOUND


def test_signal_request_ids_are_idempotent() -> None:
    run = Run()
    run.send(rq.SignalWorkflowExecution("s", request_id="once"))
    run.send(rq.SignalWorkflowExecution("s", request_id="once"))
    assert _types(run).count("WORKFLOW_EXECUTION_SIGNALED") == 1


def test_start_is_idempotent_for_its_request_id_only() -> None:
    run = Run()
    same = service.handle(
        run.state, rq.StartWorkflowExecution("default", "wf", "x", "Flow", "q", "start"), 1
    )
    other = service.handle(
        run.state, rq.StartWorkflowExecution("default", "wf", "y", "Flow", "q", "other"), 1
    )
    assert same.reply == rq.Ok() and same.events == ()
    assert isinstance(other.reply, rq.Error) and other.reply.kind is rq.ErrorKind.ALREADY_EXISTS


def test_cancel_timer_races_a_buffered_fire() -> None:
    """The buffered TimerFired is deleted and TimerCanceled written (GetAndRemoveTimerFireEvent)."""
    run = Run()
    run.complete(timer_cmd("t"))
    token = run.poll()
    run.fire(rq.UserTimerTask, timer_id="t")  # fires while the task is in flight: buffered
    cancel = Command(C.CANCEL_TIMER, CancelTimerCommandAttributes("t"))
    run.send(rq.RespondWorkflowTaskCompleted(token, (cancel,)))
    assert "TIMER_FIRED" not in _types(run) and "TIMER_CANCELED" in _types(run)
    run.check()


def test_sticky_timeout_falls_back_to_the_normal_queue() -> None:
    run = Run()
    token = run.poll()
    run.send(
        rq.RespondWorkflowTaskCompleted(
            token, (), sticky_queue="worker-1", sticky_schedule_to_start_timeout=5 * S
        )
    )
    run.send(rq.SignalWorkflowExecution("wake"))
    assert run.state.wft is not None and run.state.wft.sticky
    run.fire(rq.WorkflowTaskTimeoutTask, timeout_type=TimeoutType.SCHEDULE_TO_START)
    last = run.events[-1].attributes
    assert _types(run)[-2:] == ["WORKFLOW_TASK_TIMED_OUT", "WORKFLOW_TASK_SCHEDULED"]
    assert last.task_queue.kind is TaskQueueKind.NORMAL  # type: ignore[union-attr]
    assert last.attempt == 1  # type: ignore[union-attr]
    run.check()


def test_activity_retries_write_no_events_and_started_carries_the_attempt() -> None:
    run = Run()
    run.complete(activity("a", attempts=3))
    sid = run.events[-1].event_id
    before = len(run.events)
    for _ in range(2):
        token = run.start_activity(sid)
        run.send(rq.RespondActivityTaskFailed(token, error_type="Boom"))
        run.fire(rq.ActivityRetryTask, scheduled_event_id=sid)
    assert len(run.events) == before
    run.send(rq.RespondActivityTaskCompleted(run.start_activity(sid)))
    started = run.events[before].attributes
    assert _types(run, before)[:2] == ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"]
    assert started.attempt == 3  # type: ignore[union-attr]
    run.check()


def test_continue_as_new_starts_the_next_run() -> None:
    run = Run()
    token = run.poll()
    can = Command(
        C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION, ContinueAsNewWorkflowExecutionCommandAttributes()
    )
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (can,)), 9)
    assert outcome.new_run is not None
    closed = outcome.events[-1].attributes
    assert closed.new_execution_run_id == outcome.new_run.run_id  # type: ignore[union-attr]
    assert outcome.new_run.continued_execution_run_id == "run-1"
    nxt = service.start(outcome.new_run, 10)
    assert validate(nxt.events).violations == ()
    started = nxt.events[0].attributes
    assert started.continued_execution_run_id == "run-1"  # type: ignore[union-attr]


def test_terminate_fails_the_in_flight_task_first() -> None:
    run = Run()
    run.poll()
    run.send(rq.SignalWorkflowExecution("buffered"))
    run.send(rq.TerminateWorkflowExecution("stop"))
    assert _types(run, 3) == [
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_TERMINATED",
    ]
    closed = run.send(rq.SignalWorkflowExecution("after"))
    assert isinstance(closed, rq.Error) and closed.kind is rq.ErrorKind.WORKFLOW_COMPLETED
    run.check()


def test_requests_never_mutate_their_inputs() -> None:
    run = Run()
    snapshot = run.state
    service.handle(run.state, rq.SignalWorkflowExecution("s"), 5)
    assert run.state is snapshot and run.state == snapshot


def test_parent_close_policies() -> None:
    from core.statemachine.history.service.execution import parent_close_requests

    task = rq.CloseExecutionTransfer(
        run_id="p", children=(("t", "r1", 1), ("a", "r2", 2), ("c", "r3", 3))
    )
    sent = parent_close_requests(task)
    assert [(wid, type(req).__name__) for wid, _, req in sent] == [
        ("t", "TerminateWorkflowExecution"),
        ("c", "RequestCancelWorkflowExecution"),
    ]


def test_closing_parent_lists_started_children_with_policies() -> None:
    from core.commands import StartChildWorkflowExecutionCommandAttributes
    from core.enums import ParentClosePolicy
    from core.events import WorkflowType

    run = Run()
    start_child = Command(
        C.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid",
            workflow_type=WorkflowType(name="Kid"),
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        ),
    )
    run.complete(start_child)
    initiated = run.events[-1].event_id
    run.send(rq.RecordChildExecutionStarted(initiated, "kid-run"))
    outcome = service.handle(run.state, rq.TerminateWorkflowExecution("stop"), run.now + S)
    close = [t for t in outcome.tasks if isinstance(t, rq.CloseExecutionTransfer)]
    assert close and close[0].children == (("kid", "kid-run", 3),)


def test_workflow_task_timers_of_other_kinds_are_stale() -> None:
    """Found by the stateful test: a made-up timer kind must get NOT_FOUND, not raise."""
    run = Run()
    wft = run.state.wft
    assert wft is not None
    for kind in (
        TimeoutType.SCHEDULE_TO_CLOSE,
        TimeoutType.HEARTBEAT,
        TimeoutType.SCHEDULE_TO_START,
    ):
        task = rq.WorkflowTaskTimeoutTask(wft.scheduled_event_id, kind, wft.attempt, wft.stamp, 0)
        reply = run.send(rq.FireTimer(task))
        assert isinstance(reply, rq.Error) and reply.kind is rq.ErrorKind.NOT_FOUND


def test_workflow_id_reuse_policies() -> None:
    from core.enums import WorkflowIdReusePolicy as P

    def start(policy: P, request_id: str = "again") -> rq.StartWorkflowExecution:
        return rq.StartWorkflowExecution(
            "default", "wf", "run-2", "Flow", "q", request_id, id_reuse_policy=policy
        )

    running = Run()
    refused = service.handle(running.state, start(P.ALLOW_DUPLICATE), 5)
    assert isinstance(refused.reply, rq.Error) and refused.new_run is None
    replaced = service.handle(running.state, start(P.TERMINATE_IF_RUNNING), 5)
    assert replaced.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED
    assert replaced.new_run is not None and replaced.new_run.run_id == "run-2"
    # in the history service's words, as the dev server writes them for a child start too
    words = replaced.events[-1].attributes
    assert isinstance(words, WorkflowExecutionTerminatedEventAttributes)
    assert (words.reason, words.identity) == (
        "TerminateIfRunning WorkflowIdReusePolicy",
        "history-service",
    )
    assert from_payloads(words.details) == ["terminated by new runID: run-2"]

    completed = Run()
    completed.complete(complete_cmd())
    assert service.handle(completed.state, start(P.ALLOW_DUPLICATE), 9).new_run is not None
    for policy in (P.ALLOW_DUPLICATE_FAILED_ONLY, P.REJECT_DUPLICATE):
        outcome = service.handle(completed.state, start(policy), 9)
        assert isinstance(outcome.reply, rq.Error) and outcome.new_run is None

    terminated = Run()
    terminated.send(rq.TerminateWorkflowExecution("stop"))
    again = service.handle(terminated.state, start(P.ALLOW_DUPLICATE_FAILED_ONLY), 9)
    assert again.new_run is not None


def test_a_child_close_before_its_start_is_recorded_is_retried_not_lost() -> None:
    """Found by the simulator: the child's close raced ahead of its start."""
    from core.commands import StartChildWorkflowExecutionCommandAttributes
    from core.events import WorkflowType

    run = Run()
    start_child = Command(
        C.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid", workflow_type=WorkflowType(name="Kid")
        ),
    )
    run.complete(start_child)
    initiated = run.events[-1].event_id
    close = rq.RecordChildExecutionCompleted(initiated, rq.ChildOutcome.COMPLETED)
    before = (run.state, len(run.events))
    early = run.send(close)
    assert isinstance(early, rq.Error) and early.kind is rq.ErrorKind.NOT_READY
    assert (run.state, len(run.events)) == before  # nothing written, nothing dropped
    run.send(rq.RecordChildExecutionStarted(initiated, "kid-run"))
    assert isinstance(run.send(close), rq.Ok)
    assert "CHILD_WORKFLOW_EXECUTION_COMPLETED" in _types(run)
    late = run.send(close)  # a repeat after it was recorded: nothing left to record
    assert isinstance(late, rq.Error) and late.kind is rq.ErrorKind.NOT_FOUND


def test_a_retried_start_is_answered_again_after_the_run_closed() -> None:
    """The request id is compared before the reuse policy (startworkflow/api.go)."""
    run = Run()
    run.complete(complete_cmd())
    assert not run.state.running
    again = rq.StartWorkflowExecution(
        run.state.namespace,
        run.state.workflow_id,
        "another-run",
        run.state.workflow_type,
        run.state.task_queue,
        run.state.start_request_id,
    )
    outcome = service.handle(run.state, again, run.now + S)
    assert isinstance(outcome.reply, rq.Ok) and outcome.new_run is None
    other = service.handle(
        run.state,
        rq.StartWorkflowExecution(
            run.state.namespace,
            run.state.workflow_id,
            "another-run",
            run.state.workflow_type,
            run.state.task_queue,
            "a-different-request",
        ),
        run.now + S,
    )
    assert other.new_run is not None  # ALLOW_DUPLICATE: a different start may begin a new run


def test_a_task_in_flight_is_failed_by_the_history_service() -> None:
    """A terminate (or a run timeout) fails the started workflow task as the history
    service: FORCE_CLOSE_COMMAND, identity "history-service" (failWorkflowTask,
    service/history/workflow/util.go)."""
    run = Run()
    run.poll()
    ended = service.handle(run.state, rq.TerminateWorkflowExecution("stop", "me"), 9)
    failed = [
        e.attributes
        for e in ended.events
        if isinstance(e.attributes, WorkflowTaskFailedEventAttributes)
    ]
    assert [(f.cause, f.identity) for f in failed] == [
        (WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND, "history-service")
    ]
    terminated = ended.events[-1].attributes
    assert isinstance(terminated, WorkflowExecutionTerminatedEventAttributes)
    assert terminated.identity == "me"
