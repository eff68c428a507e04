"""The scheduler's decisions, without I/O: Temporal's service/worker/scheduler/workflow.go.

`Scheduler` holds one schedule's state (workflow.go's Schedule, ScheduleInfo and
InternalState) and decides, for a span of time that has passed, which actions are due
(`process_time_range`), what a patch or an update changes, which buffered starts to take
(`take_from_buffer`, over core/schedule/buffer.py) and when to wake next. The workflow
(core/schedule/workflow.py) does the waiting and runs the activities. Rules:

- SCHED-NOMINAL-TIMES: scheduled actions are the spec's next times (with jitter) in
  (last processed, now], skipped while paused or out of actions.
- SCHED-CATCHUP-WINDOW: a scheduled time more than the catch-up window (at least 10 s,
  default 365 days) before now is not taken; it counts in missed_catchup_window.
- SCHED-REMAINING-ACTIONS: with limited actions, each scheduled start takes one; at 0
  no scheduled start is taken (manual ones still are).
- SCHED-PAUSE-ON-FAILURE: with pause_on_failure, a started workflow that failed or
  timed out pauses the schedule, with a note naming it.
- SCHED-TRIGGER-BACKFILL: trigger-immediately starts now; a backfill takes every time
  in [start, end] (start inclusive), ten per iteration, whatever pause or limit says.
- SCHED-UPDATE-CONFLICT: an update with a conflict token other than 0 or the current
  one is ignored; an update, pause and unpause advance the token.
- SCHED-RECENT-ACTIONS: describe shows the last 10 actions and the next 10 times.
- SCHED-WORKFLOW-ID: a started workflow's id is the action's id plus "-" and the nominal
  time (RFC 3339, whole seconds); scheduled starts use REJECT_DUPLICATE, so a time is
  never started twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.schedule.api import StartScheduleArgs
from core.schedule.buffer import BufferedStart, BufferResult, process_buffer
from core.schedule.calendar import SpecError
from core.schedule.codec import (
    Obj,
    get_bool,
    get_int,
    get_list,
    get_obj,
    get_str,
    get_ts,
    prune,
    ts,
)
from core.schedule.messages import BackfillRequest, OverlapPolicy, Schedule, SchedulePatch
from core.schedule.messages import SchedulePolicies as Policies
from core.schedule.spec import SECOND, CompiledSpec, compile_spec
from core.timefmt import rfc3339

DAY = 86_400 * SECOND
# workflow.go CurrentTweakablePolicies
DEFAULT_CATCHUP_WINDOW = 365 * DAY
MIN_CATCHUP_WINDOW = 10 * SECOND
RETENTION_TIME = 7 * DAY
FUTURE_ACTION_COUNT = 10
RECENT_ACTION_COUNT = 10
MAX_BUFFER_SIZE = 1000
BACKFILLS_PER_ITERATION = 10
MAX_LIST_MATCHING_TIMES = 1000
# Temporal continues-as-new when the server suggests it (history size); the model's
# history service does not suggest, so the workflow uses the tweakable's other mode.
ITERATIONS_BEFORE_CONTINUE_AS_NEW = 50
FAILED, TIMED_OUT, CANCELED, TERMINATED = "Failed", "TimedOut", "Canceled", "Terminated"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """ScheduleActionResult: when it was scheduled, when it started, what it started."""

    schedule_time: int
    actual_time: int
    workflow_id: str
    run_id: str
    status: str = "Running"

    def to_json(self) -> Obj:
        return {
            "scheduleTime": rfc3339(self.schedule_time),
            "actualTime": rfc3339(self.actual_time),
            "startWorkflowResult": {"workflowId": self.workflow_id, "runId": self.run_id},
            "startWorkflowStatus": "WORKFLOW_EXECUTION_STATUS_" + _upper(self.status),
        }

    @staticmethod
    def from_json(o: Obj) -> ActionResult:
        result = get_obj(o.get("startWorkflowResult", {}), "startWorkflowResult")
        status = get_str(o, "startWorkflowStatus").removeprefix("WORKFLOW_EXECUTION_STATUS_")
        return ActionResult(
            get_ts(o, "scheduleTime") or 0,
            get_ts(o, "actualTime") or 0,
            get_str(result, "workflowId"),
            get_str(result, "runId"),
            "".join(p.capitalize() for p in status.split("_")) or "Running",
        )


def _upper(status: str) -> str:
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(status)).upper()


class Scheduler:
    """One schedule's state and decisions; `now` is always passed in (ns)."""

    def __init__(self, args: StartScheduleArgs) -> None:
        self.schedule = args.schedule
        self.namespace, self.namespace_id = args.namespace, args.namespace_id
        self.schedule_id = args.schedule_id
        st, info = args.state, args.info
        self.last_processed: int | None = get_ts(st, "lastProcessedTime")
        self.conflict_token = get_int(st, "conflictToken")
        self.buffer = [
            BufferedStart.from_json(get_obj(b, "buffer")) for b in get_list(st, "bufferedStarts")
        ]
        self.backfills = [
            BackfillRequest.from_json(get_obj(b, "backfill"))
            for b in get_list(st, "ongoingBackfills")
        ]
        self.need_refresh = get_bool(st, "needRefresh")
        # workflow.go InternalState: the last completed run's result, and the failure of
        # a run that failed after it, handed to the next start (processWatcherResult).
        self.last_completion_result = _opaque(st, "lastCompletionResult")
        self.continued_failure = _opaque(st, "continuedFailure")
        self.action_count = get_int(info, "actionCount")
        self.missed_catchup_window = get_int(info, "missedCatchupWindow")
        self.overlap_skipped = get_int(info, "overlapSkipped")
        self.buffer_dropped = get_int(info, "bufferDropped")
        self.running = [
            (get_str(r, "workflowId"), get_str(r, "runId"))
            for r in (get_obj(x, "runningWorkflows") for x in get_list(info, "runningWorkflows"))
        ]
        self.recent = [
            ActionResult.from_json(get_obj(a, "recentActions"))
            for a in get_list(info, "recentActions")
        ]
        self.create_time = get_ts(info, "createTime") or 0
        self.update_time = get_ts(info, "updateTime") or 0
        self.invalid_error = ""
        self.cspec: CompiledSpec | None = None
        self.ensure_fields()
        self.compile()

    # -- continue-as-new -------------------------------------------------------------
    def to_args(self, initial_patch: SchedulePatch | None = None) -> StartScheduleArgs:
        state: Obj = prune(
            {
                "lastProcessedTime": ts(self.last_processed),
                "conflictToken": str(self.conflict_token),
                "bufferedStarts": [b.to_json() for b in self.buffer],
                "ongoingBackfills": [b.to_json() for b in self.backfills],
                "needRefresh": self.need_refresh,
                "lastCompletionResult": _value(self.last_completion_result),
                "continuedFailure": _value(self.continued_failure),
            }
        )
        return StartScheduleArgs(
            self.schedule,
            self.namespace,
            self.namespace_id,
            self.schedule_id,
            initial_patch,
            state,
            self.info_json(),
        )

    def info_json(self) -> Obj:
        return prune(
            {
                "actionCount": str(self.action_count) if self.action_count else "",
                "missedCatchupWindow": str(self.missed_catchup_window)
                if self.missed_catchup_window
                else "",
                "overlapSkipped": str(self.overlap_skipped) if self.overlap_skipped else "",
                "bufferDropped": str(self.buffer_dropped) if self.buffer_dropped else "",
                "bufferSize": str(len(self.buffer)) if self.buffer else "",
                "runningWorkflows": [{"workflowId": w, "runId": r} for w, r in self.running],
                "recentActions": [a.to_json() for a in self.recent],
                "createTime": ts(self.create_time or None),
                "updateTime": ts(self.update_time or None),
                "invalidScheduleError": self.invalid_error,
            }
        )

    # -- policies ------------------------------------------------------------------------
    def ensure_fields(self) -> None:
        """Defaults set eagerly so describe shows them (workflow.go ensureFields)."""
        p = self.schedule.policies
        policies = Policies(
            self.resolve(p.overlap_policy), self.catchup_window(), p.pause_on_failure
        )
        s = self.schedule
        self.schedule = Schedule(s.spec, s.action, policies, s.state)

    def compile(self) -> None:
        try:
            self.cspec, self.invalid_error = compile_spec(self.schedule.spec), ""
        except SpecError as e:
            self.cspec, self.invalid_error = None, str(e)

    def resolve(self, policy: OverlapPolicy) -> OverlapPolicy:
        if policy == OverlapPolicy.UNSPECIFIED:
            policy = self.schedule.policies.overlap_policy
        return OverlapPolicy.SKIP if policy == OverlapPolicy.UNSPECIFIED else policy

    def catchup_window(self) -> int:
        cw = self.schedule.policies.catchup_window
        return DEFAULT_CATCHUP_WINDOW if cw is None else max(cw, MIN_CATCHUP_WINDOW)

    def jitter_seed(self) -> str:
        return f"{self.namespace_id}-{self.schedule_id}"  # workflow.go jitterSeed

    def next_time(self, after: int) -> tuple[int | None, int | None]:
        assert self.cspec is not None
        r = self.cspec.get_next_time(self.jitter_seed(), after)
        return r.nominal, r.next

    def can_take_scheduled_action(self, manual: bool, decrement: bool) -> bool:
        st = self.schedule.state
        if manual:
            return True
        if st.paused:
            return False
        if not st.limited_actions:
            return True
        if st.remaining_actions > 0:
            if decrement:
                self._set_state(remaining_actions=st.remaining_actions - 1)
                self.conflict_token += 1
            return True
        return False

    def _set_state(
        self,
        *,
        paused: bool | None = None,
        notes: str | None = None,
        remaining_actions: int | None = None,
    ) -> None:
        st = self.schedule.state
        state = replace(
            st,
            paused=st.paused if paused is None else paused,
            notes=st.notes if notes is None else notes,
            remaining_actions=st.remaining_actions
            if remaining_actions is None
            else remaining_actions,
        )
        self.schedule = Schedule(
            self.schedule.spec, self.schedule.action, self.schedule.policies, state
        )

    # -- time passing --------------------------------------------------------------------
    def process_time_range(
        self,
        start: int,
        end: int,
        policy: OverlapPolicy,
        manual: bool,
        limit: list[int] | None = None,
    ) -> tuple[int | None, int]:
        """Buffer the actions due in (start, end]; (next wakeup, last action time).
        `limit` is a one-item budget, spent per action (backfills)."""
        if self.cspec is None:
            return None, end
        if not self.can_take_scheduled_action(manual, False):
            return self.next_time(end)[1], end  # paused: skip the whole span
        last_action = start
        nominal, nxt = self.next_time(start)
        while nxt is not None and nominal is not None and nxt <= end:
            if not manual and self.update_time > nxt:
                pass  # before the last update: already reprocessed
            elif not manual and end - nxt > self.catchup_window():
                self.missed_catchup_window += 1
            else:
                self.add_start(nominal, nxt, policy, manual)
                last_action = nxt
                if limit is not None:
                    limit[0] -= 1
                    if limit[0] <= 0:
                        break
            nominal, nxt = self.next_time(nxt)
        return nxt, last_action

    def add_start(self, nominal: int, actual: int, policy: OverlapPolicy, manual: bool) -> None:
        if len(self.buffer) >= MAX_BUFFER_SIZE:
            self.buffer_dropped += 1
            return
        self.buffer.append(BufferedStart(nominal, actual, policy, manual))
        self.need_refresh = True

    def process_patch(self, patch: SchedulePatch, now: int) -> None:
        trigger = patch.trigger_immediately
        if trigger is not None:
            at = trigger.scheduled_time or now
            self.add_start(at, at, trigger.overlap_policy, True)
        for bfr in patch.backfill_request:
            if len(self.backfills) >= MAX_BUFFER_SIZE:
                self.buffer_dropped += 1
                continue
            # InclusiveBackfillStartTime: the start time itself may match.
            self.backfills.append(
                BackfillRequest(bfr.start_time - 1_000_000, bfr.end_time, bfr.overlap_policy)
            )
        if patch.pause:
            self._set_state(paused=True, notes=patch.pause)
            self.conflict_token += 1
        if patch.unpause:
            self._set_state(paused=False, notes=patch.unpause)
            self.conflict_token += 1

    def process_update(self, schedule: Schedule, conflict_token: int, now: int) -> bool:
        """Apply a full update unless it conflicts; True if applied."""
        if conflict_token not in (0, self.conflict_token):
            return False
        self.schedule = schedule
        self.ensure_fields()
        self.compile()
        self.update_time = now
        self.conflict_token += 1
        return True

    def process_backfills(self) -> None:
        limit = [BACKFILLS_PER_ITERATION]
        while self.backfills and limit[0] > 0 and len(self.buffer) < MAX_BUFFER_SIZE // 2:
            bfr = self.backfills[0]
            nxt, _ = self.process_time_range(
                bfr.start_time, bfr.end_time, bfr.overlap_policy, True, limit
            )
            if nxt is None or nxt > bfr.end_time:
                self.backfills.pop(0)
            else:
                self.backfills[0] = BackfillRequest(nxt, bfr.end_time, bfr.overlap_policy)

    def has_more_allow_all_backfills(self) -> bool:
        return (
            bool(self.backfills)
            and self.resolve(self.backfills[0].overlap_policy) == OverlapPolicy.ALLOW_ALL
        )

    # -- the buffer ----------------------------------------------------------------------
    def take_from_buffer(self) -> BufferResult | None:
        """What to do with the buffer now (None: nothing to start); the rest stays."""
        if self.schedule.action is None or not self.buffer:
            self.buffer = []
            return None
        result = process_buffer(self.buffer, bool(self.running), self.resolve)
        self.buffer = list(result.new_buffer)
        self.overlap_skipped += result.overlap_skipped
        return result

    def workflow_id_for(self, start: BufferedStart) -> str:
        """SCHED-WORKFLOW-ID: the action's id, "-", the nominal time in whole seconds."""
        assert self.schedule.action is not None
        whole = start.nominal_time - start.nominal_time % SECOND
        return f"{self.schedule.action.workflow_id}-{rfc3339(whole)}"

    def start_deadline(self, start: BufferedStart, now: int) -> int:
        """The StartWorkflow activity's schedule-to-close timeout (workflow.go startWorkflow)."""
        if start.manual:
            return 60 * SECOND
        timeout = start.actual_time + self.catchup_window() - now
        return min(max(timeout, 5 * SECOND), 3600 * SECOND)

    def record_action(
        self, start: BufferedStart, non_overlapping: bool, wid: str, run_id: str, now: int
    ) -> None:
        self.action_count += 1
        self.recent = [*self.recent, ActionResult(start.actual_time, now, wid, run_id)][
            -RECENT_ACTION_COUNT:
        ]
        if non_overlapping:  # DontTrackOverlapping: ALLOW_ALL runs are not tracked
            self.running.append((wid, run_id))

    def workflow_closed(self, wid: str, status: str, failure: str = "") -> None:
        """A watched workflow is no longer running (workflow.go processWatcherResult)."""
        self.running = [r for r in self.running if r[0] != wid]
        self.recent = [
            ActionResult(a.schedule_time, a.actual_time, a.workflow_id, a.run_id, status)
            if a.workflow_id == wid
            else a
            for a in self.recent
        ]
        st = self.schedule.state
        if (
            self.schedule.policies.pause_on_failure
            and status in (FAILED, TIMED_OUT)
            and not st.paused
        ):
            why = (
                f"workflow failure: {wid}: {failure}"
                if status == FAILED
                else f"workflow timeout: {wid}"
            )
            self._set_state(paused=True, notes=f"paused due to {why}")
            self.conflict_token += 1

    def record_outcome(self, result: Opaque | None, failure: Opaque | None) -> None:
        """A closed run's result or failure (workflow.go processWatcherResult): a result
        replaces the last completion result and clears the failure; a failure is kept
        beside the last result, which stays."""
        if result is not None:
            self.last_completion_result, self.continued_failure = result, None
        elif failure is not None:
            self.continued_failure = failure

    def carried_outcome(self, start: BufferedStart) -> Obj:
        """What a start passes on of the runs before it (workflow.go startWorkflow): the
        last completion result and continued failure, except for an ALLOW_ALL start
        (as given, not resolved), which takes no part in them."""
        if start.overlap_policy == OverlapPolicy.ALLOW_ALL:
            return {}
        out: Obj = {}
        if self.last_completion_result is not None:
            out["lastCompletionResult"] = self.last_completion_result.value()
        if self.continued_failure is not None:
            out["continuedFailure"] = self.continued_failure.value()
        return out

    # -- sleeping and retention --------------------------------------------------------
    def wakeup(self, next_wakeup: int | None, now: int) -> int | None:
        """When to wake if no signal comes (workflow.go sleep); None: only on a signal."""
        if self.has_more_allow_all_backfills():
            next_wakeup = now + SECOND
        elif not self.can_take_scheduled_action(False, False):
            next_wakeup = None
        expiry = self.retention_expiration(next_wakeup)
        return expiry if expiry is not None else next_wakeup

    def retention_expiration(self, next_wakeup: int | None) -> int | None:
        if self.schedule.state.paused or self.has_more_allow_all_backfills():
            return None
        if next_wakeup is not None and self.can_take_scheduled_action(False, False):
            return None
        return self.last_event() + RETENTION_TIME

    def last_event(self) -> int:
        last = self.recent[-1].actual_time if self.recent else 0
        return max(last, self.create_time, self.update_time)

    # -- queries -------------------------------------------------------------------------
    def future_action_times(self, n: int) -> list[int]:
        if self.cspec is None:
            return []
        st = self.schedule.state
        if st.limited_actions:
            n = min(st.remaining_actions, n)
        out: list[int] = []
        t: int | None = self.last_processed or 0
        while len(out) < n:
            t = self.next_time(t)[1] if t is not None else None
            if t is None:
                break
            if self.update_time <= t:
                out.append(t)
        return out

    def describe(self) -> Obj:
        info = self.info_json()
        info["futureActionTimes"] = [
            rfc3339(t) for t in self.future_action_times(FUTURE_ACTION_COUNT)
        ]
        return {
            "schedule": self.schedule.to_json(),
            "info": prune(info),
            "conflictToken": str(self.conflict_token),
        }

    def list_matching_times(self, start: int, end: int) -> list[JsonValue]:
        if self.cspec is None:
            raise SpecError(f"invalid schedule: {self.invalid_error}")
        out: list[JsonValue] = []
        t: int | None = start
        for _ in range(MAX_LIST_MATCHING_TIMES):
            t = self.next_time(t)[1] if t is not None else None
            if t is None or t > end:
                break
            out.append(rfc3339(t))
        return out


def _opaque(o: Obj, key: str) -> Opaque | None:
    value = o.get(key)
    return None if value is None else Opaque.of(value)


def _value(o: Opaque | None) -> JsonValue:
    return None if o is None else o.value()


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
