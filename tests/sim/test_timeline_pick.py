"""Which workflows a timeline draws: violations, failovers, retries and faults, found
from the run's record, and chosen before the uneventful ones."""

from __future__ import annotations

from core.enums import EventType
from core.events import ActivityTaskStartedEventAttributes, HistoryEvent
from core.statemachine.shard import shard_for
from sim.config import FaultItem, FaultPlan, SimConfig
from sim.kernel import MS, SECOND, T0
from sim.run import RunResult, Violation, simulate
from sim.timeline_pick import choose, interests

# wf-0 and wf-2 hash to shard 4, wf-1 to shard 2 (checked below).
TRACE = (
    "t=0 run seed=0 workflows=3",
    "t=0 controller shard-4 None -> history-0",
    "t=0 controller shard-2 None -> history-2",
    "t=10000000 client start wf-0",
    "t=10000000 client start wf-1",
    "t=10000000 client start wf-2",
    "t=100000000 aworker-0 ran run-2/1 complete",
    "t=500000000 controller shard-4 history-0 -> history-1",
    "t=2000000000 aworker-0 ran run-0/1 complete",
    "t=3000000000 aworker-1 ran run-1/1 complete",
    "t=4000000000 run end events=1 violations=1",
)


def _retried(at: int) -> HistoryEvent:
    attrs = ActivityTaskStartedEventAttributes(scheduled_event_id=5, attempt=2)
    return HistoryEvent(6, EventType.ACTIVITY_TASK_STARTED, attrs, event_time=T0 + at)


def _result(violations: tuple[Violation, ...]) -> RunResult:
    plan = FaultPlan(
        (
            FaultItem("history-crash", 1500 * MS, 200 * MS, "history-1"),  # wf-0's new owner
            FaultItem("drop", 5 * SECOND, SECOND, "*"),  # after every workflow closed
        )
    )
    return RunResult(
        seed=0,
        trace_hash="0" * 64,
        workflows=3,
        events=1,
        faults={},
        violations=violations,
        virtual_ns=4 * SECOND,
        plan=plan,
        swarm={},
        histories={"run-0": (), "run-1": (_retried(SECOND),), "run-2": ()},
        trace=TRACE,
        workflow_ids={"run-0": "wf-0", "run-1": "wf-1", "run-2": "wf-2"},
        requests=0,
    )


def test_each_kind_of_event_is_found() -> None:
    assert [shard_for("default", w, 8) for w in ("wf-0", "wf-1", "wf-2")] == [4, 2, 4]
    violation = Violation("INV-RUN-CLOSES-ONCE", "closed twice", T0 + 90 * MS, "run-2")
    found = {i.workflow.workflow_id: i for i in interests(_result((violation,)))}
    wf0, wf1, wf2 = found["wf-0"], found["wf-1"], found["wf-2"]
    assert (wf0.failovers, wf0.retries, [f.kind for f in wf0.faults]) == (1, 0, ["history-crash"])
    assert (wf1.failovers, wf1.retries, wf1.faults) == (0, 1, ())
    assert wf2.violations == ("INV-RUN-CLOSES-ONCE",) and wf2.failovers == 0  # closed first
    assert wf0.reason() == "1 shard failover; 1 fault"
    assert wf2.reason() == "violated INV-RUN-CLOSES-ONCE"


def test_the_eventful_come_first_whatever_their_ids() -> None:
    violation = Violation("INV-RUN-CLOSES-ONCE", "closed twice", T0 + 90 * MS, "run-2")
    assert [w.workflow_id for w in choose(_result((violation,)), 3)] == ["wf-2", "wf-0", "wf-1"]
    assert [w.workflow_id for w in choose(_result(()), 1)] == ["wf-0"]  # failover beats retry
    assert choose(_result(()), 3)[1].why == "1 retry"


def test_a_violation_naming_only_a_shard_or_a_workflow_counts_for_it() -> None:
    shard = Violation("INV-SINGLE-SHARD-WRITER", "shard-4 written", T0 + SECOND, None)
    late = Violation("INV-EVENTUALLY-CLOSED", "wf-1 open 120 s", T0 + 4 * SECOND, None)
    found = {i.workflow.workflow_id: i.violations for i in interests(_result((shard, late)))}
    # wf-2 is on shard 4 too, but had closed by then.
    assert found == {
        "wf-0": ("INV-SINGLE-SHARD-WRITER",),
        "wf-1": ("INV-EVENTUALLY-CLOSED",),
        "wf-2": (),
    }


def test_a_real_run_draws_a_workflow_of_each_kind_it_has() -> None:
    result = simulate(SimConfig(seed=7, workflows=60))
    everything = interests(result)
    chosen = {w.workflow_id for w in choose(result)}
    assert chosen != {w.workflow.workflow_id for w in everything[:4]}  # not the first four
    for count in (
        lambda i: i.failovers,
        lambda i: i.retries,
        lambda i: len(i.faults),
    ):
        if any(count(i) for i in everything):
            assert any(count(i) for i in everything if i.workflow.workflow_id in chosen)
