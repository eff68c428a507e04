"""A run's timeout and the chain it belongs to (core/statemachine/history/service/chain.py
`workflow_run_timeout`, execution.py `run_expiry`): a timed-out run is retried under its
retry policy or continued by its cron schedule while the chain's execution timeout
allows, as `executeWorkflowRunTimeoutTask` in Temporal's timer queue does; every run of
a chain keeps the first run's execution expiration; the run timeout counts from the end
of the first-task backoff; a retried or continued run keeps the completion callbacks.
The real server's history of a retried timeout is in the corpus
(run-timeout-retry.run1.json, .run2.json)."""

from __future__ import annotations

from core import requests as rq
from core.commands import (
    Command,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType, ContinueAsNewInitiator, EventType, RetryState
from core.events import (
    WorkflowExecutionFailedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionTimedOutEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate

S = 1_000_000_000
T0 = 1_796_518_237_268_759_788  # an instant that is not a whole millisecond
MS0 = 1_796_518_237_268_000_000  # one that is
POLICY = Opaque.of({"initialInterval": "1s", "backoffCoefficient": 2.0})
RESULT = Opaque.of({"payloads": [{"data": "ImRvbmUi"}]})
CALLBACKS = Opaque.of([{"nexus": {"url": "http://127.0.0.1:1/callback"}}])
# what the server hands a timed-out run's successor (failure.NewTimeoutFailure)
TIMEOUT_FAILURE = Opaque.of(
    {
        "message": "workflow timeout",
        "source": "Server",
        "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_START_TO_CLOSE"},
    }
)


def _request(**fields: object) -> rq.StartWorkflowExecution:
    return rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start", **fields)  # type: ignore[arg-type]


def _run_timer(outcome: Outcome) -> rq.WorkflowRunTimeoutTask:
    (task,) = (t for t in outcome.tasks if isinstance(t, rq.WorkflowRunTimeoutTask))
    return task


def _time_out(started: Outcome) -> Outcome:
    task = _run_timer(started)
    return service.handle(started.state, rq.FireTimer(task), task.fire_time)


def _timed_out(outcome: Outcome) -> WorkflowExecutionTimedOutEventAttributes:
    close = outcome.events[-1].attributes
    assert isinstance(close, WorkflowExecutionTimedOutEventAttributes)
    return close


def test_a_timed_out_run_with_a_retry_policy_is_retried() -> None:
    started = service.start(_request(run_timeout=2 * S, retry_policy=POLICY), T0)
    outcome = _time_out(started)
    close = _timed_out(outcome)
    assert outcome.state.status.name == "TIMED_OUT"
    assert close.retry_state is RetryState.IN_PROGRESS
    new = outcome.new_run
    assert new is not None and close.new_execution_run_id == new.run_id
    assert new.initiator is ContinueAsNewInitiator.RETRY and new.attempt == 2
    assert new.continued_execution_run_id == "run-1"
    assert new.continued_failure == TIMEOUT_FAILURE
    assert new.first_workflow_task_backoff == S  # the policy's initial interval
    assert new.run_timeout == 2 * S and new.retry_policy == POLICY
    # the parent hears nothing and the history is well formed
    transfer = next(t for t in outcome.tasks if isinstance(t, rq.CloseExecutionTransfer))
    assert transfer.parent_outcome is None
    assert validate([*started.events, *outcome.events]).violations == ()


def test_a_timed_out_cron_run_goes_on_by_its_schedule_with_its_last_result() -> None:
    request = _request(run_timeout=2 * S, cron_schedule="@every 5s", last_completion_result=RESULT)
    outcome = _time_out(service.start(request, T0))
    close = _timed_out(outcome)
    assert close.retry_state is RetryState.RETRY_POLICY_NOT_SET
    new = outcome.new_run
    assert new is not None and close.new_execution_run_id == new.run_id
    assert new.initiator is ContinueAsNewInitiator.CRON_SCHEDULE and new.attempt == 1
    assert new.last_completion_result == RESULT and new.continued_failure == TIMEOUT_FAILURE


def test_a_timed_out_run_with_neither_ends_its_chain() -> None:
    outcome = _time_out(service.start(_request(run_timeout=2 * S), T0))
    close = _timed_out(outcome)
    assert close.retry_state is RetryState.RETRY_POLICY_NOT_SET
    assert close.new_execution_run_id == "" and outcome.new_run is None


def test_a_policy_can_name_the_run_timeout_non_retryable() -> None:
    policy = Opaque.of({"nonRetryableErrorTypes": ["TemporalTimeout:StartToClose"]})
    outcome = _time_out(service.start(_request(run_timeout=2 * S, retry_policy=policy), T0))
    assert _timed_out(outcome).retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert outcome.new_run is None


def test_the_chains_execution_expiration_bounds_its_retries() -> None:
    """Run 1 (run timeout 2 s, execution timeout 5 s) times out and is retried after 1 s;
    run 2's timeout would fall at 2 + 1 + 2 s, which is the expiration: it times out
    there with retry state TIMEOUT, and nothing follows."""
    request = _request(run_timeout=2 * S, execution_timeout=5 * S, retry_policy=POLICY)
    first = service.start(request, MS0)
    expiration = MS0 + 5 * S
    assert first.state.execution_expiration == expiration
    assert _run_timer(first).fire_time == MS0 + 2 * S
    retried = _time_out(first)
    assert retried.new_run is not None
    assert retried.new_run.execution_expiration == expiration
    second = service.start(retried.new_run, MS0 + 2 * S)
    second_started = second.events[0].attributes
    assert isinstance(second_started, WorkflowExecutionStartedEventAttributes)
    assert second_started.workflow_execution_expiration_time == expiration
    assert _run_timer(second).fire_time == expiration
    ended = _time_out(second)
    assert _timed_out(ended).retry_state is RetryState.TIMEOUT
    assert _timed_out(ended).new_execution_run_id == "" and ended.new_run is None


def test_the_run_timeout_counts_from_the_end_of_the_first_task_backoff() -> None:
    started = service.start(_request(run_timeout=2 * S, first_workflow_task_backoff=10 * S), T0)
    assert _run_timer(started).fire_time == T0 + 12 * S
    # capped by the execution expiration, which the backoff does not move
    capped = service.start(
        _request(run_timeout=2 * S, execution_timeout=11 * S, first_workflow_task_backoff=10 * S),
        T0,
    )
    assert _run_timer(capped).fire_time == capped.state.execution_expiration


def test_a_first_start_writes_its_execution_expiration() -> None:
    started = service.start(_request(execution_timeout=60 * S), T0).events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert started.workflow_execution_expiration_time == (T0 + 60 * S + 500_000) // 10**6 * 10**6
    plain = service.start(_request(), T0).events[0].attributes
    assert isinstance(plain, WorkflowExecutionStartedEventAttributes)
    assert plain.workflow_execution_expiration_time is None


def test_a_rebuilt_run_keeps_its_expiration_and_its_run_timer() -> None:
    request = _request(
        run_timeout=2 * S, execution_timeout=30 * S, first_workflow_task_backoff=3 * S,
        retry_policy=POLICY, completion_callbacks=CALLBACKS,
    )  # fmt: skip
    started = service.start(request, T0)
    rebuilt = rebuild(list(started.events), "default", "wf", "run-1", "start", T0)
    assert rebuilt.state.execution_expiration == started.state.execution_expiration
    assert rebuilt.state.completion_callbacks == CALLBACKS
    timers = [t for t in rebuilt.tasks if isinstance(t, rq.WorkflowRunTimeoutTask)]
    assert timers == [_run_timer(started)]


def _completed_with(state: MutableState, now: int, command: Command) -> Outcome:
    polled = service.handle(state, rq.RecordWorkflowTaskStarted(2, 1, "poll"), now)
    assert isinstance(polled.reply, rq.WorkflowTaskStarted)
    done = rq.RespondWorkflowTaskCompleted(polled.reply.token, (command,))
    return service.handle(polled.state, done, now)


FAIL = Command(
    CommandType.FAIL_WORKFLOW_EXECUTION,
    FailWorkflowExecutionCommandAttributes(Opaque.of({"message": "no"})),
)


def test_a_retried_runs_failure_is_retried_only_before_the_chains_expiration() -> None:
    """Run 1 (execution timeout 10 s) fails at 4 s and is retried after 1 s; run 2 fails
    at 8.5 s, and its retry would wait 2 s, past the expiration: no retry (TIMEOUT),
    though run 2's own start plus the execution timeout would have allowed it."""
    first = service.start(_request(execution_timeout=10 * S, retry_policy=POLICY), MS0)
    failed = _completed_with(first.state, MS0 + 4 * S, FAIL)
    assert failed.new_run is not None
    second = service.start(failed.new_run, MS0 + 4 * S)
    fired = service.handle(
        second.state, rq.FireTimer(rq.WorkflowBackoffTask(MS0 + 5 * S)), MS0 + 5 * S
    )
    again = _completed_with(fired.state, MS0 + 8 * S + S // 2, FAIL)
    close = again.events[-1].attributes
    assert isinstance(close, WorkflowExecutionFailedEventAttributes)
    assert close.retry_state is RetryState.TIMEOUT and again.new_run is None


def test_a_retry_keeps_the_completion_callbacks() -> None:
    request = _request(run_timeout=2 * S, retry_policy=POLICY, completion_callbacks=CALLBACKS)
    started = service.start(request, T0)
    timed_out = _time_out(started)
    assert timed_out.new_run is not None
    assert timed_out.new_run.completion_callbacks == CALLBACKS
    failed = _completed_with(started.state, T0 + S, FAIL)
    assert failed.new_run is not None and failed.new_run.completion_callbacks == CALLBACKS
    retried = service.start(failed.new_run, T0 + S).events[0].attributes
    assert isinstance(retried, WorkflowExecutionStartedEventAttributes)
    assert retried.completion_callbacks == CALLBACKS


def test_a_continued_run_keeps_the_completion_callbacks_and_a_cron_run_does_not() -> None:
    started = service.start(_request(completion_callbacks=CALLBACKS), T0)
    command = Command(
        CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(),
    )
    continued = _completed_with(started.state, T0 + S, command)
    assert continued.events[-1].event_type is EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert continued.new_run is not None
    assert continued.new_run.completion_callbacks == CALLBACKS
    cron = service.start(
        _request(cron_schedule="@every 5s", completion_callbacks=CALLBACKS, run_timeout=2 * S), T0
    )
    assert cron.state.completion_callbacks == CALLBACKS
    following = _time_out(cron).new_run
    assert following is not None and following.initiator is ContinueAsNewInitiator.CRON_SCHEDULE
    assert following.completion_callbacks is None
