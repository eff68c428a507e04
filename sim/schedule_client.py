"""What a schedule's client asked of it, and when the scheduler saw it, from its histories.

The `schedules` workload's client sends the scheduler "patch" (trigger-immediately,
backfill, unpause) and "update" signals (sim/schedule_workload.py `client_signals`).
The scheduler applies the signals it has at a workflow task, at that task's time
(`wf.now()`: when the task started); so a signal takes effect at the first workflow
task started after its WorkflowExecutionSignaled event that completes. Read in event
order over the continue-as-new chain, this gives, independently of the scheduler's own
state:

- the spec in force over time (an update replaces it: the old spec's times up to the
  update's task, the new one's after; workflow.go processTimeRange skips the new spec's
  times before the update);
- the manual starts expected: a backfill at every spec time in [start, end]
  (InclusiveBackfillStartTime); a trigger at some time after it was sent (the
  scheduler takes it when its loop next wakes, which the history does not mark);
- the pauses on failure: from the first WatchWorkflow result that reports a tracked
  run failed or timed out (workflow.go processWatcherResult), to the task that applies
  an unpause or an update that leaves the schedule unpaused. While paused, no start of a
  scheduled (not manual) time may be decided (INV-SCHEDULE-PAUSE); the scheduled times
  from the failed run's own time to the unpause may go untaken uncounted, as Temporal
  drops them (workflow.go processBuffer: a start that cannot be taken is skipped).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from core import payloads
from core.enums import EventType as E
from core.errors import BadInput
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    WorkflowExecutionSignaledEventAttributes,
)
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.calendar import SpecError
from core.schedule.messages import SchedulePatch
from core.schedule.spec import SECOND, CompiledSpec, compile_spec
from core.timefmt import parse_rfc3339

Problem = tuple[str, str]
FAILED_STATUSES = ("Failed", "TimedOut")
FOREVER = 2**62
BACKFILL_INCLUSIVE = 1_000_000  # workflow.go: a backfill's start time itself may match


@dataclass(slots=True)
class ClientView:
    """A schedule's history as its client's signals and the watch results shape it."""

    seed: str
    pause_on_failure: bool
    segments: list[tuple[int, CompiledSpec]]  # (from, exclusive; spec) in time order
    manual: set[int] = field(default_factory=set)  # backfilled nominal times, whole seconds
    triggers: list[int] = field(default_factory=list)  # when each trigger was sent
    paused_since: list[tuple[int, int]] = field(default_factory=list)  # (failed nominal, to)
    problems: list[Problem] = field(default_factory=list)
    _pending: list[tuple[str, JsonValue]] = field(default_factory=list)
    _in_task: list[tuple[str, JsonValue]] = field(default_factory=list)
    _task_time: int = 0
    _paused_at: int | None = None  # the failed run's nominal time while paused
    _activities: dict[int, tuple[str, JsonValue]] = field(default_factory=dict)

    def read(self, wid: str, chain: Sequence[Sequence[HistoryEvent]], prefix: str) -> None:
        for history in chain:
            self._activities = {}
            for event in history:
                self._event(wid, event, prefix)
        if self._paused_at is not None:
            self.paused_since.append((self._paused_at, FOREVER))

    def _event(self, wid: str, event: HistoryEvent, prefix: str) -> None:
        a = event.attributes
        t = event.event_time or 0
        if isinstance(a, WorkflowExecutionSignaledEventAttributes):
            if a.signal_name in (api.SIGNAL_PATCH, api.SIGNAL_UPDATE):
                self._pending.append((a.signal_name, payloads.first(a.input)))
                value = payloads.first(a.input)
                if isinstance(value, dict) and "triggerImmediately" in value:
                    self.triggers.append(t - t % SECOND)
        elif event.event_type is E.WORKFLOW_TASK_STARTED:
            self._in_task, self._task_time = list(self._pending), t
        elif event.event_type is E.WORKFLOW_TASK_COMPLETED:
            for signal in self._in_task:
                self._pending.remove(signal)
                self._apply(*signal)
            self._in_task = []
        elif isinstance(a, ActivityTaskScheduledEventAttributes):
            kind = a.activity_type.name if a.activity_type else ""
            request = (payloads.from_payloads(a.input) or [None])[0]
            self._activities[event.event_id] = (kind, request)
            if kind == api.ACTIVITY_START and self._paused_at is not None:
                nominal = _nominal(request, prefix)
                if (
                    nominal is not None
                    and nominal not in self.manual
                    and self.is_spec_time(nominal)
                ):
                    self.problems.append(
                        ("INV-SCHEDULE-PAUSE", f"{wid}: started {nominal} while paused on failure")
                    )
        elif isinstance(a, ActivityTaskCompletedEventAttributes):
            kind, request = self._activities.get(a.scheduled_event_id, ("", None))
            if kind == api.ACTIVITY_WATCH and self.pause_on_failure:
                self._watched(payloads.first(a.result), request, prefix)

    def _watched(self, result: JsonValue, request: JsonValue, prefix: str) -> None:
        status = result.get("status") if isinstance(result, dict) else None
        if status in FAILED_STATUSES and self._paused_at is None:
            job = request.get("workflowId") if isinstance(request, dict) else None
            nominal = _nominal({"workflowId": job}, prefix) if isinstance(job, str) else None
            self._paused_at = 0 if nominal is None else nominal

    @property
    def paused_at_end(self) -> bool:
        return any(to == FOREVER for _, to in self.paused_since)

    def _apply(self, name: str, value: JsonValue) -> None:
        now = self._task_time
        if name == api.SIGNAL_UPDATE:
            with contextlib.suppress(BadInput, SpecError):
                update = api.FullUpdateRequest.from_json(value)
                self.segments.append((now, compile_spec(update.schedule.spec)))
                self.pause_on_failure = update.schedule.policies.pause_on_failure
                if not update.schedule.state.paused:
                    self._unpause(now)
            return
        try:
            patch = SchedulePatch.from_json(value if isinstance(value, dict) else {})
        except BadInput:
            return
        for backfill in patch.backfill_request:
            start = backfill.start_time - BACKFILL_INCLUSIVE
            self.manual |= set(self.times(self.spec_at(now), start, backfill.end_time))
        if patch.unpause:
            self._unpause(now)

    def _unpause(self, now: int) -> None:
        if self._paused_at is not None:
            self.paused_since.append((self._paused_at, now))
            self._paused_at = None

    def is_spec_time(self, nominal: int) -> bool:
        """Whether a nominal time is one the spec in force gives (a trigger's is not)."""
        return self.spec_at(nominal).get_next_time(self.seed, nominal - 1).nominal == nominal

    def spec_at(self, t: int) -> CompiledSpec:
        """The spec in force for a time after `t` (the last change at or before it)."""
        spec = self.segments[0][1]
        for since, s in self.segments:
            if since <= t:
                spec = s
        return spec

    def times(self, spec: CompiledSpec, after: int, until: int) -> dict[int, int]:
        """nominal -> actual of `spec`'s times whose actual time is in (after, until]."""
        out: dict[int, int] = {}
        t = after
        while True:
            r = spec.get_next_time(self.seed, t)
            if r.nominal is None or r.next is None or r.next > until:
                return out
            out[r.nominal] = t = r.next

    def scheduled(self, create: int, last_processed: int) -> dict[int, int]:
        """nominal -> actual of every scheduled time in (create, last processed], each
        spec over its own span."""
        out: dict[int, int] = {}
        bounds = [since for since, _ in self.segments[1:]] + [last_processed]
        start = create
        for (_, spec), end in zip(self.segments, bounds, strict=True):
            out.update(self.times(spec, start, min(end, last_processed)))
            start = max(start, end)
        return out

    def exempt(self, actual: int, nominal_actual: dict[int, int]) -> bool:
        """Whether a scheduled time may have gone untaken uncounted: it falls in a pause
        on failure (after the failed run's own time, up to the unpause)."""
        return any(nominal_actual.get(n, n) < actual <= to for n, to in self.paused_since)


def _nominal(request: JsonValue, prefix: str) -> int | None:
    job = request.get("workflowId") if isinstance(request, dict) else None
    if not isinstance(job, str) or not job.startswith(prefix):
        return None
    with contextlib.suppress(ValueError):
        return parse_rfc3339(job[len(prefix) :])
    return None
