"""The standalone Nexus operation API: StartNexusOperationExecution,
DescribeNexusOperationExecution, PollNexusOperationExecution,
ListNexusOperationExecutions, CountNexusOperationExecutions,
RequestCancelNexusOperationExecution, TerminateNexusOperationExecution and
DeleteNexusOperationExecution (chasm/lib/nexusoperation `frontend.go`, `handler.go`),
and the handler worker's answers to a standalone operation's Nexus tasks (from
rpc_nexus_tasks.py).

Requests are validated as `validator.go` validates them (its messages; request ids
filled in, headers lower-cased, the timeouts capped to the schedule-to-close timeout),
the endpoint must exist by name, and id reuse and conflict policies and request-id
dedup follow CHASM's business-id policies (`chasm.StartExecution`). Not checked: the
start's search attributes (kept as given), and its completion callbacks and links
(kept, not called nor described).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import grpc
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import nexus_pb2 as nexus_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine.standalone import nexus_operation as no

from . import convert, errors, rpc_executions, standalone_common, tokens
from .frontend import Frontend
from .nexus_links import proto_links
from .nexus_tasks import NexusTask
from .rpc_reads import list_page
from .standalone_nexus import Entry, StandaloneNexus

Context = grpc.aio.ServicerContext[Any, Any]
_S = no.Status
ID_LIMIT = 1000  # limit.maxIDLength
NAME_LIMIT = 1000  # nexusoperation.limit.{service,operation}.name.length
REASON_LIMIT = 1000  # nexusoperation.limit.reasonLength
HEADER_LIMIT = 8192  # nexusoperation.limit.header.size
PAYLOAD_LIMIT = 2 * 1024 * 1024  # limit.blobSize.error
SUMMARY_LIMIT = 400  # limit.userMetadataSummarySize
DETAILS_LIMIT = 20000  # limit.userMetadataDetailsSize
# nexusoperation.disallowedHeaders (config.go): request-timeout and the frontend's own
DISALLOWED_HEADERS = frozenset(
    {
        "request-timeout",
        "xdc-redirection",
        "xdc-redirection-api",
        "xdc-redirection-source-cell",
        "caller-name",
        "caller-type",
        "call-initiation",
        "temporal-principal-type",
        "temporal-principal-name",
    }
)
API_STATUS = {  # operationExecutionStatus
    _S.SCHEDULED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING,
    _S.BACKING_OFF: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING,
    _S.STARTED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING,
    _S.SUCCEEDED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED,
    _S.FAILED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_FAILED,
    _S.CANCELED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED,
    _S.TIMED_OUT: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT,
    _S.TERMINATED: nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED,
}
PENDING_STATE = {  # PendingOperationState
    _S.SCHEDULED: common_enums.PENDING_NEXUS_OPERATION_STATE_SCHEDULED,
    _S.BACKING_OFF: common_enums.PENDING_NEXUS_OPERATION_STATE_BACKING_OFF,
    _S.STARTED: common_enums.PENDING_NEXUS_OPERATION_STATE_STARTED,
}
_C = no.CancelStatus
CANCEL_STATE = {  # CancellationAPIState (REQUESTED, not sent yet, is UNSPECIFIED)
    _C.SCHEDULED: common_enums.NEXUS_OPERATION_CANCELLATION_STATE_SCHEDULED,
    _C.BACKING_OFF: common_enums.NEXUS_OPERATION_CANCELLATION_STATE_BACKING_OFF,
    _C.SUCCEEDED: common_enums.NEXUS_OPERATION_CANCELLATION_STATE_SUCCEEDED,
    _C.FAILED: common_enums.NEXUS_OPERATION_CANCELLATION_STATE_FAILED,
}
STATUS_KEYWORD = {  # the ExecutionStatus keyword: the Go enum's String()
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_RUNNING: "Running",
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_COMPLETED: "Completed",
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_FAILED: "Failed",
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_CANCELED: "Canceled",
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TERMINATED: "Terminated",
    nexus_enums.NEXUS_OPERATION_EXECUTION_STATUS_TIMED_OUT: "TimedOut",
}
# the operation's own search attributes (operation.go SearchAttributes), besides the
# business id (OperationId) and ExecutionStatus
OPERATION_ATTRIBUTES = {
    "OperationId": "KEYWORD",
    "Endpoint": "KEYWORD",
    "Service": "KEYWORD",
    "Operation": "KEYWORD",
    "RequestId": "KEYWORD",
}


def _store(fe: Frontend) -> StandaloneNexus:
    if fe.standalone_nexus is None:
        fe.standalone_nexus = StandaloneNexus(fe)
    return fe.standalone_nexus


# -- validation (validator.go) ----------------------------------------------------------


def _length(field: str, value: str, limit: int = ID_LIMIT) -> None:
    if len(value) > limit:
        raise errors.invalid(f"{field} exceeds length limit. Length={len(value)} Limit={limit}")


def _request_id(value: str) -> str:
    """normalizeRequestID: a new UUID when empty."""
    if not value:
        return str(uuid.uuid4())
    _length("request_id", value)
    return value


def _operation_id(value: str) -> None:
    if not value:
        raise errors.invalid("operation_id is required")
    _length("operation_id", value)


def _run_id(value: str) -> None:
    if not value:
        return
    try:
        uuid.UUID(value)
    except ValueError:
        raise errors.invalid("run_id is not a valid UUID") from None


def _timeouts(req: ws.StartNexusOperationExecutionRequest) -> no.Timeouts:
    """validateAndCapTimeouts: none negative; the others capped to schedule-to-close."""
    spans = []
    for name in (
        "schedule_to_close_timeout",
        "schedule_to_start_timeout",
        "start_to_close_timeout",
    ):
        duration = getattr(req, name)
        if (duration.seconds > 0 and duration.nanos < 0) or (
            duration.seconds < 0 and duration.nanos > 0
        ):
            raise errors.invalid(
                f"{name} is invalid: duration has seconds and nanos with different signs"
            )
        span = convert.nanos(duration)
        if span < 0:
            raise errors.invalid(f"{name} is invalid: negative duration")
        spans.append(span)
    close, start, run = spans
    if close:
        start, run = min(start, close), min(run, close)
    return no.Timeouts(close, start, run)


def _validate_start(req: ws.StartNexusOperationExecutionRequest) -> no.Timeouts:
    req.request_id = _request_id(req.request_id)
    _operation_id(req.operation_id)
    _length("identity", req.identity)
    if not req.endpoint:
        raise errors.invalid("endpoint is required")
    if not req.service:
        raise errors.invalid("service is required")
    _length("service", req.service, NAME_LIMIT)
    if not req.operation:
        raise errors.invalid("operation is required")
    _length("operation", req.operation, NAME_LIMIT)
    timeouts = _timeouts(req)
    size = req.input.ByteSize()
    if size > PAYLOAD_LIMIT:
        raise errors.invalid(f"input exceeds size limit. Length={size} Limit={PAYLOAD_LIMIT}")
    for part, limit in (("summary", SUMMARY_LIMIT), ("details", DETAILS_LIMIT)):
        size = getattr(req.user_metadata, part).ByteSize()
        if size > limit:
            raise errors.invalid(
                f"user_metadata.{part} exceeds size limit. Length={size} Limit={limit}"
            )
    lowered: dict[str, str] = {}
    total = 0
    for key, value in req.nexus_header.items():
        low = key.lower()
        total += len(low) + len(value)
        if low in DISALLOWED_HEADERS:
            raise errors.invalid(f'nexus_header contains a disallowed key: "{key}"')
        lowered[low] = value
    if total > HEADER_LIMIT:
        raise errors.invalid("nexus_header exceeds size limit")
    req.nexus_header.clear()
    req.nexus_header.update(lowered)
    if not req.id_reuse_policy:
        req.id_reuse_policy = nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE
    if not req.id_conflict_policy:
        req.id_conflict_policy = nexus_enums.NEXUS_OPERATION_ID_CONFLICT_POLICY_FAIL
    return timeouts


def _validate_change(req: Any) -> None:
    """validateCancelOrTerminateRequest, after the request id is filled in."""
    req.request_id = _request_id(req.request_id)
    _operation_id(req.operation_id)
    _run_id(req.run_id)
    _length("identity", req.identity)
    if len(req.reason) > REASON_LIMIT:
        raise errors.invalid(
            f"reason exceeds length limit. Length={len(req.reason)} Limit={REASON_LIMIT}"
        )


# -- start --------------------------------------------------------------------------


def _reusable(record: no.NexusOperation, policy: int) -> bool:
    """May a closed run's id start a new run (the business-id reuse policy)?"""
    if policy == nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_REJECT_DUPLICATE:
        return False
    if policy == nexus_enums.NEXUS_OPERATION_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
        return record.status is not _S.SUCCEEDED
    return True


def _already_started(entry: Entry) -> errors.ServiceError:
    request_id, run_id = entry.request.request_id, entry.operation.run_id
    details = details_pb.NexusOperationExecutionAlreadyStartedFailure(
        start_request_id=request_id, run_id=run_id
    )
    message = f"nexus operation execution already started: request_id={request_id}, run_id={run_id}"
    return errors.ServiceError(grpc.StatusCode.ALREADY_EXISTS, message, details)


async def start_nexus_operation_execution(
    fe: Frontend, req: ws.StartNexusOperationExecutionRequest, context: Context
) -> ws.StartNexusOperationExecutionResponse:
    store = _store(fe)
    fe.namespace(req.namespace)
    timeouts = _validate_start(req)
    # the search attributes are checked and typed with the rest of the request, before
    # the endpoint is looked up (validateAndNormalizeStartRequest, validator.go)
    rpc_executions.check_search_attributes(fe, req.namespace, req)
    registry = fe.nexus_endpoints
    if registry is None or registry.named(req.endpoint) is None:
        raise errors.not_found(f"could not find Nexus endpoint by name: {req.endpoint}")
    runs = store.runs.get((req.namespace, req.operation_id), [])
    latest = runs[-1] if runs else None
    if latest is not None:
        if req.request_id == latest.request.request_id:
            return _started(latest, False)
        use_existing = nexus_enums.NEXUS_OPERATION_ID_CONFLICT_POLICY_USE_EXISTING
        if latest.operation.running and req.id_conflict_policy == use_existing:
            return _started(latest, False)
        if latest.operation.running or not _reusable(latest.operation, req.id_reuse_policy):
            raise _already_started(latest)
    return _started(store.add(req.namespace, req, timeouts), True)


def _started(entry: Entry, created: bool) -> ws.StartNexusOperationExecutionResponse:
    return ws.StartNexusOperationExecutionResponse(run_id=entry.operation.run_id, started=created)


# -- reads --------------------------------------------------------------------------


def _fill_outcome(out: Any, record: no.NexusOperation) -> None:
    """Operation.outcome on a closed run: the result, or the failure."""
    if record.running:
        return
    if record.status is _S.SUCCEEDED:
        if record.result is not None:
            convert.fill(out.result, record.result)
        return
    failure = record.outcome_failure()
    if failure is not None:
        convert.fill(out.failure, failure)


def info(entry: Entry, now: int) -> nexus_pb.NexusOperationExecutionInfo:
    """buildExecutionInfo."""
    record, start = entry.operation, entry.request
    out = nexus_pb.NexusOperationExecutionInfo(
        operation_id=record.operation_id,
        run_id=record.run_id,
        endpoint=record.endpoint,
        service=record.service,
        operation=record.operation,
        status=API_STATUS[record.status],
        state=PENDING_STATE.get(
            record.status, common_enums.PENDING_NEXUS_OPERATION_STATE_UNSPECIFIED
        ),
        attempt=record.attempt,
        request_id=record.request_id,
        operation_token=record.operation_token,
        state_transition_count=record.transitions,
        identity=start.identity,
    )
    timeouts = record.timeouts
    for name, span in (
        ("schedule_to_close_timeout", timeouts.schedule_to_close),
        ("schedule_to_start_timeout", timeouts.schedule_to_start),
        ("start_to_close_timeout", timeouts.start_to_close),
    ):
        if span:
            getattr(out, name).CopyFrom(convert.duration(span))
    out.schedule_time.CopyFrom(convert.timestamp(record.schedule_time))
    if timeouts.schedule_to_close:
        expiry = record.schedule_time + timeouts.schedule_to_close
        out.expiration_time.CopyFrom(convert.timestamp(expiry))
    for name, at in (
        ("last_attempt_complete_time", record.last_attempt_complete),
        ("next_attempt_schedule_time", record.next_attempt),
        ("close_time", record.close_time),
    ):
        if at:
            getattr(out, name).CopyFrom(convert.timestamp(at))
    end = record.close_time or now
    out.execution_duration.CopyFrom(convert.duration(end - record.schedule_time))
    if record.last_attempt_failure is not None:
        convert.fill(out.last_attempt_failure, record.last_attempt_failure)
    cancel = record.cancellation
    if cancel is not None:
        ci = out.cancellation_info
        # no requested_time: the 1.32.0 dev server describes none
        ci.state = CANCEL_STATE.get(
            cancel.status, common_enums.NEXUS_OPERATION_CANCELLATION_STATE_UNSPECIFIED
        )
        ci.attempt = cancel.attempt
        ci.reason = cancel.reason
        if cancel.last_attempt_complete:
            ci.last_attempt_complete_time.CopyFrom(convert.timestamp(cancel.last_attempt_complete))
        if cancel.next_attempt:
            ci.next_attempt_schedule_time.CopyFrom(convert.timestamp(cancel.next_attempt))
        if cancel.last_attempt_failure is not None:
            convert.fill(ci.last_attempt_failure, cancel.last_attempt_failure)
    out.search_attributes.CopyFrom(start.search_attributes)
    out.nexus_header.update(start.nexus_header)
    out.user_metadata.CopyFrom(start.user_metadata)
    for link in record.links:
        convert.fill(out.links.add(), link)
    return out


def _poll_token(record: no.NexusOperation) -> bytes:
    return tokens.page_token(run=record.run_id, transitions=record.transitions)


async def describe_nexus_operation_execution(
    fe: Frontend, req: ws.DescribeNexusOperationExecutionRequest, context: Context
) -> ws.DescribeNexusOperationExecutionResponse:
    store = _store(fe)
    fe.namespace(req.namespace)
    _operation_id(req.operation_id)
    if req.long_poll_token and not req.run_id:
        raise errors.invalid("run_id is required when long_poll_token is provided")
    _run_id(req.run_id)
    seen = None
    if req.long_poll_token:
        try:
            fields = json.loads(req.long_poll_token)
            seen, run = int(fields["transitions"]), str(fields["run"])
        except (ValueError, KeyError, TypeError):
            raise errors.invalid("invalid long poll token") from None
        if run != req.run_id:
            raise errors.invalid("long poll token does not match execution")
    entry = store.current(req.namespace, req.operation_id, req.run_id)
    while seen is not None and entry.operation.transitions == seen:
        if not await store.changed(entry, fe.deadline(context)):
            return ws.DescribeNexusOperationExecutionResponse()  # poll again
    record = entry.operation
    out = ws.DescribeNexusOperationExecutionResponse(
        run_id=record.run_id, info=info(entry, fe.now()), long_poll_token=_poll_token(record)
    )
    if req.include_input:
        out.input.CopyFrom(entry.request.input)
    if req.include_outcome:
        _fill_outcome(out, record)
    return out


def _reached(record: no.NexusOperation, stage: int) -> bool:
    """isWaitStageReached."""
    if stage == nexus_enums.NEXUS_OPERATION_WAIT_STAGE_STARTED:
        return record.status is _S.STARTED or not record.running
    return not record.running


async def poll_nexus_operation_execution(
    fe: Frontend, req: ws.PollNexusOperationExecutionRequest, context: Context
) -> ws.PollNexusOperationExecutionResponse:
    store = _store(fe)
    stage = req.wait_stage or nexus_enums.NEXUS_OPERATION_WAIT_STAGE_CLOSED
    if stage not in (
        nexus_enums.NEXUS_OPERATION_WAIT_STAGE_STARTED,
        nexus_enums.NEXUS_OPERATION_WAIT_STAGE_CLOSED,
    ):
        name = (
            nexus_enums.NexusOperationWaitStage.Name(stage)
            if stage in (nexus_enums.NexusOperationWaitStage.values())
            else str(stage)
        )
        raise errors.invalid(f"unsupported wait_stage: {name}")
    _operation_id(req.operation_id)
    _run_id(req.run_id)
    entry = store.current(req.namespace, req.operation_id, req.run_id)
    while not _reached(entry.operation, stage):
        if not await store.changed(entry, fe.deadline(context)):
            return ws.PollNexusOperationExecutionResponse()  # an invitation to poll again
    record = entry.operation
    out = ws.PollNexusOperationExecutionResponse(
        run_id=record.run_id, operation_token=record.operation_token
    )
    if record.running:
        out.wait_stage = nexus_enums.NEXUS_OPERATION_WAIT_STAGE_STARTED
    else:
        out.wait_stage = nexus_enums.NEXUS_OPERATION_WAIT_STAGE_CLOSED
        _fill_outcome(out, record)
    return out


def _row(entry: Entry) -> standalone_common.Row:
    record = entry.operation
    system = {  # operation.go SearchAttributes, the business id and the run id
        "OperationId": record.operation_id,
        "Endpoint": record.endpoint,
        "Service": record.service,
        "Operation": record.operation,
        "RequestId": record.request_id,
        "ExecutionStatus": STATUS_KEYWORD[API_STATUS[record.status]],
        "RunId": record.run_id,
    }
    return standalone_common.Row(system, entry.request.search_attributes)


def _matching(fe: Frontend, namespace: str, text: str) -> list[Entry]:
    types = {**fe.search_attribute_types(namespace), **OPERATION_ATTRIBUTES}
    entries = _store(fe).entries(namespace)
    found = standalone_common.matching(entries, text, types, _row, order_by=False)
    return sorted(found, key=lambda e: -e.operation.schedule_time)


async def list_nexus_operation_executions(
    fe: Frontend, req: ws.ListNexusOperationExecutionsRequest, context: Context
) -> ws.ListNexusOperationExecutionsResponse:
    fe.namespace(req.namespace)
    entries, next_page = list_page(_matching(fe, req.namespace, req.query), req)
    out = ws.ListNexusOperationExecutionsResponse(next_page_token=next_page)
    for entry in entries:
        record = entry.operation
        row = out.operations.add(
            operation_id=record.operation_id,
            run_id=record.run_id,
            endpoint=record.endpoint,
            service=record.service,
            operation=record.operation,
            status=API_STATUS[record.status],
        )
        row.schedule_time.CopyFrom(convert.timestamp(record.schedule_time))
        row.search_attributes.CopyFrom(entry.request.search_attributes)
        if record.close_time:  # visibility counts transitions when the run closes
            row.close_time.CopyFrom(convert.timestamp(record.close_time))
            span = record.close_time - record.schedule_time
            row.execution_duration.CopyFrom(convert.duration(span))
            row.state_transition_count = record.transitions
    return out


async def count_nexus_operation_executions(
    fe: Frontend, req: ws.CountNexusOperationExecutionsRequest, context: Context
) -> ws.CountNexusOperationExecutionsResponse:
    fe.namespace(req.namespace)
    types = {**fe.search_attribute_types(req.namespace), **OPERATION_ATTRIBUTES}
    query = standalone_common.parsed(req.query, types, order_by=False)
    rows = [_row(e) for e in _store(fe).entries(req.namespace)]
    found = [row for row in rows if query.matches(row)]
    out = ws.CountNexusOperationExecutionsResponse()
    return standalone_common.counted(out, query, found)


# -- changes ------------------------------------------------------------------------


def _change(input_: no.Input, response: type) -> Any:
    """RequestCancelNexusOperationExecution or TerminateNexusOperationExecution: the run
    named, then the input with the caller's identity, request id and reason."""

    async def handler(fe: Frontend, req: Any, context: Context) -> Any:
        store = _store(fe)
        fe.namespace(req.namespace)
        _validate_change(req)
        entry = store.current(req.namespace, req.operation_id, req.run_id)
        event = no.Event(
            input_, fe.now(), identity=req.identity, request_id=req.request_id, reason=req.reason
        )
        store.apply(entry, event)
        return response()

    return handler


request_cancel_nexus_operation_execution = _change(
    no.Input.REQUEST_CANCEL, ws.RequestCancelNexusOperationExecutionResponse
)
terminate_nexus_operation_execution = _change(
    no.Input.TERMINATE, ws.TerminateNexusOperationExecutionResponse
)


async def delete_nexus_operation_execution(
    fe: Frontend, req: ws.DeleteNexusOperationExecutionRequest, context: Context
) -> ws.DeleteNexusOperationExecutionResponse:
    """Terminate the run if it runs ("Delete nexus operation execution", handler.go),
    then forget it."""
    store = _store(fe)
    fe.namespace(req.namespace)
    _operation_id(req.operation_id)
    _run_id(req.run_id)
    entry = store.current(req.namespace, req.operation_id, req.run_id)
    if entry.operation.running:
        reason = "Delete nexus operation execution"
        store.apply(entry, no.Event(no.Input.TERMINATE, fe.now(), reason=reason))
    store.forget(entry)
    return ws.DeleteNexusOperationExecutionResponse()


# -- the handler worker's answers (rpc_nexus_tasks.py) ------------------------------


def start_answered(fe: Frontend, task: NexusTask, start: nexus_pb.StartOperationResponse) -> None:
    """saveInvocationResult: a result closes the operation, a token starts it, an
    operation error fails or cancels it (the attempt's failure)."""
    store = _store(fe)
    outcome = start.WhichOneof("variant")
    attempt = task.scheduled_event_id
    if outcome == "sync_success":
        links = proto_links(start.sync_success.links)
        event = no.Event(
            no.Input.SYNC_SUCCEEDED,
            fe.now(),
            attempt=attempt,
            payload=convert.opaque(start.sync_success, "payload"),
            links=_links(links),
        )
    elif outcome == "async_success":
        started = start.async_success
        event = no.Event(
            no.Input.ASYNC_STARTED,
            fe.now(),
            attempt=attempt,
            token=started.operation_token or started.operation_id,
            links=_links(proto_links(started.links)),
        )
    else:
        canceled = start.failure.HasField("canceled_failure_info")
        kind = no.Input.ATTEMPT_CANCELED if canceled else no.Input.ATTEMPT_FAILED
        event = no.Event(kind, fe.now(), attempt=attempt, payload=convert.opaque(start, "failure"))
    store.answer(task, event)


def _links(links: Any) -> tuple[Any, ...]:
    value = links.value() if links is not None else None
    return tuple(value) if isinstance(value, list) else ()


def cancel_answered(fe: Frontend, task: NexusTask) -> None:
    event = no.Event(no.CancelInput.DELIVERED, fe.now(), attempt=task.scheduled_event_id)
    _store(fe).answer(task, event)


def failed(fe: Frontend, task: NexusTask, failure: failure_pb.Failure) -> None:
    """A handler error not retried: the attempt (or the cancel request) failed."""
    _store(fe).attempt_failed(task, failure, retryable=False)
