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
travels as its JSON values (a payload that is not json/plain is refused).
"""

from __future__ import annotations

import asyncio
import copy
import struct
from typing import Any

import grpc
from google.protobuf import json_format
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.schedule.v1 import message_pb2 as schedule_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import payloads
from core import requests as rq
from core.errors import BadInput, BadPayload, Nondeterminism, PotentialDeadlock
from core.opaque import JsonValue
from core.schedule import api
from core.schedule.api import FullUpdateRequest, StartScheduleArgs
from core.schedule.messages import Schedule, SchedulePatch
from core.schedule.workflow import SchedulerWorkflow
from core.statemachine.replay import driver
from core.statemachine.replay.definition import definition
from sim.persistence import RunRecord

from . import convert, errors, rpc_executions, rpc_reads, tokens, visibility
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
    start = data.get("action", {}).get("startWorkflow")
    try:
        if start is not None:
            items = start.pop("input", {}).get("payloads", [])
            start["args"] = [payloads.from_payload(item) for item in items]
        return Schedule.from_json(data)
    except (BadInput, BadPayload) as exc:
        raise errors.invalid(f"invalid schedule: {exc}") from None


def proto_schedule(data: JsonValue) -> schedule_pb.Schedule:
    """The model's schedule JSON as a Schedule message (args back into payloads)."""
    body = copy.deepcopy(data) if isinstance(data, dict) else {}
    action = body.get("action")
    start = action.get("startWorkflow") if isinstance(action, dict) else None
    if isinstance(start, dict):
        args = start.pop("args", [])
        if isinstance(args, list) and args:
            start["input"] = {"payloads": [payloads.payload(a) for a in args]}
    return convert.fill(schedule_pb.Schedule(), body)


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


def _schedule_run(fe: Frontend, namespace: str, schedule_id: str) -> RunRecord:
    if not schedule_id:
        raise errors.invalid("ScheduleId is not set on request.")
    fe.namespace(namespace)
    run = fe.runtime.record(namespace, api.workflow_id(schedule_id))
    if run is None or not run.state.running:
        raise errors.not_found("schedule not found")
    return run


async def query(
    fe: Frontend, namespace: str, schedule_id: str, name: str, args: list[JsonValue]
) -> JsonValue:
    """Answer a scheduler query once its run has no workflow task pending."""
    run = _schedule_run(fe, namespace, schedule_id)
    loop = asyncio.get_running_loop()
    limit = loop.time() + QUERY_WAIT
    while run.state.wft is not None and loop.time() < limit:
        await fe.runtime.waiters.change(run.state.run_id, max(0.0, limit - loop.time()))
        run = _schedule_run(fe, namespace, schedule_id)  # may have continued as new
    try:
        answer = driver.query(DEFINITION, run.events, name, args)
    except (Nondeterminism, BadPayload, PotentialDeadlock, BadInput) as exc:
        raise errors.query_failed(str(exc)) from None
    return answer if isinstance(answer, dict) else None


async def _describe(fe: Frontend, namespace: str, schedule_id: str) -> dict[str, JsonValue]:
    answer = await query(fe, namespace, schedule_id, api.QUERY_DESCRIBE, [])
    if not isinstance(answer, dict):
        raise errors.not_found("schedule not found")
    return answer


async def _signal(
    fe: Frontend, context: Context, namespace: str, schedule_id: str, name: str, value: JsonValue
) -> None:
    _schedule_run(fe, namespace, schedule_id)
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
    args = StartScheduleArgs(
        model_schedule(req.schedule), req.namespace, namespace.id, req.schedule_id
    ).to_json()
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


def _attributes(record: visibility.Record) -> common_pb.SearchAttributes:
    out = common_pb.SearchAttributes()
    fields = {k: v for k, v in record.search_attributes.items() if k != DIVISION}
    return json_format.ParseDict({"indexedFields": fields}, out) if fields else out


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
        search_attributes=_attributes(record),
        conflict_token=conflict_token(int(token) if isinstance(token, str) else 0),
    )
    if record.memo:
        json_format.ParseDict({"fields": record.memo}, out.memo)
    return out


def _running(fe: Frontend, namespace: str, execution: common_pb.WorkflowExecution) -> bool:
    run = fe.runtime.record(namespace, execution.workflow_id)
    return run is not None and run.state.running


async def update_schedule(
    fe: Frontend, req: ws.UpdateScheduleRequest, context: Context
) -> ws.UpdateScheduleResponse:
    token = int.from_bytes(req.conflict_token[:8], "big") if req.conflict_token else 0
    update = FullUpdateRequest(model_schedule(req.schedule), token)
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
    _schedule_run(fe, req.namespace, req.schedule_id)
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
        entry.search_attributes.CopyFrom(_attributes(record))
        if record.memo:
            json_format.ParseDict({"fields": record.memo}, entry.memo)
        try:
            answer = await _describe(fe, req.namespace, schedule_id)
        except errors.ServiceError:
            continue  # deleted meanwhile: listed without its info, as a stale memo would be
        _list_info(entry.info, answer)
    if start + size < len(records):
        out.next_page_token = tokens.page_token(offset=start + size)
    return out


def _list_info(out: schedule_pb.ScheduleListInfo, answer: dict[str, JsonValue]) -> None:
    """ScheduleListInfo from a describe answer (what the scheduler puts in its memo)."""
    schedule = proto_schedule(answer.get("schedule"))
    info = convert.fill(schedule_pb.ScheduleInfo(), answer.get("info") or {})
    out.spec.CopyFrom(schedule.spec)
    out.workflow_type.CopyFrom(schedule.action.start_workflow.workflow_type)
    out.notes = schedule.state.notes
    out.paused = schedule.state.paused
    out.recent_actions.extend(info.recent_actions)
    out.future_action_times.extend(info.future_action_times)


async def list_schedule_matching_times(
    fe: Frontend, req: ws.ListScheduleMatchingTimesRequest, context: Context
) -> ws.ListScheduleMatchingTimesResponse:
    start, end = convert.timestamp_ns(req.start_time), convert.timestamp_ns(req.end_time)
    name = api.QUERY_LIST_MATCHING_TIMES
    answer = await query(
        fe, req.namespace, req.schedule_id, name, list(api.matching_times_args(start, end))
    )
    if not isinstance(answer, dict) or "error" in answer:
        message = answer.get("error") if isinstance(answer, dict) else "no answer"
        raise errors.invalid(str(message))
    return convert.fill(ws.ListScheduleMatchingTimesResponse(), answer)
