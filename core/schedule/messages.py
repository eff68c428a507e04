"""A schedule's messages, with the field names of temporalio/api `schedule/v1/message.proto`.

Times are ns since the epoch and durations ns (core reads no clock and imports no
`datetime`); `None` is an unset optional field. Each message converts to and from its
protojson form (camelCase names, durations as "3600s", timestamps as RFC 3339), which
is how the scheduler workflow's input, signals and query answers travel as payloads -
and what a gRPC front end (`tmodel serve`) can translate to and from the protobuf
messages one for one. The one message the real server has but this model only partly
keeps is `ScheduleAction`'s `NewWorkflowExecutionInfo`: `StartWorkflowAction` keeps the
fields a scheduled start passes on (service/worker/scheduler/workflow.go startWorkflow),
not the id reuse policy or cron schedule (the frontend refuses a schedule that sets
them) nor the versioning override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.schedule.codec import (
    Obj,
    dur,
    enum_name,
    get_bool,
    get_dur,
    get_enum,
    get_int,
    get_list,
    get_obj,
    get_str,
    get_ts,
    prune,
    ts,
)


class OverlapPolicy(IntEnum):
    """`ScheduleOverlapPolicy` (temporalio/api enums/v1/schedule.proto), same numbers."""

    UNSPECIFIED = 0
    SKIP = 1
    BUFFER_ONE = 2
    BUFFER_ALL = 3
    CANCEL_OTHER = 4
    TERMINATE_OTHER = 5
    ALLOW_ALL = 6


OVERLAP_PREFIX = "SCHEDULE_OVERLAP_POLICY_"


@dataclass(frozen=True, slots=True)
class Range:
    """start..end inclusive by step; end < start means start alone, step 0 means 1."""

    start: int
    end: int = 0
    step: int = 0

    def to_json(self) -> Obj:
        return prune({"start": self.start, "end": self.end, "step": self.step})

    @staticmethod
    def from_json(o: Obj) -> Range:
        return Range(get_int(o, "start"), get_int(o, "end"), get_int(o, "step"))


Ranges = tuple[Range, ...]
CALENDAR_FIELDS = ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week")
_CAMEL = {"day_of_month": "dayOfMonth", "day_of_week": "dayOfWeek"}


@dataclass(frozen=True, slots=True)
class StructuredCalendarSpec:
    """Match times whose every field is in its ranges (empty `year` matches all years)."""

    second: Ranges = ()
    minute: Ranges = ()
    hour: Ranges = ()
    day_of_month: Ranges = ()
    month: Ranges = ()
    year: Ranges = ()
    day_of_week: Ranges = ()
    comment: str = ""

    def to_json(self) -> Obj:
        out: Obj = {
            _CAMEL.get(f, f): [r.to_json() for r in getattr(self, f)] for f in CALENDAR_FIELDS
        }
        out["comment"] = self.comment
        return prune(out)

    @staticmethod
    def from_json(o: Obj) -> StructuredCalendarSpec:
        ranges = {
            f: tuple(Range.from_json(get_obj(r, f)) for r in get_list(o, _CAMEL.get(f, f)))
            for f in CALENDAR_FIELDS
        }
        return StructuredCalendarSpec(**ranges, comment=get_str(o, "comment"))


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """The string form ("*", "1-5/2,8", "mon-fri"); empty fields take calendar.go's
    defaults (second, minute, hour "0"; the others "*")."""

    second: str = ""
    minute: str = ""
    hour: str = ""
    day_of_month: str = ""
    month: str = ""
    year: str = ""
    day_of_week: str = ""
    comment: str = ""

    def to_json(self) -> Obj:
        out: Obj = {_CAMEL.get(f, f): getattr(self, f) for f in CALENDAR_FIELDS}
        out["comment"] = self.comment
        return prune(out)

    @staticmethod
    def from_json(o: Obj) -> CalendarSpec:
        fields = {f: get_str(o, _CAMEL.get(f, f)) for f in CALENDAR_FIELDS}
        return CalendarSpec(**fields, comment=get_str(o, "comment"))


@dataclass(frozen=True, slots=True)
class IntervalSpec:
    """Every `interval` ns, at times whose remainder mod `interval` is `phase` (None: the
    spec named no phase, which counts as 0). The server keeps a phase as given, a zero
    one too (the `temporal` CLI sends "0s"), and answers it back."""

    interval: int
    phase: int | None = None

    def to_json(self) -> Obj:
        phase = None if self.phase is None else dur(self.phase)
        return prune({"interval": dur(self.interval), "phase": phase})

    @staticmethod
    def from_json(o: Obj) -> IntervalSpec:
        return IntervalSpec(get_dur(o, "interval") or 0, get_dur(o, "phase"))


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    structured_calendar: tuple[StructuredCalendarSpec, ...] = ()
    cron_string: tuple[str, ...] = ()
    calendar: tuple[CalendarSpec, ...] = ()
    interval: tuple[IntervalSpec, ...] = ()
    exclude_calendar: tuple[CalendarSpec, ...] = ()
    exclude_structured_calendar: tuple[StructuredCalendarSpec, ...] = ()
    start_time: int | None = None
    end_time: int | None = None
    jitter: int | None = None  # None: named none (no jitter); a zero one is kept as given
    timezone_name: str = ""

    def to_json(self) -> Obj:
        return prune(
            {
                "structuredCalendar": [c.to_json() for c in self.structured_calendar],
                "cronString": list(self.cron_string),
                "calendar": [c.to_json() for c in self.calendar],
                "interval": [i.to_json() for i in self.interval],
                "excludeCalendar": [c.to_json() for c in self.exclude_calendar],
                "excludeStructuredCalendar": [
                    c.to_json() for c in self.exclude_structured_calendar
                ],
                "startTime": ts(self.start_time),
                "endTime": ts(self.end_time),
                "jitter": None if self.jitter is None else dur(self.jitter),
                "timezoneName": self.timezone_name,
            }
        )

    @staticmethod
    def from_json(o: Obj) -> ScheduleSpec:
        def objs(key: str) -> list[Obj]:
            return [get_obj(x, key) for x in get_list(o, key)]

        return ScheduleSpec(
            tuple(StructuredCalendarSpec.from_json(c) for c in objs("structuredCalendar")),
            tuple(str(s) for s in get_list(o, "cronString")),
            tuple(CalendarSpec.from_json(c) for c in objs("calendar")),
            tuple(IntervalSpec.from_json(i) for i in objs("interval")),
            tuple(CalendarSpec.from_json(c) for c in objs("excludeCalendar")),
            tuple(StructuredCalendarSpec.from_json(c) for c in objs("excludeStructuredCalendar")),
            get_ts(o, "startTime"),
            get_ts(o, "endTime"),
            get_dur(o, "jitter"),
            get_str(o, "timezoneName"),
        )


@dataclass(frozen=True, slots=True)
class StartWorkflowAction:
    """`ScheduleAction.start_workflow`: the fields of NewWorkflowExecutionInfo the model
    keeps. `args` are the workflow's arguments as JSON values (the simulator's
    schedules); `input` is the Payloads message as given, whatever its encodings (the
    served schedules: the server never reads a payload), passed on after `args`; the
    timeouts are ns (None: not set); `retry_policy`, `memo`, `search_attributes`,
    `header`, `user_metadata` and `priority` are the protojson messages, kept verbatim
    and passed on to every start (service/worker/scheduler/workflow.go startWorkflow)."""

    workflow_id: str
    workflow_type: str
    task_queue: str
    args: tuple[JsonValue, ...] = ()
    execution_timeout: int | None = None
    run_timeout: int | None = None
    task_timeout: int | None = None
    retry_policy: Opaque | None = None
    memo: Opaque | None = None
    search_attributes: Opaque | None = None
    header: Opaque | None = None
    user_metadata: Opaque | None = None
    priority: Opaque | None = None
    input: Opaque | None = None

    def to_json(self) -> Obj:
        base = prune(
            {
                "workflowId": self.workflow_id,
                "workflowType": {"name": self.workflow_type},
                "taskQueue": {"name": self.task_queue},
                "args": list(self.args),
            }
        )
        return {"startWorkflow": {**base, **self.options()}}

    def options(self) -> Obj:
        """The options a start passes on, as StartWorkflowExecutionRequest's protojson
        fields (unset ones left out; a message that is set stays, even empty, as
        protojson writes a present message)."""
        out = prune(
            {
                "workflowExecutionTimeout": _dur(self.execution_timeout),
                "workflowRunTimeout": _dur(self.run_timeout),
                "workflowTaskTimeout": _dur(self.task_timeout),
            }
        )
        messages = {
            "retryPolicy": self.retry_policy,
            "memo": self.memo,
            "searchAttributes": self.search_attributes,
            "header": self.header,
            "userMetadata": self.user_metadata,
            "priority": self.priority,
            "input": self.input,
        }
        out.update({k: v.value() for k, v in messages.items() if v is not None})
        return out

    @staticmethod
    def from_json(o: Obj) -> StartWorkflowAction:
        s = get_obj(o.get("startWorkflow", {}), "startWorkflow")
        return StartWorkflowAction(
            get_str(s, "workflowId"),
            get_str(get_obj(s.get("workflowType", {}), "workflowType"), "name"),
            get_str(get_obj(s.get("taskQueue", {}), "taskQueue"), "name"),
            tuple(get_list(s, "args")),
            get_dur(s, "workflowExecutionTimeout"),
            get_dur(s, "workflowRunTimeout"),
            get_dur(s, "workflowTaskTimeout"),
            _opaque(s, "retryPolicy"),
            _opaque(s, "memo"),
            _opaque(s, "searchAttributes"),
            _opaque(s, "header"),
            _opaque(s, "userMetadata"),
            _opaque(s, "priority"),
            _opaque(s, "input"),
        )


def _dur(ns: int | None) -> str | None:
    return None if ns is None else dur(ns)


def _opaque(o: Obj, key: str) -> Opaque | None:
    """The message `key` of `o`, kept verbatim (None when absent)."""
    return None if o.get(key) is None else Opaque.of(get_obj(o[key], key))


@dataclass(frozen=True, slots=True)
class SchedulePolicies:
    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED
    catchup_window: int | None = None
    pause_on_failure: bool = False

    def to_json(self) -> Obj:
        return prune(
            {
                "overlapPolicy": enum_name(OVERLAP_PREFIX, self.overlap_policy),
                "catchupWindow": None if self.catchup_window is None else dur(self.catchup_window),
                "pauseOnFailure": self.pause_on_failure,
            }
        )

    @staticmethod
    def from_json(o: Obj) -> SchedulePolicies:
        return SchedulePolicies(
            get_enum(o, "overlapPolicy", OverlapPolicy, OVERLAP_PREFIX),
            get_dur(o, "catchupWindow"),
            get_bool(o, "pauseOnFailure"),
        )


@dataclass(frozen=True, slots=True)
class ScheduleState:
    notes: str = ""
    paused: bool = False
    limited_actions: bool = False
    remaining_actions: int = 0

    def to_json(self) -> Obj:
        return prune(
            {
                "notes": self.notes,
                "paused": self.paused,
                "limitedActions": self.limited_actions,
                "remainingActions": str(self.remaining_actions) if self.remaining_actions else "",
            }
        )

    @staticmethod
    def from_json(o: Obj) -> ScheduleState:
        return ScheduleState(
            get_str(o, "notes"),
            get_bool(o, "paused"),
            get_bool(o, "limitedActions"),
            get_int(o, "remainingActions"),
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    spec: ScheduleSpec = field(default_factory=ScheduleSpec)
    action: StartWorkflowAction | None = None
    policies: SchedulePolicies = field(default_factory=SchedulePolicies)
    state: ScheduleState = field(default_factory=ScheduleState)

    def to_json(self) -> Obj:
        # spec, policies and state are always present (protojson writes a set message,
        # even empty, and the frontend sets them: workflow_handler.go CreateSchedule).
        out: Obj = {"spec": self.spec.to_json()}
        if self.action is not None:
            out["action"] = self.action.to_json()
        out["policies"] = self.policies.to_json()
        out["state"] = self.state.to_json()
        return out

    @staticmethod
    def from_json(o: Obj) -> Schedule:
        action = o.get("action")
        return Schedule(
            ScheduleSpec.from_json(get_obj(o.get("spec", {}), "spec")),
            None if action is None else StartWorkflowAction.from_json(get_obj(action, "action")),
            SchedulePolicies.from_json(get_obj(o.get("policies", {}), "policies")),
            ScheduleState.from_json(get_obj(o.get("state", {}), "state")),
        )


@dataclass(frozen=True, slots=True)
class TriggerImmediatelyRequest:
    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED
    scheduled_time: int | None = None

    def to_json(self) -> Obj:
        return prune(
            {
                "overlapPolicy": enum_name(OVERLAP_PREFIX, self.overlap_policy),
                "scheduledTime": ts(self.scheduled_time),
            }
        )

    @staticmethod
    def from_json(o: Obj) -> TriggerImmediatelyRequest:
        return TriggerImmediatelyRequest(
            get_enum(o, "overlapPolicy", OverlapPolicy, OVERLAP_PREFIX), get_ts(o, "scheduledTime")
        )


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    start_time: int
    end_time: int
    overlap_policy: OverlapPolicy = OverlapPolicy.UNSPECIFIED

    def to_json(self) -> Obj:
        return prune(
            {
                "startTime": ts(self.start_time),
                "endTime": ts(self.end_time),
                "overlapPolicy": enum_name(OVERLAP_PREFIX, self.overlap_policy),
            }
        )

    @staticmethod
    def from_json(o: Obj) -> BackfillRequest:
        return BackfillRequest(
            get_ts(o, "startTime") or 0,
            get_ts(o, "endTime") or 0,
            get_enum(o, "overlapPolicy", OverlapPolicy, OVERLAP_PREFIX),
        )


@dataclass(frozen=True, slots=True)
class SchedulePatch:
    """The "patch" signal: trigger now, backfill, pause or unpause (note texts)."""

    trigger_immediately: TriggerImmediatelyRequest | None = None
    backfill_request: tuple[BackfillRequest, ...] = ()
    pause: str = ""
    unpause: str = ""

    def to_json(self) -> Obj:
        trigger = self.trigger_immediately
        return prune(
            {
                "triggerImmediately": None if trigger is None else trigger.to_json(),
                "backfillRequest": [b.to_json() for b in self.backfill_request],
                "pause": self.pause,
                "unpause": self.unpause,
            }
        )

    @staticmethod
    def from_json(o: Obj) -> SchedulePatch:
        trigger = o.get("triggerImmediately")
        return SchedulePatch(
            None
            if trigger is None
            else TriggerImmediatelyRequest.from_json(get_obj(trigger, "triggerImmediately")),
            tuple(
                BackfillRequest.from_json(get_obj(b, "backfillRequest"))
                for b in get_list(o, "backfillRequest")
            ),
            get_str(o, "pause"),
            get_str(o, "unpause"),
        )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
