"""The standalone Nexus operation's table (core/statemachine/standalone/nexus_operation.py)
against the transitions of chasm/lib/nexusoperation (operation_statemachine.go,
operation.go, operation_tasks.go, cancellation_statemachine.go)."""

from __future__ import annotations

import pytest

from core.opaque import JsonValue, Opaque
from core.statemachine.standalone import nexus_operation as no

S = 1_000_000_000
In, C, St = no.Input, no.CancelInput, no.Status


def scheduled(**timeouts: int) -> tuple[no.NexusOperation, no.Effects]:
    return no.schedule("op", "run", "req", ("ep", "svc", "echo"), no.Timeouts(**timeouts), 100 * S)


def step(
    o: no.NexusOperation, input_: no.Input | no.CancelInput, at: int, **kw: object
) -> no.Decision:
    return no.decide(o, no.Event(input_, at * S, **kw))  # type: ignore[arg-type]


def test_a_new_operation_is_invoked_and_arms_its_schedule_timeouts() -> None:
    o, effects = scheduled(schedule_to_close=30 * S, schedule_to_start=5 * S)
    assert effects.invoke and o.status is St.SCHEDULED and o.attempt == 1
    assert {(t.input, t.due) for t in effects.timers} == {
        (In.SCHEDULE_TO_START_TIMEOUT, 105 * S),
        (In.SCHEDULE_TO_CLOSE_TIMEOUT, 130 * S),
    }
    _o, none = scheduled()
    assert none.timers == ()


def test_a_retryable_failure_backs_off_and_its_timer_sends_the_next_attempt() -> None:
    o, _ = scheduled()
    failure = Opaque.of({"message": "boom"})
    d = step(o, In.ATTEMPT_FAILED, 101, attempt=1, retryable=True, delay=2 * S, payload=failure)
    o = d.operation
    assert o.status is St.BACKING_OFF and o.next_attempt == 103 * S
    assert o.last_attempt_failure == failure and o.last_attempt_complete == 101 * S
    assert d.effects.timers == (no.Timer(In.BACKOFF_DONE, 103 * S, 1),)
    assert step(o, In.BACKOFF_DONE, 103, attempt=0).operation == o  # another attempt's timer
    d = step(o, In.BACKOFF_DONE, 103, attempt=1)
    assert d.operation.status is St.SCHEDULED and d.operation.attempt == 2 and d.effects.invoke
    assert d.operation.next_attempt == 0
    # a late answer to the first attempt changes nothing
    assert step(d.operation, In.SYNC_SUCCEEDED, 104, attempt=1).operation == d.operation


def test_a_non_retryable_failure_closes_with_the_attempts_failure_as_outcome() -> None:
    o, _ = scheduled()
    failure = Opaque.of({"message": "no"})
    o = step(o, In.ATTEMPT_FAILED, 101, attempt=1, payload=failure).operation
    assert o.status is St.FAILED and o.failure is None and o.outcome_failure() == failure
    assert o.close_time == 101 * S


def test_a_token_starts_the_operation_and_its_completion_closes_it() -> None:
    o, _ = scheduled(start_to_close=10 * S)
    link = {"workflowEvent": {"namespace": "default"}}
    d = step(o, In.ASYNC_STARTED, 101, attempt=1, token="tok", links=(link,))
    o = d.operation
    assert o.status is St.STARTED and o.operation_token == "tok" and o.links == (link,)
    assert d.effects.timers == (no.Timer(In.START_TO_CLOSE_TIMEOUT, 111 * S, 0),)
    refused = step(o, In.COMPLETED, 102, request_id="other")
    assert refused.effects.error == ("NOT_FOUND", "operation not found")
    done = step(o, In.COMPLETED, 102, request_id="req", payload=Opaque.of({"data": "x"}))
    assert done.operation.status is St.SUCCEEDED and done.operation.result == Opaque.of(
        {"data": "x"}
    )


def test_a_completion_before_the_start_answer_starts_it_first() -> None:
    o, _ = scheduled()
    link = {"workflowEvent": {"runId": "r"}}
    failure = Opaque.of({"message": "operation canceled", "canceledFailureInfo": {}})
    d = step(o, In.COMPLETION_CANCELED, 105, payload=failure, links=(link,), start_time=103 * S)
    o = d.operation
    assert o.status is St.CANCELED and o.started_time == 103 * S and o.links == (link,)
    assert o.failure == failure and o.outcome_failure() == failure


def test_timeouts_count_only_in_the_states_their_tasks_validate() -> None:
    o, _ = scheduled(schedule_to_start=5 * S, start_to_close=10 * S)
    started = step(o, In.ASYNC_STARTED, 101, attempt=1, token="t").operation
    assert step(started, In.SCHEDULE_TO_START_TIMEOUT, 105).operation == started
    assert step(o, In.START_TO_CLOSE_TIMEOUT, 105).operation == o
    timed = step(started, In.START_TO_CLOSE_TIMEOUT, 111).operation
    assert timed.status is St.TIMED_OUT and timed.close_time == 111 * S
    # a started operation's timeout is the outcome's failure, not the last attempt's
    expected: dict[str, JsonValue] = {"timeoutType": "TIMEOUT_TYPE_START_TO_CLOSE"}
    failure = Opaque.of({"message": "operation timed out", "timeoutFailureInfo": expected})
    assert timed.failure == failure and timed.outcome_failure() == failure
    assert timed.last_attempt_failure is None and timed.last_attempt_complete == 101 * S
    # a scheduled one's is the last attempt's, its end the timeout (the dev server's)
    early = step(o, In.SCHEDULE_TO_START_TIMEOUT, 105).operation
    assert early.failure is None and early.last_attempt_complete == 105 * S
    assert early.last_attempt_failure is not None
    assert early.last_attempt_failure == early.outcome_failure()
    closed = step(o, In.SCHEDULE_TO_CLOSE_TIMEOUT, 130).operation
    assert closed.status is St.TIMED_OUT
    assert step(closed, In.SCHEDULE_TO_CLOSE_TIMEOUT, 131).operation == closed


def test_a_cancel_before_the_start_is_sent_once_the_operation_has_a_token() -> None:
    o, _ = scheduled()
    d = step(o, In.REQUEST_CANCEL, 101, request_id="c1", reason="why")
    o = d.operation
    assert not d.effects.send_cancel and o.status is St.SCHEDULED
    assert o.cancellation is not None and o.cancellation.status is no.CancelStatus.REQUESTED
    d = step(o, In.ASYNC_STARTED, 102, attempt=1, token="t")
    assert d.effects.send_cancel and d.operation.cancellation is not None
    assert d.operation.cancellation.status is no.CancelStatus.SCHEDULED
    assert d.operation.cancellation.attempt == 1
    acked = step(d.operation, C.DELIVERED, 103, attempt=1).operation
    assert acked.cancellation is not None and acked.cancellation.status is no.CancelStatus.SUCCEEDED
    assert acked.status is St.STARTED  # the handler's run ends it, by its callback


def test_cancel_requests_are_deduplicated_and_refused_as_the_server_refuses_them() -> None:
    o, _ = scheduled()
    o = step(o, In.ASYNC_STARTED, 101, attempt=1, token="t").operation
    o = step(o, In.REQUEST_CANCEL, 102, request_id="c1").operation
    assert step(o, In.REQUEST_CANCEL, 103, request_id="c1").operation == o
    again = step(o, In.REQUEST_CANCEL, 103, request_id="c2")
    assert again.effects.error == (
        "FAILED_PRECONDITION",
        "cancellation already requested with request ID c1",
    )
    failure = Opaque.of({"message": "x"})
    done = step(o, In.COMPLETION_FAILED, 104, payload=failure).operation
    assert step(done, In.REQUEST_CANCEL, 105, request_id="c1").effects.error is None
    late = step(done, In.REQUEST_CANCEL, 105, request_id="c3")
    assert late.effects.error == ("FAILED_PRECONDITION", "operation already completed")


def test_terminate_closes_a_running_or_canceled_operation_once() -> None:
    o, _ = scheduled()
    t = step(o, In.TERMINATE, 101, request_id="t1", reason="stop", identity="me").operation
    assert t.status is St.TERMINATED
    assert t.failure == Opaque.of({"message": "stop", "terminatedFailureInfo": {"identity": "me"}})
    assert step(t, In.TERMINATE, 102, request_id="t1").operation == t
    assert step(t, In.TERMINATE, 102, request_id="t2").effects.error == (
        "FAILED_PRECONDITION",
        "already terminated with request ID t1",
    )
    canceled = step(o, In.ATTEMPT_CANCELED, 101, attempt=1).operation
    assert step(canceled, In.TERMINATE, 102, request_id="t").operation.status is St.TERMINATED
    done = step(o, In.SYNC_SUCCEEDED, 101, attempt=1).operation
    assert step(done, In.TERMINATE, 102).effects.error == (
        "FAILED_PRECONDITION",
        "invalid transition from Succeeded",
    )


def test_every_change_counts_one_state_transition() -> None:
    o, _ = scheduled()
    assert o.transitions == 1
    o = step(o, In.ASYNC_STARTED, 101, attempt=1, token="t").operation
    assert o.transitions == 2
    assert step(o, In.SCHEDULE_TO_START_TIMEOUT, 102).operation.transitions == 2


@pytest.mark.parametrize("status", [St.SCHEDULED, St.BACKING_OFF, St.STARTED])
def test_an_open_operation_takes_every_input(status: no.Status) -> None:
    for input_ in no.Input:
        assert no.TABLE.choices.get((status, input_)), (status, input_)


def test_the_timers_a_record_still_has_are_derived_from_it() -> None:
    o, effects = scheduled(schedule_to_close=30 * S, schedule_to_start=5 * S, start_to_close=9 * S)
    assert set(no.armed(o)) == set(effects.timers)
    backing = step(o, In.ATTEMPT_FAILED, 101, attempt=1, retryable=True, delay=2 * S).operation
    assert no.Timer(In.BACKOFF_DONE, 103 * S, 1) in no.armed(backing)
    started = step(o, In.ASYNC_STARTED, 102, attempt=1, token="t").operation
    started = step(started, In.REQUEST_CANCEL, 102, request_id="c").operation
    failing = step(started, C.FAILED, 103, attempt=1, retryable=True, delay=4 * S).operation
    assert set(no.armed(failing)) == {
        no.Timer(In.SCHEDULE_TO_CLOSE_TIMEOUT, 130 * S, 0),
        no.Timer(In.START_TO_CLOSE_TIMEOUT, 111 * S, 0),
        no.Timer(C.BACKOFF_DONE, 107 * S, 1),
    }
    assert no.armed(step(started, In.TERMINATE, 104).operation) == ()
