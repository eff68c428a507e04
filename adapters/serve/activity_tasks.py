"""The activity task a worker gets: a poll's answer, and the same for each activity a
workflow task's completion started eagerly (RespondWorkflowTaskCompletedResponse's
`activity_tasks`), which the real server fills with the same fields
(`handlePostCommandEagerExecuteActivity` in
service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go;
`recordactivitytaskstarted/api.go` for a poll). The task token is serve's (tokens.py).
"""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core import requests as rq
from core.events import ActivityTaskScheduledEventAttributes
from sim.nodes.base import StartedActivityTask

from . import convert
from .frontend import Frontend
from .tokens import TaskToken


def activity_task_response(
    fe: Frontend, namespace: str, task: StartedActivityTask
) -> ws.PollActivityTaskQueueResponse:
    run = fe.runtime.record(namespace, task.workflow_id, task.run_id)
    sid = task.started.token.scheduled_event_id
    out = ws.PollActivityTaskQueueResponse()
    if run is None:
        return out
    info = run.state.activity(sid)
    scheduled = run.events[sid - 1].attributes if sid <= len(run.events) else None
    if info is None or not isinstance(scheduled, ActivityTaskScheduledEventAttributes):
        return out
    token = TaskToken(
        "activity",
        namespace,
        task.workflow_id,
        task.run_id,
        sid,
        attempt=task.started.token.attempt,
        activity_id=info.activity_id,
    )
    out.task_token = token.encode()
    out.workflow_namespace = namespace
    out.workflow_type.name = run.state.workflow_type
    out.workflow_execution.workflow_id = task.workflow_id
    out.workflow_execution.run_id = task.run_id
    out.activity_type.name = info.activity_type
    out.activity_id = info.activity_id
    convert.fill(out.header, scheduled.header)
    convert.fill(out.input, scheduled.input)
    convert.fill(out.heartbeat_details, info.heartbeat_details)
    out.scheduled_time.CopyFrom(convert.timestamp(info.first_scheduled_time))
    out.current_attempt_scheduled_time.CopyFrom(convert.timestamp(info.scheduled_time))
    out.started_time.CopyFrom(convert.timestamp(info.started_time or fe.now()))
    out.attempt = task.started.token.attempt
    out.schedule_to_close_timeout.CopyFrom(convert.duration(info.schedule_to_close_timeout))
    out.start_to_close_timeout.CopyFrom(convert.duration(info.start_to_close_timeout))
    out.heartbeat_timeout.CopyFrom(convert.duration(info.heartbeat_timeout))
    policy = info.retry_policy
    out.retry_policy.initial_interval.CopyFrom(convert.duration(policy.initial_interval))
    out.retry_policy.backoff_coefficient = policy.backoff_coefficient
    out.retry_policy.maximum_interval.CopyFrom(convert.duration(policy.maximum_interval))
    out.retry_policy.maximum_attempts = policy.maximum_attempts
    out.retry_policy.non_retryable_error_types.extend(policy.non_retryable_error_types)
    if scheduled.priority is not None:  # the command's, present even when empty
        out.priority.SetInParent()
        convert.fill(out.priority, scheduled.priority)
    return out


def eager_activity_tasks(
    fe: Frontend, token: TaskToken, answer: rq.WorkflowTaskCompletedOk
) -> list[ws.PollActivityTaskQueueResponse]:
    """The activities the completion started eagerly, each as the poll that starts an
    activity answers (the fields `handlePostCommandEagerExecuteActivity` fills in
    workflow_task_completed_handler.go are those a poll's answer has)."""
    state = fe.runtime.state(token.namespace, token.workflow_id, token.run_id)
    tasks = []
    for started in answer.activity_tasks:
        info = state.activity(started.token.scheduled_event_id) if state is not None else None
        activity_id = info.activity_id if info is not None else ""
        task = StartedActivityTask(token.workflow_id, token.run_id, activity_id, started)
        tasks.append(activity_task_response(fe, token.namespace, task))
    return tasks
