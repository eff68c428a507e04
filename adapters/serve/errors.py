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

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status
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
