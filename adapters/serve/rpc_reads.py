"""Reading executions: DescribeWorkflowExecution, GetWorkflowExecutionHistory (pages,
long polls for new events, the close-event filter), GetWorkflowExecutionHistoryReverse,
ListWorkflowExecutions and CountWorkflowExecutions.

Histories are read from persistence as committed, as Temporal's frontend reads history
branches (`service/frontend/workflow_handler.go` GetWorkflowExecutionHistory); a long
poll (`wait_new_event`) waits for the history events notifier to report the next commit
to the run (watch.Notifier: after the committing call's reply), up to the long-poll limit
(`frontend.longPollExpirationInterval`, 20 s) or the caller's deadline, and then
answers with what it has, possibly nothing, and a token to continue from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.events import HistoryEvent
from core.events.workflow import WorkflowExecutionSignaledEventAttributes
from core.statemachine.history.service import unwritten_task
from core.statemachine.history.service.activity_ops import options_of
from core.statemachine.history.service.execution import reset_points_json
from core.statemachine.history.service.run_timeouts import run_expiry
from core.statemachine.history.service.state import MutableState
from sim.persistence import RunRecord

from . import convert, errors, tokens, validate, visibility
from .deployments import fill_versioning_info
from .frontend import Frontend
from .nexus_describe import callback_infos, pending_nexus_operations
from .query import EXECUTION_STATUSES, Row
from .rpc_activity_ops import fill_options
from .run_facts import is_reset_run, started_event, state_transitions

Context = grpc.aio.ServicerContext[Any, Any]
HISTORY_LONG_POLL = 20.0  # seconds
DEFAULT_PAGE = 1000  # frontend.historyMaxPageSize's default is 256; SDKs ask for more
MAX_PAGE = 10_000
LIST_PAGE = 1000
DIVISION = "TemporalNamespaceDivision"  # set on system workflows only


def _task_queue(name: str) -> tq_pb.TaskQueue:
    return tq_pb.TaskQueue(name=name, kind=tq_enums.TASK_QUEUE_KIND_NORMAL)


def execution_info(
    record: visibility.Record, *, listing: bool = False
) -> workflow_pb.WorkflowExecutionInfo:
    """A run's WorkflowExecutionInfo as Describe shows it (from mutable state,
    `service/history/api/describeworkflow/api.go`) or, with `listing`, as a List reply
    shows its visibility row."""
    run = record.run
    state = run.state
    info = workflow_pb.WorkflowExecutionInfo(
        execution=common_pb.WorkflowExecution(workflow_id=run.workflow_id, run_id=state.run_id),
        type=common_pb.WorkflowType(name=record.workflow_type),
        status=visibility.STATUS_NUMBERS[record.status],  # type: ignore[arg-type]
        task_queue=record.task_queue,
    )
    # Only the close visibility record carries the history's length and size and the
    # transition count (getClosedVisibilityRequest, service/history/
    # visibility_queue_task_executor.go: the start and upsert records leave them out);
    # Describe always has them. The count is mutable state's StateTransitionCount, one
    # per persisted update of the run (closeTransaction in workflow/mutable_state_impl.go
    # adds 1), which is the run's write count, `RunRecord.version` (one more for a run a
    # reset started, and for a child: run_facts.py). The size is the
    # encoded history as the store wrote it (runtime.py keeps it, `size_bytes`).
    if not listing or record.close_time:
        info.history_length = record.history_length
        info.history_size_bytes = run.size_bytes
        info.state_transition_count = state_transitions(run)
    if not listing:  # the visibility row keeps neither
        info.first_run_id = state.first_run_id or state.run_id
        if state.priority is not None:  # the Started event's, present only if it has one
            info.priority.SetInParent()
            convert.fill(info.priority, state.priority)
    # The SQL visibility store keeps times to the microsecond (the dev server's SQLite);
    # the duration is computed before, from the full times.
    shown = _microseconds if listing else _exact
    info.start_time.CopyFrom(convert.timestamp(shown(record.start_time)))
    info.execution_time.CopyFrom(convert.timestamp(shown(record.execution_time)))
    if record.close_time:
        info.close_time.CopyFrom(convert.timestamp(shown(record.close_time)))
        info.execution_duration.CopyFrom(
            convert.duration(max(0, record.close_time - record.execution_time))
        )
    info.memo.SetInParent()  # present, empty, in both replies when the start set none
    if record.memo:
        json_format.ParseDict({"fields": record.memo}, info.memo)
    if record.search_attributes:
        json_format.ParseDict({"indexedFields": record.search_attributes}, info.search_attributes)
    if record.parent is not None:
        info.parent_execution.workflow_id, info.parent_execution.run_id = record.parent
        start = started_event(run.events)
        if not listing and start is not None:  # mutable state's (describeworkflow/api.go)
            info.parent_namespace_id = start.parent_workflow_namespace_id
    info.root_execution.workflow_id, info.root_execution.run_id = record.root
    return info


def _exact(ns: int) -> int:
    return ns


def _microseconds(ns: int) -> int:
    return ns - ns % 1000


def _pending_activity(
    state: MutableState, info: Any, events: list[HistoryEvent]
) -> workflow_pb.PendingActivityInfo:
    # A paused activity not running is PAUSED, a running one PAUSE_REQUESTED; a cancel
    # request outranks both (GetPendingActivityInfo, service/history/workflow/activity.go).
    if info.cancel_requested_event_id:
        status = wf_enums.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
    elif info.started:
        status = wf_enums.PENDING_ACTIVITY_STATE_STARTED
        if info.pause is not None:
            status = wf_enums.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED
    elif info.pause is not None:
        status = wf_enums.PENDING_ACTIVITY_STATE_PAUSED
    else:
        status = wf_enums.PENDING_ACTIVITY_STATE_SCHEDULED
    out = workflow_pb.PendingActivityInfo(
        activity_id=info.activity_id,
        activity_type=common_pb.ActivityType(name=info.activity_type),
        state=status,
        attempt=info.attempt,
        maximum_attempts=info.retry_policy.maximum_attempts,
        last_worker_identity=info.identity,
    )
    out.scheduled_time.CopyFrom(convert.timestamp(info.scheduled_time))
    if info.started_time:
        out.last_started_time.CopyFrom(convert.timestamp(info.started_time))
    if info.last_heartbeat_time:
        out.last_heartbeat_time.CopyFrom(convert.timestamp(info.last_heartbeat_time))
    if info.schedule_to_close_timeout:
        expiry = info.first_scheduled_time + info.schedule_to_close_timeout
        out.expiration_time.CopyFrom(convert.timestamp(expiry))
    convert.fill(out.heartbeat_details, info.heartbeat_details)
    convert.fill(out.last_failure, info.last_failure)
    if info.pause is not None:
        out.paused = True
        out.pause_info.pause_time.CopyFrom(convert.timestamp(info.pause.time))
        out.pause_info.manual.identity = info.pause.identity
        out.pause_info.manual.reason = info.pause.reason
    # the options as the activity now has them (GetPendingActivityInfo); the queue
    # shows its name and normal name
    fill_options(out.activity_options, options_of(info))
    out.activity_options.task_queue.normal_name = info.task_queue
    # the priority its command gave, present even when empty (ActivityInfo.Priority,
    # from the ActivityTaskScheduled event: mutable_state_impl.go)
    at = info.scheduled_event_id - 1
    scheduled = events[at] if 0 <= at < len(events) else None
    priority = None
    if scheduled is not None and scheduled.event_id == info.scheduled_event_id:
        priority = getattr(scheduled.attributes, "priority", None)
    if priority is not None:
        for target in (out.priority, out.activity_options.priority):
            target.SetInParent()
            convert.fill(target, priority)
    return out


async def describe_workflow_execution(
    fe: Frontend, req: ws.DescribeWorkflowExecutionRequest, context: Context
) -> ws.DescribeWorkflowExecutionResponse:
    fe.namespace(req.namespace)
    validate.execution(req, "execution")
    run = fe.run(req.namespace, req.execution.workflow_id, req.execution.run_id)
    state = run.state
    record = visibility.record_of(run)
    out = ws.DescribeWorkflowExecutionResponse(workflow_execution_info=execution_info(record))
    shown = out.workflow_execution_info
    # Describe alone shows these (visibility keeps neither): the run's auto-reset points
    # and the stamp of its last workflow task completion (describeworkflow/api.go). The
    # points are present even when there are none: mutable state read from the store
    # has an empty ResetPoints for none (common/persistence/execution_manager.go).
    shown.auto_reset_points.SetInParent()
    convert.fill(shown.auto_reset_points, reset_points_json(state.reset_points))
    # and the search attributes, a message present even when empty (describeworkflow)
    shown.search_attributes.SetInParent()
    if state.most_recent_worker_version is not None:  # present even when empty
        shown.most_recent_worker_version_stamp.SetInParent()
        convert.fill(shown.most_recent_worker_version_stamp, state.most_recent_worker_version)
    fill_versioning_info(run.events, shown.versioning_info, state.versioning)
    config = out.execution_config
    config.task_queue.CopyFrom(_task_queue(state.task_queue))
    config.default_workflow_task_timeout.CopyFrom(convert.duration(state.workflow_task_timeout))
    # The timeouts as the Started event gives them, a zero one too (the `temporal` CLI
    # sends "0s"): mutable state copies the event's (ApplyWorkflowExecutionStartedEvent,
    # service/history/workflow/mutable_state_impl.go)
    started = started_event(run.events)
    if state.run_timeout or (started and started.workflow_run_timeout is not None):
        config.workflow_run_timeout.CopyFrom(convert.duration(state.run_timeout))
    if state.execution_timeout or (started and started.workflow_execution_timeout is not None):
        config.workflow_execution_timeout.CopyFrom(convert.duration(state.execution_timeout))
    if run.events and run.events[0].user_metadata is not None:  # the start's (describeworkflow)
        convert.fill(config.user_metadata, run.events[0].user_metadata)
    for info in state.activities:
        out.pending_activities.append(_pending_activity(state, info, run.events))
    for child in state.children:
        out.pending_children.append(
            workflow_pb.PendingChildExecutionInfo(
                workflow_id=child.workflow_id,
                run_id=child.run_id,
                workflow_type_name=child.workflow_type,
                initiated_id=child.initiated_event_id,
                parent_close_policy=child.parent_close_policy,  # type: ignore[arg-type]
            )
        )
    # a closed run shows the task it closed with still scheduled (MutableState.wft_at_close)
    wft = state.wft if state.running else state.wft_at_close
    if wft is not None:
        pending = out.pending_workflow_task
        pending.state = (
            wf_enums.PENDING_WORKFLOW_TASK_STATE_STARTED
            if wft.started
            else wf_enums.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
        )
        pending.attempt = wft.attempt
        pending.scheduled_time.CopyFrom(convert.timestamp(wft.scheduled_time))
        pending.original_scheduled_time.CopyFrom(convert.timestamp(wft.scheduled_time))
        if wft.started:
            pending.started_time.CopyFrom(convert.timestamp(wft.started_time))
    _extended_info(out.workflow_extended_info, record)
    out.callbacks.extend(callback_infos(fe, state.run_id, state.running, run.events))
    out.pending_nexus_operations.extend(pending_nexus_operations(fe, state, run.events))
    return out


GO_ZERO_TIME = -62_135_596_800  # 0001-01-01T00:00:00Z, in seconds since the epoch


def _extended_info(
    extended: workflow_pb.WorkflowExecutionExtendedInfo, record: visibility.Record
) -> None:
    """describeworkflow/api.go's WorkflowExtendedInfo: the start event's time, the run's
    expiration (Go's zero time when the run has no run timeout, as
    ApplyWorkflowExecutionStartedEvent in workflow/mutable_state_impl.go sets it), the
    chain's execution expiration when it has one, the request ids attached to the run
    (the model attaches the start's alone), the run a reset of this one started, and
    for a run a reset started, its start time as the last reset's."""
    run = record.run
    state = run.state
    extended.cancel_requested = state.cancel_requested
    extended.reset_run_id = state.reset_run_id  # ResetRunId (ndc/workflow_resetter.go)
    if is_reset_run(run):
        extended.last_reset_time.CopyFrom(convert.timestamp(record.start_time))
    started = run.events[0].event_time if run.events else None
    extended.original_start_time.CopyFrom(convert.timestamp(started or record.start_time))
    backoff = record.execution_time - record.start_time
    expiry = run_expiry(record.start_time, backoff, state.run_timeout, state.execution_expiration)
    if expiry:
        extended.run_expiration_time.CopyFrom(convert.timestamp(expiry))
    else:
        extended.run_expiration_time.seconds = GO_ZERO_TIME
    if state.execution_expiration:
        extended.execution_expiration_time.CopyFrom(convert.timestamp(state.execution_expiration))
    if state.start_request_id:
        info = extended.request_id_infos[state.start_request_id]
        info.event_type = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        info.event_id = _start_request_event(run.events, state.start_request_id)


def _start_request_event(events: list[HistoryEvent], request_id: str) -> int:
    """The event id the start's request id is recorded with: the Started event's, unless
    a signal carries the same request id (SignalWithStart's signal), whose event id then
    takes its place: a transaction's events that carry a request id update the recorded
    id's event id, whatever its event type (updatePendingEventIDs, mutable_state_impl.go)."""
    for event in events:
        attributes = event.attributes
        if (
            isinstance(attributes, WorkflowExecutionSignaledEventAttributes)
            and attributes.request_id == request_id
        ):
            return event.event_id
    return 1


async def _wait_for_change(fe: Frontend, context: Context, run: RunRecord, ready: Any) -> None:
    """Wait until `ready()` or the long-poll limit (or the caller's deadline) comes."""
    loop = asyncio.get_running_loop()
    limit = loop.time() + HISTORY_LONG_POLL
    deadline = fe.deadline(context)
    if deadline is not None:
        limit = min(limit, deadline - 1.0)
    while not ready() and loop.time() < limit:
        waiters = fe.runtime.notifier.waiters
        if not await waiters.change(run.state.run_id, max(0.0, limit - loop.time())):
            return


async def get_workflow_execution_history(
    fe: Frontend, req: ws.GetWorkflowExecutionHistoryRequest, context: Context
) -> ws.GetWorkflowExecutionHistoryResponse:
    """As `service/history/api/getworkflowexecutionhistory/api.go`: with the close-event
    filter, the close event once the run closed (a long poll waits for it); otherwise a
    page of events, and a token while more pages remain or, in a long poll of a running
    run, to wait for the events still to come."""
    fe.namespace(req.namespace)
    validate.execution(req, "execution")
    page = tokens.decode_page_token(req.next_page_token)
    run_id = str(page.get("run", "")) or req.execution.run_id
    try:
        run = fe.run(req.namespace, req.execution.workflow_id, run_id)
    except errors.ServiceError as exc:
        archival = fe.archive is not None and not req.skip_archival
        if exc.code is not grpc.StatusCode.NOT_FOUND or not run_id or not archival:
            raise
        return archived_history(fe, req, run_id, tokens.int_field(page, "next"))
    long_poll = req.wait_new_event
    out = ws.GetWorkflowExecutionHistoryResponse()
    # the History is there even with no events, as when a long poll ends empty (the
    # `temporal` CLI reads its events without checking it is there)
    out.history.SetInParent()
    if req.history_event_filter_type == wf_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT:
        if long_poll and run.state.running:
            await _wait_for_change(fe, context, run, lambda: not run.state.running)
        if not run.state.running:
            out.history.events.extend(fe.runtime.history_protos(run.state.run_id, run.events[-1:]))
        elif long_poll:
            out.next_page_token = tokens.page_token(run=run.state.run_id, next=0)
        return out
    start = tokens.int_field(page, "next")
    if page and long_poll and run.state.running and start >= len(run.events):
        await _wait_for_change(
            fe, context, run, lambda: len(run.events) > start or not run.state.running
        )
    size = min(req.maximum_page_size or DEFAULT_PAGE, MAX_PAGE)
    chunk = run.events[start : start + size]
    after = start + len(chunk)
    if chunk and after == len(run.events) and _takes_unwritten_events(context):
        chunk = [*chunk, *unwritten_task.transient_events(run.state, read=True)]
    out.history.events.extend(fe.runtime.history_protos(run.state.run_id, chunk))
    if after < len(run.events) or (long_poll and run.state.running):
        out.next_page_token = tokens.page_token(run=run.state.run_id, next=after)
    return out


# The clients the server does not show a running run's unwritten workflow task events
# (ClientSupportsTranOrSpecEvents in service/history/api/get_history_util.go).
_WITHOUT_UNWRITTEN = frozenset({"temporal-cli", "temporal-ui"})


def _takes_unwritten_events(context: Context) -> bool:
    """Does the caller get the transient or speculative workflow task's events at the
    end of the last page (getworkflowexecutionhistory/api.go appendTransientTasks)?"""
    names = [v for k, v in context.invocation_metadata() or () if k == "client-name"]
    return not any(name in _WITHOUT_UNWRITTEN for name in names)


def archived_history(
    fe: Frontend, req: ws.GetWorkflowExecutionHistoryRequest, run_id: str, start: int
) -> ws.GetWorkflowExecutionHistoryResponse:
    """A run no longer in persistence, read from the archive (workflow_handler.go
    historyArchived/getArchivedHistory: only with a run id, only when the run is not
    found), in pages, with `archived` set."""
    assert fe.archive is not None
    events = fe.archive.get_json(fe.namespace(req.namespace).id, req.execution.workflow_id, run_id)
    if events is None:  # archiver.ErrHistoryNotExist
        raise errors.not_found("requested workflow history does not exist")
    size = min(req.maximum_page_size or DEFAULT_PAGE, MAX_PAGE)
    out = ws.GetWorkflowExecutionHistoryResponse(archived=True)
    chunk = events[start : start + size]
    json_format.ParseDict({"events": chunk}, out.history)
    if start + size < len(events):
        out.next_page_token = tokens.page_token(run=run_id, next=start + size)
    return out


async def get_workflow_execution_history_reverse(
    fe: Frontend, req: ws.GetWorkflowExecutionHistoryReverseRequest, context: Context
) -> ws.GetWorkflowExecutionHistoryReverseResponse:
    fe.namespace(req.namespace)
    validate.execution(req, "execution")
    page = tokens.decode_page_token(req.next_page_token)
    run_id = str(page.get("run", "")) or req.execution.run_id
    run = fe.run(req.namespace, req.execution.workflow_id, run_id)
    end = tokens.int_field(page, "end", len(run.events))
    size = min(req.maximum_page_size or DEFAULT_PAGE, MAX_PAGE)
    start = max(0, end - size)
    out = ws.GetWorkflowExecutionHistoryReverseResponse()
    out.history.events.extend(
        reversed(fe.runtime.history_protos(run.state.run_id, run.events[start:end]))
    )
    if start > 0:
        out.next_page_token = tokens.page_token(run=run.state.run_id, end=start)
    return out


def matching(fe: Frontend, namespace: str, query_text: str) -> list[visibility.Record]:
    """The runs of `namespace` that `query_text` selects, in its order."""
    query = visibility.parse_query(query_text, fe.search_attribute_types(namespace))
    return selected(fe, namespace, query)


def selected(fe: Frontend, namespace: str, query: visibility.Query) -> list[visibility.Record]:
    """The runs of `namespace` that `query` selects, in its order. A query that does
    not name TemporalNamespaceDivision sees no system workflow (batch operations,
    schedules): `common/persistence/visibility/store/elasticsearch/visibility_store.go`
    adds "TemporalNamespaceDivision does not exist" to such a query."""
    found = [
        visibility.record_of(run)
        for run in fe.runtime.persistence.runs.values()
        if run.state.namespace == namespace
    ]
    division = DIVISION in query.names
    found = [r for r in found if query.predicate(r) and (division or r.attribute(DIVISION) is None)]
    found.sort(key=lambda r: visibility.sort_key(r, query.order_by), reverse=query.descending)
    return found


async def list_workflow_executions(
    fe: Frontend, req: ws.ListWorkflowExecutionsRequest, context: Context
) -> ws.ListWorkflowExecutionsResponse:
    fe.namespace(req.namespace)
    try:
        tokens.decode_page_token(req.next_page_token)
    except errors.ServiceError:
        # The dev server's SQL visibility store fails on a token it cannot read, an
        # internal error the frontend masks (DeserializeVisibilityPageToken in
        # common/persistence/visibility/store/sql/visibility_store.go).
        raise errors.masked("unable to deserialize page token") from None
    query = visible_query(fe, req.namespace, req.query, "ListWorkflowExecutions")
    records, next_page = list_page(selected(fe, req.namespace, query), req)
    out = ws.ListWorkflowExecutionsResponse(next_page_token=next_page)
    out.executions.extend(execution_info(r, listing=True) for r in records)
    return out


T = TypeVar("T")


def list_page(items: list[T], req: Any) -> tuple[list[T], bytes]:
    """The page of `items` a list request's page token and size ask for, and the token
    of the next page (empty after the last)."""
    start = tokens.int_field(tokens.decode_page_token(req.next_page_token), "offset")
    size = req.page_size if req.page_size > 0 else LIST_PAGE
    more = start + size < len(items)
    return items[start : start + size], tokens.page_token(offset=start + size) if more else b""


async def count_workflow_executions(
    fe: Frontend, req: ws.CountWorkflowExecutionsRequest, context: Context
) -> ws.CountWorkflowExecutionsResponse:
    fe.namespace(req.namespace)
    query = visible_query(fe, req.namespace, req.query, "CountWorkflowExecutions")
    records = selected(fe, req.namespace, query)
    out = ws.CountWorkflowExecutionsResponse(count=len(records))
    if query.group_by is not None:
        # the dev server's SQLite visibility groups on its integer status column: the
        # groups come in the enum's order (Running, Completed, ...), measured
        order = {name: n for n, name in enumerate(EXECUTION_STATUSES)}
        key = order.__getitem__ if query.group_by == "ExecutionStatus" else None
        add_groups(out.groups, [group_value(r, query.group_by) for r in records], key)
    return out


def visible_query(fe: Frontend, namespace: str, text: str, rpc: str) -> visibility.Query:
    """A List or Count query, parsed; one whose Text comparison FTS5 cannot read fails as
    the dev server's SQL store fails the statement (convertSQLError,
    `common/persistence/visibility/store/sql/visibility_store.go`): UNAVAILABLE."""
    query = visibility.parse_query(text, fe.search_attribute_types(namespace))
    if query.store_error is not None:
        raise errors.unavailable(
            f"{rpc} operation failed.: SQL logic error: {query.store_error} (1)"
        )
    return query


def group_value(row: Row, name: str) -> str:
    """A row's value of the attribute a count groups by; unset is the empty string, as
    the SQL store reports a NULL group (sqlplugin/visibility.go)."""
    value = row.attribute(name)
    return "" if value is None else str(value)


def add_groups(groups: Any, values: list[str], key: Callable[[str], Any] | None = None) -> None:
    """One aggregation group per value, with its count, in value order (or in the
    order `key` gives the values)."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    for value in sorted(counts, key=key):
        group = groups.add(count=counts[value])
        group.group_values.add().CopyFrom(_keyword_payload(value))


def _keyword_payload(value: str) -> common_pb.Payload:
    return common_pb.Payload(
        metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=f'"{value}"'.encode()
    )
