"""Retention and archival: when a closed run may be deleted, and what must hold then.

Temporal deletes a closed run's history once the namespace's retention has passed
since it closed (`service/history/workflow/task_generator.go`
GenerateDeleteHistoryEventTask: a timer task at close time + retention); with history
archival on, the run's history is archived first (the archival queue's task, created
at close, `service/history/archival_queue_task_executor.go`), and the deletion waits
for it. The invariants checked at each deletion:

- INV-RETENTION: a run is deleted only after it closed, and not before its close time
  plus the retention.
- INV-ARCHIVED-BEFORE-DELETE: with archival on, a run is deleted only once its archived
  history reads back equal, event for event, to every event committed for it: nothing
  deleted before it is archived, nothing lost on the way.

`Deletions` keeps, for each deleted archived run, the digest of what was committed, so
the report can read every archive back again (`recheck`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.events import HistoryEvent
from sim.persistence import RunRecord

RETENTION = "INV-RETENTION"
ARCHIVED = "INV-ARCHIVED-BEFORE-DELETE"


def close_time(run: RunRecord) -> int | None:
    """When the run closed (its last event's time), None while it is open."""
    if run.state.running or not run.events:
        return None
    return run.events[-1].event_time or 0


def deletion_problems(
    run: RunRecord,
    now: int,
    retention: int,
    committed: Sequence[HistoryEvent] | None,
    archived: Sequence[HistoryEvent] | None,
    archival: bool,
) -> list[tuple[str, str]]:
    """What deleting `run` at `now` would violate: (invariant id, message) pairs.
    `committed` is every event committed for the run (None: not known), `archived`
    what the archive reads back (None: nothing archived)."""
    out: list[tuple[str, str]] = []
    closed = close_time(run)
    if closed is None:
        out.append((RETENTION, "an open run deleted"))
    elif now < closed + retention:
        out.append((RETENTION, f"deleted {closed + retention - now} ns before its retention ended"))
    if archival:
        if archived is None:
            out.append((ARCHIVED, "deleted before it was archived"))
        elif committed is not None and list(archived) != list(committed):
            out.append((ARCHIVED, _difference(archived, committed)))
    return out


def _difference(archived: Sequence[HistoryEvent], committed: Sequence[HistoryEvent]) -> str:
    if len(archived) != len(committed):
        return f"archived {len(archived)} events, {len(committed)} were committed"
    first = next(i for i, (a, c) in enumerate(zip(archived, committed, strict=True)) if a != c)
    return f"archived event {first + 1} differs from the committed one"


def digest(events: Sequence[HistoryEvent]) -> str:
    """A digest of a history, to compare an archive with it later."""
    h = hashlib.sha256()
    for event in events:
        h.update(repr(event).encode())
    return h.hexdigest()


@dataclass(slots=True)
class Deletions:
    """The runs deleted so far: (namespace id, workflow id, run id) -> the digest of
    their committed history (empty when archival is off)."""

    deleted: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def recheck(
        self, read: Callable[[str, str, str], Sequence[HistoryEvent] | None]
    ) -> list[tuple[str, str, str]]:
        """Read every archived run back; (invariant, message, run id) for each one that
        is gone or changed since it was deleted."""
        out = []
        for (namespace_id, workflow_id, run_id), expected in sorted(self.deleted.items()):
            if not expected:
                continue
            archived = read(namespace_id, workflow_id, run_id)
            if archived is None:
                out.append((ARCHIVED, "an archived history is gone", run_id))
            elif digest(archived) != expected:
                out.append((ARCHIVED, "an archived history changed after deletion", run_id))
        return out
