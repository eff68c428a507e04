"""The search attributes a workflow task's commands set: typed before history stores
them, and a task whose command names one its namespace does not define fails as
history fails it (workflow_task_completed_handler.go)."""

from __future__ import annotations

from typing import Any

import grpc

from core import requests as rq
from core.enums import WorkflowTaskFailedCause
from core.statemachine.history.limits import server_failure, task_failure_message

from . import errors
from .frontend import Frontend
from .rpc_executions import set_types, undefined_attribute
from .tokens import TaskToken

Context = grpc.aio.ServicerContext[Any, Any]

# The commands that carry search attributes, which history unaliases (and so checks)
# before it applies them (workflow_task_completed_handler.go).
SEARCH_ATTRIBUTE_COMMANDS = (
    "upsert_workflow_search_attributes_command_attributes",
    "start_child_workflow_execution_command_attributes",
    "continue_as_new_workflow_execution_command_attributes",
)


def type_command_attributes(fe: Frontend, namespace: str, commands: Any) -> str | None:
    """Type the search attributes a workflow task's commands set; the error of the
    first command that names one its namespace (a child's own, if it names one) does
    not define, which fails the task (BAD_SEARCH_ATTRIBUTES) rather than the call."""
    for command in commands:
        for field in SEARCH_ATTRIBUTE_COMMANDS:
            if not command.HasField(field):
                continue
            attributes = getattr(command, field)
            if not attributes.HasField("search_attributes"):
                continue
            target = getattr(attributes, "namespace", "") or namespace
            undefined = undefined_attribute(fe, target, attributes.search_attributes)
            if undefined is not None:
                return undefined
            set_types(fe, target, attributes.search_attributes)
    return None


async def fail_for_search_attributes(
    fe: Frontend, token: TaskToken, identity: str, error: str, context: Context
) -> None:
    """A command sets a search attribute the namespace does not define: as history does
    (failWorkflowTaskOnInvalidArgument, workflow_task_completed_handler.go), the task
    fails with BAD_SEARCH_ATTRIBUTES and a server failure "BadSearchAttributes: ...",
    the next attempt is scheduled, and the worker gets InvalidArgument with that
    message; a failing attempt after the first is only refused, to time out (api.go)."""
    cause = WorkflowTaskFailedCause.BAD_SEARCH_ATTRIBUTES
    message = task_failure_message(cause, error)
    if token.attempt <= 1:
        failed = rq.RespondWorkflowTaskFailed(
            rq.WorkflowTaskToken(token.scheduled_event_id, token.started_event_id, token.attempt),
            cause,
            server_failure(message, non_retryable=False),
            identity,
        )
        await fe.call(context, token.namespace, token.workflow_id, token.run_id, failed)
    raise errors.invalid(message)
