"""The server's limits, enforced by the history service (rules LIMIT-*, spec/history.md).

The limits themselves, their defaults and the server's texts are in
core/statemachine/history/limits.py. Where each is enforced, and how:

- **History count and size** (`enforce_history`, after every request to an existing
  run): if the run is still running and its history now holds more events than
  limit.historyCount.error, or the store had already written more bytes of it than
  limit.historySize.error before the request, the request's changes are discarded and
  the run is terminated instead: WorkflowTaskFailed (FORCE_CLOSE_COMMAND) for a task in
  flight, WorkflowExecutionTerminated with the server's reason and identity
  "history-service", and the caller gets InvalidArgument with that reason
  (`enforceHistorySizeCheck`, `enforceHistoryCountCheck` and `forceTerminateWorkflow`
  in service/history/workflow/context.go; the size is checked first). Above the warn
  levels the server only logs: the Outcome carries a warning. A start, and a
  transaction that closes the run, are not checked (`UpdateWorkflowExecutionAsActive`
  is the only path that checks).
- **The size of a command's payloads, memo and search attributes** (the command
  handlers call `blob`, `memo` and `search_attributes`): over the error level, the
  workflow task fails with the command's cause and the run is terminated in the same
  transaction (`terminateWorkflow` in workflow_task_completed_handler.go).
- **Pending activities, children, signals and cancel requests** (`pending`, from the
  command handlers): one more than the limit fails the workflow task with the cause
  named PENDING_*_LIMIT_EXCEEDED, and the run goes on (`failWorkflowTask`).
- **The size of what a client or worker sends** (`admit` before a request is handled,
  `check_start` for a start): a signal's input, a start's input or memo over the limit
  is refused with InvalidArgument; an activity result, cancel details or heartbeat
  details over it fail the activity instead, non-retryably; an activity's or workflow
  task's failure over it is replaced by a server failure that keeps a truncated copy
  as its cause (the frontend's handlers, service/frontend/workflow_handler.go, and
  `ValidateStart` in service/history/api/create_workflow_util.go).

The size of the history is the store's: `MutableState.history_size` is what the host
that persists the run's events reports (`persisted`), as the server keeps
ExecutionStats.HistorySize; the service never computes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from core.enums import WorkflowTaskFailedCause
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.proto_size import (
    failure_size,
    memo_size,
    payload_data_length,
    payloads_size,
    search_attributes_size,
    upper_bound,
)
from core.requests import (
    ActivityTaskToken,
    Error,
    ErrorKind,
    RecordActivityTaskHeartbeat,
    Request,
    RespondActivityTaskCanceled,
    RespondActivityTaskCompleted,
    RespondActivityTaskFailed,
    RespondWorkflowTaskFailed,
    SignalWithStartWorkflowExecution,
    SignalWorkflowExecution,
    StartWorkflowExecution,
    TerminateWorkflowExecution,
)
from core.statemachine.history import limits as lim
from core.statemachine.history.limits import Limits
from core.statemachine.history.service import execution
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.state import RUNNING, MutableState, evolve
from core.statemachine.history.service.txn import Outcome

Cause = WorkflowTaskFailedCause


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command the server refuses: the workflow task fails with `cause` and a server
    failure saying "Cause: error" (the cause alone without an error); with `terminate`
    the run is terminated as well."""

    cause: WorkflowTaskFailedCause
    error: str = ""
    terminate: bool = False

    @property
    def message(self) -> str:
        return lim.task_failure_message(self.cause, self.error)


# --- commands ----------------------------------------------------------------------------


def blob(
    limits: Limits,
    value: Opaque | None,
    cause: WorkflowTaskFailedCause,
    error: str,
    measure: Callable[[Opaque | None], int] = payloads_size,
) -> Rejection | None:
    """A command's payload over limit.blobSize.error terminates the run."""
    if value is None or upper_bound(value.text) <= limits.blob_size_error:
        return None
    if measure(value) > limits.blob_size_error:
        return Rejection(cause, error, terminate=True)
    return None


def blob_size(
    limits: Limits, size: int, cause: WorkflowTaskFailedCause, error: str
) -> Rejection | None:
    """A size measured by the caller, over limit.blobSize.error, terminates the run."""
    return Rejection(cause, error, terminate=True) if size > limits.blob_size_error else None


def memo(
    limits: Limits, value: Opaque | None, cause: WorkflowTaskFailedCause, error: str
) -> Rejection | None:
    """A memo (as the run would hold it) over limit.memoSize.error terminates the run."""
    if value is None or upper_bound(value.text) <= limits.memo_size_error:
        return None
    if memo_size(value) > limits.memo_size_error:
        return Rejection(cause, error, terminate=True)
    return None


def search_attributes(
    limits: Limits, value: Opaque | None, cause: WorkflowTaskFailedCause
) -> Rejection | None:
    """Search attributes (as the run would hold them) with a value or a total over the
    limits terminate the run (`checkIfSearchAttributesSizeExceedsLimit`)."""
    error = search_attributes_error(limits, value)
    return Rejection(cause, error, terminate=True) if error else None


def search_attributes_error(limits: Limits, value: Opaque | None) -> str:
    """The search-attribute validator's complaint about `value`, or "" (`ValidateSize`,
    common/searchattribute/validator.go; of several values too large, the first by name
    is named, where the server names any one)."""
    smallest = min(limits.search_attribute_value_size, limits.search_attributes_total_size)
    if value is None or upper_bound(value.text) <= smallest:
        return ""
    body = value.value()
    fields = body.get("indexedFields") if isinstance(body, dict) else None
    most = limits.search_attribute_value_size
    for name, payload in sorted((fields if isinstance(fields, dict) else {}).items()):
        size = payload_data_length(payload)
        if size > most:
            return lim.search_attribute_value_message(name, size, most)
    total = search_attributes_size(value)
    if total > limits.search_attributes_total_size:
        return lim.search_attributes_total_message(total, limits.search_attributes_total_size)
    return ""


def pending(limits: Limits, kind: lim.Pending, count: int) -> Rejection | None:
    """One more pending entity than the limit allows fails the task (the run goes on)."""
    limit = lim.limit_of(limits, kind)
    if lim.within(count, limit):
        return None
    return Rejection(kind.cause, lim.pending_message(kind, count, limit), terminate=False)


# --- history count and size ------------------------------------------------------------


def enforce_history(before: MutableState, outcome: Outcome, now: int, limits: Limits) -> Outcome:
    """Terminate instead of `outcome` if it leaves the run over the history limits."""
    after = outcome.state
    if after is before or after.status is not RUNNING:  # (`running`, inline)
        return outcome
    count = after.next_event_id - 1
    size = before.history_size
    if (  # the common case, below every level: nothing to check further
        size <= limits.history_size_warn
        and size <= limits.history_size_error
        and count <= limits.history_count_warn
        and count <= limits.history_count_error
    ):
        return outcome
    if size > limits.history_size_error:
        return _terminated(before, now, lim.HISTORY_SIZE_REASON)
    if count > limits.history_count_error:
        return _terminated(before, now, lim.HISTORY_COUNT_REASON)
    warnings = list(outcome.warnings)
    if size > limits.history_size_warn:
        warnings.append(f"{lim.HISTORY_SIZE}: history size {size} bytes exceeds the warn level")
    if count > limits.history_count_warn:
        warnings.append(f"{lim.HISTORY_COUNT}: history count {count} exceeds the warn level")
    return dataclasses.replace(outcome, warnings=tuple(warnings))


def _terminated(before: MutableState, now: int, reason: str) -> Outcome:
    request = TerminateWorkflowExecution(reason=reason, identity=HISTORY_SERVICE)
    ended = execution.terminate_workflow_execution(before, request, now)
    return dataclasses.replace(ended, reply=Error(ErrorKind.INVALID_ARGUMENT, reason))


def persisted(state: MutableState, size: int) -> MutableState:
    """The run after its store wrote `size` more bytes of its history (the host calls this
    with the encoded size of each batch it persists: ExecutionStats.HistorySize)."""
    return evolve(state, history_size=state.history_size + size)


# --- what clients and workers send -------------------------------------------------------

SIZED_REQUESTS = (
    StartWorkflowExecution,
    SignalWithStartWorkflowExecution,
    SignalWorkflowExecution,
    RespondActivityTaskCompleted,
    RespondActivityTaskCanceled,
    RecordActivityTaskHeartbeat,
    RespondActivityTaskFailed,
    RespondWorkflowTaskFailed,
)


def admit(request: Request, limits: Limits) -> Request | Error:
    """The request as the history service receives it from the frontend, which refuses
    or converts one whose payload is over limit.blobSize.error."""
    error = limits.blob_size_error
    if isinstance(request, StartWorkflowExecution):
        return check_start(request, limits) or request
    if isinstance(request, SignalWithStartWorkflowExecution):
        if _over(request.signal.input, error):
            return _refused()
        return check_start(request.start, limits) or request
    if isinstance(request, SignalWorkflowExecution):
        return _refused() if _over(request.input, error) else request
    if isinstance(request, RespondActivityTaskCompleted) and _over(request.result, error):
        return _activity_failed(request.token, lim.COMPLETE_RESULT_TOO_LARGE, request.identity)
    if isinstance(request, RespondActivityTaskCanceled) and _over(request.details, error):
        return _activity_failed(request.token, lim.CANCEL_DETAILS_TOO_LARGE, request.identity)
    if isinstance(request, RecordActivityTaskHeartbeat) and _over(request.details, error):
        return _activity_failed(request.token, lim.HEARTBEAT_TOO_LARGE, "")
    if isinstance(request, RespondActivityTaskFailed) and _over(request.failure, error, True):
        failure = _replaced(request.failure, limits.blob_size_warn)
        return dataclasses.replace(request, failure=failure, error_type="", non_retryable=True)
    if isinstance(request, RespondWorkflowTaskFailed) and _over(request.failure, error, True):
        failure = _replaced(request.failure, limits.blob_size_warn)
        return dataclasses.replace(request, failure=failure)
    return request


def check_start(request: StartWorkflowExecution, limits: Limits) -> Error | None:
    """A start whose input, memo or search attributes are over the limits is refused."""
    if _over(request.input, limits.blob_size_error):
        return _refused()
    memo_over = request.memo is not None and upper_bound(request.memo.text) > limits.memo_size_error
    if memo_over and memo_size(request.memo) > limits.memo_size_error:
        return Error(ErrorKind.INVALID_ARGUMENT, lim.MEMO_REFUSED)
    complaint = search_attributes_error(limits, request.search_attributes)
    return Error(ErrorKind.INVALID_ARGUMENT, complaint) if complaint else None


def _over(value: Opaque | None, limit: int, failure: bool = False) -> bool:
    if value is None or upper_bound(value.text) <= limit:
        return False
    return (failure_size(value) if failure else payloads_size(value)) > limit


def _refused() -> Error:
    return Error(ErrorKind.INVALID_ARGUMENT, lim.BLOB_REFUSED)


def _activity_failed(
    token: ActivityTaskToken, reason: str, identity: str
) -> RespondActivityTaskFailed:
    failure = lim.server_failure(reason, non_retryable=True)
    return RespondActivityTaskFailed(token, failure, non_retryable=True, identity=identity)


def _replaced(failure: Opaque | None, keep: int) -> Opaque:
    """A server failure in place of one too large, keeping a truncated copy as its cause."""
    body: dict[str, JsonValue] = {"message": lim.FAILURE_TOO_LARGE}
    original = failure.value() if failure is not None else None
    if isinstance(original, dict):
        body["cause"] = truncated(original, keep)
    body["serverFailureInfo"] = {"nonRetryable": True}
    return Opaque.of(body)


def truncated(failure: dict[str, JsonValue], budget: int, depth: int = 20) -> dict[str, JsonValue]:
    """`failure.Truncate` (common/failure/failure.go): the failure kept within about
    `budget` bytes: its type and non-retryable flag, then source, message and stack
    trace cut at UTF-8 boundaries, then its cause, likewise, up to 20 deep."""
    left = [budget]

    def cut(text: JsonValue) -> str:
        raw = text.encode() if isinstance(text, str) else b""
        kept = _utf8_prefix(raw, left[0])
        left[0] -= len(kept)
        if kept:
            left[0] -= 4  # the field's tag and length
        return kept.decode()

    info_key, info = "", dict[str, JsonValue]()
    application = failure.get("applicationFailureInfo")
    server = failure.get("serverFailureInfo")
    if isinstance(application, dict):
        info_key = "applicationFailureInfo"
        kind = cut(application.get("type", ""))
        if kind:
            info["type"] = kind
        if application.get("nonRetryable"):
            info["nonRetryable"] = True
        left[0] -= 8
    elif isinstance(server, dict):
        info_key = "serverFailureInfo"
        if server.get("nonRetryable"):
            info["nonRetryable"] = True
        left[0] -= 4
    source = cut(failure.get("source", ""))
    message = cut(failure.get("message", ""))
    stack = cut(failure.get("stackTrace", ""))
    out: dict[str, JsonValue] = {}
    for key, text in (("message", message), ("source", source), ("stackTrace", stack)):
        if text:
            out[key] = text
    cause = failure.get("cause")
    if isinstance(cause, dict) and left[0] > 4 and depth > 0:
        out["cause"] = truncated(cause, left[0] - 4, depth - 1)
    if info_key:
        out[info_key] = info
    return out


def _utf8_prefix(raw: bytes, n: int) -> bytes:
    """`util.TruncateUTF8`: at most `n` bytes, not splitting a character."""
    if len(raw) <= n:
        return raw
    if n <= 0:
        return b""
    while n > 0 and (raw[n] & 0xC0) == 0x80:  # not the first byte of a character
        n -= 1
    return raw[:n]


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
