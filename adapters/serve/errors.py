"""Errors as Temporal's frontend sends them: a gRPC status code, a message, and a
`google.rpc.Status` in the `grpc-status-details-bin` trailer whose details hold one of
Temporal's failure messages (temporal/api/errordetails/v1/message.proto).

SDKs decide what to do from both: temporalio raises `WorkflowAlreadyStartedError` only
when the details hold WorkflowExecutionAlreadyStartedFailure, and sdk-core retries a
call or gives up by its status code (UNAVAILABLE and RESOURCE_EXHAUSTED are retried;
NOT_FOUND, INVALID_ARGUMENT, ALREADY_EXISTS are not). The server's own error values are
built in `common/serviceerror/*.go`; each constructor here names the one it mirrors.
"""

from __future__ import annotations

import zlib

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status
from temporalio.api.enums.v1 import failed_cause_pb2 as enums_pb
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.failure.v1 import message_pb2 as failure_pb


class ServiceError(Exception):
    """An RPC's failure: status code, message and optional details message."""

    def __init__(self, code: grpc.StatusCode, message: str, details: Message | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def status(self) -> grpc.Status:
        proto = status_pb2.Status(code=self.code.value[0], message=self.message)
        if self.details is not None:
            packed = any_pb2.Any()
            packed.Pack(self.details)
            proto.details.append(packed)
        return rpc_status.to_status(proto)


def not_found(message: str) -> ServiceError:
    """serviceerror.NotFound (workflow, run, activity or task token unknown or gone)."""
    return ServiceError(grpc.StatusCode.NOT_FOUND, message, details_pb.NotFoundFailure())


def failed_precondition(message: str) -> ServiceError:
    """serviceerror.FailedPrecondition (an activity already paused): no details."""
    return ServiceError(grpc.StatusCode.FAILED_PRECONDITION, message)


def namespace_not_found(namespace: str) -> ServiceError:
    """serviceerror.NamespaceNotFound."""
    return ServiceError(
        grpc.StatusCode.NOT_FOUND,
        f"Namespace {namespace} is not found.",
        details_pb.NamespaceNotFoundFailure(namespace=namespace),
    )


def namespace_exists(namespace: str) -> ServiceError:
    """serviceerror.NamespaceAlreadyExists, with the dev server's message."""
    return ServiceError(
        grpc.StatusCode.ALREADY_EXISTS,
        f'Namespace "{namespace}" already exists',
        details_pb.NamespaceAlreadyExistsFailure(),
    )


def already_started(message: str, request_id: str, run_id: str, first_run_id: str) -> ServiceError:
    """serviceerror.WorkflowExecutionAlreadyStarted, naming the run in the way, the
    request that started it and its chain's first run
    (`service/history/api/create_workflow_util.go` generateWorkflowAlreadyStartedError)."""
    return ServiceError(
        grpc.StatusCode.ALREADY_EXISTS,
        message,
        details_pb.WorkflowExecutionAlreadyStartedFailure(
            start_request_id=request_id, run_id=run_id, first_execution_run_id=first_run_id
        ),
    )


def invalid(message: str) -> ServiceError:
    """serviceerror.InvalidArgument (no details)."""
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, message)


def query_failed(message: str, failure: failure_pb.Failure | None = None) -> ServiceError:
    """serviceerror.QueryFailed: the worker's handler failed (INVALID_ARGUMENT)."""
    details = details_pb.QueryFailedFailure()
    if failure is not None:
        details.failure.CopyFrom(failure)
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, message, details)


def not_ready(message: str) -> ServiceError:
    """serviceerror.WorkflowNotReady (e.g. a query before the first workflow task)."""
    return ServiceError(
        grpc.StatusCode.FAILED_PRECONDITION, message, details_pb.WorkflowNotReadyFailure()
    )


def masked(original: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> ServiceError:
    """An internal or unknown error as the frontend hands it out, its text replaced by a
    neutral one and a hash of the original (common/rpc/interceptor/mask_internal_error.go)."""
    digest = zlib.crc32(original.encode()) & 0xFFFFFFFF
    return ServiceError(code, f"something went wrong, please retry ({digest:08x})")


def deadline(message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, message)


def unavailable(message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.UNAVAILABLE, message)


def unimplemented(rpc: str) -> ServiceError:
    # "unknown method" is what SDKs look for to tell an absent RPC from a failing one
    return ServiceError(
        grpc.StatusCode.UNIMPLEMENTED, f"unknown method {rpc}: not implemented by tmodel serve"
    )


def cancellation_already_requested(message: str) -> ServiceError:
    """serviceerror.CancellationAlreadyRequested."""
    return ServiceError(
        grpc.StatusCode.ALREADY_EXISTS, message, details_pb.CancellationAlreadyRequestedFailure()
    )


def workflow_closing() -> ServiceError:
    """consts.ErrWorkflowClosing (service/history/consts/const.go): an update admitted to a
    run that closed by starting another (continue-as-new, retry, cron) is aborted with it
    (`AbortReasonWorkflowContinuing`, service/history/workflow/update/abort_reason.go);
    the client retries and the update lands on the new run."""
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "workflow operation can not be applied because workflow is closing",
        details_pb.ResourceExhaustedFailure(
            cause=enums_pb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
            scope=enums_pb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        ),
    )


def concurrent_limit(message: str) -> ServiceError:
    """A per-run limit reached (the update registry's in-flight limit,
    service/history/workflow/update/registry.go): RESOURCE_EXHAUSTED, cause
    CONCURRENT_LIMIT; the client retries it."""
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        details_pb.ResourceExhaustedFailure(
            cause=enums_pb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
            scope=enums_pb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        ),
    )


def operation_aborted(message: str = "Operation was aborted.") -> ServiceError:
    """serviceerror.MultiOperationAborted: an operation of a multi-operation not carried
    out because another one failed."""
    return ServiceError(
        grpc.StatusCode.ABORTED, message, failure_pb.MultiOperationExecutionAborted()
    )


def multi_operation(message: str, outcomes: list[ServiceError | None]) -> ServiceError:
    """serviceerror.MultiOperationExecution (api-go serviceerror/multi_op.go): one status
    per operation (None: it succeeded) in MultiOperationExecutionFailure; the call's own
    code is the first that is neither OK nor an aborted operation's."""
    failure = details_pb.MultiOperationExecutionFailure()
    code: grpc.StatusCode | None = None
    for outcome in outcomes:
        status = failure.statuses.add()
        if outcome is None:
            continue
        status.code = outcome.code.value[0]
        status.message = outcome.message
        if outcome.details is not None:
            status.details.add().Pack(outcome.details)
        aborted = isinstance(outcome.details, failure_pb.MultiOperationExecutionAborted)
        if code is None and not aborted:
            code = outcome.code
    return ServiceError(code or grpc.StatusCode.ABORTED, message, failure)
