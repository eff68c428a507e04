"""The scheduler workflow's contract: its names, input, signals and queries.

From Temporal's service/worker/scheduler (the workflow-based scheduler; newer servers
run schedules on CHASM instead, which this model does not follow): fx.go names the
workflow type, workflow.go the workflow id prefix, the signal and query names, and
common/primitives/task_queues.go the per-namespace worker's task queue. A schedule with
id S in namespace N is the workflow ``temporal-sys-scheduler:S`` in N, started on that
task queue with `StartScheduleArgs` as its one argument (protojson, as below).

Signals: "update" (`FullUpdateRequest`), "patch" (`SchedulePatch`), "refresh" (no
argument). Queries: "describe" -> `DescribeResponse` JSON; "listMatchingTimes"
(start, end as RFC 3339) -> {"startTime": [...]}. Deleting a schedule terminates its
workflow (frontend DeleteSchedule); the workflow's activities run on the same task
queue: StartWorkflow, WatchWorkflow, CancelWorkflow, TerminateWorkflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core import payloads
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.schedule.codec import BadSchedule, Obj, get_int, get_obj, get_str, get_ts, prune, ts
from core.schedule.messages import Schedule, SchedulePatch
from core.timefmt import rfc3339

WORKFLOW_TYPE = "temporal-sys-scheduler-workflow"
WORKFLOW_ID_PREFIX = "temporal-sys-scheduler:"
TASK_QUEUE = "temporal-sys-per-ns-tq"
NAMESPACE_DIVISION = "TemporalScheduler"
SIGNAL_UPDATE = "update"
SIGNAL_PATCH = "patch"
SIGNAL_REFRESH = "refresh"
QUERY_DESCRIBE = "describe"
QUERY_LIST_MATCHING_TIMES = "listMatchingTimes"
ACTIVITY_START = "StartWorkflow"
ACTIVITY_WATCH = "WatchWorkflow"
ACTIVITY_CANCEL = "CancelWorkflow"
ACTIVITY_TERMINATE = "TerminateWorkflow"
# The error type the StartWorkflow activity fails with when the id is taken
# (workflow.go isUserScheduleError): the scheduler drops that start.
ALREADY_STARTED = "serviceerror.WorkflowExecutionAlreadyStarted"
# The search attributes every scheduled start carries (common/searchattribute/sadefs,
# set by workflow.go addSearchAttributes): the nominal time in whole seconds, and the
# schedule's id.
SCHEDULED_START_TIME = "TemporalScheduledStartTime"
SCHEDULED_BY_ID = "TemporalScheduledById"
SCHEDULE_PAUSED = "TemporalSchedulePaused"  # the scheduler upserts it on its own run


def workflow_id(schedule_id: str) -> str:
    return WORKFLOW_ID_PREFIX + schedule_id


def scheduled_search_attributes(given: Opaque | None, nominal: int, schedule_id: str) -> Obj:
    """The action's search attributes (protojson SearchAttributes) with the two the
    scheduler adds; `nominal` is already truncated to the second (workflow.go
    addSearchAttributes: a copy of the given fields, then the two set over them)."""
    value = given.value() if given is not None else None
    fields = value.get("indexedFields") if isinstance(value, dict) else None
    out: Obj = dict(fields) if isinstance(fields, dict) else {}
    out[SCHEDULED_START_TIME] = payloads.payload(rfc3339(nominal))
    out[SCHEDULED_BY_ID] = payloads.payload(schedule_id)
    return {"indexedFields": out}


# sadefs IsReserved (common/searchattribute/sadefs/constants.go): the system and
# predefined attributes, and any name with the reserved prefix "Temporal".
RESERVED_PREFIX = "Temporal"
PREDEFINED = frozenset(
    {
        "BinaryChecksums",
        "BuildIds",
        "BatcherNamespace",
        "BatcherUser",
        "ExecutionStatus",
        "WorkflowType",
        "WorkflowId",
        "RunId",
        "TaskQueue",
    }
)


def is_reserved(name: str) -> bool:
    return name in PREDEFINED or name.startswith(RESERVED_PREFIX)


def custom_search_attribute_upsert(current: Opaque | None, new: Opaque) -> dict[str, object]:
    """workflow.go updateCustomSearchAttributes: the upsert that makes the scheduler's
    own custom search attributes `new` (protojson SearchAttributes), given the run's
    `current` ones. Each new value is set, except one whose payload data is unchanged;
    a current attribute that is not reserved and not in `new` is removed (None). An
    empty map: nothing to write."""
    given = _fields(new)
    out: dict[str, object] = {k: payloads.from_payload(v) for k, v in sorted(given.items())}
    for key, payload in _fields(current).items():
        if is_reserved(key):
            continue
        if key not in given:
            out[key] = None
        elif _data(payload) == _data(given[key]):
            del out[key]
    return out


def _fields(attributes: Opaque | None) -> dict[str, JsonValue]:
    value = attributes.value() if attributes is not None else None
    fields = value.get("indexedFields") if isinstance(value, dict) else None
    return dict(fields) if isinstance(fields, dict) else {}


def _data(payload: JsonValue) -> JsonValue:
    return payload.get("data") if isinstance(payload, dict) else None


@dataclass(frozen=True, slots=True)
class StartScheduleArgs:
    """The scheduler workflow's input (server api/schedule/v1 StartScheduleArgs): the
    schedule, who it belongs to, and an optional patch to apply at once. `state` and
    `info` carry the previous run's state across continue-as-new (JSON, written by
    core/schedule/scheduler.py)."""

    schedule: Schedule
    namespace: str
    namespace_id: str
    schedule_id: str
    initial_patch: SchedulePatch | None = None
    state: Obj = field(default_factory=dict)
    info: Obj = field(default_factory=dict)

    def to_json(self) -> Obj:
        return prune(
            {
                "schedule": self.schedule.to_json(),
                "initialPatch": None
                if self.initial_patch is None
                else self.initial_patch.to_json(),
                "state": {
                    **self.state,
                    "namespace": self.namespace,
                    "namespaceId": self.namespace_id,
                    "scheduleId": self.schedule_id,
                },
                "info": self.info,
            }
        )

    @staticmethod
    def from_json(value: JsonValue) -> StartScheduleArgs:
        o = get_obj(value, "StartScheduleArgs")
        state = get_obj(o.get("state", {}), "state")
        patch = o.get("initialPatch")
        return StartScheduleArgs(
            Schedule.from_json(get_obj(o.get("schedule", {}), "schedule")),
            get_str(state, "namespace"),
            get_str(state, "namespaceId"),
            get_str(state, "scheduleId"),
            None if patch is None else SchedulePatch.from_json(get_obj(patch, "initialPatch")),
            {k: v for k, v in state.items() if k not in ("namespace", "namespaceId", "scheduleId")},
            get_obj(o.get("info", {}), "info"),
        )


@dataclass(frozen=True, slots=True)
class FullUpdateRequest:
    """The "update" signal: a whole new schedule; ignored if `conflict_token` is set
    and differs from the schedule's (workflow.go checkConflict). `search_attributes`
    (protojson SearchAttributes) are the schedule's own new custom search attributes:
    None leaves them as they are, an empty message clears them (workflow.go
    updateCustomSearchAttributes)."""

    schedule: Schedule
    conflict_token: int = 0
    search_attributes: Opaque | None = None

    def to_json(self) -> Obj:
        out = prune(
            {"schedule": self.schedule.to_json(), "conflictToken": str(self.conflict_token)}
        )
        if self.search_attributes is not None:  # present even when empty
            out["searchAttributes"] = self.search_attributes.value()
        return out

    @staticmethod
    def from_json(value: JsonValue) -> FullUpdateRequest:
        o = get_obj(value, "FullUpdateRequest")
        attributes = o.get("searchAttributes")
        return FullUpdateRequest(
            Schedule.from_json(get_obj(o.get("schedule", {}), "schedule")),
            get_int(o, "conflictToken"),
            None if attributes is None else Opaque.of(get_obj(attributes, "searchAttributes")),
        )


def matching_times_args(start: int, end: int) -> list[JsonValue]:
    """The "listMatchingTimes" query's argument (ListScheduleMatchingTimesRequest)."""
    return [{"startTime": ts(start), "endTime": ts(end)}]


def matching_times_range(value: JsonValue) -> tuple[int, int]:
    o = get_obj(value, "ListScheduleMatchingTimesRequest")
    start, end = get_ts(o, "startTime"), get_ts(o, "endTime")
    if start is None or end is None:
        raise BadSchedule("missing or invalid query")
    return start, end


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
