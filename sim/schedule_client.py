"""What a schedule's client asked of it, and when the scheduler saw it, from its histories.

The `schedules` workload's client sends the scheduler "patch" (trigger-immediately, pause,
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
- the pauses: when each took effect and ended is what the scheduler recorded, the
  TemporalSchedulePaused search attribute it upserts on its own run when its paused
  state changes (workflow.go updateMemoAndSearchAttributes), read at the task that
  wrote it. While recorded paused, no start of a scheduled (not manual) time may be
  decided (INV-SCHEDULE-PAUSE); the scheduled times in a pause may go untaken
  uncounted, as Temporal drops them (workflow.go processTimeRange skips a paused span;
  processBuffer skips a start that cannot be taken, so the times buffered when the
  pause took effect go too): from the last scheduled start decided before the pause
  (or the failed run's own time, if earlier) to the unpause.
- that each pause was taken, independently of the scheduler: a client's pause (once a
  task after it completed), and with pause on failure a WatchWorkflow result
  reporting a tracked run failed or timed out (workflow.go processWatcherResult), must
  be followed by a recorded pause, unless the schedule was deleted within the hour or
  an unpause (or an update unpausing it) came before it was recorded: the scheduler
  may apply both at one wake-up before it writes the attribute (INV-SCHEDULE-PAUSE: a
  scheduler ignoring a pause records none). Likewise an unpause of a recorded pause
  must be recorded (INV-SCHEDULE-ACTIONS: the times after it would be lost); starts
  decided between an unpause and its record are the unpause's own.
- the order the scheduler takes its signals in: patches and updates wait in their
  channels and are taken one per wake-up, in the order they came (workflow.go sleep),
  so while the loop is held up (a slow Terminate or Cancel call) several can queue.
  The times the history shows them applied are estimates; their order is not. Each
  recorded change of TemporalSchedulePaused uses up the queued asks up to the first
  that asks for it, and a start while recorded paused is the scheduler's own doing
  only if no unpause is still queued: one signalled before the pause was recorded can
  be taken after it (a pause on failure, taken at a wake-up, comes ahead of the
  patches still waiting).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from core import payloads
from core.enums import EventType as E
from core.errors import BadInput, BadPayload
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    UpsertWorkflowSearchAttributesEventAttributes,
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
SLACK = 3600 * SECOND  # a schedule deleted this soon after a pause may not have written it
BACKFILL_INCLUSIVE = 1_000_000  # workflow.go: a backfill's start time itself may match


@dataclass(slots=True)
class ClientView:
    """A schedule's history as its client's signals and the watch results shape it."""

    seed: str
    pause_on_failure: bool
    segments: list[tuple[int, CompiledSpec]]  # (from, exclusive; spec) in time order
    manual: set[int] = field(default_factory=set)  # backfilled nominal times, whole seconds
    triggers: list[int] = field(default_factory=list)  # when each trigger was sent
    paused_since: list[tuple[int, int]] = field(default_factory=list)  # (from, to) exempt
    problems: list[Problem] = field(default_factory=list)
    _pending: list[tuple[str, JsonValue]] = field(default_factory=list)
    _in_task: list[tuple[str, JsonValue]] = field(default_factory=list)
    _task_time: int = 0
    _recorded: bool = False  # TemporalSchedulePaused as the scheduler last wrote it
    _span_from: int = 0  # where the recorded pause's exemption starts
    _want: bool | None = None  # the paused state called for and not recorded yet
    _want_from: int = 0  # for a pause: where its exemption starts
    _want_at: int = 0  # when it was called for
    _want_why: str = ""
    _last_started: int = 0  # the latest scheduled time whose start was decided
    _asks: list[bool] = field(default_factory=list)  # queued pause (True) / unpause asks
    _activities: dict[int, tuple[str, JsonValue]] = field(default_factory=dict)

    def read(self, wid: str, chain: Sequence[Sequence[HistoryEvent]], prefix: str) -> None:
        for history in chain:
            self._activities = {}
            for event in history:
                self._event(wid, event, prefix)
        if self._recorded:
            self.paused_since.append((self._span_from, FOREVER))
        last = chain[-1][-1] if chain and chain[-1] else None
        deleted_soon = (
            last is not None
            and last.event_type is E.WORKFLOW_EXECUTION_TERMINATED
            and (last.event_time or 0) - self._want_at < SLACK
        )
        if self._want is not None and not deleted_soon:
            if self._want:
                problem = ("INV-SCHEDULE-PAUSE", f"{wid}: {self._want_why}, never paused")
            else:
                problem = ("INV-SCHEDULE-ACTIONS", f"{wid}: {self._want_why}, never unpaused")
            self.problems.append(problem)

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
            nominal = _nominal(request, prefix) if kind == api.ACTIVITY_START else None
            if nominal is not None and nominal not in self.manual and self.is_spec_time(nominal):
                self._last_started = max(self._last_started, nominal)
                # An unpause applied starts what it can before the scheduler writes the
                # attribute (processBuffer, then updateMemoAndSearchAttributes).
                if self._recorded and False not in self._asks:
                    self.problems.append(
                        ("INV-SCHEDULE-PAUSE", f"{wid}: started {nominal} while paused")
                    )
        elif isinstance(a, ActivityTaskCompletedEventAttributes):
            kind, request = self._activities.get(a.scheduled_event_id, ("", None))
            if kind == api.ACTIVITY_WATCH and self.pause_on_failure:
                self._watched(payloads.first(a.result), request, prefix, t)
        elif isinstance(a, UpsertWorkflowSearchAttributesEventAttributes):
            self._upserted(a)

    def _watched(self, result: JsonValue, request: JsonValue, prefix: str, t: int) -> None:
        status = result.get("status") if isinstance(result, dict) else None
        if status in FAILED_STATUSES:
            nominal = _nominal(request, prefix)
            self._call_for(True, t if nominal is None else nominal, t, f"run {nominal} failed")

    def _call_for(self, paused: bool, exempt_from: int, at: int, why: str) -> None:
        """The client or a failure calls for `paused`: expect the scheduler to record it.
        If its opposite is still unrecorded, neither is expected: the scheduler may apply
        both in one iteration (a watch result and a patch of one wake-up) and write
        nothing, and the history does not show which wake-up applied which."""
        if self._want is not None and self._want != paused:
            self._want = None
            return
        if paused == self._recorded:
            return
        if self._want is None:
            self._want, self._want_from, self._want_at = paused, exempt_from, at
            self._want_why = why
        self._want_from = min(self._want_from, exempt_from)

    def _upserted(self, a: UpsertWorkflowSearchAttributesEventAttributes) -> None:
        fields = a.search_attributes.value() if a.search_attributes is not None else None
        indexed = fields.get("indexedFields") if isinstance(fields, dict) else None
        item = indexed.get(api.SCHEDULE_PAUSED) if isinstance(indexed, dict) else None
        if item is None:
            return
        with contextlib.suppress(BadPayload):
            paused = payloads.from_payload(item)
            if isinstance(paused, bool) and paused is not self._recorded and paused in self._asks:
                del self._asks[: self._asks.index(paused) + 1]
            if paused is True and not self._recorded:
                # The times buffered but not started yet when it paused are dropped
                # (processBuffer): those after the last scheduled start, or after the
                # failed run's own time.
                self._recorded, self._span_from = True, self._last_started
                if self._want:
                    self._span_from = min(self._want_from, self._span_from)
            elif paused is False and self._recorded:
                self.paused_since.append((self._span_from, self._task_time))
                self._recorded = False
            if self._want == paused:
                self._want = None

    @property
    def paused_at_end(self) -> bool:
        return self._recorded

    def _apply(self, name: str, value: JsonValue) -> None:
        now = self._task_time
        if name == api.SIGNAL_UPDATE:
            with contextlib.suppress(BadInput, SpecError):
                update = api.FullUpdateRequest.from_json(value)
                self.segments.append((now, compile_spec(update.schedule.spec)))
                self.pause_on_failure = update.schedule.policies.pause_on_failure
                paused = update.schedule.state.paused
                self._asks.append(paused)
                self._call_for(paused, now, now, f"update at {now} to paused={paused}")
            return
        try:
            patch = SchedulePatch.from_json(value if isinstance(value, dict) else {})
        except BadInput:
            return
        for backfill in patch.backfill_request:
            start = backfill.start_time - BACKFILL_INCLUSIVE
            self.manual |= set(self.times(self.spec_at(now), start, backfill.end_time))
        if patch.pause:
            self._asks.append(True)
            self._call_for(True, now, now, f"pause at {now}")
        if patch.unpause:
            self._asks.append(False)
            self._call_for(False, now, now, f"unpause at {now}")

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
