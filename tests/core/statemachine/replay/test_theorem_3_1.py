"""THM-3.1 (Replay(H) = S implies Exec(H) = S) as property tests.

Hypothesis writes workflow programs (activities, timers, signals, children, fan-out,
races, local activities, side effects, randomness, continue-as-new), runs them live
against the pure history service under random interleavings and failures (live.py),
then checks:
(a) replaying each final history reproduces every workflow task's commands and the
    workflow's final state;
(b) at every workflow task the cold replay's answer equals the sticky cache's;
(c) a program that branches on a value the history does not record is caught, at the
    event where its first divergent command was recorded.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import workflow
from core.statemachine.history.validator import validate
from core.statemachine.replay.driver import replay, snapshot
from core.workflow import Context, Nondeterminism
from tests.core.statemachine.replay.live import LiveRun, Rates
from tests.core.statemachine.replay.programs import PROGRAMS, programs

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(program: list[Any], generations: int, seed: int, signals: int) -> LiveRun:
    live = LiveRun(PROGRAMS, seed)
    live.start("Program", "wf", program, generations)
    for n in range(signals):
        live.signal("wf", "poke", n)
    live.run()
    return live


@SETTINGS
@given(programs(), st.integers(0, 2), st.integers(0, 2**32), st.integers(0, 3))
def test_replay_reproduces_live_execution(
    program: list[Any], generations: int, seed: int, signals: int
) -> None:
    live = _run(program, generations, seed, signals)
    assert live.sticky_vs_cold == []  # (b), checked at every task
    for run_id, history in live.histories.items():
        assert validate(history).violations == (), run_id
        result = replay(PROGRAMS["Program"], history, workflow_id=live.workflow_ids[run_id])
        replayed = [answer.commands for _, answer in result.tasks]
        assert replayed == live.answers.get(run_id, []), run_id  # (a): commands
        if run_id in live.cache:  # (a): the final workflow state
            assert snapshot(result.execution)[1:] == snapshot(live.cache[run_id])[1:]


def test_the_harness_exercises_what_the_theorem_is_about() -> None:
    # Over a fixed set of seeds the live runs do include evictions, lost tasks,
    # failures, children and continue-as-new - so the property is not vacuous.
    kinds: set[str] = set()
    program = [["activity", 1], ["child", [["timer", 1]]], ["fanout", 2], ["race", 0.5]]
    for seed in range(20):
        live = _run(program, 1, seed, 1)
        for history in live.histories.values():
            kinds |= {e.event_type.name for e in history}
    for expected in (
        "ACTIVITY_TASK_FAILED",
        "WORKFLOW_TASK_TIMED_OUT",
        "CHILD_WORKFLOW_EXECUTION_COMPLETED",
        "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
        "TIMER_CANCELED",
        "ACTIVITY_TASK_CANCEL_REQUESTED",
    ):
        assert expected in kinds, expected


class Unrecorded:
    """A value the history does not record: how many instances this process made."""

    instances = 0


@workflow.defn(name="Nondeterministic")
class Nondeterministic:
    def __init__(self) -> None:
        Unrecorded.instances += 1
        self.first_life = Unrecorded.instances == 1

    @workflow.run
    async def run(self, wf: Context, steps: list[Any], generation: int) -> str:
        program = PROGRAMS["Program"].cls()
        for index, step in enumerate(steps):
            await program.do(wf, index, step)
        if self.first_life:  # live: true; on any later replay: false
            await wf.execute_activity("branch-live", start_to_close_timeout=5)
        else:
            await wf.sleep(1)
        return "done"


@settings(max_examples=25, deadline=None)
@given(programs(), st.integers(0, 2**32))
def test_a_nondeterministic_program_is_caught_at_the_right_event(
    program: list[Any], seed: int
) -> None:
    Unrecorded.instances = 0
    definitions = {**PROGRAMS, "Nondeterministic": workflow.definition(Nondeterministic)}
    # No eviction and no lost tasks, so the live run keeps its first instance.
    # No eviction, no lost tasks and no cold cross-check: the live run keeps its first
    # instance (a cold answer would make a second one and flip the unrecorded value).
    live = LiveRun(definitions, seed, Rates(lose_workflow_task=0, evict_cache=0), cold_check=False)
    run_id = live.start("Nondeterministic", "wf", program, 0)
    live.signal("wf", "poke", 0)
    live.signal("wf", "poke", 1)
    live.run()
    history = live.histories[run_id]
    branch = [
        e.event_id
        for e in history
        if e.event_type.name == "ACTIVITY_TASK_SCHEDULED"
        and getattr(e.attributes.activity_type, "name", "") == "branch-live"  # type: ignore[union-attr]
    ]
    assert len(branch) == 1
    with pytest.raises(Nondeterminism) as caught:
        replay(definitions["Nondeterministic"], history)
    assert caught.value.event_id == branch[0]
    assert caught.value.produced.startswith("START_TIMER")


def test_a_worker_that_skips_replay_is_caught_by_the_cold_cross_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mutant: on a cache hit the worker answers without applying the new events.
    from core.statemachine.replay.driver import answer_task
    from core.statemachine.replay.entity import Activation
    from tests.core.statemachine.replay import live as harness

    def skipping(definition: Any, cached: Any, history: Any, **options: Any) -> Any:
        if cached is not None:
            return cached, Activation((), ())
        return answer_task(definition, cached, history, **options)

    monkeypatch.setattr(harness, "answer_task", skipping)
    live = LiveRun(PROGRAMS, 1, Rates(lose_workflow_task=0, evict_cache=0))
    live.start("Program", "wf", [["activity", 1], ["timer", 1], ["activity", 2]], 0)
    live.run()
    assert live.sticky_vs_cold != []
    assert not any(
        e.event_type.name == "WORKFLOW_EXECUTION_COMPLETED" for e in live.histories["run-1"]
    )
