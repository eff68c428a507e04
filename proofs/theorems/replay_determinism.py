"""THM-3.1 (workflow determinism, docs/theorems.md): for every history H the server may
write, Replay(H) takes every event of H, so a deterministic workflow replayed on H
reaches the state the live execution reached. Stated over the tables the code runs:
for every entity kind, the history-side machine (what the server may write: the
validator's table in `core/statemachine/history/`) and the SDK-side replay machine
(what replay accepts: the table in `core/statemachine/replay/`) define the same
language of event sequences about one entity, projected to events, up to two stated
differences (`proofs.theorems.languages`): the SDK does not tell apart the close
events it maps to one input, and it may ignore events (rows back to their own state
with no output).

What is checked, and over what. The six entity kinds both sides model (activity,
timer, child workflow, signal external, cancel external, update) are paired below;
their tables are read from core when `prove` runs, and compared by product
construction with the SDK side's command inputs as epsilon moves
(`languages.compare`). Both languages are regular and the product is finite, so the
search is exhaustive: it covers event sequences of every length, not a bound. A row
changed on either side that changes a language is found, as the shortest event
sequence on which they differ, re-run through `fsm.step` on both real tables.

The service half: the tables that drive the server (`service/activity.py`,
`service/timer.py`) declare on each row what its handler writes, checked at run time
(`fsm.check_effect`); every event sequence they can write must be accepted by the
validator's table and by the replay table of its kind (`service_language`). A service
row changed to write what the validator or replay refuses is found, as the shortest
sequence and the rows that write it.

The determinism lemma (sticky and cold answering give the workflow code the same
activations at every workflow task) is `sticky_vs_cold`, which runs the real replay
engine (`core.statemachine.replay.driver.answer_task`) on every workflow-task prefix of
a history, once with the Execution cached from the previous task (a sticky hit) and
once from nothing (cold), and compares their answers and the workflow object's state.
It needs workflow code, so it is checked where the code is: over the recorded corpus
with its twins (`tests/proofs/test_theorem_replay.py`) and over generated programs and
runs (`tests/core/statemachine/replay/test_theorem_3_1.py`).

Negative variant: the replay activity machine without its row "ActivityTaskStarted
after a cancel request" (the server writes Started when a cancelled running activity
closes): the check finds ActivityTaskScheduled, ActivityTaskCancelRequested,
ActivityTaskStarted, which the server may write and replay rejects.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine import fsm
from core.statemachine.history import activity as history_activity
from core.statemachine.history import cancel_external as history_cancel
from core.statemachine.history import child_workflow as history_child
from core.statemachine.history import signal_external as history_signal
from core.statemachine.history import timer as history_timer
from core.statemachine.history import update as history_update
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import timer as service_timer
from core.statemachine.replay import activity as replay_activity
from core.statemachine.replay import cancel_external as replay_cancel
from core.statemachine.replay import child as replay_child
from core.statemachine.replay import signal_external as replay_signal
from core.statemachine.replay import timer as replay_timer
from core.statemachine.replay import update as replay_update
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.driver import answer_task, slices, snapshot
from proofs.theorems import service_language
from proofs.theorems.base import Result
from proofs.theorems.languages import Pair, compare, replay
from proofs.theorems.service_language import ServiceTable

ID = "THM-3.1"
STATEMENT = (
    "For every entity kind, the history-side machine (what the server may write) and the "
    "replay machine (what replay accepts) define the same language of event sequences, "
    "up to the close events replay does not tell apart and the events it ignores: "
    "replay takes every history the server may write, and every event sequence the "
    "driving service tables can write is one the server may write (product construction "
    "over the core tables)."
)
DROPPED = "the replay activity row ActivityTaskStarted after a cancel request removed"
E = EventType


def core_pairs() -> tuple[Pair, ...]:
    """The entity kinds both sides model, with their tables as core has them now."""
    return (
        Pair(
            "activity",
            history_activity.TABLE,
            E.ACTIVITY_TASK_SCHEDULED,
            replay_activity.TABLE,
            replay_activity.EVENT_INPUTS,
        ),
        Pair(
            "timer",
            history_timer.TABLE,
            E.TIMER_STARTED,
            replay_timer.TABLE,
            replay_timer.EVENT_INPUTS,
        ),
        Pair(
            "child workflow",
            history_child.TABLE,
            E.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            replay_child.TABLE,
            replay_child.EVENT_INPUTS,
        ),
        Pair(
            "signal external",
            history_signal.TABLE,
            E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            replay_signal.TABLE,
            replay_signal.EVENT_INPUTS,
        ),
        Pair(
            "cancel external",
            history_cancel.TABLE,
            E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            replay_cancel.TABLE,
            replay_cancel.EVENT_INPUTS,
        ),
        Pair(
            "update",
            history_update.TABLE,
            E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            replay_update.TABLE,
            replay_update.EVENT_INPUTS,
        ),
    )


def core_services(pairs: Sequence[Pair]) -> tuple[ServiceTable, ...]:
    """The driving service tables whose rows declare what they write, each with the
    validator/replay pair of its entity kind (from `pairs`, by kind)."""
    by_kind = {pair.kind: pair for pair in pairs}
    return (
        ServiceTable(
            by_kind["activity"],
            service_activity.TABLE,
            # the workflow's RequestCancelActivityTask, which replay emits as "emit_cancel"
            {service_activity.ActivityInput.REQUEST_CANCEL: "emit_cancel"},
        ),
        ServiceTable(by_kind["timer"], service_timer.TABLE),
    )


def check(
    pairs: Sequence[Pair], variant: str = "theorem", services: Sequence[ServiceTable] = ()
) -> Result:
    """Compare every pair, then every service table's language with its pair; the first
    difference of each is in the counterexample."""
    start = time.perf_counter()
    found = []
    for pair in pairs:
        finding, _ = compare(pair)
        if finding is not None:
            found.append(f"{finding.text()}\n{replay(pair, finding.events)}")
    found += [text for text in map(service_language.check, services) if text is not None]
    return Result(
        ID,
        STATEMENT,
        not found,
        "\n".join(found) or None,
        time.perf_counter() - start,
        variant,
        2 * len(pairs) + len(services),  # both inclusions per kind, one per service table
    )


def prove() -> Result:
    """Compare the history and replay languages of every entity kind, and what the
    service tables write with both, all read from core."""
    pairs = core_pairs()
    return check(pairs, services=core_services(pairs))


def without_row(
    table: fsm.Table[fsm.S, fsm.I], source: fsm.S, input_: fsm.I
) -> fsm.Table[fsm.S, fsm.I]:
    """`table` without its row for ``(source, input_)`` (raises if it has none)."""
    rows = [r for r in table.rows if (r.source, r.input) != (source, input_)]
    if len(rows) == len(table.rows):
        raise ValueError(f"{table.name} has no row for {source.name} on {input_.name}")
    return fsm.make_table(
        f"{table.name} (modified)", table.rule, type(source), type(input_), table.initial, rows
    )


def prove_negative() -> Result:
    """The replay activity table without one row: the check must find a history."""
    s, i = replay_activity.SdkActivityState, replay_activity.ActivityInput
    pairs = list(core_pairs())
    pairs[0] = dataclasses.replace(
        pairs[0], replay=without_row(replay_activity.TABLE, s.CANCEL_REQUESTED, i.STARTED)
    )
    return check(pairs, f"negative: {DROPPED}", core_services(pairs))


def sticky_vs_cold(
    definition: Definition, history: Sequence[HistoryEvent], workflow_id: str = ""
) -> list[str]:
    """Where a sticky answer differs from a cold one, over every workflow-task prefix
    of `history` (empty: they agree everywhere)."""
    differences = []
    cached = None
    for piece in slices(history):
        prefix = history[: piece.end + 1]
        cached, sticky = answer_task(definition, cached, prefix, workflow_id=workflow_id)
        cold_ex, cold = answer_task(definition, None, prefix, workflow_id=workflow_id)
        same = (sticky.commands, sticky.messages, sticky.failure) == (
            cold.commands,
            cold.messages,
            cold.failure,
        )
        if same and cached is not None and cold_ex is not None:
            same = snapshot(cached) == snapshot(cold_ex)
        if not same:
            event = history[piece.end].event_id
            differences.append(f"workflow task started at event {event}: {sticky} != {cold}")
    return differences
