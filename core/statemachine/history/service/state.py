"""Mutable state: what the history service keeps for one run besides its events.

Temporal's history service holds, per run, a "mutable state" record next to the event
history (`service/history/workflow/mutable_state_impl.go`): the pending workflow task,
the pending activities, timers, children and external requests, the buffered events,
stickiness, and the counters that make stale requests detectable (the next event id,
attempts, stamps). Every request handler reads it and returns a new one.

Here it is an immutable value, hashable so that a model checker can store it. Pending
entities are kept in tuples sorted by the id that names them; runs have few pending
entities, so a scan is cheaper than a persistent map. All times are nanoseconds since
the Unix epoch and all durations nanoseconds; 0 means "not set".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Protocol, TypeVar

from core.enums import SuggestContinueAsNewReason
from core.events import HistoryEvent
from core.fastenum import Enum
from core.fastinit import copier_into, fast_init_all
from core.opaque import Opaque
from core.requests import DEFAULT_RETENTION as DEFAULT_RETENTION
from core.requests import ParentInfo as ParentInfo
from core.requests import ResetPoint as ResetPoint
from core.statemachine.history.service.versioning_state import VersioningInfo

# Placeholder id of a buffered event until its batch is flushed (common/constants.go,
# BufferedEventID).
BUFFERED_EVENT_ID = -123


class RunStatus(Enum):
    """WorkflowExecutionStatus (temporal/api/enums/v1/workflow.proto), as a lifecycle."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    TIMED_OUT = "TimedOut"


# `state.status is RUNNING` is `state.running` without the property call, for the checks
# every request makes.
RUNNING = RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """temporal.api.common.v1.RetryPolicy, with the server's defaults filled in.

    `maximum_attempts` 0 means unlimited; intervals are nanoseconds.
    """

    initial_interval: int = 1_000_000_000
    backoff_coefficient: float = 2.0
    maximum_interval: int = 100_000_000_000
    maximum_attempts: int = 0
    non_retryable_error_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActivityOptions:
    """What UpdateActivityOptions may change of a pending activity (temporal.api.activity.
    v1.ActivityOptions, without priority): timeouts in ns, 0 meaning unset."""

    task_queue: str
    schedule_to_close_timeout: int
    schedule_to_start_timeout: int
    start_to_close_timeout: int
    heartbeat_timeout: int
    retry_policy: RetryPolicy


@dataclass(frozen=True, slots=True)
class WorkflowTaskInfo:
    """The one pending workflow task (workflow_task_state_machine.go).

    A *transient* task (attempt > 1 after a failure) is not written until it completes:
    its `scheduled_event_id` and `started_event_id` are the ids its events will get
    (unless other events come before it starts: it is then written, as attempt 1, when
    it starts; workflow_task.py `_record_started`).
    """

    scheduled_event_id: int
    attempt: int
    task_queue: str
    sticky: bool
    scheduled_time: int
    start_to_close_timeout: int
    stamp: int
    started_event_id: int = 0
    started_time: int = 0
    request_id: str = ""
    identity: str = ""
    worker_version: Opaque | None = None
    history_size_bytes: int = 0
    # Why the task's Started event suggests continue-as-new, if it does (decided when it
    # starts, written then or, for a task not written yet, when it completes).
    suggest_continue_as_new: tuple[SuggestContinueAsNewReason, ...] = ()
    # Speculative (Workflow Update only): never persisted unless it completes with more
    # than update rejections (temporal:docs/architecture/speculative-workflow-task.md).
    speculative: bool = False

    @property
    def transient(self) -> bool:
        return self.attempt > 1

    @property
    def unwritten(self) -> bool:
        """Its Scheduled/Started events are written only when it completes."""
        return self.attempt > 1 or self.speculative

    @property
    def started(self) -> bool:
        return self.started_event_id != 0


@dataclass(frozen=True, slots=True)
class ActivityPause:
    """Who paused an activity, when and why (persistence ActivityInfo.PauseInfo, set by
    PauseActivity in service/history/workflow/activity.go); `request_id` makes a
    repeated pause request a no-op."""

    time: int
    identity: str = ""
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """A pending activity (persistence ActivityInfo).

    `started` is the transient start of the current attempt: with a retry policy the
    server records it here and writes ActivityTaskStarted only when the activity closes
    (`addStartedEventForTransientActivity`). `stamp` changes whenever the activity is
    rescheduled, so matching tasks and timers of an older attempt are recognised.
    """

    scheduled_event_id: int
    activity_id: str
    activity_type: str
    task_queue: str
    retry_policy: RetryPolicy
    schedule_to_close_timeout: int
    schedule_to_start_timeout: int
    start_to_close_timeout: int
    heartbeat_timeout: int
    first_scheduled_time: int
    scheduled_time: int
    attempt: int = 1
    stamp: int = 1
    started: bool = False
    started_time: int = 0
    request_id: str = ""
    identity: str = ""
    last_heartbeat_time: int = 0
    heartbeat_details: Opaque | None = None
    last_failure: Opaque | None = None
    cancel_requested_event_id: int = 0
    # Waiting for the retry timer of the next attempt.
    backoff: bool = False
    worker_version: Opaque | None = None
    # Paused by an operator (service/activity_ops.py): None when not paused.
    pause: ActivityPause | None = None
    # ResetActivity's marks until the next attempt is scheduled (ActivityReset and
    # ResetHeartbeats of persistence ActivityInfo): the running attempt's heartbeats
    # are answered `activity_reset`, and the next attempt starts without details.
    reset: bool = False
    reset_heartbeats: bool = False
    # When the last attempt failed or timed out (LastAttemptCompleteTime): an activity
    # whose options change while it waits to retry is due again that long after it.
    last_attempt_complete_time: int = 0
    # The options it was scheduled with, kept once UpdateActivityOptions changes them
    # (Temporal reads them back from ActivityTaskScheduled); None: never changed.
    original_options: ActivityOptions | None = None


@dataclass(frozen=True, slots=True)
class TimerInfo:
    """A pending user timer."""

    timer_id: str
    started_event_id: int
    expiry_time: int


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """A pending child workflow (persistence ChildExecutionInfo)."""

    initiated_event_id: int
    workflow_id: str
    workflow_type: str
    parent_close_policy: int
    started_event_id: int = 0
    run_id: str = ""
    namespace: str = ""
    header: Opaque | None = None
    control: str = ""  # the command's (deprecated) control, which a failed start repeats


@dataclass(frozen=True, slots=True)
class ExternalInfo:
    """A pending signal or cancel request to another workflow."""

    initiated_event_id: int
    workflow_id: str
    run_id: str
    control: str = ""  # the command's (deprecated) control, which a signal's result repeats


@dataclass(frozen=True, slots=True)
class NexusOperationInfo:
    """A Nexus operation scheduled and not yet closed (the server's nexusoperations
    Operation machine, components/nexusoperations/statemachine.go)."""

    scheduled_event_id: int
    endpoint: str
    endpoint_id: str
    service: str
    operation: str
    request_id: str
    operation_token: str = ""  # set when the handler started it asynchronously
    cancel_requested_event_id: int = 0  # its NexusOperationCancelRequested (nexus.py)
    start_to_close_timeout: int = 0  # ns; its timer is armed by the start (nexus.py)


@dataclass(frozen=True, slots=True)
class UpdateInfo:
    """An update admitted (in memory, or in history by an UpdateAdmitted event) or
    accepted (in history), not yet completed."""

    update_id: str
    request: Opaque | None
    accepted_event_id: int = 0
    # The UpdateAdmitted event that holds the request (a reset reapplies updates so).
    admitted_event_id: int = 0
    # Sent to a worker with a workflow task that started (`stateSent`,
    # service/history/workflow/update/update.go): a completion of that task that
    # neither accepts nor rejects it makes the server reject it (RejectUnprocessed).
    sent: bool = False


@dataclass(frozen=True, slots=True)
class RetryCarry:
    """What a retry's or a cron's next run starts with again: the input, header, memo,
    search attributes and priority of this run's WorkflowExecutionStarted event
    (`handleRetry` reads the start event and `SetupNewWorkflowForRetryOrCron` passes
    them on, service/history/workflow/retry.go): the start's priority, not one an
    options update set since (recorded: prio-fail.run2)."""

    input: Opaque | None = None
    header: Opaque | None = None
    memo: Opaque | None = None
    search_attributes: Opaque | None = None
    priority: Opaque | None = None


class _Start(Protocol):
    """A run's start as a request or as its Started event's attributes."""

    @property
    def input(self) -> Opaque | None: ...
    @property
    def header(self) -> Opaque | None: ...
    @property
    def memo(self) -> Opaque | None: ...
    @property
    def search_attributes(self) -> Opaque | None: ...
    @property
    def priority(self) -> Opaque | None: ...
    @property
    def retry_policy(self) -> object: ...
    @property
    def cron_schedule(self) -> str: ...


def retry_carry_of(start: _Start) -> RetryCarry | None:
    """What the run's chain carries on, kept only when a retry or a cron run can follow."""
    if start.retry_policy is None and not start.cron_schedule:
        return None
    return RetryCarry(
        start.input, start.header, start.memo, start.search_attributes, start.priority
    )


@dataclass(frozen=True, slots=True)
class MutableState:
    """Everything the history service knows about one run, besides its events."""

    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time: int
    workflow_task_timeout: int
    run_timeout: int
    execution_timeout: int
    # whether the start named an execution timeout, even a zero one: a continued or
    # retried run's start copies it as it is (`continueAsNew`, mutable_state_impl.go)
    explicit_execution_timeout: bool = False
    # whether its Started event names a run timeout, even a zero one (a child's and a
    # continued run's always do): a retry or a cron run copies it as it is
    # (`SetupNewWorkflowForRetryOrCron` in service/history/workflow/retry.go)
    explicit_run_timeout: bool = False
    status: RunStatus = RunStatus.RUNNING
    next_event_id: int = 1
    first_run_id: str = ""
    start_request_id: str = ""
    attempt: int = 1
    retry_policy: Opaque | None = None
    wft: WorkflowTaskInfo | None = None
    # The workflow task the run closed with, scheduled and never started. The server's
    # mutable state keeps it after the close (TerminateWorkflow and TimeoutWorkflow in
    # service/history/workflow/util.go fail a started task only), and Describe shows
    # it; nothing dispatches it any more. A speculative one, held in memory only, is not
    # kept.
    wft_at_close: WorkflowTaskInfo | None = None
    # Attempt of the next workflow task: 1, or more after failures/timeouts.
    wft_attempt: int = 1
    wft_stamp: int = 0
    last_completed_wft_started_event_id: int = 0
    activities: tuple[ActivityInfo, ...] = ()
    timers: tuple[TimerInfo, ...] = ()
    children: tuple[ChildInfo, ...] = ()
    signals_out: tuple[ExternalInfo, ...] = ()
    cancels_out: tuple[ExternalInfo, ...] = ()
    parent: ParentInfo | None = None
    updates: tuple[UpdateInfo, ...] = ()
    # The ids of the run's completed updates: the server keeps each completed update's
    # info in the run's mutable state, and a request naming one finds it there and gets
    # its outcome rather than a new update (registry.Find, GetUpdateOutcome:
    # service/history/workflow/update/registry.go). A rejected update is not kept.
    completed_updates: frozenset[str] = frozenset()
    buffered: tuple[HistoryEvent, ...] = ()
    sticky_queue: str = ""
    sticky_schedule_to_start_timeout: int = 0
    cancel_requested: bool = False
    # The first workflow task waits for a backoff timer (continue-as-new, retry, cron).
    backoff_pending: bool = False
    signal_request_ids: frozenset[str] = frozenset()
    close_event_id: int = 0
    namespace_id: str = ""
    # When the first workflow task may run: the start plus any first-task backoff.
    execution_time: int = 0
    # The chain's root run (workflow id, run id): itself unless it was started as a child.
    root: tuple[str, str] | None = None
    reset_points: tuple[ResetPoint, ...] = ()
    retention: int = DEFAULT_RETENTION  # the namespace's, for the points' expiry
    # The run a reset of this run started (`ResetRunId`, set on the reset's base run by
    # `UpdateResetRunID` in service/history/ndc/workflow_resetter.go): a child's close
    # reported to this run goes on to that one.
    reset_run_id: str = ""
    # The run's memo and search attributes as they stand: the start's, with each upsert
    # merged in (`payload.MergeMapOfPayload`); the size limits measure them (enforce.py).
    memo: Opaque | None = None
    search_attributes: Opaque | None = None
    # The TemporalPauseInfo search attribute's entries ("property:activityType=T" for
    # each type with a paused activity), set when an activity's pause changes
    # (`updatePauseInfoSearchAttribute` in mutable_state_impl.go); empty: absent.
    pause_search_attribute: tuple[str, ...] = ()
    # ExecutionStats.HistorySize: the bytes of history the store has written for the run.
    # The service never computes it; the host that persists the events adds their size
    # (`enforce.persisted`). LIMIT-HISTORY-SIZE compares it with the limit.
    history_size: int = 0
    # The start's values a retry or a cron run carries over; kept only for a run with a
    # retry policy or a cron schedule.
    retry_carry: RetryCarry | None = None
    # The start's temporal.api.common.v1.Priority as its Started event has it (None: the
    # start carried none; an empty message: it carried one with nothing set), which the
    # chain's next run keeps, retried or continued (`ExecutionInfo.Priority`,
    # mutable_state_impl.go, copies the event's, presence and all).
    priority: Opaque | None = None
    # The cron schedule the run was started with (`ExecutionInfo.CronSchedule`): when
    # set, a completion or a failure with no retry left starts the chain's next run.
    cron_schedule: str = ""
    # The start's lastCompletionResult: a cron run that fails hands it on unchanged.
    last_completion_result: Opaque | None = None
    # `ExecutionInfo.WorkflowExecutionExpirationTime`: when the chain's execution timeout
    # ends (0: no execution timeout). Every run of the chain keeps its first run's.
    execution_expiration: int = 0
    # The start's completion callbacks (a Nexus caller's), which a retried or continued
    # run is started with again (`getCompletionCallbacksAsProtoSlice`, workflow/util.go).
    completion_callbacks: Opaque | None = None
    # The start's links (its Started event's), which every run continuing the chain is
    # started with again: a continue-as-new, a retry, a cron run (`startEvent.Links` in
    # AddContinueAsNewEvent, mutable_state_impl.go, and SetupNewWorkflowForRetryOrCron).
    start_links: Opaque | None = None
    # The stamp of the last workflow task completion (`MostRecentWorkerVersionStamp`) and
    # the `BuildIds` search attribute the completions built up (worker_versions.py).
    most_recent_worker_version: Opaque | None = None
    build_ids: tuple[str, ...] = ()
    nexus_operations: tuple[NexusOperationInfo, ...] = ()  # pending (service/nexus.py)
    versioning: VersioningInfo | None = None  # Worker Deployments (versioning.py)

    @property
    def running(self) -> bool:
        return self.status is RunStatus.RUNNING

    def activity(self, scheduled_event_id: int) -> ActivityInfo | None:
        for info in self.activities:
            if info.scheduled_event_id == scheduled_event_id:
                return info
        return None

    def timer(self, timer_id: str) -> TimerInfo | None:
        for info in self.timers:
            if info.timer_id == timer_id:
                return info
        return None

    def child(self, initiated_event_id: int) -> ChildInfo | None:
        for info in self.children:
            if info.initiated_event_id == initiated_event_id:
                return info
        return None


_FIELDS = tuple(f.name for f in fields(MutableState))
_NAMES = frozenset(_FIELDS)  # MutableState's field names
_SET = object.__setattr__


def evolve(state: MutableState, **changes: object) -> MutableState:
    """`dataclasses.replace` for MutableState, about twice as fast.

    Copying the run's state is the history service's most frequent operation (several
    times per request); this copies the fields straight into the new object's slots
    (`core.fastinit.copier_into`) instead of running the frozen dataclass's __init__.
    A test checks that it equals `dataclasses.replace`.
    """
    new = _copy(state)
    set_fields(new, changes)
    return new


S = TypeVar("S", bound=MutableState)


def draft_copier(cls: type[S]) -> Callable[[MutableState], S]:
    """A function making a `cls` (MutableState or a subclass with no slots of its own)
    that holds a state's fields: a transaction's draft is made with one."""
    return copier_into(MutableState, cls)


_copy = draft_copier(MutableState)


R = TypeVar("R", bound=ActivityInfo | WorkflowTaskInfo)


def revise(record: R, /, **changes: object) -> R:
    """`dataclasses.replace` for a pending activity's or workflow task's record, about
    twice as fast as `core.fastinit.replace`: its fields are copied slot to slot (as
    `evolve` copies the run's state) and only the changed ones are set, where a
    replace passes every field of the record (27 of an activity's) to its constructor.
    Neither class has a `__post_init__` for a constructor to run; an unknown field name
    is a TypeError, as for `dataclasses.replace`. A test checks that it equals it."""
    cls = type(record)
    entry = _REVISERS.get(cls)
    if entry is None:
        entry = _REVISERS[cls] = (copier_into(cls, cls), frozenset(f.name for f in fields(cls)))
    copy, names = entry
    new = copy(record)
    assert isinstance(new, cls)  # the copier made for `cls` returns one
    for name, value in changes.items():
        if name not in names:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        _SET(new, name, value)
    return new


_REVISERS: dict[type, tuple[Callable[[object], object], frozenset[str]]] = {}


def set_fields(state: MutableState, changes: Mapping[str, object]) -> None:
    """Change fields of `state` in place: only for a transaction's private draft (txn.py)."""
    for name, value in changes.items():
        if name not in _NAMES:
            raise TypeError(f"MutableState has no field {name!r}")
        _SET(state, name, value)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
