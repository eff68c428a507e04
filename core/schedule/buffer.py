"""Overlap policies: what to do with buffered starts (Temporal's buffer.go ProcessBuffer).

Given the buffer of starts in time order and whether a workflow the schedule started is
still running, `process_buffer` decides which start to take now, which to keep, which
to drop, and whether to cancel or terminate the running one:

- ALLOW_ALL: every such start is taken now, overlapping (SCHED-OVERLAP-ALLOW-ALL);
- with nothing running, the first other start is taken (SCHED-OVERLAP-FIRST-FREE);
- SKIP: an overlapping start is dropped (SCHED-OVERLAP-SKIP);
- BUFFER_ONE: the first overlapping start is kept, later ones dropped
  (SCHED-OVERLAP-BUFFER-ONE);
- BUFFER_ALL: every overlapping start is kept (SCHED-OVERLAP-BUFFER-ALL);
- CANCEL_OTHER / TERMINATE_OTHER: with a workflow running, ask to cancel (terminate) it
  and keep the start until it has closed; with only a start chosen in this same pass,
  the later start replaces it (SCHED-OVERLAP-CANCEL-OTHER, SCHED-OVERLAP-TERMINATE-OTHER).

An unspecified policy resolves to the schedule's, then to SKIP, at this moment (so an
update of the policy reaches starts already buffered).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.fastinit import fast_init_all
from core.schedule.codec import Obj, enum_name, get_bool, get_enum, get_ts, prune, ts
from core.schedule.messages import OVERLAP_PREFIX, OverlapPolicy

P = OverlapPolicy


@dataclass(frozen=True, slots=True)
class BufferedStart:
    """A start waiting to be taken: its nominal (pre-jitter) and actual time."""

    nominal_time: int
    actual_time: int
    overlap_policy: OverlapPolicy = P.UNSPECIFIED
    manual: bool = False  # trigger-immediately or backfill

    def to_json(self) -> Obj:
        return prune(
            {
                "nominalTime": ts(self.nominal_time),
                "actualTime": ts(self.actual_time),
                "overlapPolicy": enum_name(OVERLAP_PREFIX, self.overlap_policy),
                "manual": self.manual,
            }
        )

    @staticmethod
    def from_json(o: Obj) -> BufferedStart:
        return BufferedStart(
            get_ts(o, "nominalTime") or 0,
            get_ts(o, "actualTime") or 0,
            get_enum(o, "overlapPolicy", OverlapPolicy, OVERLAP_PREFIX),
            get_bool(o, "manual"),
        )


@dataclass(frozen=True, slots=True)
class BufferResult:
    new_buffer: tuple[BufferedStart, ...]
    overlapping_starts: tuple[BufferedStart, ...]
    non_overlapping_start: BufferedStart | None
    need_cancel: bool
    need_terminate: bool
    overlap_skipped: int


def process_buffer(
    buffer: Sequence[BufferedStart],
    is_running: bool,
    resolve: Callable[[OverlapPolicy], OverlapPolicy],
) -> BufferResult:
    keep: list[BufferedStart] = []
    overlapping: list[BufferedStart] = []
    first: BufferedStart | None = None
    cancel = terminate = False
    skipped = 0
    for start in buffer:
        policy = resolve(start.overlap_policy)
        if policy == P.ALLOW_ALL:
            overlapping.append(start)
        elif not is_running and first is None:
            first = start
        elif policy == P.SKIP:
            skipped += 1
        elif policy == P.BUFFER_ONE:
            if keep:
                skipped += 1
            else:
                keep.append(start)
        elif policy == P.BUFFER_ALL:
            keep.append(start)
        elif policy in (P.CANCEL_OTHER, P.TERMINATE_OTHER):
            if is_running:
                cancel = cancel or policy == P.CANCEL_OTHER
                terminate = terminate or policy == P.TERMINATE_OTHER
                keep.append(start)
            else:
                first = start
    if cancel or terminate:
        # buffer.go: overlapping starts would be cancelled or terminated at once anyway.
        overlapping = []
    return BufferResult(tuple(keep), tuple(overlapping), first, cancel, terminate, skipped)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
