"""Which failures a retry policy retries is decided from the failure itself
(`IsRetryableFailure` in common/retrypolicy/retry_policy.go): never a terminated or a
canceled one; a timeout only of the start-to-close or heartbeat kind, unless the policy
lists it as TemporalTimeout:StartToClose or TemporalTimeout:Heartbeat; a server failure
unless it says non-retryable; an application failure unless it says so or its type is
listed. For an activity, a schedule-to-start or schedule-to-close timeout failure ends it
with RETRY_STATE_TIMEOUT before that (`RetryActivity` in mutable_state_impl.go), and an
attempt timer's own timeout is judged the same way (processSingleActivityTimeoutTask in
timer_queue_active_task_executor.go). The real server's
tests/fixtures/unseen-histories/odd-failures.json shows each for activities (failed by id
from the client) and odd-*.run1.json for workflows.

One timer task that times several started activities out writes every Started event
before the closes: the server buffers them all and its flush moves the closes to the end
(`reorderBuffer` in service/history/historybuilder/event_store.go; swept.json)."""

from __future__ import annotations

import pytest

from core import requests as rq
from core.commands import Command, FailWorkflowExecutionCommandAttributes
from core.enums import CommandType, EventType, RetryState, TimeoutType
from core.fastinit import replace
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.retry import retryable
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run, activity, cancel

S = 10**9
E = EventType
LISTED = ("TemporalTimeout:StartToClose", "TemporalTimeout:Heartbeat")


def _timeout(kind: str) -> dict[str, JsonValue]:
    return {"message": "m", "timeoutFailureInfo": {"timeoutType": f"TIMEOUT_TYPE_{kind}"}}


FAILURES: list[tuple[dict[str, JsonValue], RetryState | None]] = [
    ({"message": "m", "canceledFailureInfo": {}}, RetryState.NON_RETRYABLE_FAILURE),
    ({"message": "m", "terminatedFailureInfo": {}}, RetryState.NON_RETRYABLE_FAILURE),
    (
        {"message": "m", "serverFailureInfo": {"nonRetryable": True}},
        RetryState.NON_RETRYABLE_FAILURE,
    ),
    ({"message": "m", "serverFailureInfo": {}}, None),
    (_timeout("START_TO_CLOSE"), RetryState.NON_RETRYABLE_FAILURE),  # listed
    (_timeout("SCHEDULE_TO_START"), RetryState.TIMEOUT),  # a deadline, for an activity
    (_timeout("SCHEDULE_TO_CLOSE"), RetryState.TIMEOUT),
    ({"message": "m", "applicationFailureInfo": {"type": "Mine"}}, None),
    ({"message": "m"}, None),
]


def _activity_run(types: tuple[str, ...] = LISTED, heartbeat: int | None = None) -> Run:
    run = Run()
    command = activity("a", 3)
    listed: list[JsonValue] = list(types)
    policy = Opaque.of(
        {"initialInterval": "1s", "maximumAttempts": 3, "nonRetryableErrorTypes": listed}
    )
    attributes = replace(command.attributes, retry_policy=policy, heartbeat_timeout=heartbeat)
    run.complete(Command(command.command_type, attributes))
    return run


def _activity_closes(run: Run) -> list[RetryState]:
    closes = (E.ACTIVITY_TASK_FAILED, E.ACTIVITY_TASK_TIMED_OUT)
    return [e.attributes.retry_state for e in run.events if e.event_type in closes]  # type: ignore[union-attr]


@pytest.mark.parametrize(("failure", "expected"), FAILURES)
def test_an_activitys_failure_is_judged_by_its_kind(
    failure: dict[str, JsonValue], expected: RetryState | None
) -> None:
    run = _activity_run()
    (info,) = run.state.activities
    token = run.start_activity(info.scheduled_event_id)
    run.send(rq.RespondActivityTaskFailed(token, Opaque.of(failure)))
    assert _activity_closes(run) == ([] if expected is None else [expected])
    if expected is None:
        assert run.state.activities[0].attempt == 2
    run.check()


@pytest.mark.parametrize("heartbeat", [None, 1])
def test_an_attempt_timer_the_policy_lists_is_not_retried(heartbeat: int | None) -> None:
    for types, expected in ((LISTED, [RetryState.NON_RETRYABLE_FAILURE]), ((), [])):
        run = _activity_run(types, heartbeat * S if heartbeat else None)
        (info,) = run.state.activities
        run.start_activity(info.scheduled_event_id)
        kind = TimeoutType.HEARTBEAT if heartbeat else TimeoutType.START_TO_CLOSE
        run.fire(rq.ActivityTimeoutTask, timeout_type=kind)
        assert _activity_closes(run) == expected


@pytest.mark.parametrize(("failure", "expected"), FAILURES)
def test_a_workflows_failure_is_judged_by_its_kind(
    failure: dict[str, JsonValue], expected: RetryState | None
) -> None:
    listed: list[JsonValue] = list(LISTED)
    policy = Opaque.of({"initialInterval": "1s", "nonRetryableErrorTypes": listed})
    start = rq.StartWorkflowExecution("default", "wf", "r", "Flow", "q", "s", retry_policy=policy)
    run = ServiceRun(start)
    token = run.poll()
    fail = FailWorkflowExecutionCommandAttributes(Opaque.of(failure))
    complete = rq.RespondWorkflowTaskCompleted(
        token, (Command(CommandType.FAIL_WORKFLOW_EXECUTION, fail),)
    )
    outcome = service.handle(run.state, complete, run.now)
    (failed,) = [e for e in outcome.events if e.event_type is E.WORKFLOW_EXECUTION_FAILED]
    # a workflow has no schedule deadlines: those timeouts are simply not retryable
    if expected is RetryState.TIMEOUT:
        expected = RetryState.NON_RETRYABLE_FAILURE
    assert failed.attributes.retry_state is (expected or RetryState.IN_PROGRESS)  # type: ignore[union-attr]
    assert (outcome.new_run is None) == (expected is not None)


def test_retryable_reads_only_the_failures_own_kind() -> None:
    inner: dict[str, JsonValue] = {"message": "m", "terminatedFailureInfo": {}}
    assert retryable(Opaque.of({"message": "m", "cause": inner}), ())
    assert retryable(None, ())
    assert not retryable(Opaque.of({"message": "m", "timeoutFailureInfo": {}}), ())


def test_one_sweep_writes_every_started_event_before_the_closes() -> None:
    run = Run()
    commands = [activity(f"a{i}", 1) for i in range(3)]  # one attempt each
    run.complete(
        *(
            Command(c.command_type, replace(c.attributes, start_to_close_timeout=S))
            for c in commands
        )
    )
    scheduled = [e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED]
    for sid in scheduled:  # started together, as an eager dispatch starts them
        info = run.state.activity(sid)
        assert info is not None
        run.send(rq.RecordActivityTaskStarted(sid, info.stamp, f"r{sid}"), advance=0)
    written = len(run.events)
    task = next(t for t in run.timers if isinstance(t, rq.ActivityTimeoutTask))
    run.send(rq.FireTimer(task), advance=S)
    new = run.events[written:]
    assert [e.event_type for e in new] == [
        *[E.ACTIVITY_TASK_STARTED] * 3,
        *[E.ACTIVITY_TASK_TIMED_OUT] * 3,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    started = [e.event_id for e in new[:3]]
    assert [e.attributes.started_event_id for e in new[3:6]] == started  # type: ignore[union-attr]
    run.check()


def test_a_schedule_to_close_timeout_after_a_cancel_request_keeps_its_own_message() -> None:
    # RetryActivity answers CANCEL_REQUESTED before it looks at the timeout, so the
    # failure is not rewritten as "no time to retry" (cancel-timeout.json)
    for requested in (True, False):
        run = Run()
        command = activity("a", 0, 3 * S)
        run.complete(command)
        (info,) = run.state.activities
        run.start_activity(info.scheduled_event_id)
        if requested:
            run.complete(cancel(info.scheduled_event_id))
        run.fire(rq.ActivityTimeoutTask, timeout_type=TimeoutType.SCHEDULE_TO_CLOSE)
        (timed_out,) = [e for e in run.events if e.event_type is E.ACTIVITY_TASK_TIMED_OUT]
        a = timed_out.attributes
        body = a.failure.value()  # type: ignore[union-attr]
        assert isinstance(body, dict)
        message = str(body["message"])
        if requested:
            assert a.retry_state is RetryState.CANCEL_REQUESTED  # type: ignore[union-attr]
            assert message == "activity ScheduleToClose timeout"
        else:
            assert a.retry_state is RetryState.TIMEOUT  # type: ignore[union-attr]
            assert message.startswith("Not enough time to schedule next retry")
        run.check()


def test_a_cancel_report_nobody_asked_for_is_refused_with_the_servers_text() -> None:
    # the real server refused the client's report_cancellation so (unasked-cancel.json)
    run = Run()
    run.complete(activity("a"))
    (info,) = run.state.activities
    token = run.start_activity(info.scheduled_event_id)
    written = len(run.events)
    reply = run.send(rq.RespondActivityTaskCanceled(token))
    assert reply == rq.Error(
        rq.ErrorKind.INVALID_ARGUMENT,
        "unable to mark activity as canceled without activity being request canceled first",
    )
    assert len(run.events) == written


def test_a_sweep_takes_a_timer_due_within_the_same_millisecond() -> None:
    # IsTimeExpired truncates both times to the millisecond: an activity whose timer is
    # due 0.3 ms after the sweep's time is timed out by it too (odd-failures.second.json)
    run = Run()
    commands = [activity(f"a{i}", 1) for i in range(2)]
    run.complete(
        *(
            Command(c.command_type, replace(c.attributes, start_to_close_timeout=S))
            for c in commands
        )
    )
    scheduled = [e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED]
    for k, sid in enumerate(scheduled):
        info = run.state.activity(sid)
        assert info is not None
        run.send(rq.RecordActivityTaskStarted(sid, info.stamp, f"r{sid}"), advance=k * 300_000)
    written = len(run.events)
    first = min(
        (t for t in run.timers if isinstance(t, rq.ActivityTimeoutTask)), key=lambda t: t.fire_time
    )
    run.send(rq.FireTimer(first), advance=first.fire_time - run.now)
    new = [e.event_type for e in run.events[written:]]
    assert new == [
        *[E.ACTIVITY_TASK_STARTED] * 2,
        *[E.ACTIVITY_TASK_TIMED_OUT] * 2,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    run.check()
