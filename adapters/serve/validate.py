"""The frontend's checks of a request's fields, in the server's words and order: the
start of a workflow (`prepareStartWorkflowRequest` in service/frontend/workflow_handler.go
and `ValidateSignalWithStartRequest` in chasm/lib/workflow/validator.go), retry policies
(common/retrypolicy/retry_policy.go Validate), task queue names
(common/tqid/task_queue_validator.go), executions (`validateExecution`) and search
attribute values (common/searchattribute/validator.go Validate). Each raises the
INVALID_ARGUMENT the server answers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.api.enums.v1 import workflow_pb2 as wf_enums

from . import convert, errors
from .query import parse_datetime

MAX_ID_LENGTH = 1000  # limit.maxIDLength
RESERVED_QUEUE_PREFIX = "/_sys/"
# System search attributes a caller may not set (sadefs/constants.go `system`, and the
# predefined ones not in `predefinedWhiteList`).
UNSETTABLE = frozenset(
    {
        "WorkflowId",
        "RunId",
        "WorkflowType",
        "ExecutionStatus",
        "StartTime",
        "CloseTime",
        "ExecutionTime",
        "ExecutionDuration",
        "HistoryLength",
        "TaskQueue",
        "StateTransitionCount",
        "HistorySizeBytes",
        "ParentWorkflowId",
        "ParentRunId",
        "RootWorkflowId",
        "RootRunId",
    }
)


def _negative(req: Any, name: str) -> bool:
    return req.HasField(name) and convert.nanos(getattr(req, name)) < 0


def run_id(value: str, message: str = "Invalid RunId.") -> None:
    """A run id, when given, must be a UUID (`uuid.Validate` in the frontend's handlers;
    the history service's cache says "RunId is not valid UUID.")."""
    if not value:
        return
    try:
        uuid.UUID(value)
    except ValueError:
        raise errors.invalid(message) from None


def execution(req: Any, field: str) -> Any:
    """`validateExecution` (workflow_handler.go): set, with a workflow id, and a UUID run."""
    if not req.HasField(field):
        raise errors.invalid("Execution is not set on request.")
    given = getattr(req, field)
    if not given.workflow_id:
        raise errors.invalid("WorkflowId is not set on request.")
    run_id(given.run_id)
    return given


def retry_policy(req: Any) -> None:
    """A start's workflow retry policy, given its unset fields' defaults as the frontend
    does before it checks it (`ValidateRetryPolicy`, chasm/lib/workflow/validator.go:
    `retrypolicy.EnsureDefaults`); no policy stays none (no retries)."""
    if not req.HasField("retry_policy"):
        return
    policy = req.retry_policy
    initial = convert.nanos(policy.initial_interval) or 1_000_000_000  # 1 s
    if not convert.nanos(policy.initial_interval):
        policy.initial_interval.CopyFrom(convert.duration(initial))
    if not convert.nanos(policy.maximum_interval):
        policy.maximum_interval.CopyFrom(convert.duration(100 * initial))
    if policy.backoff_coefficient == 0:
        policy.backoff_coefficient = 2.0
    if policy.maximum_attempts == 1:  # no retries: the rest does not matter
        return
    if _negative(policy, "initial_interval"):
        raise errors.invalid("invalid InitialInterval set on retry policy: negative duration")
    if policy.backoff_coefficient < 1:
        raise errors.invalid("BackoffCoefficient cannot be less than 1 on retry policy.")
    if _negative(policy, "maximum_interval"):
        raise errors.invalid("invalid MaximumInterval set on retry policy: negative duration")
    maximum = convert.nanos(policy.maximum_interval)
    if 0 < maximum < initial:
        raise errors.invalid("MaximumInterval cannot be less than InitialInterval on retry policy.")
    if policy.maximum_attempts < 0:
        raise errors.invalid("MaximumAttempts cannot be negative on retry policy.")


def start_delay(req: Any) -> None:
    if req.cron_schedule and req.HasField("workflow_start_delay"):
        raise errors.invalid("CronSchedule and WorkflowStartDelay may not be used together.")
    if _negative(req, "workflow_start_delay"):
        raise errors.invalid(
            "An invalid WorkflowStartDelaySeconds is set on request. cause: negative duration"
        )


def task_queue(req: Any) -> None:
    if not req.HasField("task_queue"):
        raise errors.invalid("taskQueue is not set")
    queue_name(req.task_queue.name)


def queue_name(name: str) -> None:
    """A normal task queue's name, as tqid.NormalizeAndValidate checks it."""
    if not name:
        raise errors.invalid("missing task queue name")
    if len(name) > MAX_ID_LENGTH:
        raise errors.invalid("taskQueue length exceeds limit")
    if name.startswith(RESERVED_QUEUE_PREFIX):
        raise errors.invalid(
            f"task queue name cannot start with reserved prefix {RESERVED_QUEUE_PREFIX}"
        )


def poll(req: Any, identity_first: bool) -> None:
    """A worker's poll (`PollWorkflowTaskQueue` checks the identity first,
    `PollActivityTaskQueue` the task queue first): the queue as
    `tqid.NormalizeAndValidate` takes it, a partition's reserved name allowed, and a
    sticky queue's normal name too."""
    if identity_first:
        _identity(req.identity)
    if not req.HasField("task_queue"):
        raise errors.invalid("taskQueue is not set")
    queue = req.task_queue
    if not queue.name:
        raise errors.invalid("missing task queue name")
    if len(queue.name) > MAX_ID_LENGTH or len(queue.normal_name) > MAX_ID_LENGTH:
        raise errors.invalid("taskQueue length exceeds limit")
    _identity(req.identity)


def _identity(identity: str) -> None:
    if len(identity) > MAX_ID_LENGTH:  # workflow_handler.go errIdentityTooLong
        raise errors.invalid("Identity length exceeds limit.")


def timeouts(req: Any) -> None:
    for field, name in (
        ("workflow_execution_timeout", "WorkflowExecutionTimeoutSeconds"),
        ("workflow_run_timeout", "WorkflowRunTimeoutSeconds"),
        ("workflow_task_timeout", "WorkflowTaskTimeoutSeconds"),
    ):
        if _negative(req, field):
            raise errors.invalid(f"An invalid {name} is set on request. cause: negative duration")


def id_policies(req: Any) -> None:
    conflict = req.workflow_id_conflict_policy
    reuse = req.workflow_id_reuse_policy
    if (
        conflict != wf_enums.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
        and reuse == wf_enums.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
    ):
        raise errors.invalid(
            "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING "
            "cannot be used together with a WorkflowIDConflictPolicy"
        )
    if (
        conflict == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        and reuse == wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
    ):
        raise errors.invalid(
            "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE cannot "
            "be used together with WorkflowIdConflictPolicy "
            "WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING"
        )


def start(req: Any) -> None:
    """StartWorkflowExecution's checks after the workflow id's and before the search
    attributes', in `prepareStartWorkflowRequest`'s order (the cron schedule's are
    rpc_executions.py's, between the start delay's and the type's)."""
    retry_policy(req)
    start_delay(req)


def start_rest(req: Any) -> None:
    """What `prepareStartWorkflowRequest` checks after the cron schedule."""
    if not req.workflow_type.name:
        raise errors.invalid("WorkflowType is not set on request.")
    if len(req.workflow_type.name) > MAX_ID_LENGTH:
        raise errors.invalid("WorkflowType length exceeds limit.")
    task_queue(req)
    timeouts(req)
    if len(req.request_id) > MAX_ID_LENGTH:
        raise errors.invalid("RequestId length exceeds limit.")
    id_policies(req)


def signal_with_start(req: Any) -> None:
    """`ValidateSignalWithStartRequest`, after the workflow id's check."""
    if not req.signal_name:
        raise errors.invalid("signal not set")
    if len(req.signal_name) > MAX_ID_LENGTH:
        raise errors.invalid(
            f"signal name exceeds maximum allowed length ({len(req.signal_name)}/{MAX_ID_LENGTH})"
        )
    if not req.workflow_type.name:
        raise errors.invalid("workflow type not set")
    if len(req.workflow_type.name) > MAX_ID_LENGTH:
        raise errors.invalid(
            "workflow type name exceeds maximum allowed length "
            f"({len(req.workflow_type.name)}/{MAX_ID_LENGTH})"
        )
    task_queue(req)
    if len(req.request_id) > MAX_ID_LENGTH:
        raise errors.invalid(
            f"Request ID exceeds maximum allowed length ({len(req.request_id)}/{MAX_ID_LENGTH})"
        )
    timeouts(req)
    retry_policy(req)
    start_delay(req)
    id_policies(req)
    if req.workflow_id_conflict_policy == wf_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL:
        raise errors.invalid(
            "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_FAIL is not "
            "supported for this operation."
        )


def signal(req: Any) -> None:
    """SignalWorkflowExecution's own checks (workflow_handler.go), after the execution's."""
    if not req.signal_name:
        raise errors.invalid("SignalName is not set on request.")
    if len(req.signal_name) > MAX_ID_LENGTH:
        raise errors.invalid("SignalName length exceeds limit.")
    if len(req.request_id) > MAX_ID_LENGTH:
        raise errors.invalid("RequestId length exceeds limit.")


# IndexedValueType names as search attribute payloads carry them in metadata "type".
TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "TEXT": "Text",
    "INT": "Int",
    "DOUBLE": "Double",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}


def _fits(kind: str, value: Any) -> bool:
    """Whether a JSON value decodes as the attribute's type (sadefs.DecodeValue): a null
    unsets it; a list of values of the type is allowed too (system.visibilityAllowList,
    true by default), a KeywordList being a list of strings only."""
    if value is None:
        return True
    if kind == "KEYWORD_LIST":
        return isinstance(value, list) and all(v is None or isinstance(v, str) for v in value)
    if isinstance(value, list):
        return all(_fits_one(kind, v) for v in value)
    return _fits_one(kind, value)


def _fits_one(kind: str, value: Any) -> bool:
    if kind in ("KEYWORD", "TEXT"):
        return isinstance(value, str)
    if kind == "DATETIME":  # Go's time.Time from JSON: an RFC 3339 string
        return isinstance(value, str) and parse_datetime(value) is not None
    if kind == "INT":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "DOUBLE":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "BOOL":
        return isinstance(value, bool)
    return True


def search_attribute(name: str, kind: str, payload: Any) -> None:
    """A system attribute may not be set; a value must decode as its attribute's type."""
    if name in UNSETTABLE:
        raise errors.invalid(f"{name} attribute can't be set in SearchAttributes")
    if payload.metadata.get("encoding", b"") != b"json/plain":
        return
    try:
        value = json.loads(payload.data)
    except ValueError:
        return
    if not _fits(kind, value):
        shown = _go_value(value)
        raise errors.invalid(
            f"invalid value for search attribute {name} of type {TYPE_NAMES[kind]}: {shown}"
        )


def priority(req: Any) -> None:
    """common/priorities/priority_util.go Validate."""
    if not req.HasField("priority"):
        return
    given = req.priority
    if given.priority_key < 0:
        raise errors.invalid("priority key can't be negative")
    if len(given.fairness_key) > 64:
        raise errors.invalid("fairness key length exceeds limit")
    if given.fairness_weight < 0:
        raise errors.invalid("must be greater than zero")


def _go_value(value: Any) -> str:
    """A decoded JSON value as Go's %v prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)
