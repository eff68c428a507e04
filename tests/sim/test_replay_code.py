"""The simulator's workflow code releases the runs it is done with (Execution.release):
the run each THM-3.1 replay check replays, and a cache entry an answer did not continue.
Dropped unreleased, a run is cyclic garbage that waits for the end-of-run collection."""

from __future__ import annotations

import random

import pytest

from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.replay.engine import Execution
from sim.patterns import DEFINITIONS, PATTERNS
from sim.replay_code import ReplayCode
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
