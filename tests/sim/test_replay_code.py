"""The simulator's workflow code releases the runs it is done with (Execution.release):
the run each THM-3.1 replay check replays, and a cache entry an answer did not continue.
Dropped unreleased, a run is cyclic garbage that waits for the end-of-run collection."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from core.enums import EventType
from core.errors import Nondeterminism
from core.events import ActivityTaskScheduledEventAttributes, ActivityType, HistoryEvent
from core.statemachine.replay import driver
from core.statemachine.replay.engine import Execution
from sim.patterns import DEFINITIONS, PATTERNS
from sim.replay_code import ReplayCode, run_local_activity
from tests.core.statemachine.replay.live import LiveRun


def _saga() -> list[HistoryEvent]:
    drive = PATTERNS["saga"](random.Random(1))
    live = LiveRun(DEFINITIONS, 1)
    run_id = live.start(drive.workflow_type, "wf", *drive.args)
    live.run()
    return live.histories[run_id]


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch) -> list[Execution]:
    """Every Execution released from now on, in order."""
    seen: list[Execution] = []
    release = Execution.release

    def spy(self: Execution) -> None:
        seen.append(self)
        release(self)

    monkeypatch.setattr(Execution, "release", spy)
    return seen


def test_the_replay_check_releases_the_run_it_replayed(released: list[Execution]) -> None:
    history = _saga()
    assert history[-1].event_type is EventType.WORKFLOW_EXECUTION_COMPLETED
    assert ReplayCode(DEFINITIONS).replay_check("Saga", history) == []
    assert len(released) == 1


def test_a_cache_entry_is_released_when_the_answer_does_not_continue_it(
    released: list[Execution],
) -> None:
    history = _saga()
    started = [i for i, e in enumerate(history) if e.event_type is EventType.WORKFLOW_TASK_STARTED]
    code = ReplayCode(DEFINITIONS)
    first, _ = code.answer_task("Saga", None, history[: started[0] + 1], ())
    second, _ = code.answer_task("Saga", first, history[: started[1] + 1], ())
    assert second is first and released == []  # a sticky hit keeps its entry
    # Handed a history it has not seen the start of (its last answer was never
    # recorded there), the entry is replaced by a cold replay, and released.
    third, _ = code.answer_task("Saga", second, history[: started[0] + 1], ())
    assert isinstance(third, Execution) and third is not second
    assert released == [second]


def _renamed_activity(history: list[HistoryEvent]) -> list[HistoryEvent]:
    """`history` with its first activity scheduled under another type: nondeterminism."""
    i = next(i for i, e in enumerate(history) if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED)
    a = history[i].attributes
    assert isinstance(a, ActivityTaskScheduledEventAttributes)
    renamed = replace(a, activity_type=ActivityType(name="not-what-the-code-runs"))
    return [*history[:i], replace(history[i], attributes=renamed), *history[i + 1 :]]


def _cut_after_first_completed(history: list[HistoryEvent]) -> list[HistoryEvent]:
    """`history` up to its first WorkflowTaskCompleted: the task's commands unrecorded."""
    types = [e.event_type for e in history]
    return history[: types.index(EventType.WORKFLOW_TASK_COMPLETED) + 1]


@pytest.mark.parametrize("tamper", [_renamed_activity, _cut_after_first_completed])
def test_the_replay_check_finds_what_a_whole_replay_finds(
    tamper: Callable[[list[HistoryEvent]], list[HistoryEvent]],
) -> None:
    # The check replays without keeping answers or end state (driver.check_replay);
    # it must still refuse exactly what `driver.replay` refuses, with the same words.
    history = tamper(_saga())
    with pytest.raises(Nondeterminism) as raised:
        driver.replay(DEFINITIONS["Saga"], history, run_local=run_local_activity)
    assert ReplayCode(DEFINITIONS).replay_check("Saga", history) == [str(raised.value)]
