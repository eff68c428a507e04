"""Operations on the reserved `__temporal_system` Nexus endpoint, run by the server
itself: SignalWithStartWorkflowExecution of temporal.api.workflowservice.v1.WorkflowService
(what temporalio's `workflow.signal_with_start_workflow` schedules).

In Temporal the operation's invocation task does not go to a worker: the executor runs
the endpoint's input processor on the Scheduled event's input (the request, a
`binary/protobuf` payload), then asks the history service to start the operation
(components/nexusoperations/executors.go executeInvocationTask, startOnHistoryService;
service/history/handler.go StartNexusOperation). The processor fills in the caller's
namespace, the operation's request id and a link to the Scheduled event, refusing a
request that sets its own request id or links, or names another namespace
(chasm/lib/workflow/nexus_service.go SignalWithStartOperationProcessor); the handler
signals-with-start the target and answers synchronously with the
SignalWithStartWorkflowExecutionResponse as a `binary/protobuf` payload and the link to
the target's Signaled event, which the caller's NexusOperationCompleted carries. A
non-retryable error fails the operation with the error as the cause, its Go type name
before its message ("WorkflowExecutionAlreadyStarted: ..." with ServerFailureInfo,
executors.go callErrToFailure; as the dev server writes it); a retryable one is tried
again after the retry policy's backoff.

Here the same happens in the server process when a commit writes the Scheduled event,
through the frontend's own SignalWithStartWorkflowExecution. The command's checks (no
header, a known service and operation) are the core's (core/statemachine/history/
service/nexus_system.py); an input that does not decode or validate fails the operation
here, where the server already fails the workflow task that schedules it. The server
gates the operation behind `history.enableSignalWithStartFromWorkflow`; it is always on
here, as in the SDK's own test set-up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service.nexus_system import SIGNAL_WITH_START

from . import convert, errors
from .nexus_attempts import AttemptLog
from .rpc_executions import signal_with_start_workflow_execution

if TYPE_CHECKING:
    from .frontend import Frontend

log = logging.getLogger("tmodel.serve")
RESPONSE_TYPE = ws.SignalWithStartWorkflowExecutionResponse.DESCRIPTOR.full_name
# common.IsRetryableRPCError (common/util.go): the codes an attempt is tried again on
RETRYABLE = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
    }
)


class _Context:
    """What the frontend's handlers read of a gRPC context: the time left (the
    executor's request timeout)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time_remaining(self) -> float:
        return self.seconds


class _Refused(Exception):
    """The operation failed for good, with `failure` (a Failure's protojson) as cause."""

    def __init__(self, failure: dict[str, JsonValue]) -> None:
        super().__init__(failure.get("message"))
        self.failure = failure


def error_name(exc: errors.ServiceError) -> str:
    """The Go type name of a service error (`*serviceerror.InvalidArgument` gives
    "InvalidArgument"): its details message less "Failure", else its status code."""
    if exc.details is not None:
        return exc.details.DESCRIPTOR.name.removesuffix("Failure")
    return "".join(word.capitalize() for word in exc.code.name.split("_"))


def _server_failure(exc: errors.ServiceError) -> dict[str, JsonValue]:
    return {
        "message": f"{error_name(exc)}: {exc.message}",
        "serverFailureInfo": {"nonRetryable": True},
    }


def _bad_request(message: str) -> _Refused:
    """A handler error the processor raises (chasm/nexus_operation_processor.go)."""
    return _Refused({"message": message, "nexusHandlerFailureInfo": {"type": "BAD_REQUEST"}})


def decode_request(payload: common_pb.Payload) -> ws.SignalWithStartWorkflowExecutionRequest:
    """The request a `binary/protobuf` (or `json/protobuf`) payload holds, as the
    processor's PreferProtoDataConverter reads it."""
    out = ws.SignalWithStartWorkflowExecutionRequest()
    encoding = payload.metadata.get("encoding", b"")
    try:
        if encoding == b"binary/protobuf":
            out.ParseFromString(payload.data)
        elif encoding == b"json/protobuf":
            json_format.Parse(payload.data, out)
        else:
            raise ValueError(f"unsupported encoding {encoding.decode(errors='replace')!r}")
    except (DecodeError, ValueError, json_format.ParseError) as exc:
        raise _bad_request(f"failed to decode input payload: {exc}") from None
    return out


def process_input(
    req: ws.SignalWithStartWorkflowExecutionRequest,
    namespace: str,
    request_id: str,
    scheduled_link: common_pb.Link,
) -> None:
    """The processor's checks and defaults (SignalWithStartOperationProcessor.ProcessInput)."""
    if not req.namespace:
        req.namespace = namespace
    elif req.namespace != namespace:
        raise errors.invalid(
            f'Namespace in request "{req.namespace}" does not match namespace in context '
            f'"{namespace}"'
        )
    if req.request_id:
        raise errors.invalid("RequestID should not be set on the request")
    req.request_id = request_id
    if req.links:
        raise errors.invalid("Links should not be set on the request")
    req.links.append(scheduled_link)


class SystemOperations:
    """The system endpoint's operations in flight (one asyncio task each)."""

    def __init__(self, fe: Frontend, attempts: AttemptLog, request_timeout: float) -> None:
        self.fe = fe
        self.request_timeout = request_timeout
        self.attempts = attempts  # the retry policy's backoff, shared with nexus_tasks.py
        self.pending: set[asyncio.Task[None]] = set()

    def holds(self) -> int:
        """An operation being run holds the clock under time skipping, as a Nexus task a
        handler worker has taken does (nexus_tasks.py)."""
        return len(self.pending)

    def start(
        self,
        namespace: str,
        workflow_id: str,
        run_id: str,
        scheduled_event_id: int,
        attributes: dict[str, Any],
    ) -> None:
        run = self._run(namespace, workflow_id, run_id, scheduled_event_id, attributes)
        task = asyncio.get_running_loop().create_task(run)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _run(
        self,
        namespace: str,
        workflow_id: str,
        run_id: str,
        scheduled_event_id: int,
        a: dict[str, Any],
    ) -> None:
        request_id = str(a.get("requestId", ""))
        ids = (scheduled_event_id, request_id)
        try:
            response = await self._invoke(namespace, workflow_id, run_id, scheduled_event_id, a)
        except _Refused as refused:
            failure = Opaque.of(refused.failure)
            result = rq.RecordNexusOperationResult(*ids, "failed", failure=failure)
        except errors.ServiceError as exc:
            if exc.code in RETRYABLE:
                self._retry(namespace, workflow_id, run_id, scheduled_event_id, a, exc)
                return
            failure = Opaque.of(_server_failure(exc))
            result = rq.RecordNexusOperationResult(*ids, "failed", failure=failure)
        else:
            payload = common_pb.Payload(data=response.SerializeToString())
            payload.metadata["encoding"] = b"binary/protobuf"
            payload.metadata["messageType"] = RESPONSE_TYPE.encode()
            # the 1.32.0 dev server stores the result without the system-payload marker
            # (common/nexus/constants.go SystemPayloadMetadataKey) that later servers add
            links = Opaque.of([convert.to_json(response.signal_link)])
            result = rq.RecordNexusOperationResult(
                *ids, "completed", result=convert.opaque_of(payload), links=links
            )
        try:
            await self.fe.runtime.call(namespace, workflow_id, run_id, result, None)
        except Exception:  # the server is stopping: the result is not recorded
            log.info("a system Nexus operation's result for %s/%s was lost", workflow_id, run_id)

    def _retry(
        self,
        namespace: str,
        workflow_id: str,
        run_id: str,
        scheduled_event_id: int,
        a: dict[str, Any],
        exc: errors.ServiceError,
    ) -> None:
        key = (run_id, scheduled_event_id, False)
        failure = failure_pb.Failure(message=f"{error_name(exc)}: {exc.message}")
        failure.server_failure_info.SetInParent()
        delay = self.attempts.failed(key, self.fe.now(), failure)

        def again() -> None:
            self.attempts.rescheduled(key)
            self.start(namespace, workflow_id, run_id, scheduled_event_id, a)

        asyncio.get_running_loop().call_later(delay / 1e9, again)

    async def _invoke(
        self,
        namespace: str,
        workflow_id: str,
        run_id: str,
        scheduled_event_id: int,
        a: dict[str, Any],
    ) -> ws.SignalWithStartWorkflowExecutionResponse:
        if a.get("operation") != SIGNAL_WITH_START:  # the core refuses any other
            raise _bad_request(f"operation {a.get('operation')!r} not found")
        payload = convert.fill(common_pb.Payload(), a.get("input") or {})
        req = decode_request(payload)
        link = common_pb.Link()
        event = link.workflow_event
        event.namespace, event.workflow_id, event.run_id = namespace, workflow_id, run_id
        event.event_ref.event_id = scheduled_event_id
        event.event_ref.event_type = event_enums.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED
        process_input(req, namespace, str(a.get("requestId", "")), link)
        context: Any = _Context(self.request_timeout)
        answer = await signal_with_start_workflow_execution(self.fe, req, context)
        return ws.SignalWithStartWorkflowExecutionResponse(
            run_id=answer.run_id, started=answer.started, signal_link=answer.signal_link
        )
