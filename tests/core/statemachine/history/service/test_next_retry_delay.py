"""A worker's failure may ask for its next retry delay (ApplicationFailureInfo's
`nextRetryDelay`), which takes the retry policy's backoff's place: for an activity it
replaces the maximum interval too (`RetryActivity` in
service/history/workflow/mutable_state_impl.go), for a workflow the maximum interval
caps it (`getBackoffInterval` in service/history/workflow/retry.go); either way the next
attempt must begin before the schedule-to-close or execution deadline, or there is no
retry (RETRY_STATE_TIMEOUT). The real server's histories show all three:
tests/fixtures/unseen-histories/deadlines.json (activities asking for 5 s with 3 s to
live, one under a 1 s maximum interval: both fail with RETRY_STATE_TIMEOUT at once),
delay-past-timeout.run1.json (a workflow asking for 10 s with 5 s to live: no retry) and
delay-capped.run2.json (a workflow asking for 10 s under a 2 s maximum interval: its
retry starts after 2 s)."""

from __future__ import annotations

from collections.abc import Mapping

from core import requests as rq
from core.commands import Command, FailWorkflowExecutionCommandAttributes
from core.enums import CommandType, EventType, RetryState
from core.fastinit import replace
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.retry import requested_delay
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run, activity

S = 10**9
E = EventType


def _failure(delay: str | None) -> Opaque:
    info: dict[str, JsonValue] = {"type": "Retry"}
    if delay is not None:
        info["nextRetryDelay"] = delay
    return Opaque.of({"message": "retry me later", "applicationFailureInfo": info})


def _activity_fails(delay: str | None, schedule_to_close: int, policy: Mapping[str, str]) -> Run:
    run = Run()
    command = activity("a", 0, schedule_to_close)
    value: dict[str, JsonValue] = dict(policy)
    attributes = replace(command.attributes, retry_policy=Opaque.of(value))
    run.complete(Command(command.command_type, attributes))
    (info,) = run.state.activities
    token = run.start_activity(info.scheduled_event_id)
    run.send(rq.RespondActivityTaskFailed(token, _failure(delay), "Retry"), advance=0)
    return run


def _closes(run: Run) -> list[RetryState]:
    return [
        e.attributes.retry_state  # type: ignore[union-attr]
        for e in run.events
        if e.event_type is E.ACTIVITY_TASK_FAILED
    ]


def test_a_delay_past_the_schedule_to_close_deadline_ends_the_activity() -> None:
    policy = {"initialInterval": "1s"}
    run = _activity_fails("5s", 10 * S, policy)  # 5 s asked, ~7 s left: retried
    assert _closes(run) == [] and run.state.activities[0].attempt == 2
    run = _activity_fails("9s", 10 * S, policy)  # 9 s asked, less left: no retry
    assert _closes(run) == [RetryState.TIMEOUT]
    run.check()


def test_a_zero_delay_ends_an_activity_and_waits_a_workflows_maximum_interval() -> None:
    # nextBackoffInterval: no cap and no interval is no retry; an activity's zero delay is
    # its cap too (cancel-backoff.json: a 0 s delay, RETRY_STATE_TIMEOUT at once)
    run = _activity_fails("0s", 60 * S, {"initialInterval": "1s"})
    assert _closes(run) == [RetryState.TIMEOUT]
    outcome = _workflow_fails("0s", 60 * S, "7s")
    assert outcome.new_run is not None and outcome.new_run.first_workflow_task_backoff == 7 * S


def test_an_activitys_delay_replaces_its_maximum_interval() -> None:
    policy = {"initialInterval": "1s", "maximumInterval": "1s"}
    run = _activity_fails("9s", 10 * S, policy)  # not capped to 1 s: no time left
    assert _closes(run) == [RetryState.TIMEOUT]
    run = _activity_fails("5s", 60 * S, policy)
    (retry,) = [t for t in run.timers if isinstance(t, rq.ActivityRetryTask)]
    assert retry.fire_time == run.now + 5 * S
    run = _activity_fails(None, 60 * S, policy)  # without a delay: the policy's backoff
    (retry,) = [t for t in run.timers if isinstance(t, rq.ActivityRetryTask)]
    assert retry.fire_time == run.now + 1 * S


def _workflow_fails(delay: str, execution_timeout: int, maximum: str) -> service.Outcome:
    policy = Opaque.of({"initialInterval": "1s", "maximumInterval": maximum})
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start",
        execution_timeout=execution_timeout, retry_policy=policy,
    )  # fmt: skip
    run = ServiceRun(start)
    token = run.poll()
    fail = Command(
        CommandType.FAIL_WORKFLOW_EXECUTION, FailWorkflowExecutionCommandAttributes(_failure(delay))
    )
    return service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (fail,)), run.now)


def test_a_workflows_delay_is_capped_by_its_maximum_interval_and_its_deadline() -> None:
    outcome = _workflow_fails("10s", 5 * S, "100s")  # 10 s asked, 5 s to live: no retry
    (failed,) = [e for e in outcome.events if e.event_type is E.WORKFLOW_EXECUTION_FAILED]
    assert failed.attributes.retry_state is RetryState.TIMEOUT  # type: ignore[union-attr]
    assert outcome.new_run is None
    outcome = _workflow_fails("10s", 60 * S, "2s")  # capped at 2 s: retried after 2 s
    assert outcome.new_run is not None and outcome.new_run.first_workflow_task_backoff == 2 * S
    outcome = _workflow_fails("3s", 60 * S, "100s")
    assert outcome.new_run is not None and outcome.new_run.first_workflow_task_backoff == 3 * S


def test_only_the_failures_own_info_asks_for_a_delay() -> None:
    assert requested_delay(_failure("1.500s")) == 3 * S // 2
    assert requested_delay(_failure(None)) is None
    assert requested_delay(Opaque.of({"message": "m", "cause": _failure("2s").value()})) is None
    assert requested_delay(None) is None
