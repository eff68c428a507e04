"""The request vocabulary: the history service's requests and outbox tasks (its
replies and the task tokens are in core/replies.py, and named here too).

One module both sides import: the history service (core/statemachine/history/service)
answers these requests, and the SDK side (core/statemachine/replay) and the simulator
build them; neither imports the other's package for them.

Requests mirror the history service's RPCs (`service/history/api/*`) with only the
fields the model acts on. Every reply is either the call's own result or an `Error`
with a kind that says how a caller must react: matching drops a task on NOT_FOUND,
ALREADY_STARTED and OBSOLETE (`service/matching/matching_engine.go`); a worker gives up
on a task whose token is stale (NOT_FOUND); INVALID_ARGUMENT rejects a malformed
request without changing anything.

Tasks are the transactional outbox (docs/temporal-semantics.md#transactional-outbox):
transfer tasks for matching and timer tasks for the timer queue, each carrying the keys
an executor compares with mutable state to discard stale work (scheduled event id,
attempt, stamp).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

from core.activity_options_request import ActivityOptionsInput as ActivityOptionsInput
from core.activity_options_request import PauseActivity as PauseActivity
from core.activity_options_request import ResetActivity as ResetActivity
from core.activity_options_request import RetryPolicyInput as RetryPolicyInput
from core.activity_options_request import UnpauseActivity as UnpauseActivity
from core.activity_options_request import UpdateActivityOptions as UpdateActivityOptions
from core.commands import Command
from core.enums import (
    ContinueAsNewInitiator,
    RetryState,
    StartChildWorkflowExecutionFailedCause,
    TimeoutType,
    VersioningBehavior,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from core.fastinit import fast_init_all
from core.nexus_request import AttachToRun as AttachToRun
from core.nexus_request import NexusTimeoutTask as NexusTimeoutTask
from core.nexus_request import RecordNexusOperationResult as RecordNexusOperationResult
from core.opaque import Opaque
from core.options_request import UpdateWorkflowExecutionOptions as UpdateWorkflowExecutionOptions
from core.replies import ActivityTaskStarted as ActivityTaskStarted
from core.replies import ActivityTaskToken as ActivityTaskToken
from core.replies import Error as Error
from core.replies import ErrorKind as ErrorKind
from core.replies import Heartbeat as Heartbeat
from core.replies import Ok as Ok
from core.replies import Reply as Reply
from core.replies import TaskDiscarded as TaskDiscarded
from core.replies import WorkflowReset as WorkflowReset
from core.replies import WorkflowTaskCompletedOk as WorkflowTaskCompletedOk
from core.replies import WorkflowTaskStarted as WorkflowTaskStarted
from core.replies import WorkflowTaskToken as WorkflowTaskToken
from core.request_values import DEFAULT_RETENTION as DEFAULT_RETENTION
from core.request_values import ParentInfo as ParentInfo
from core.request_values import ResetPoint as ResetPoint
from core.update_request import UpdateMessage as UpdateMessage
from core.update_request import UpdateMessageKind as UpdateMessageKind
from core.update_request import UpdateWorkflowExecution as UpdateWorkflowExecution

# --- requests ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartVersioning:
    """What a start carries of Worker Versioning, copied into the new run's
    WorkflowExecutionStarted (`CreateWorkflowExecutionStartedEvent` in
    service/history/historybuilder/event_factory.go): the client's versioning override,
    or what the server passes on to a child or to the run a chain continues in (the
    parent's or the previous run's pinned version or auto-upgrade source, a declined
    upgrade, an old-style build id or stamp). The model's continue-as-new sets the
    inherited fields and a declined upgrade (history/service/versioning.py); a child's
    start and the old-style build id and stamp are set only by a start read back from a
    history."""

    versioning_override: Opaque | None = None
    inherited_pinned_version: Opaque | None = None
    inherited_auto_upgrade_info: Opaque | None = None
    declined_target_version_upgrade: Opaque | None = None
    source_version_stamp: Opaque | None = None
    inherited_build_id: str = ""

    @classmethod
    def read_back(cls, started: object) -> StartVersioning | None:
        """What a WorkflowExecutionStarted's attributes say the start carried; None when
        they carry nothing of it."""
        versioning = cls(**{f.name: getattr(started, f.name) for f in fields(cls)})
        return None if versioning == cls() else versioning


@dataclass(frozen=True, slots=True)
class StartWorkflowExecution:
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    request_id: str
    input: Opaque | None = None
    workflow_task_timeout: int = 10_000_000_000
    run_timeout: int = 0
    execution_timeout: int = 0
    identity: str = ""
    first_workflow_task_backoff: int = 0
    parent: ParentInfo | None = None
    retry_policy: Opaque | None = None
    # A run that continues a chain (continue-as-new, retry): its links and attempt.
    attempt: int = 1
    initiator: ContinueAsNewInitiator = ContinueAsNewInitiator.UNSPECIFIED
    continued_execution_run_id: str = ""
    continued_failure: Opaque | None = None
    first_execution_run_id: str = ""
    id_reuse_policy: WorkflowIdReusePolicy = WorkflowIdReusePolicy.ALLOW_DUPLICATE
    # Carried verbatim into WorkflowExecutionStarted (temporal.api.common.v1 messages).
    header: Opaque | None = None
    memo: Opaque | None = None
    search_attributes: Opaque | None = None
    last_completion_result: Opaque | None = None
    # The start's UserMetadata (summary, details), on its Started event (history_builder.go).
    user_metadata: Opaque | None = None
    # The start's temporal.api.common.v1.Priority (Started carries it; empty when unset).
    priority: Opaque | None = None
    # The namespace's id (the frontend's registry knows it; "" where none is kept), the
    # chain's root run (for a child: its parent's root, else the parent), and whether the
    # run and execution timeouts were given explicitly, zero or not (a child or continued
    # run always writes its run timeout; the Go SDK's client sends both as 0s).
    namespace_id: str = ""
    root: tuple[str, str] | None = None
    explicit_run_timeout: bool = False
    explicit_execution_timeout: bool = False
    # Auto-reset points the chain carries over, and the namespace's retention.
    reset_points: tuple[ResetPoint, ...] = ()
    retention: int = DEFAULT_RETENTION
    # A cron workflow's schedule (robfig cron syntax), carried on through its chain.
    cron_schedule: str = ""
    # The starter asks for the first workflow task in the start's reply (eager start).
    request_eager_execution: bool = False
    # Callbacks to call when the run closes (a workflow started by a Nexus operation:
    # the caller's completion), as the start request gives them.
    completion_callbacks: Opaque | None = None
    links: Opaque | None = None  # the Started event's links (temporal.api.common.v1.Link)
    # Update-with-start: the update admitted in the start's own transaction, so the new
    # run's first workflow task carries it (`workflowLeaseCallback` in
    # service/history/api/multioperation/api.go applies it while the run is created).
    update: UpdateWorkflowExecution | None = None
    # When the chain's execution timeout ends it (ns since the epoch; 0: none yet). A
    # run that continues a chain carries its predecessor's; a first start leaves it 0
    # and gets its start time plus its execution timeout (`CreateHistoryStartWorkflowRequest`,
    # common/util.go).
    execution_expiration: int = 0
    versioning: StartVersioning | None = None
    # The server's own starts (CreateSchedule, StartBatchOperation in
    # service/frontend/workflow_handler.go) reach the history service without the
    # frontend's task queue normalisation: their Started event's queue has no kind.
    internal: bool = False


@dataclass(frozen=True, slots=True)
class SignalWorkflowExecution:
    signal_name: str
    request_id: str = ""
    input: Opaque | None = None
    identity: str = ""
    header: Opaque | None = None
    links: Opaque | None = None  # the Signaled event's links (temporal.api.common.v1.Link)
    # Set when another workflow sent it (SignalExternalWorkflowExecution).
    external_workflow_id: str = ""
    external_run_id: str = ""


@dataclass(frozen=True, slots=True)
class SignalWithStartWorkflowExecution:
    """Signal the running run, or start one with the signal as its first input."""

    start: StartWorkflowExecution
    signal: SignalWorkflowExecution


@dataclass(frozen=True, slots=True)
class RequestCancelWorkflowExecution:
    request_id: str = ""
    reason: str = ""
    identity: str = ""
    # Set when another workflow asked (RequestCancelExternalWorkflowExecution).
    external_initiated_event_id: int = 0
    external_workflow_id: str = ""
    external_run_id: str = ""
    links: Opaque | None = None  # the CancelRequested event's (event_factory.go)


class ChildOutcome(Enum):
    """How a child's chain ended, as its parent records it."""

    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TIMED_OUT = "TimedOut"
    TERMINATED = "Terminated"


@dataclass(frozen=True, slots=True)
class RecordChildExecutionStarted:
    """The transfer queue started the child: tell the parent."""

    initiated_event_id: int
    run_id: str


@dataclass(frozen=True, slots=True)
class RecordStartChildExecutionFailed:
    initiated_event_id: int
    cause: StartChildWorkflowExecutionFailedCause = (
        StartChildWorkflowExecutionFailedCause.WORKFLOW_ALREADY_EXISTS
    )


@dataclass(frozen=True, slots=True)
class RecordChildExecutionCompleted:
    """The child's chain closed (never sent for a continue-as-new or retry)."""

    initiated_event_id: int
    outcome: ChildOutcome
    payload: Opaque | None = None  # result, failure or details
    # The run that closed the chain, which the parent's event names ("": the started one),
    # and the retry state of its close event, which the parent's copies (the request of
    # service/history/api/recordchildworkflowcompleted/api.go; mutable_state_impl.go).
    run_id: str = ""
    retry_state: RetryState = RetryState.RETRY_POLICY_NOT_SET


@dataclass(frozen=True, slots=True)
class RecordExternalResult:
    """A signal or cancel request to another workflow was delivered, or failed."""

    initiated_event_id: int
    cancel: bool  # False: a signal
    delivered: bool
    cause: int = 1  # EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND


@dataclass(frozen=True, slots=True)
class TerminateWorkflowExecution:
    reason: str = ""
    identity: str = ""
    details: Opaque | None = None
    links: Opaque | None = None  # the Terminated event's (event_factory.go)


@dataclass(frozen=True, slots=True)
class ResetWorkflowExecution:
    """Reset a run to a workflow task: a new run replays its history up to that task.

    `workflow_task_finish_event_id` names the WorkflowTaskCompleted, Failed, TimedOut
    or Started event to reset to (temporal.api.workflowservice.v1
    .ResetWorkflowExecutionRequest). What the base run received after that point is
    reapplied to the new run: signals if `reapply_signals`, updates if
    `reapply_updates` (the server's default reapplies both, RESET_REAPPLY_TYPE_ALL_ELIGIBLE
    in `SetDefaultResetReapplyType`, common/enums/defaults.go), and the later events of
    children started before the point unless `reapply_children` is False, which it is
    only when every ResetReapplyExcludeType is excluded, and the later Started and close
    events of Nexus operations scheduled before the point unless `reapply_nexus` is
    False (RESET_REAPPLY_EXCLUDE_TYPE_NEXUS excluded); `reset.reset_request` derives
    the four from the request's reset_reapply_type and reset_reapply_exclude_types.
    `identity` is accepted as the API has it; the history service writes its own
    identities ("history-service", "history-resetter"), never this one.

    Not a `Request`: a reset reads the run's events as well as its mutable state, so it
    goes to `reset.reset`, not to `handle`.
    """

    reason: str
    workflow_task_finish_event_id: int
    request_id: str
    reapply_signals: bool = True
    reapply_updates: bool = True
    identity: str = ""
    reapply_children: bool = True
    reapply_nexus: bool = True  # a Nexus operation's later events (reapply.py)
    # The store's size of the rebuilt run, written on the WorkflowTaskStarted the reset
    # writes itself when the task at the point had not started (as RecordWorkflowTaskStarted's).
    history_size_bytes: int = 0
    # The post-reset operations' options updates, applied to the new run after what it
    # reapplies (`performPostResetOperations`, service/history/ndc/workflow_resetter.go).
    post_reset_options: tuple[UpdateWorkflowExecutionOptions, ...] = ()


@dataclass(frozen=True, slots=True)
class ResetStickyTaskQueue:
    """Forget the run's sticky queue, so that its next workflow task goes to the normal
    queue (ResetStickyTaskQueue, service/history/api/resetstickytaskqueue/api.go)."""


@dataclass(frozen=True, slots=True)
class RecordWorkflowTaskStarted:
    """Matching asks history to start a workflow task it is about to dispatch."""

    scheduled_event_id: int
    stamp: int
    request_id: str
    identity: str = ""
    from_sticky_queue: bool = False
    # The poller's build id (temporal.api.common.v1.WorkerVersionStamp) and the run's
    # history size so far, which the host knows from persistence.
    worker_version: Opaque | None = None
    history_size_bytes: int = 0
    # Worker Deployments: the target version matching holds for the run's task queue
    # and its routing revision (0: the queue is in no deployment; -1: not asked, a task
    # started inline by its completion), and the revision of a move of the run to
    # another version (0: none).
    target_version: Opaque | None = None
    target_revision: int = 0
    versioning_revision: int = 0


@dataclass(frozen=True, slots=True)
class WorkerDeploymentOptions:
    """temporal.api.deployment.v1.WorkerDeploymentOptions, as a worker of a Worker
    Deployment sends it with each completion; `versioned` is its
    `worker_versioning_mode` VERSIONED (else UNVERSIONED)."""

    deployment_name: str = ""
    build_id: str = ""
    versioned: bool = False


@dataclass(frozen=True, slots=True)
class RespondWorkflowTaskCompleted:
    token: WorkflowTaskToken
    commands: tuple[Command, ...] = ()
    identity: str = ""
    sticky_queue: str = ""
    sticky_schedule_to_start_timeout: int = 0
    force_create_new_workflow_task: bool = False
    # Hand the next workflow task, if the completion makes one, back in the reply,
    # started at once (WorkflowTaskCompletedOk.new_task); its WorkflowTaskStarted takes
    # the run's history size so far, which the host knows from persistence.
    return_new_workflow_task: bool = False
    history_size_bytes: int = 0
    messages: tuple[UpdateMessage, ...] = ()
    # What the SDK says of itself; written into WorkflowTaskCompleted, where the SDK
    # reads it back on replay (temporal.api.sdk.v1.WorkflowTaskCompletedMetadata: the
    # flags that decide how it replays, its name and version).
    sdk_metadata: Opaque | None = None
    metering_metadata: Opaque | None = None
    worker_version: Opaque | None = None
    # The worker's binary checksum (deprecated, still sent by older SDKs) and its Worker
    # Deployment with the versioning behavior of the workflow it ran: what the
    # WorkflowTaskCompleted event says of the worker (workflow_task.complete).
    binary_checksum: str = ""
    deployment_options: WorkerDeploymentOptions | None = None
    versioning_behavior: VersioningBehavior = VersioningBehavior.UNSPECIFIED
    nexus_endpoints: tuple[tuple[str, str], ...] = ()  # (name, id): registered, named


@dataclass(frozen=True, slots=True)
class RespondWorkflowTaskFailed:
    token: WorkflowTaskToken
    cause: WorkflowTaskFailedCause = WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE
    failure: Opaque | None = None
    identity: str = ""
    binary_checksum: str = ""  # deprecated; older SDKs send it, the event carries it


@dataclass(frozen=True, slots=True)
class RecordActivityTaskStarted:
    scheduled_event_id: int
    stamp: int
    request_id: str
    identity: str = ""
    worker_version: Opaque | None = None


@dataclass(frozen=True, slots=True)
class RecordActivityTaskHeartbeat:
    token: ActivityTaskToken
    details: Opaque | None = None


@dataclass(frozen=True, slots=True)
class RespondActivityTaskCompleted:
    token: ActivityTaskToken
    result: Opaque | None = None
    identity: str = ""
    # The worker's build id stamp (a WorkerVersionStamp), which the attempt's Started carries
    worker_version: Opaque | None = None
    by_id: bool = False  # ...ById: any attempt; one not started is started first


@dataclass(frozen=True, slots=True)
class RespondActivityTaskFailed:
    token: ActivityTaskToken
    failure: Opaque | None = None
    error_type: str = ""
    non_retryable: bool = False
    identity: str = ""
    # The attempt's last heartbeat details, which a worker that throttles heartbeats sends
    # with the failure; kept as the activity's progress, so the retry reads them.
    last_heartbeat_details: Opaque | None = None
    worker_version: Opaque | None = None  # as RespondActivityTaskCompleted's


@dataclass(frozen=True, slots=True)
class RespondActivityTaskCanceled:
    token: ActivityTaskToken
    details: Opaque | None = None
    identity: str = ""


# --- outbox tasks (transfer and timer queues) ----------------------------------------


@dataclass(frozen=True, slots=True)
class WorkflowTaskTransfer:
    """Push a workflow task to matching (transfer queue)."""

    scheduled_event_id: int
    task_queue: str
    sticky: bool
    stamp: int
    schedule_to_start_timeout: int = 0


@dataclass(frozen=True, slots=True)
class ActivityTaskTransfer:
    """Push an activity task to matching (transfer queue)."""

    scheduled_event_id: int
    task_queue: str
    stamp: int
    schedule_to_start_timeout: int = 0


@dataclass(frozen=True, slots=True)
class CloseExecutionTransfer:
    """The run closed: notify the parent, apply parent close policies (transfer queue).

    `children` lists the still-open children with their ParentClosePolicy numbers
    (TERMINATE=1, ABANDON=2, REQUEST_CANCEL=3); `parent_outcome` is how the parent is told
    of this close (None: no parent, or the chain goes on, as the parent hears only of the
    chain's end), with the close event's payload and retry state."""

    run_id: str
    workflow_id: str = ""  # the closing run's (the children's cancel requests name it)
    parent: ParentInfo | None = None
    parent_outcome: ChildOutcome | None = None
    payload: Opaque | None = None
    children: tuple[tuple[str, str, int], ...] = ()
    retry_state: RetryState = RetryState.RETRY_POLICY_NOT_SET


@dataclass(frozen=True, slots=True)
class StartChildTransfer:
    initiated_event_id: int
    request: StartWorkflowExecution


@dataclass(frozen=True, slots=True)
class SignalExternalTransfer:
    initiated_event_id: int
    workflow_id: str
    run_id: str
    signal: SignalWorkflowExecution


@dataclass(frozen=True, slots=True)
class CancelExternalTransfer:
    initiated_event_id: int
    workflow_id: str
    run_id: str
    request: RequestCancelWorkflowExecution


@dataclass(frozen=True, slots=True)
class UserTimerTask:
    timer_id: str
    started_event_id: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class ActivityTimeoutTask:
    scheduled_event_id: int
    timeout_type: TimeoutType
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class ActivityRetryTask:
    scheduled_event_id: int
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowTaskTimeoutTask:
    scheduled_event_id: int
    timeout_type: TimeoutType
    attempt: int
    stamp: int
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowRunTimeoutTask:
    fire_time: int


@dataclass(frozen=True, slots=True)
class WorkflowBackoffTask:
    """The first workflow task is delayed (continue-as-new, retry, cron, start delay)."""

    fire_time: int


TimerTask = (
    UserTimerTask
    | ActivityTimeoutTask
    | ActivityRetryTask
    | WorkflowTaskTimeoutTask
    | WorkflowRunTimeoutTask
    | WorkflowBackoffTask
    | NexusTimeoutTask
)
Task = (
    WorkflowTaskTransfer
    | ActivityTaskTransfer
    | CloseExecutionTransfer
    | StartChildTransfer
    | SignalExternalTransfer
    | CancelExternalTransfer
    | TimerTask
)


@dataclass(frozen=True, slots=True)
class FireTimer:
    """The timer queue executes one of the run's timer tasks."""

    task: TimerTask


Request = (
    StartWorkflowExecution
    | UpdateWorkflowExecution
    | SignalWithStartWorkflowExecution
    | SignalWorkflowExecution
    | RequestCancelWorkflowExecution
    | TerminateWorkflowExecution
    | RecordWorkflowTaskStarted
    | RespondWorkflowTaskCompleted
    | RespondWorkflowTaskFailed
    | RecordActivityTaskStarted
    | RecordActivityTaskHeartbeat
    | RespondActivityTaskCompleted
    | RespondActivityTaskFailed
    | RespondActivityTaskCanceled
    | FireTimer
    | RecordChildExecutionStarted
    | RecordStartChildExecutionFailed
    | RecordChildExecutionCompleted
    | RecordExternalResult
    | RecordNexusOperationResult
    | AttachToRun
    | UpdateWorkflowExecutionOptions
    | ResetStickyTaskQueue
    | PauseActivity
    | UnpauseActivity
    | ResetActivity
    | UpdateActivityOptions
)

fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
