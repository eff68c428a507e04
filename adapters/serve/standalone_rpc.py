"""The standalone activity API: StartActivityExecution, DescribeActivityExecution,
PollActivityExecution, ListActivityExecutions, CountActivityExecutions,
RequestCancelActivityExecution, TerminateActivityExecution and
DeleteActivityExecution (chasm/lib/activity `frontend.go`, `handler.go`), and the
workers' calls on a standalone attempt (`worker_call`, from rpc_tasks.py).

The start request is validated as the frontend validates it (`validator.go`; the
messages are the dev server's), its timeouts normalized as a workflow activity's and
its retry policy filled in with the server's defaults. Id reuse and conflict policies
follow CHASM's business-id policies (`chasm.WithBusinessIDPolicy`). The operator
commands (Pause/Unpause/Reset/UpdateActivityExecutionOptions) are rpc_activity_exec.py's.
Completion callbacks to this server are called when the run closes
(activity_callbacks.py). Not served: callbacks to another URL (a start that asks for them
is refused UNIMPLEMENTED) and eager
execution (never granted, as the server does not grant it yet). A start's links are
kept and described as given, not validated, and links of a later start that meets the
run (on_conflict_options) are not attached.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import activity_pb2 as act_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine.history.service.activity_tasks import normalize_timeouts
from core.statemachine.history.service.retry import retry_policy
from core.statemachine.standalone import activity as sa

from . import activity_callbacks, convert, errors, rpc_executions, standalone_common, tokens
from .frontend import Frontend
from .nexus_tasks import SYSTEM_CALLBACK
from .rpc_reads import list_page
from .standalone import Entry, StandaloneActivities
from .standalone import retry_policy as policy_proto

Context = grpc.aio.ServicerContext[Any, Any]
_S = sa.Status
API_STATUS = {  # InternalStatusToAPIStatus
    _S.SCHEDULED: act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING,
    _S.PAUSED: act_enums.ACTIVITY_EXECUTION_STATUS_PAUSED,
    _S.STARTED: act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING,
    _S.CANCEL_REQUESTED: act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING,
    _S.PAUSE_REQUESTED: act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING,
    _S.RESET_REQUESTED: act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING,
    _S.COMPLETED: act_enums.ACTIVITY_EXECUTION_STATUS_COMPLETED,
    _S.FAILED: act_enums.ACTIVITY_EXECUTION_STATUS_FAILED,
    _S.CANCELED: act_enums.ACTIVITY_EXECUTION_STATUS_CANCELED,
    _S.TERMINATED: act_enums.ACTIVITY_EXECUTION_STATUS_TERMINATED,
    _S.TIMED_OUT: act_enums.ACTIVITY_EXECUTION_STATUS_TIMED_OUT,
}
RUN_STATE = {  # Activity.runState
    _S.SCHEDULED: wf_enums.PENDING_ACTIVITY_STATE_SCHEDULED,
    _S.PAUSED: wf_enums.PENDING_ACTIVITY_STATE_PAUSED,
    _S.STARTED: wf_enums.PENDING_ACTIVITY_STATE_STARTED,
    _S.CANCEL_REQUESTED: wf_enums.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED,
    _S.PAUSE_REQUESTED: wf_enums.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED,
}


def run_state(record: sa.StandaloneActivity) -> wf_enums.PendingActivityState.ValueType:
    """Activity.runState: a reset-requested attempt shows as started, or as
    pause-requested when the reset keeps it paused (no RESET_REQUESTED state exists)."""
    if record.status is _S.RESET_REQUESTED:
        if record.reset_should_pause:
            return wf_enums.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
        return wf_enums.PENDING_ACTIVITY_STATE_STARTED
    return RUN_STATE.get(record.status, wf_enums.PENDING_ACTIVITY_STATE_UNSPECIFIED)


# visibility's ExecutionStatus keyword of each API status (ActivityExecutionStatus names)
STATUS_KEYWORD = {
    act_enums.ACTIVITY_EXECUTION_STATUS_RUNNING: "Running",
    act_enums.ACTIVITY_EXECUTION_STATUS_PAUSED: "Paused",
    act_enums.ACTIVITY_EXECUTION_STATUS_COMPLETED: "Completed",
    act_enums.ACTIVITY_EXECUTION_STATUS_FAILED: "Failed",
    act_enums.ACTIVITY_EXECUTION_STATUS_CANCELED: "Canceled",
    act_enums.ACTIVITY_EXECUTION_STATUS_TERMINATED: "Terminated",
    act_enums.ACTIVITY_EXECUTION_STATUS_TIMED_OUT: "TimedOut",
}
ACTIVITY_ATTRIBUTES = {"ActivityId": "KEYWORD", "ActivityType": "KEYWORD"}
CALLBACKS_NOT_SERVED = (
    "completion callbacks of a standalone activity to other than temporal://system are not "
    "implemented by tmodel serve"
)


def _store(fe: Frontend) -> StandaloneActivities:
    store: StandaloneActivities | None = getattr(fe, "standalone", None)
    if store is None:
        raise errors.unimplemented("StartActivityExecution")
    return store


# -- start --------------------------------------------------------------------------


def _options(req: ws.StartActivityExecutionRequest) -> sa.Options:
    """The request's options, validated (validator.go, validateAndNormalizeTimeouts)."""
    if not req.activity_id:
        raise errors.invalid("activityId is not set")
    if not req.activity_type.name:
        raise errors.invalid("activityType is not set")
    if not req.task_queue.name:
        raise errors.invalid("taskQueue is not set")
    spans = [
        convert.nanos(d)
        for d in (
            req.schedule_to_close_timeout,
            req.schedule_to_start_timeout,
            req.start_to_close_timeout,
            req.heartbeat_timeout,
            req.start_delay,
        )
    ]
    if any(span < 0 for span in spans):
        raise errors.invalid("a timeout or start delay of the activity is negative")
    timeouts = normalize_timeouts(spans[0], spans[1], spans[2], spans[3], 0)
    if timeouts is None:
        raise errors.invalid(
            "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the "
            f"activity. ActivityId={req.activity_id} ActivityType={req.activity_type.name}"
        )
    try:
        policy = retry_policy(convert.opaque(req, "retry_policy"))
    except ValueError as exc:
        raise errors.invalid(f"invalid retry policy: {exc}") from None
    return sa.Options(req.activity_type.name, req.task_queue.name, *timeouts, spans[4], policy)


def _reusable(record: sa.StandaloneActivity, policy: int) -> bool:
    """May a closed run's id start a new run (the business-id reuse policy)?"""
    if policy == act_enums.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE:
        return False
    if policy == act_enums.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY:
        return record.status is not _S.COMPLETED
    return True


def _already_started(entry: Entry) -> errors.ServiceError:
    details = details_pb.ActivityExecutionAlreadyStartedFailure(
        start_request_id=entry.activity.request_id, run_id=entry.activity.run_id
    )
    return errors.ServiceError(
        grpc.StatusCode.ALREADY_EXISTS, "activity execution already started", details
    )


async def start_activity_execution(
    fe: Frontend, req: ws.StartActivityExecutionRequest, context: Context
) -> ws.StartActivityExecutionResponse:
    store = _store(fe)
    fe.namespace(req.namespace)
    options = _options(req)
    # then the search attributes, checked and typed as a workflow start's, before the
    # completion callbacks (validateAndNormalizeStartRequest, chasm/lib/activity/frontend.go)
    rpc_executions.check_search_attributes(fe, req.namespace, req)
    if any(c.nexus.url != SYSTEM_CALLBACK for c in req.completion_callbacks):
        # refused rather than dropped: only this server's own callers are called back
        raise errors.ServiceError(grpc.StatusCode.UNIMPLEMENTED, CALLBACKS_NOT_SERVED)
    runs = store.runs.get((req.namespace, req.activity_id), [])
    latest = runs[-1] if runs else None
    if latest is not None:
        same_request = bool(req.request_id) and req.request_id == latest.activity.request_id
        if same_request or (
            latest.activity.running
            and req.id_conflict_policy == act_enums.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING
        ):
            return _started(req, latest, False)
        if latest.activity.running or not _reusable(latest.activity, req.id_reuse_policy):
            raise _already_started(latest)
    return _started(req, store.add(req.namespace, req, options), True)


def _started(
    req: ws.StartActivityExecutionRequest, entry: Entry, created: bool
) -> ws.StartActivityExecutionResponse:
    out = ws.StartActivityExecutionResponse(run_id=entry.activity.run_id, started=created)
    out.link.activity.namespace = req.namespace
    out.link.activity.activity_id = req.activity_id
    out.link.activity.run_id = entry.activity.run_id
    return out


# -- reads --------------------------------------------------------------------------


def _failure(value: Any) -> failure_pb.Failure:
    return convert.fill(failure_pb.Failure(), value)


def outcome(record: sa.StandaloneActivity) -> activity_pb.ActivityExecutionOutcome | None:
    """A closed run's result or failure (Activity.outcome); None while it runs."""
    if record.running:
        return None
    out = activity_pb.ActivityExecutionOutcome()
    if record.status is _S.COMPLETED:
        convert.fill(out.result, record.result)
        return out
    failure = record.outcome_failure
    if failure is None:
        return None
    out.failure.CopyFrom(_failure(failure))
    out.retry_state = wf_enums.RetryState.Value(f"RETRY_STATE_{record.retry_state.name}")
    return out


def info(
    entry: Entry, req: ws.DescribeActivityExecutionRequest, now: int
) -> activity_pb.ActivityExecutionInfo:
    """buildActivityExecutionInfo."""
    record, start = entry.activity, entry.request
    options = record.options
    out = activity_pb.ActivityExecutionInfo(
        activity_id=record.activity_id,
        run_id=record.run_id,
        activity_type=common_pb.ActivityType(name=options.activity_type),
        status=API_STATUS[record.status],
        run_state=run_state(record),
        task_queue=options.task_queue,
        attempt=record.attempt,
        last_worker_identity=record.identity,
        canceled_reason=record.cancel_reason,
        state_transition_count=record.transitions,
        total_heartbeat_count=record.heartbeat_count,
        retry_policy=policy_proto(options.retry_policy),
    )
    for name, span in (
        ("schedule_to_close_timeout", options.schedule_to_close),
        ("schedule_to_start_timeout", options.schedule_to_start),
        ("start_to_close_timeout", options.start_to_close),
        ("heartbeat_timeout", options.heartbeat),
        ("start_delay", options.start_delay),
    ):
        getattr(out, name).CopyFrom(convert.duration(span))
    times = (
        ("schedule_time", record.schedule_time),
        ("execution_time", record.schedule_time + options.start_delay),
        ("expiration_time", record.deadline),
        ("last_started_time", record.started_time),
        ("last_attempt_complete_time", record.complete_time),
        ("last_heartbeat_time", record.heartbeat_time),
        ("close_time", record.close_time),
    )
    for name, at in times:
        if at:
            getattr(out, name).CopyFrom(convert.timestamp(at))
    if record.close_time:
        out.execution_duration.CopyFrom(convert.duration(record.close_time - record.schedule_time))
    scheduled = record.running and record.status is _S.SCHEDULED
    if scheduled and record.retry_interval:
        out.current_retry_interval.CopyFrom(convert.duration(record.retry_interval))
    if scheduled and record.dispatch_time > now:  # nextAttemptDispatchTime: still ahead
        out.next_attempt_schedule_time.CopyFrom(convert.timestamp(record.dispatch_time))
    out.search_attributes.CopyFrom(start.search_attributes)
    out.header.CopyFrom(start.header)
    out.user_metadata.CopyFrom(start.user_metadata)
    out.priority.CopyFrom(start.priority)
    out.links.extend(start.links)  # the start's links, kept as given (attachLinks)
    if req.include_heartbeat_details:
        convert.fill(out.heartbeat_details, record.heartbeat_details)
    if req.include_last_failure and record.last_failure is not None:
        out.last_failure.CopyFrom(_failure(record.last_failure))
    return out


def _poll_token(record: sa.StandaloneActivity) -> bytes:
    return tokens.page_token(run=record.run_id, transitions=record.transitions)


async def describe_activity_execution(
    fe: Frontend, req: ws.DescribeActivityExecutionRequest, context: Context
) -> ws.DescribeActivityExecutionResponse:
    store = _store(fe)
    entry = store.current(req.namespace, req.activity_id, req.run_id)
    if req.long_poll_token:
        try:
            fields = json.loads(req.long_poll_token)
            seen = int(fields["transitions"])
            run = str(fields["run"])
        except (ValueError, KeyError, TypeError):
            raise errors.invalid("invalid long poll token") from None
        if run != entry.activity.run_id:
            raise errors.invalid("long poll token does not match execution")
        while entry.activity.transitions == seen:
            if not await store.changed(entry, fe.deadline(context)):
                return ws.DescribeActivityExecutionResponse()  # poll again
    record = entry.activity
    out = ws.DescribeActivityExecutionResponse(
        run_id=record.run_id, info=info(entry, req, fe.now()), long_poll_token=_poll_token(record)
    )
    if req.include_input:
        out.input.CopyFrom(entry.request.input)
    out.callbacks.extend(activity_callbacks.described(fe, entry))
    closing = outcome(record) if req.include_outcome else None
    if closing is not None:
        out.outcome.CopyFrom(closing)
    return out


async def poll_activity_execution(
    fe: Frontend, req: ws.PollActivityExecutionRequest, context: Context
) -> ws.PollActivityExecutionResponse:
    store = _store(fe)
    entry = store.current(req.namespace, req.activity_id, req.run_id)
    while entry.activity.running:
        if not await store.changed(entry, fe.deadline(context)):
            return ws.PollActivityExecutionResponse()  # an invitation to poll again
    out = ws.PollActivityExecutionResponse(run_id=entry.activity.run_id)
    closing = outcome(entry.activity)
    if closing is not None:
        out.outcome.CopyFrom(closing)
    return out


def _row(entry: Entry) -> standalone_common.Row:
    record = entry.activity
    system = {
        "ActivityId": record.activity_id,
        "ActivityType": record.options.activity_type,
        "ExecutionStatus": STATUS_KEYWORD[API_STATUS[record.status]],
        "TaskQueue": record.options.task_queue,
        "RunId": record.run_id,
    }
    return standalone_common.Row(system, entry.request.search_attributes)


def _matching(fe: Frontend, namespace: str, text: str) -> list[Entry]:
    types = {**fe.search_attribute_types(namespace), **ACTIVITY_ATTRIBUTES}
    found = standalone_common.matching(_store(fe).entries(namespace), text, types, _row)
    return sorted(found, key=lambda e: -e.activity.schedule_time)


async def list_activity_executions(
    fe: Frontend, req: ws.ListActivityExecutionsRequest, context: Context
) -> ws.ListActivityExecutionsResponse:
    fe.namespace(req.namespace)
    entries, next_page = list_page(_matching(fe, req.namespace, req.query), req)
    out = ws.ListActivityExecutionsResponse(next_page_token=next_page)
    for entry in entries:
        record = entry.activity
        row = out.executions.add(
            activity_id=record.activity_id,
            run_id=record.run_id,
            status=API_STATUS[record.status],
            task_queue=record.options.task_queue,
        )
        row.activity_type.name = record.options.activity_type
        row.schedule_time.CopyFrom(convert.timestamp(record.schedule_time))
        row.execution_time.CopyFrom(
            convert.timestamp(record.schedule_time + record.options.start_delay)
        )
        row.search_attributes.CopyFrom(entry.request.search_attributes)
        if record.close_time:  # visibility counts transitions when the run closes
            row.close_time.CopyFrom(convert.timestamp(record.close_time))
            row.execution_duration.CopyFrom(
                convert.duration(record.close_time - record.schedule_time)
            )
            row.state_transition_count = record.transitions
    return out


async def count_activity_executions(
    fe: Frontend, req: ws.CountActivityExecutionsRequest, context: Context
) -> ws.CountActivityExecutionsResponse:
    fe.namespace(req.namespace)
    types = {**fe.search_attribute_types(req.namespace), **ACTIVITY_ATTRIBUTES}
    query = standalone_common.parsed(req.query, types)
    rows = [_row(e) for e in _store(fe).entries(req.namespace)]
    found = [row for row in rows if query.matches(row)]
    return standalone_common.counted(ws.CountActivityExecutionsResponse(), query, found)


# -- changes ------------------------------------------------------------------------


def _change(input_: sa.Input, response: type) -> Any:
    """RequestCancelActivityExecution or TerminateActivityExecution: the run named,
    then the input with the caller's identity, request id and reason."""

    async def handler(fe: Frontend, req: Any, context: Context) -> Any:
        store = _store(fe)
        entry = store.current(req.namespace, req.activity_id, req.run_id)
        event = sa.Event(
            input_, fe.now(), identity=req.identity, request_id=req.request_id, reason=req.reason
        )
        store.apply(entry, event)
        return response()

    return handler


request_cancel_activity_execution = _change(
    sa.Input.REQUEST_CANCEL, ws.RequestCancelActivityExecutionResponse
)
terminate_activity_execution = _change(sa.Input.TERMINATE, ws.TerminateActivityExecutionResponse)


async def delete_activity_execution(
    fe: Frontend, req: ws.DeleteActivityExecutionRequest, context: Context
) -> ws.DeleteActivityExecutionResponse:
    """Terminate the run if it runs ("Delete activity execution", handler.go), then
    forget it."""
    store = _store(fe)
    entry = store.current(req.namespace, req.activity_id, req.run_id)
    if entry.activity.running:
        reason = "Delete activity execution"
        store.apply(entry, sa.Event(sa.Input.TERMINATE, fe.now(), reason=reason))
    store.forget(entry)
    return ws.DeleteActivityExecutionResponse()


# -- workers' calls ----------------------------------------------------------------

WORKER_INPUTS = {  # the rpc_tasks action -> the table's input
    "complete": sa.Input.RESPOND_COMPLETED,
    "fail": sa.Input.RESPOND_FAILED,
    "cancel": sa.Input.RESPOND_CANCELED,
    "heartbeat": sa.Input.HEARTBEAT,
}


def worker_call(
    fe: Frontend, kind: str, namespace: str, activity_id: str, run_id: str, attempt: int, req: Any
) -> sa.Decision:
    """A worker's heartbeat or response (`kind`) on a standalone attempt, named by its
    token (`attempt` the token's) or by id (`attempt` 0); the frontend tells one from a
    workflow's activity by the empty workflow id (workflow_handler.go)."""
    store = _store(fe)
    entry = store.current(namespace, activity_id, run_id)
    fields = req.DESCRIPTOR.fields_by_name
    payload_field = next(f for f in ("result", "failure", "details") if f in fields)
    failure = req.failure if "failure" in fields else failure_pb.Failure()
    info = failure.application_failure_info
    event = sa.Event(
        WORKER_INPUTS[kind],
        fe.now(),
        attempt=attempt,
        payload=convert.opaque(req, payload_field),
        error_type=info.type,
        non_retryable=info.non_retryable or failure.server_failure_info.non_retryable,
        heartbeat=convert.opaque(req, "last_heartbeat_details")
        if "last_heartbeat_details" in fields
        else None,
        identity=req.identity,
    )
    return store.apply(entry, event)
