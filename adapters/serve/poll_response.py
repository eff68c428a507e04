"""A started workflow task as the worker gets it, a PollWorkflowTaskQueueResponse: from
a poll, from an eager start's reply, and from a completion that started the next task
inline (RespondWorkflowTaskCompletedResponse.workflow_task).

The response carries the task's token, the history the worker needs (from a sticky
queue only the events after the worker's last completed task, which it holds in its
cache; else the whole history), the run's normal queue, the task's times and the
updates it delivers as protocol messages (`createPollWorkflowTaskQueueResponse` in
service/matching/matching_engine.go for a poll, its namesake in
service/history/api/respondworkflowtaskcompleted/api.go for an inline task).
"""

from __future__ import annotations

from google.protobuf import any_pb2
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.events import HistoryEvent
from sim.nodes.base import StartedWorkflowTask

from . import convert
from .frontend import Frontend
from .tokens import TaskToken


def _event_time(history: tuple[HistoryEvent, ...], event_id: int) -> int:
    if 0 < event_id <= len(history) and history[event_id - 1].event_id == event_id:
        return history[event_id - 1].event_time or 0
    return next((e.event_time or 0 for e in history if e.event_id == event_id), 0)


def workflow_task_response(
    fe: Frontend, namespace: str, task: StartedWorkflowTask
) -> ws.PollWorkflowTaskQueueResponse:
    started = task.started
    token = started.token
    state = fe.runtime.state(namespace, task.workflow_id, task.run_id)
    out = ws.PollWorkflowTaskQueueResponse(
        task_token=TaskToken(
            "workflow",
            namespace,
            task.workflow_id,
            task.run_id,
            token.scheduled_event_id,
            token.started_event_id,
            token.attempt,
        ).encode(),
        workflow_execution=common_pb.WorkflowExecution(
            workflow_id=task.workflow_id, run_id=task.run_id
        ),
        workflow_type=common_pb.WorkflowType(name=task.workflow_type),
        previous_started_event_id=started.previous_started_event_id,
        started_event_id=token.started_event_id,
        attempt=token.attempt,
    )
    history = task.history
    if task.sticky and started.previous_started_event_id:
        history = tuple(e for e in history if e.event_id > started.previous_started_event_id)
    out.history.events.extend(fe.runtime.history_protos(task.run_id, history))
    queue = state.task_queue if state is not None else ""
    out.workflow_execution_task_queue.name = queue
    out.workflow_execution_task_queue.kind = tq_enums.TASK_QUEUE_KIND_NORMAL
    out.scheduled_time.CopyFrom(
        convert.timestamp(_event_time(task.history, token.scheduled_event_id))
    )
    out.started_time.CopyFrom(convert.timestamp(_event_time(task.history, token.started_event_id)))
    for update in task.updates:
        out.messages.append(_update_request_message(update, token.started_event_id))
    return out


def _update_request_message(
    update: rq.UpdateWorkflowExecution, started_event_id: int
) -> protocol_pb.Message:
    """The update's request as the protocol message the worker gets
    (`workflow/update/update.go` Send: id "<update id>/request", sequenced after the
    event before the task's WorkflowTaskStarted)."""
    body = any_pb2.Any()
    body.Pack(convert.fill(update_pb.Request(), update.request))
    message = protocol_pb.Message(
        id=f"{update.update_id}/request",
        protocol_instance_id=update.update_id,
        event_id=started_event_id - 1,
    )
    message.body.CopyFrom(body)
    return message
