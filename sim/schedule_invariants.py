"""End-of-run invariants of the `schedules` workload, from the histories alone.

For each schedule, the scheduler's runs (its continue-as-new chain) are read from the
committed histories; the last one is replayed to recover the scheduler's state (what
`describe` would answer: counters, buffer, processed span); the workflows it started
are the runs whose id is the action's id plus a nominal time (SCHED-WORKFLOW-ID).

The client's signals (trigger, backfill, unpause, update) and the pauses on failure
are read from the histories by sim/schedule_client.py.

- INV-SCHEDULE-ACTIONS: no workflow is started for a time neither the spec in force
  (an update changes it) gives in the span the scheduler processed, (creation, last
  action], nor a trigger or backfill asked for; no time of that span is lost (neither
  started, nor a failed start, nor covered by the skipped, missed, dropped and
  buffered counts, nor in a pause on failure); and no more times are started or
  counted than the span holds. CANCEL_OTHER and TERMINATE_OTHER may replace a buffered
  start by a later one uncounted (buffer.go), so the lost check leaves them out. A
  scheduler not paused when its chain closed must have woken after each of its times
  up to an hour before the close.
- INV-SCHEDULE-NO-DUPLICATE: no scheduled time's workflow is started twice, and no
  start is refused because its workflow id was already used.
- INV-SCHEDULE-CATCHUP: no time is started whose catch-up window had passed when the
  scheduler first could have seen it (the first of its workflow tasks at or after the
  time: the scheduler decides no earlier than that).
- INV-SCHEDULE-MANUAL: every time a backfill asked for is started (or its start
  failed), and each trigger has a start at or after it that no spec or backfill
  gives; not for CANCEL_OTHER and TERMINATE_OTHER, which drop the ALLOW_ALL starts
  beside them (buffer.go). Twice is INV-SCHEDULE-NO-DUPLICATE.
- INV-SCHEDULE-PAUSE: while the scheduler has recorded itself paused (the
  TemporalSchedulePaused search attribute it upserts), no start of a scheduled time is
  decided; and each pause called for - a client's pause signal, or with pause on
  failure a watch reporting a started run failed or timed out - is recorded, unless an
  unpause came first or the schedule was deleted.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import payloads
from core.enums import EventType as E
from core.errors import BadInput, BadPayload, Nondeterminism, PotentialDeadlock
from core.events import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
)
from core.schedule import api
from core.schedule.calendar import SpecError
from core.schedule.messages import OverlapPolicy
from core.schedule.scheduler import DEFAULT_CATCHUP_WINDOW, MIN_CATCHUP_WINDOW, Scheduler
from core.schedule.spec import CompiledSpec, compile_spec
from core.schedule.workflow import SchedulerWorkflow
from core.statemachine.replay import driver
from core.timefmt import parse_rfc3339
from core.workflow import definition
from sim.schedule_client import ClientView

Problem = tuple[str, str]  # (invariant id, message)
INVARIANTS: tuple[tuple[str, str], ...] = (
    ("INV-SCHEDULE-ACTIONS", "each processed schedule time started once or accounted for"),
    ("INV-SCHEDULE-NO-DUPLICATE", "no schedule time started twice, no start refused as a repeat"),
    ("INV-SCHEDULE-CATCHUP", "no time started after its catch-up window had passed"),
    ("INV-SCHEDULE-MANUAL", "each triggered or backfilled time started once"),
    ("INV-SCHEDULE-PAUSE", "each pause taken; no scheduled time started while paused"),
)
REPLACING = (OverlapPolicy.CANCEL_OTHER, OverlapPolicy.TERMINATE_OTHER)
_RUN_CLOSES = (E.WORKFLOW_EXECUTION_COMPLETED, E.WORKFLOW_EXECUTION_TERMINATED)
STALL = 3600 * 1_000_000_000  # how long before its close a scheduler may not have woken
_CLOSES = (E.ACTIVITY_TASK_COMPLETED, E.ACTIVITY_TASK_FAILED, E.ACTIVITY_TASK_TIMED_OUT)


def check_schedules(
    histories: Mapping[str, Sequence[HistoryEvent]], workflow_of: Mapping[str, str]
) -> list[Problem]:
    """Every problem of every schedule in a run's histories (run id -> events)."""
    runs_of: dict[str, list[str]] = {}
    for run_id, wid in sorted(workflow_of.items()):
        runs_of.setdefault(wid, []).append(run_id)
    out: list[Problem] = []
    for wid in sorted(runs_of):
        if wid.startswith(api.WORKFLOW_ID_PREFIX):
            chain = sorted(runs_of[wid], key=lambda r: _start_time(histories[r]))
            out += check_schedule(wid, [histories[r] for r in chain], runs_of)
    return out


def _start_time(history: Sequence[HistoryEvent]) -> int:
    return (history[0].event_time or 0) if history else 0


def final_scheduler(chain: Sequence[Sequence[HistoryEvent]]) -> Scheduler | None:
    """The scheduler's state at the end of its last run (None if it never ran)."""
    try:
        result = driver.replay(definition(SchedulerWorkflow), chain[-1])
    except (Nondeterminism, BadPayload, PotentialDeadlock):
        return None  # THM-3.1 reports it
    instance: Any = result.execution.instance
    s = getattr(instance, "s", None)
    return s if isinstance(s, Scheduler) else None


@dataclass(frozen=True, slots=True)
class Created:
    """The schedule as the client created it (its first run's input), read apart from
    the scheduler's own state so that a broken scheduler cannot vouch for itself."""

    spec: CompiledSpec
    seed: str
    window: int
    policy: OverlapPolicy
    pause_on_failure: bool

    @staticmethod
    def of(first: Sequence[HistoryEvent]) -> Created | None:
        attrs = first[0].attributes if first else None
        if not isinstance(attrs, WorkflowExecutionStartedEventAttributes):
            return None
        try:
            args = api.StartScheduleArgs.from_json(payloads.first(attrs.input))
            spec = compile_spec(args.schedule.spec)
        except (BadInput, SpecError):
            return None
        p = args.schedule.policies
        # workflow.go getCatchupWindow and resolveOverlapPolicy, restated.
        window = DEFAULT_CATCHUP_WINDOW if p.catchup_window is None else p.catchup_window
        policy = p.overlap_policy or OverlapPolicy.SKIP
        seed = f"{args.namespace_id}-{args.schedule_id}"
        return Created(spec, seed, max(window, MIN_CATCHUP_WINDOW), policy, p.pause_on_failure)


def check_schedule(
    wid: str, chain: Sequence[Sequence[HistoryEvent]], runs_of: Mapping[str, list[str]]
) -> list[Problem]:
    s = final_scheduler(chain)
    created = Created.of(chain[0])
    if s is None or created is None or s.schedule.action is None or s.last_processed is None:
        return []
    prefix = s.schedule.action.workflow_id + "-"
    started: Counter[int] = Counter()
    for job_id, runs in runs_of.items():
        if job_id.startswith(prefix):
            started[parse_rfc3339(job_id[len(prefix) :])] += len(runs)
    view = ClientView(created.seed, created.pause_on_failure, [(s.create_time, created.spec)])
    view.read(wid, chain, prefix)
    expected = view.scheduled(s.create_time, s.last_processed)
    failed, refused, decided_at = _start_activities(chain, prefix)
    out: list[Problem] = []
    others = sorted((set(started) | set(failed)) - set(expected) - view.manual)
    unmatched = _match_triggers(wid, view.triggers, others, created.policy, out)
    for nominal, n in sorted(started.items()):
        if n > 1:
            out.append(("INV-SCHEDULE-NO-DUPLICATE", f"{wid}: {prefix}{nominal} started {n} times"))
        if nominal in unmatched:
            out.append(("INV-SCHEDULE-ACTIONS", f"{wid}: started {nominal}, not a processed time"))
    for nominal in refused:
        out.append(("INV-SCHEDULE-NO-DUPLICATE", f"{wid}: start of {nominal} refused: id in use"))
    out += _stalled(wid, chain, view)
    untaken = {n for n in expected if not view.exempt(expected[n], expected)}
    out += _accounting(wid, s, created, set(started), set(expected), set(failed), untaken)
    if created.policy not in REPLACING:
        for nominal in sorted(view.manual - set(started) - set(failed)):
            out.append(("INV-SCHEDULE-MANUAL", f"{wid}: manual start of {nominal} lost"))
    out += _catchup(wid, created.window, started, expected, _task_times(chain))
    return out + view.problems + _decided_problems(wid, decided_at)


def _match_triggers(
    wid: str, triggers: list[int], others: list[int], policy: OverlapPolicy, out: list[Problem]
) -> set[int]:
    """Match each trigger with the first start (or failed start) at or after it that is
    neither a spec time nor backfilled; report triggers left over (INV-SCHEDULE-MANUAL,
    not for the replacing policies) and return the starts left over."""
    left = list(others)
    for sent in sorted(triggers):
        match = next((n for n in left if n >= sent), None)
        if match is not None:
            left.remove(match)
        elif policy not in REPLACING:
            out.append(("INV-SCHEDULE-MANUAL", f"{wid}: trigger sent at {sent} never started"))
    return set(left)


def _stalled(wid: str, chain: Sequence[Sequence[HistoryEvent]], view: ClientView) -> list[Problem]:
    """A scheduler that was not paused when its chain closed must have woken (had a
    workflow task) after each of its times up to STALL before the close."""
    last = chain[-1][-1] if chain[-1] else None
    tasks = _task_times(chain)
    if last is None or last.event_type not in _RUN_CLOSES or view.paused_at_end or not tasks:
        return []
    create = _start_time(chain[0])
    times = view.scheduled(create, (last.event_time or 0) - STALL).values()
    missed = sorted(t for t in times if t > tasks[-1])
    if not missed:
        return []
    return [("INV-SCHEDULE-ACTIONS", f"{wid}: asleep from time {missed[0]} on, not paused")]


def _accounting(
    wid: str,
    s: Scheduler,
    created: Created,
    started: set[int],
    expected: set[int],
    failed: set[int],
    must_take: set[int],
) -> list[Problem]:
    """Lost: a processed time neither started, nor failed, nor covered by a counter.
    Over-counted: more times started or counted than were processed. The catch-up
    counter is left out of the second check: Temporal's scheduler reprocesses from its
    last action (workflow.go UseLastAction), so a missed time counts again at each
    wake-up until an action is taken. `must_take` leaves out the times a pause on
    failure may have dropped uncounted."""
    failed = failed & expected
    done = len(started & expected) + len(failed - started)
    open_ = len((expected & must_take) - started - failed)
    buffered = sum(1 for b in s.buffer if not b.manual)
    allowance = s.overlap_skipped + s.missed_catchup_window + s.buffer_dropped + buffered
    counted = s.overlap_skipped + s.buffer_dropped + buffered
    detail = (
        f"(started {len(started & expected)}, failed starts {len(failed - started)}, skipped "
        f"{s.overlap_skipped}, missed {s.missed_catchup_window}, dropped {s.buffer_dropped}, "
        f"buffered {buffered})"
    )
    out: list[Problem] = []
    if created.policy not in REPLACING and open_ > allowance:
        out.append(
            (
                "INV-SCHEDULE-ACTIONS",
                f"{wid}: {open_ - allowance} of {len(expected)} times lost {detail}",
            )
        )
    if done + counted > len(expected):
        out.append(
            (
                "INV-SCHEDULE-ACTIONS",
                f"{wid}: {len(expected)} times, {done + counted} taken or counted {detail}",
            )
        )
    return out


def _start_activities(
    chain: Sequence[Sequence[HistoryEvent]], prefix: str
) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """(nominal times whose start failed, those refused as already started, and
    (nominal, scheduling event id) pairs) over the StartWorkflow activities."""
    failed: list[int] = []
    refused: list[int] = []
    decided: list[tuple[int, int]] = []
    for history in chain:
        wanted: dict[int, int] = {}
        for event in history:
            a = event.attributes
            if isinstance(a, ActivityTaskScheduledEventAttributes):
                if a.activity_type is None or a.activity_type.name != api.ACTIVITY_START:
                    continue
                request = (payloads.from_payloads(a.input) or [{}])[0]
                job = request.get("workflowId", "") if isinstance(request, dict) else ""
                if isinstance(job, str) and job.startswith(prefix):
                    wanted[event.event_id] = parse_rfc3339(job[len(prefix) :])
                    decided.append((wanted[event.event_id], event.event_id))
            elif event.event_type in _CLOSES and not isinstance(
                a, ActivityTaskCompletedEventAttributes
            ):
                nominal = wanted.get(getattr(a, "scheduled_event_id", -1))
                if nominal is None:
                    continue
                failed.append(nominal)
                if payloads.failure_type(getattr(a, "failure", None)) == api.ALREADY_STARTED:
                    refused.append(nominal)
    return failed, refused, decided


def _decided_problems(wid: str, decided: list[tuple[int, int]]) -> list[Problem]:
    """A start activity scheduled twice for one time is a duplicate decision."""
    seen = Counter(nominal for nominal, _ in decided)
    return [
        ("INV-SCHEDULE-NO-DUPLICATE", f"{wid}: {n} start activities for time {nominal}")
        for nominal, n in sorted(seen.items())
        if n > 1
    ]


def _task_times(chain: Sequence[Sequence[HistoryEvent]]) -> list[int]:
    return sorted(
        e.event_time or 0 for h in chain for e in h if e.event_type is E.WORKFLOW_TASK_STARTED
    )


def _catchup(
    wid: str, window: int, started: Counter[int], expected: dict[int, int], tasks: list[int]
) -> list[Problem]:
    out: list[Problem] = []
    for nominal in sorted(set(started) & set(expected)):
        actual = expected[nominal]
        i = bisect.bisect_left(tasks, actual)
        if i < len(tasks) and tasks[i] - actual > window:
            late = (tasks[i] - actual) / 1e9
            out.append(
                (
                    "INV-SCHEDULE-CATCHUP",
                    f"{wid}: time {nominal} started though first seen {late:.1f} s late "
                    f"(window {window / 1e9:.0f} s)",
                )
            )
    return out
