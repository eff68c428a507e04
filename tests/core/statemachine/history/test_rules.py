"""One hand-written history per rule: valid, then broken in exactly one way.

Each broken history must be reported with exactly the rule it breaks (and no other),
so removing a rule's check makes its test fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from core.enums import EventType as E
from core.enums import TimeoutType
from core.statemachine.history.validator import validate
from tests.core.statemachine.history.builder import History
from tests.core.statemachine.history.mutations import unchecked_event


def _rules(h: History) -> list[tuple[str, int]]:
    return [(v.rule, v.event_id) for v in validate(h.events).violations]


def valid_run() -> History:
    h = History().start()
    wtc = h.workflow_task()
    a = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="1", workflow_task_completed_event_id=wtc)
    t = h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    h.add(E.MARKER_RECORDED, marker_name="m", workflow_task_completed_event_id=wtc)
    c = h.add(
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="c",
        workflow_task_completed_event_id=wtc,
    )
    sig = h.add(
        E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc
    )
    can = h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc
    )
    u = h.add(E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, protocol_instance_id="u")
    h.add(E.WORKFLOW_EXECUTION_UPDATE_COMPLETED, accepted_event_id=u)
    st = h.add(E.ACTIVITY_TASK_STARTED, scheduled_event_id=a, attempt=1)
    h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=a, started_event_id=st)
    h.add(E.TIMER_FIRED, timer_id="t", started_event_id=t)
    cs = h.add(E.CHILD_WORKFLOW_EXECUTION_STARTED, initiated_event_id=c)
    h.add(E.CHILD_WORKFLOW_EXECUTION_COMPLETED, initiated_event_id=c, started_event_id=cs)
    h.add(E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, initiated_event_id=sig)
    h.add(E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, initiated_event_id=can)
    wtc2 = h.workflow_task()
    h.complete(wtc2)
    return h


def test_the_base_history_is_valid() -> None:
    assert _rules(valid_run()) == []


def _h1() -> History:
    h = valid_run()
    marker = h.events[6]  # nothing refers to a marker, so only the ids break
    assert marker.event_type is E.MARKER_RECORDED
    h.events[6] = dataclasses.replace(marker, event_id=99)
    return h


def _h2() -> History:
    h = History()
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    return h


def _h2_second_start() -> History:
    h = History().start()
    h.add(E.WORKFLOW_EXECUTION_STARTED, attempt=1)
    return h


def _h3() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.complete(wtc)
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="late")
    return h


def _h4() -> History:
    h = History().start()
    wtc = h.workflow_task()
    t = h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    h.add(E.TIMER_FIRED, timer_id="t", started_event_id=t)
    # An event whose type and attributes disagree: the constructor refuses one, so the
    # validator's H4 guards events built around it (or decoded by another codec).
    h.events[-1] = unchecked_event(h.events[-1], E.TIMER_CANCELED)
    return h


def _h5() -> History:
    h = History().start()
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    return h


def _h5_timeout_kind() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(E.WORKFLOW_TASK_TIMED_OUT, scheduled_event_id=s, timeout_type=TimeoutType.START_TO_CLOSE)
    return h


def _h6() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(E.WORKFLOW_TASK_STARTED, scheduled_event_id=s)
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="in flight")
    return h


def _h7() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="ends the batch")
    h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    return h


def _h8() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="ends the batch")
    h.complete(wtc)
    return h


def _h9() -> History:
    h = History().start()
    wtc = h.workflow_task()
    a = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="1", workflow_task_completed_event_id=wtc)
    h.add(E.ACTIVITY_TASK_COMPLETED, scheduled_event_id=a)
    return h


def _h10() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="1", workflow_task_completed_event_id=wtc)
    h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="1", workflow_task_completed_event_id=wtc)
    return h


def _activity_reused_after_cancel(then: E, cancel_batch_earlier: bool) -> History:
    """A workflow task cancels activity "a0", which no attempt has started, schedules a
    new "a0" and completes the run (`then` is WorkflowExecutionCompleted). The server
    closes the old activity at once, with a buffered ActivityTaskCanceled that the run's
    close drops (tests/fixtures/unseen-histories/reuse-after-cancel.json is such a
    recording). The
    broken forms: the batch does not close the run (the Canceled must then be in the
    flush, before the next task is scheduled or the run is terminated), or the cancel was
    requested by an earlier batch (then the old activity was running, and kept its id)."""
    h = History().start()
    wtc = h.workflow_task()
    a = h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="a0", workflow_task_completed_event_id=wtc)
    if cancel_batch_earlier:
        h.add(
            E.ACTIVITY_TASK_CANCEL_REQUESTED,
            scheduled_event_id=a,
            workflow_task_completed_event_id=wtc,
        )
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="wake")
    wtc = h.workflow_task()
    if not cancel_batch_earlier:
        h.add(
            E.ACTIVITY_TASK_CANCEL_REQUESTED,
            scheduled_event_id=a,
            workflow_task_completed_event_id=wtc,
        )
    h.add(E.ACTIVITY_TASK_SCHEDULED, activity_id="a0", workflow_task_completed_event_id=wtc)
    if then is E.WORKFLOW_EXECUTION_COMPLETED:
        h.complete(wtc)
    else:
        h.add(then, **({"attempt": 1} if then is E.WORKFLOW_TASK_SCHEDULED else {}))
    return h


def test_an_activity_id_may_be_reused_after_a_cancel_the_runs_close_dropped() -> None:
    completed = _activity_reused_after_cancel(E.WORKFLOW_EXECUTION_COMPLETED, False)
    assert _rules(completed) == []


def _h10_reuse_run_open() -> History:
    return _activity_reused_after_cancel(E.WORKFLOW_TASK_SCHEDULED, False)


def _h10_reuse_closed_later() -> History:
    return _activity_reused_after_cancel(E.WORKFLOW_EXECUTION_TERMINATED, False)


def _h10_reuse_cancel_earlier() -> History:
    return _activity_reused_after_cancel(E.WORKFLOW_EXECUTION_COMPLETED, True)


def _h11() -> History:
    h = History().start()
    wtc = h.workflow_task()
    t = h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    h.add(E.TIMER_FIRED, timer_id="other", started_event_id=t)
    return h


def _h12() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    return h


def _timer_reused_in_flight(fires_in_flush: bool) -> History:
    """Timer 't' fires while a workflow task is in flight; that task starts a new 't'.

    The server has already dropped the fired timer from mutable state, so it accepts the
    id, and the buffered TimerFired of the old timer follows in the same flush.
    """
    h = History().start()
    wtc = h.workflow_task()
    t = h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    h.add(E.WORKFLOW_EXECUTION_SIGNALED, signal_name="wake")
    wtc = h.workflow_task()
    h.add(E.TIMER_STARTED, timer_id="t", workflow_task_completed_event_id=wtc)
    if fires_in_flush:
        h.add(E.TIMER_FIRED, timer_id="t", started_event_id=t)
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    return h


def test_a_timer_id_may_be_reused_when_the_old_timer_fired_in_flight() -> None:
    assert _rules(_timer_reused_in_flight(fires_in_flush=True)) == []


def _h12_reuse_unresolved() -> History:
    return _timer_reused_in_flight(fires_in_flush=False)


def _h13() -> History:
    h = History().start()
    wtc = h.workflow_task()
    c = h.add(
        E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="c",
        workflow_task_completed_event_id=wtc,
    )
    h.add(E.CHILD_WORKFLOW_EXECUTION_COMPLETED, initiated_event_id=c)
    return h


def _h14() -> History:
    h = History().start()
    wtc = h.workflow_task()
    i = h.add(E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc)
    h.add(E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, initiated_event_id=i)
    h.add(E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, initiated_event_id=i)
    return h


def _h15() -> History:
    h = History().start()
    wtc = h.workflow_task()
    i = h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, workflow_task_completed_event_id=wtc
    )
    h.add(E.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, initiated_event_id=i)
    h.add(
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        initiated_event_id=i,
        workflow_task_completed_event_id=wtc,
    )
    return h


def _h16() -> History:
    h = History().start()
    h.add(E.TIMER_FIRED, timer_id="t", started_event_id=40)
    return h


def _h17() -> History:
    h = History().start()
    h.add(E.WORKFLOW_EXECUTION_UPDATE_REJECTED, protocol_instance_id="u")
    return h


def _h18() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.MARKER_RECORDED, marker_name="", workflow_task_completed_event_id=wtc)
    return h


def _h19() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW, workflow_task_completed_event_id=wtc)
    return h


BROKEN: dict[str, tuple[Callable[[], History], list[tuple[str, int]]]] = {
    "H1": (_h1, [("H1", 99), ("H1", 8)]),
    "H2": (_h2, [("H2", 1)]),
    "H2-second-start": (_h2_second_start, [("H2", 2)]),
    "H3": (_h3, [("H3", 6)]),
    "H4": (_h4, [("H4", 6)]),
    "H5": (_h5, [("H5", 3)]),
    "H5-timeout-kind": (_h5_timeout_kind, [("H5", 3)]),
    "H6": (_h6, [("H6", 4)]),
    "H7": (_h7, [("H7", 6)]),
    "H8": (_h8, [("H8", 6)]),
    "H9": (_h9, [("H9", 6)]),
    "H10": (_h10, [("H10", 6)]),
    "H10-reuse-run-open": (_h10_reuse_run_open, [("H10", 11)]),
    "H10-reuse-closed-later": (_h10_reuse_closed_later, [("H10", 11)]),
    "H10-reuse-cancel-earlier": (_h10_reuse_cancel_earlier, [("H10", 11)]),
    "H11": (_h11, [("H11", 6)]),
    "H12": (_h12, [("H12", 6)]),
    "H12-reuse-unresolved": (_h12_reuse_unresolved, [("H12", 10)]),
    "H13": (_h13, [("H13", 6)]),
    "H14": (_h14, [("H14", 7)]),
    "H15": (_h15, [("H15", 7)]),
    "H16": (_h16, [("H16", 2)]),
    "H17": (_h17, [("H17", 2)]),
    "H18": (_h18, [("H18", 5)]),
    "H19": (_h19, [("H19", 5)]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_rule_check_is_load_bearing(name: str) -> None:
    build, expected = BROKEN[name]
    assert _rules(build()) == expected


def test_every_rule_has_a_broken_history() -> None:
    rules = {expected[0][0] for _, expected in BROKEN.values()}
    assert rules == {f"H{n}" for n in range(1, 20)}
