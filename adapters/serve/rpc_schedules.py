"""ScheduleService RPCs: CreateSchedule, DescribeSchedule, UpdateSchedule, PatchSchedule,
DeleteSchedule, ListSchedules, ListScheduleMatchingTimes, on the scheduler workflow
(core/schedule/workflow.py) that the internal worker runs.

As `service/frontend/workflow_handler.go` (the workflow-based scheduler): a schedule S
is the run `temporal-sys-scheduler:S` on the namespace's internal task queue, started
with StartScheduleArgs; Update and Patch are the signals "update" and "patch"; Delete
terminates the run ("terminated by DeleteSchedule"); Describe and ListScheduleMatching-
Times are the queries "describe" and "listMatchingTimes". The queries are answered
in-process by replaying the run's history against the scheduler workflow (what the
internal worker would answer), once no workflow task is pending, so an answer after a
signal reflects it, as the real server's consistent queries do. The messages are the
protojson forms core/schedule/messages.py reads and writes; the action's workflow input
is kept as the Payloads message given, whatever its payloads' encodings (a codec's,
external storage's json/protobuf references): the frontend stores the action without
reading a payload.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import struct
from typing import Any

import grpc
from google.protobuf import json_format
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.enums.v1.task_queue_pb2 import (
    TASK_QUEUE_KIND_NORMAL,
    TASK_QUEUE_KIND_UNSPECIFIED,
)
from temporalio.api.schedule.v1 import message_pb2 as schedule_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import payloads
from core import requests as rq
from core.errors import BadInput, BadPayload, Nondeterminism, PotentialDeadlock
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.api import FullUpdateRequest, StartScheduleArgs
from core.schedule.calendar import SpecError
from core.schedule.messages import Schedule, SchedulePatch
from core.schedule.spec import canonicalize
from core.schedule.workflow import SchedulerWorkflow
from core.statemachine.replay import driver
from core.statemachine.replay.definition import definition
from sim.persistence import RunRecord

from . import convert, errors, rpc_executions, rpc_reads, tokens, validate, visibility
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]
DEFINITION = definition(SchedulerWorkflow)
QUERY_WAIT = 10.0  # seconds a query waits for a pending workflow task
DIVISION = "TemporalNamespaceDivision"
LIST_QUERY = f"{DIVISION} = '{api.NAMESPACE_DIVISION}' AND ExecutionStatus = 'Running'"


def conflict_token(value: int) -> bytes:
    """The 8-byte big-endian token the frontend hands out (binary.BigEndian.PutUint64)."""
    return struct.pack(">Q", value)


def model_schedule(proto: schedule_pb.Schedule) -> Schedule:
    """A Schedule message as the model's schedule (INVALID_ARGUMENT if it cannot be)."""
    data = convert.to_json(proto)
    try:
        schedule = Schedule.from_json(data)
    except BadInput as exc:
        raise errors.invalid(f"invalid schedule: {exc}") from None
    # The frontend stores the spec in its canonical form (workflow_handler.go
    # canonicalizeScheduleSpec: calendars and cron strings become structured calendars).
    try:
        spec = canonicalize(schedule.spec)
    except SpecError as exc:
        raise errors.invalid(f"Invalid schedule spec: {exc}") from None
    return dataclasses.replace(schedule, spec=spec)


def check_action(fe: Frontend, namespace: str, schedule: schedule_pb.Schedule) -> None:
    """workflow_handler.go validateStartWorkflowArgsForSchedule, on the action's start:
    a workflow type, a task queue name, no cron schedule, no id reuse policy other than
    ALLOW_DUPLICATE, and search attributes the namespace defines (checked on a copy:
    the action keeps them as given)."""
    if not schedule.action.HasField("start_workflow"):
        return
    start = schedule.action.start_workflow
    if not start.workflow_type.name:
        raise errors.invalid("WorkflowType is not set on request.")
    if not start.HasField("task_queue"):
        raise errors.invalid("taskQueue is not set")
    if not start.task_queue.name:
        raise errors.invalid("missing task queue name")
    if start.cron_schedule:
        raise errors.invalid("Scheduled workflow must not contain CronSchedule")
    if start.workflow_id_reuse_policy not in (
        wf_enums.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED,
        wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
    ):
        raise errors.invalid("Scheduled workflow must not contain WorkflowIDReusePolicy")
    if start.HasField("search_attributes"):
        rpc_executions.set_types(fe, namespace, copy.deepcopy(start.search_attributes))


def proto_schedule(data: JsonValue) -> schedule_pb.Schedule:
    """The model's schedule JSON as a Schedule message (its input is the one given)."""
    body = copy.deepcopy(data) if isinstance(data, dict) else {}
    out = convert.fill(schedule_pb.Schedule(), body)
    if out.action.HasField("start_workflow"):
        # tqid.NormalizeAndValidateUserDefined, at create and update: a queue of no kind
        # is a NORMAL one.
        queue = out.action.start_workflow.task_queue
        if queue.kind == TASK_QUEUE_KIND_UNSPECIFIED:
            queue.kind = TASK_QUEUE_KIND_NORMAL
    clean_spec(out.spec)
    return out


def clean_spec(spec: schedule_pb.ScheduleSpec) -> None:
    """spec.go CleanSpec, which Describe and List apply: in every structured calendar's
    ranges, an end before the start becomes the start, and a step of 0 becomes 1."""
    for calendar in (*spec.structured_calendar, *spec.exclude_structured_calendar):
        for name in ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week"):
            for r in getattr(calendar, name):
                r.end = max(r.end, r.start)
                r.step = r.step or 1


def _patch(proto: schedule_pb.SchedulePatch) -> dict[str, JsonValue]:
    """A SchedulePatch message as the "patch" signal's JSON. Sent as protojson writes
    it, not re-encoded by the model: an empty `triggerImmediately` (trigger now, default
    overlap policy) must stay present, and the model's encoder drops empty messages."""
    data: dict[str, JsonValue] = convert.to_json(proto)
    try:
        SchedulePatch.from_json(data)
    except BadInput as exc:
        raise errors.invalid(f"invalid patch: {exc}") from None
    return data


SCHEDULE_NOT_FOUND = "schedule not found"
CLOSED = "workflow execution already completed"


def _schedule_run(
    fe: Frontend, namespace: str, schedule_id: str, closed: str | None = SCHEDULE_NOT_FOUND
) -> RunRecord:
    """The schedule's scheduler run. As the dev server answers: a schedule never made is
    its workflow's NotFound; a deleted one (its run closed) is NotFound `closed`, which
    a describe words "schedule not found" and a signal or a delete "workflow execution
    already completed"; with `closed` None its closed run is still read (a query)."""
    if not schedule_id:
        raise errors.invalid("ScheduleId is not set on request.")
    fe.namespace(namespace)
    workflow_id = api.workflow_id(schedule_id)
    run = fe.runtime.record(namespace, workflow_id)
    if run is None:
        raise errors.not_found(f"workflow not found for ID: {workflow_id}")
    if closed is not None and not run.state.running:
        raise errors.not_found(closed)
    return run


async def query(
    fe: Frontend,
    namespace: str,
    schedule_id: str,
    name: str,
    args: list[JsonValue],
    closed: str | None = SCHEDULE_NOT_FOUND,
) -> JsonValue:
    """Answer a scheduler query once its run has no workflow task pending."""
    run = _schedule_run(fe, namespace, schedule_id, closed)
    loop = asyncio.get_running_loop()
    limit = loop.time() + QUERY_WAIT
    while _busy(run) and loop.time() < limit:
        await fe.runtime.waiters.change(run.state.run_id, max(0.0, limit - loop.time()))
        run = _schedule_run(fe, namespace, schedule_id, closed)  # may have continued as new
    try:
        answer = driver.query(DEFINITION, run.events, name, args)
    except (Nondeterminism, BadPayload, PotentialDeadlock, BadInput) as exc:
        raise errors.query_failed(str(exc)) from None
    return answer if isinstance(answer, dict) else None


def _busy(run: RunRecord) -> bool:
    """A workflow task is pending, or a StartWorkflow call is. Temporal's scheduler starts
    workflows in local activities inside its workflow task (workflow.go startWorkflow),
    so a query, which waits for the task, sees the start; the model's start is an
    ordinary activity after the task, so the query waits for it and the task after."""
    if run.state.wft is not None:
        return True
    return any(a.activity_type == api.ACTIVITY_START for a in run.state.activities)


async def _describe(fe: Frontend, namespace: str, schedule_id: str) -> dict[str, JsonValue]:
    answer = await query(fe, namespace, schedule_id, api.QUERY_DESCRIBE, [])
    if not isinstance(answer, dict):
        raise errors.not_found(SCHEDULE_NOT_FOUND)
    return answer


async def _signal(
    fe: Frontend, context: Context, namespace: str, schedule_id: str, name: str, value: JsonValue
) -> None:
    _schedule_run(fe, namespace, schedule_id, CLOSED)
    signal = rq.SignalWorkflowExecution(
        name, request_id=fe.new_id(), input=payloads.to_payloads([value])
    )
    await fe.call(context, namespace, api.workflow_id(schedule_id), "", signal)


async def create_schedule(
    fe: Frontend, req: ws.CreateScheduleRequest, context: Context
) -> ws.CreateScheduleResponse:
    if not req.schedule_id:
        raise errors.invalid("ScheduleId is not set on request.")
    namespace = fe.namespace(req.namespace)
    initial = _patch(req.initial_patch) if req.HasField("initial_patch") else None
    schedule = model_schedule(req.schedule)  # the spec checked first, as CreateSchedule does
    check_action(fe, req.namespace, req.schedule)
    args = StartScheduleArgs(schedule, req.namespace, namespace.id, req.schedule_id).to_json()
    if initial is not None:
        args["initialPatch"] = initial
    start = ws.StartWorkflowExecutionRequest(
        namespace=req.namespace,
        workflow_id=api.workflow_id(req.schedule_id),
        identity=req.identity,
        request_id=req.request_id or fe.new_id(),
        workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        workflow_id_conflict_policy=wf_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        memo=req.memo,
        search_attributes=req.search_attributes,
    )
    start.workflow_type.name = api.WORKFLOW_TYPE
    start.task_queue.name = api.TASK_QUEUE
    start.input.payloads.append(convert.payload_of(args))
    start.search_attributes.indexed_fields[DIVISION].CopyFrom(
        convert.payload_of(api.NAMESPACE_DIVISION)
    )
    try:
        await rpc_executions.start_workflow_execution(fe, start, context)
    except errors.ServiceError as exc:
        if exc.code is grpc.StatusCode.ALREADY_EXISTS:
            message = f'schedule "{req.schedule_id}" is already registered'
            raise errors.already_started(message, "", "", "") from None
        raise
    return ws.CreateScheduleResponse(conflict_token=conflict_token(1))


# workflow_handler.go cleanScheduleSearchAttributes: what the scheduler's run carries
# for the server's own use, left out of what Describe and List show.
HIDDEN_ATTRIBUTES = frozenset(
    {api.SCHEDULE_PAUSED, "TemporalScheduleInfoJSON", "BinaryChecksums", "BuildIds", DIVISION}
)
MEMO_FIELD_INFO = "ScheduleInfo"  # workflow.go MemoFieldInfo, hidden by cleanScheduleMemo


def _attributes(fe: Frontend, namespace: str, record: visibility.Record, out: Any) -> None:
    """The schedule's own search attributes into `out.search_attributes`, left unset
    when none are left (cleanScheduleSearchAttributes returns nil)."""
    fields = {k: v for k, v in record.search_attributes.items() if k not in HIDDEN_ATTRIBUTES}
    if fields:
        json_format.ParseDict({"indexedFields": fields}, out.search_attributes)
        _annotate(fe, namespace, out.search_attributes)


def _annotate(fe: Frontend, namespace: str, attributes: common_pb.SearchAttributes) -> None:
    """Each payload marked with its attribute's type (the scheduler's own upserts carry
    none; the describe handler applies the namespace's type map, and annotates the
    action's attributes: workflow_handler.go annotateSearchAttributes)."""
    known = fe.search_attribute_types(namespace)
    for name, payload in attributes.indexed_fields.items():
        kind = known.get(name)
        if kind is not None and "type" not in payload.metadata:
            payload.metadata["type"] = validate.TYPE_NAMES[kind].encode()


def _memo(record: visibility.Record, out: common_pb.Memo) -> None:
    fields = {k: v for k, v in (record.memo or {}).items() if k != MEMO_FIELD_INFO}
    if fields:
        json_format.ParseDict({"fields": fields}, out)


async def describe_schedule(
    fe: Frontend, req: ws.DescribeScheduleRequest, context: Context
) -> ws.DescribeScheduleResponse:
    answer = await _describe(fe, req.namespace, req.schedule_id)
    record = visibility.record_of(_schedule_run(fe, req.namespace, req.schedule_id))
    info = convert.fill(schedule_pb.ScheduleInfo(), answer.get("info") or {})
    # Running workflows that closed already are left out (the handler asks mutable state).
    still = [e for e in info.running_workflows if _running(fe, req.namespace, e)]
    del info.running_workflows[:]
    info.running_workflows.extend(still)
    token = answer.get("conflictToken")
    out = ws.DescribeScheduleResponse(
        schedule=proto_schedule(answer.get("schedule")),
        info=info,
        conflict_token=conflict_token(int(token) if isinstance(token, str) else 0),
    )
    _attributes(fe, req.namespace, record, out)
    if out.schedule.action.HasField("start_workflow"):
        action = out.schedule.action.start_workflow
        _annotate(fe, req.namespace, action.search_attributes)
    _memo(record, out.memo)
    return out


def _running(fe: Frontend, namespace: str, execution: common_pb.WorkflowExecution) -> bool:
    run = fe.runtime.record(namespace, execution.workflow_id)
    return run is not None and run.state.running


async def update_schedule(
    fe: Frontend, req: ws.UpdateScheduleRequest, context: Context
) -> ws.UpdateScheduleResponse:
    token = int.from_bytes(req.conflict_token[:8], "big") if req.conflict_token else 0
    check_action(fe, req.namespace, req.schedule)  # before the spec, as UpdateSchedule does
    schedule = model_schedule(req.schedule)
    attributes = None
    if req.HasField("search_attributes"):
        # Checked as the frontend checks them (UnaliasedSearchAttributesFrom); the
        # scheduler upserts them on its own run (workflow.go updateCustomSearchAttributes).
        rpc_executions.set_types(fe, req.namespace, req.search_attributes)
        attributes = convert.opaque(req, "search_attributes")
    if req.HasField("memo"):
        # UpdateSchedule on a workflow-backed schedule (workflow_handler.go)
        message = "memo updates are not supported on workflow-backed schedules"
        raise errors.ServiceError(grpc.StatusCode.FAILED_PRECONDITION, message)
    update = FullUpdateRequest(schedule, token, attributes)
    await _signal(fe, context, req.namespace, req.schedule_id, api.SIGNAL_UPDATE, update.to_json())
    return ws.UpdateScheduleResponse()


async def patch_schedule(
    fe: Frontend, req: ws.PatchScheduleRequest, context: Context
) -> ws.PatchScheduleResponse:
    patch = _patch(req.patch)
    await _signal(fe, context, req.namespace, req.schedule_id, api.SIGNAL_PATCH, patch)
    return ws.PatchScheduleResponse()


async def delete_schedule(
    fe: Frontend, req: ws.DeleteScheduleRequest, context: Context
) -> ws.DeleteScheduleResponse:
    _schedule_run(fe, req.namespace, req.schedule_id, CLOSED)
    stop = rq.TerminateWorkflowExecution("terminated by DeleteSchedule", req.identity)
    await fe.call(context, req.namespace, api.workflow_id(req.schedule_id), "", stop)
    return ws.DeleteScheduleResponse()


async def list_schedules(
    fe: Frontend, req: ws.ListSchedulesRequest, context: Context
) -> ws.ListSchedulesResponse:
    fe.namespace(req.namespace)
    text = f"({req.query}) AND {LIST_QUERY}" if req.query else LIST_QUERY
    records = rpc_reads.matching(fe, req.namespace, text)
    start = tokens.int_field(tokens.decode_page_token(req.next_page_token), "offset")
    size = req.maximum_page_size if req.maximum_page_size > 0 else rpc_reads.LIST_PAGE
    out = ws.ListSchedulesResponse()
    for record in records[start : start + size]:
        schedule_id = record.run.workflow_id.removeprefix(api.WORKFLOW_ID_PREFIX)
        entry = out.schedules.add(schedule_id=schedule_id)
        _attributes(fe, req.namespace, record, entry)
        # the run's visibility memo less the list info, present even when nothing else is
        # left (ListSchedules, service/frontend/workflow_handler.go: cleanScheduleMemo)
        entry.memo.SetInParent()
        _memo(record, entry.memo)
        try:
            answer = await _describe(fe, req.namespace, schedule_id)
        except errors.ServiceError:
            continue  # deleted meanwhile: listed without its info, as a stale memo would be
        _list_info(entry.info, answer)
    if start + size < len(records):
        out.next_page_token = tokens.page_token(offset=start + size)
    return out


LIST_ACTIONS = 5


def _list_info(out: schedule_pb.ScheduleListInfo, answer: dict[str, JsonValue]) -> None:
    """ScheduleListInfo from a describe answer (what the scheduler puts in its memo)."""
    schedule = proto_schedule(answer.get("schedule"))
    info = convert.fill(schedule_pb.ScheduleInfo(), answer.get("info") or {})
    out.spec.CopyFrom(schedule.spec)
    out.workflow_type.CopyFrom(schedule.action.start_workflow.workflow_type)
    out.notes = schedule.state.notes
    out.paused = schedule.state.paused
    # the list keeps fewer than Describe: RecentActionCountForList and
    # FutureActionCountForList (5 each, getListInfo in service/worker/scheduler/workflow.go)
    out.recent_actions.extend(info.recent_actions[-LIST_ACTIONS:])
    out.future_action_times.extend(info.future_action_times[:LIST_ACTIONS])


async def list_schedule_matching_times(
    fe: Frontend, req: ws.ListScheduleMatchingTimesRequest, context: Context
) -> ws.ListScheduleMatchingTimesResponse:
    start, end = convert.timestamp_ns(req.start_time), convert.timestamp_ns(req.end_time)
    name = api.QUERY_LIST_MATCHING_TIMES
    args = list(api.matching_times_args(start, end))
    answer = await query(fe, req.namespace, req.schedule_id, name, args, closed=None)
    if not isinstance(answer, dict) or "error" in answer:
        message = answer.get("error") if isinstance(answer, dict) else "no answer"
        raise errors.invalid(str(message))
    return convert.fill(ws.ListScheduleMatchingTimesResponse(), answer)
