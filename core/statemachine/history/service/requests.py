"""Kept so existing imports keep working: the request vocabulary is core/requests.py."""

from core.requests import (
    DEFAULT_RETENTION as DEFAULT_RETENTION,
)
from core.requests import (
    ActivityRetryTask as ActivityRetryTask,
)
from core.requests import (
    ActivityTaskStarted as ActivityTaskStarted,
)
from core.requests import (
    ActivityTaskToken as ActivityTaskToken,
)
from core.requests import (
    ActivityTaskTransfer as ActivityTaskTransfer,
)
from core.requests import (
    ActivityTimeoutTask as ActivityTimeoutTask,
)
from core.requests import (
    CancelExternalTransfer as CancelExternalTransfer,
)
from core.requests import (
    ChildOutcome as ChildOutcome,
)
from core.requests import (
    CloseExecutionTransfer as CloseExecutionTransfer,
)
from core.requests import (
    Error as Error,
)
from core.requests import (
    ErrorKind as ErrorKind,
)
from core.requests import (
    FireTimer as FireTimer,
)
from core.requests import (
    Heartbeat as Heartbeat,
)
from core.requests import (
    Ok as Ok,
)
from core.requests import (
    ParentInfo as ParentInfo,
)
from core.requests import (
    RecordActivityTaskHeartbeat as RecordActivityTaskHeartbeat,
)
from core.requests import (
    RecordActivityTaskStarted as RecordActivityTaskStarted,
)
from core.requests import (
    RecordChildExecutionCompleted as RecordChildExecutionCompleted,
)
from core.requests import (
    RecordChildExecutionStarted as RecordChildExecutionStarted,
)
from core.requests import (
    RecordExternalResult as RecordExternalResult,
)
from core.requests import (
    RecordStartChildExecutionFailed as RecordStartChildExecutionFailed,
)
from core.requests import (
    RecordWorkflowTaskStarted as RecordWorkflowTaskStarted,
)
from core.requests import (
    Reply as Reply,
)
from core.requests import (
    Request as Request,
)
from core.requests import (
    RequestCancelWorkflowExecution as RequestCancelWorkflowExecution,
)
from core.requests import (
    ResetPoint as ResetPoint,
)
from core.requests import (
    ResetWorkflowExecution as ResetWorkflowExecution,
)
from core.requests import (
    RespondActivityTaskCanceled as RespondActivityTaskCanceled,
)
from core.requests import (
    RespondActivityTaskCompleted as RespondActivityTaskCompleted,
)
from core.requests import (
    RespondActivityTaskFailed as RespondActivityTaskFailed,
)
from core.requests import (
    RespondWorkflowTaskCompleted as RespondWorkflowTaskCompleted,
)
from core.requests import (
    RespondWorkflowTaskFailed as RespondWorkflowTaskFailed,
)
from core.requests import (
    SignalExternalTransfer as SignalExternalTransfer,
)
from core.requests import (
    SignalWithStartWorkflowExecution as SignalWithStartWorkflowExecution,
)
from core.requests import (
    SignalWorkflowExecution as SignalWorkflowExecution,
)
from core.requests import (
    StartChildTransfer as StartChildTransfer,
)
from core.requests import (
    StartWorkflowExecution as StartWorkflowExecution,
)
from core.requests import (
    Task as Task,
)
from core.requests import (
    TaskDiscarded as TaskDiscarded,
)
from core.requests import (
    TerminateWorkflowExecution as TerminateWorkflowExecution,
)
from core.requests import (
    TimerTask as TimerTask,
)
from core.requests import (
    UpdateMessage as UpdateMessage,
)
from core.requests import (
    UpdateMessageKind as UpdateMessageKind,
)
from core.requests import (
    UpdateWorkflowExecution as UpdateWorkflowExecution,
)
from core.requests import (
    UserTimerTask as UserTimerTask,
)
from core.requests import (
    WorkflowBackoffTask as WorkflowBackoffTask,
)
from core.requests import (
    WorkflowReset as WorkflowReset,
)
from core.requests import (
    WorkflowRunTimeoutTask as WorkflowRunTimeoutTask,
)
from core.requests import (
    WorkflowTaskStarted as WorkflowTaskStarted,
)
from core.requests import (
    WorkflowTaskTimeoutTask as WorkflowTaskTimeoutTask,
)
from core.requests import (
    WorkflowTaskToken as WorkflowTaskToken,
)
from core.requests import (
    WorkflowTaskTransfer as WorkflowTaskTransfer,
)
