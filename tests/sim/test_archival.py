"""INV-RETENTION and INV-ARCHIVED-BEFORE-DELETE (sim/archival.py): a deletion is judged
against what was committed, what the archive reads back, the close time and the
retention; each way of breaking them is caught, and a lawful deletion passes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from adapters.temporal_json import decode_history
from core.events import HistoryEvent
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.state import RunStatus
from sim.archival import ARCHIVED, RETENTION, Deletions, deletion_problems, digest
from sim.persistence import RunRecord

HISTORY = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
DAY = 86_400 * 1_000_000_000


def _closed_run() -> tuple[RunRecord, list[HistoryEvent]]:
    source = next(iter(sorted(HISTORY.glob("*.json"))))
    events = list(decode_history(json.loads(source.read_text())).events)
    state = rebuild(events, "default", "wf", "run", "start", 0).state
    assert state.status is not RunStatus.RUNNING
    return RunRecord(0, "wf", state, list(events)), events


def test_a_lawful_deletion_passes() -> None:
    run, events = _closed_run()
    closed = events[-1].event_time or 0
    assert deletion_problems(run, closed + DAY, DAY, events, list(events), True) == []
    assert deletion_problems(run, closed + DAY, DAY, events, None, False) == []


def test_deleting_early_or_an_open_run_is_caught() -> None:
    run, events = _closed_run()
    closed = events[-1].event_time or 0
    early = deletion_problems(run, closed + DAY - 1, DAY, events, events, True)
    assert [p[0] for p in early] == [RETENTION]
    still_open = RunRecord(
        0, "wf", dataclasses.replace(run.state, status=RunStatus.RUNNING), events
    )
    assert [
        p[0] for p in deletion_problems(still_open, closed + DAY, DAY, events, events, True)
    ] == [RETENTION]


def test_deleting_unarchived_or_a_lossy_archive_is_caught() -> None:
    run, events = _closed_run()
    now = (events[-1].event_time or 0) + DAY
    assert deletion_problems(run, now, DAY, events, None, True) == [
        (ARCHIVED, "deleted before it was archived")
    ]
    short = deletion_problems(run, now, DAY, events, events[:-1], True)
    assert short == [(ARCHIVED, f"archived {len(events) - 1} events, {len(events)} were committed")]
    changed = [*events[:-1], dataclasses.replace(events[-1], event_time=1)]
    assert deletion_problems(run, now, DAY, events, changed, True) == [
        (ARCHIVED, f"archived event {len(events)} differs from the committed one")
    ]


def test_an_archive_gone_or_changed_after_deletion_is_caught() -> None:
    _, events = _closed_run()
    deletions = Deletions(
        {("n", "w", "gone"): digest(events), ("n", "w", "changed"): digest(events)}
    )
    deletions.deleted[("n", "w", "kept")] = digest(events)
    store = {"changed": events[:-1], "kept": events}
    found = deletions.recheck(lambda n, w, r: store.get(r))
    assert found == [
        (ARCHIVED, "an archived history changed after deletion", "changed"),
        (ARCHIVED, "an archived history is gone", "gone"),
    ]
