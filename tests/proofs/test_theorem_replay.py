"""THM-3.1 over the real tables: the history-side and replay-side languages of every
entity kind agree on core, and a row changed on either side is a counterexample that
`fsm.step` on the two tables confirms."""

from __future__ import annotations

import dataclasses

import pytest

from core import workflow
from core.enums import EventType
from core.errors import InvalidTransition
from core.fastenum import Enum
from core.statemachine import fsm
from core.statemachine.history import activity as history_activity
from core.statemachine.replay import activity as replay_activity
from core.statemachine.replay import timer as replay_timer
from proofs.theorems import languages
from proofs.theorems import replay_determinism as thm
from tests.conftest import corpus_events
from tests.core.statemachine.replay.live import LiveRun
from tests.core.statemachine.replay.test_twins import TWINNED, TWINS, twin_of

E = EventType
HS, HI = history_activity.ActivityState, history_activity.ActivityInput
RS, RI = replay_activity.SdkActivityState, replay_activity.ActivityInput


def _with(table: fsm.Table[fsm.S, fsm.I], row: fsm.Row[fsm.S, fsm.I]) -> fsm.Table[fsm.S, fsm.I]:
    rows = [r for r in table.rows if (r.source, r.input) != (row.source, row.input)]
    return fsm.make_table(
        table.name + " (modified)",
        table.rule,
        type(row.source),
        type(row.input),
        table.initial,
        [*rows, row],
    )


def _activity(**changes: object) -> languages.Pair:
    return dataclasses.replace(thm.core_pairs()[0], **changes)  # type: ignore[arg-type]


def test_core_tables_agree_for_every_entity_kind() -> None:
    result = thm.prove()
    assert result.proved and result.counterexample is None
    services = thm.core_services(thm.core_pairs())  # the service half: one each
    assert result.obligations == 2 * len(thm.core_pairs()) + len(services) == 14
    for pair in thm.core_pairs():
        finding, states = languages.compare(pair)
        assert finding is None and states >= 3, pair.kind


def test_every_history_input_names_an_event_type() -> None:
    assert languages.event_of(HI.STARTED) is E.ACTIVITY_TASK_STARTED

    class Bogus(Enum):
        X = "ActivityTaskExploded"

    with pytest.raises(ValueError, match="names no event type"):
        languages.event_of(Bogus.X)


def test_negative_is_a_history_the_modified_replay_table_rejects() -> None:
    result = thm.prove_negative()
    assert not result.proved and result.counterexample is not None
    lines = result.counterexample.splitlines()
    assert lines[0] == (
        "activity: the server may write an event sequence replay rejects: "
        "ActivityTaskScheduled, ActivityTaskCancelRequested, ActivityTaskStarted"
    )
    assert "history table 'activity': accepts all 3 events" in lines[1]
    assert "rejects event 3 (ActivityTaskStarted) whatever the commands" in lines[2]
    # The real replay table takes the same events, with a cancel command in between.
    state, _ = fsm.step(replay_activity.TABLE, RS.CREATED, RI.SCHEDULED)
    for input_ in (RI.WAIT_CANCEL, RI.CANCEL_REQUESTED, RI.STARTED):
        state, _ = fsm.step(replay_activity.TABLE, state, input_)
    assert state is RS.CANCEL_REQUESTED


def test_a_history_row_letting_the_server_write_more_is_found() -> None:
    pair = _activity(
        history=_with(history_activity.TABLE, fsm.Row(HS.STARTED, HI.COMPLETED, HS.STARTED))
    )
    finding, _ = languages.compare(pair)
    assert finding is not None and finding.problem == languages.REJECTS
    assert finding.events[:3] == (
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_STARTED,
        E.ACTIVITY_TASK_COMPLETED,
    )
    assert "history table 'activity (modified)': accepts all" in languages.replay(
        pair, finding.events
    )


def test_a_history_row_removed_is_found_from_the_replay_side() -> None:
    rows = [
        r
        for r in history_activity.TABLE.rows
        if (r.source, r.input) != (HS.SCHEDULED, HI.TIMED_OUT)
    ]
    table = fsm.make_table("activity (modified)", "H9", HS, HI, HS.SCHEDULED, rows)
    pair = _activity(history=table)
    finding, _ = languages.compare(pair)
    assert finding is not None and finding.problem == languages.ACCEPTS_MORE
    assert finding.events == (E.ACTIVITY_TASK_SCHEDULED, E.ACTIVITY_TASK_COMPLETED)
    text = languages.replay(pair, finding.events)
    assert "rejects event 2 (ActivityTaskCompleted in SCHEDULED)" in text
    assert "replay table 'replay-activity': accepts all 2 events" in text
    with pytest.raises(InvalidTransition):
        fsm.step(table, HS.SCHEDULED, HI.TIMED_OUT)


def test_an_ignoring_row_is_allowed_but_a_row_with_output_is_not() -> None:
    ts, ti = replay_timer.SdkTimerState, replay_timer.TimerInput
    timer = thm.core_pairs()[1]
    ignoring = dataclasses.replace(
        timer, replay=_with(replay_timer.TABLE, fsm.Row(ts.FIRED, ti.FIRED, ts.FIRED))
    )
    assert languages.compare(ignoring)[0] is None
    acting = dataclasses.replace(
        timer, replay=_with(replay_timer.TABLE, fsm.Row(ts.FIRED, ti.FIRED, ts.FIRED, ("resolve",)))
    )
    finding, _ = languages.compare(acting)
    assert finding is not None and finding.problem == languages.ACCEPTS_MORE
    assert finding.events == (E.TIMER_STARTED, E.TIMER_FIRED, E.TIMER_FIRED)


def test_the_theorem_reads_the_replay_table_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        replay_activity,
        "TABLE",
        thm.without_row(replay_activity.TABLE, RS.CANCEL_REQUESTED, RI.CLOSED),
    )
    result = thm.prove()
    assert not result.proved and "activity:" in str(result.counterexample)
    with pytest.raises(ValueError, match="no row"):
        thm.without_row(replay_activity.TABLE, RS.CLOSED, RI.STARTED)


# --- the determinism lemma: sticky and cold answering agree ----------------------------------


def _needs_live_inputs(name: str) -> bool:
    """A history whose live answers needed inputs a history cannot give back: a local
    activity's result (run by the worker inside the task) or an update request. The
    sticky path answers each task live, so it cannot reproduce those answers from the
    history alone; generated runs, which have the inputs, cover them
    (tests/core/statemachine/replay/test_theorem_3_1.py)."""
    for event in corpus_events(name):
        if event.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            return True
        if event.event_type is E.MARKER_RECORDED and "local_activity" in str(event.attributes):
            return True
    return False


STICKY = [name for name in TWINNED if not _needs_live_inputs(name)]


def test_most_of_the_corpus_is_checked_sticky_against_cold() -> None:
    # (at most 15%: the corpus left out are the local-activity and update histories)
    assert len(STICKY) >= 40 and len(TWINNED) - len(STICKY) <= 0.15 * len(TWINNED)


@pytest.mark.parametrize("name", STICKY)
def test_sticky_and_cold_answers_agree_on_every_task_of_the_corpus(name: str) -> None:
    events = corpus_events(name)
    assert thm.sticky_vs_cold(TWINS[twin_of(name)], events) == []


_calls = 0


@workflow.defn(name="RemembersAcrossRuns")
class RemembersAcrossRuns:
    """Reads a module global that survives between activations: a sticky cache keeps the
    Execution, a cold replay starts it again, so they diverge."""

    @workflow.run
    async def run(self, wf: workflow.Context) -> None:
        global _calls
        for _ in range(2):
            _calls += 1
            await wf.sleep(float(_calls))


def test_a_workflow_reading_state_outside_the_history_is_caught() -> None:
    live = LiveRun({"RemembersAcrossRuns": workflow.definition(RemembersAcrossRuns)}, 0)
    live.cold_check = False
    live.start("RemembersAcrossRuns", "wf")
    live.run()
    (history,) = live.histories.values()
    assert len(history) > 5
    differences = thm.sticky_vs_cold(workflow.definition(RemembersAcrossRuns), history)
    assert differences and "workflow task started at event" in differences[0]
