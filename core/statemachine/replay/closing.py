"""How the run method's end becomes the run's close command.

temporalio `_workflow_instance.py` (`_run_top_level_workflow_function`): a return value
completes the run; `continue_as_new` continues it; a cancellation that follows a
cancel request cancels it; a workflow error (ApplicationError, ActivityError,
ChildWorkflowError, TimeoutFailure) fails it. Any other exception is a bug in the code:
no close command - the workflow *task* fails and the server retries it, so a fixed
worker can carry on (the `wft-failure-fixed` recording shows exactly that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import payloads
from core.commands import (
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType
from core.events import TaskQueue, WorkflowType
from core.opaque import Opaque
from core.statemachine.replay.definition import (
    ApplicationError,
    ContinueAsNewError,
    WorkflowError,
    is_cancellation,
)
from core.statemachine.replay.execution import SdkExecutionState
from core.statemachine.replay.scheduler import Task

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

C = CommandType


def close_command(ex: Execution, task: Task[object]) -> Command | None:
    error = task.exception()
    if error is None:
        return Command(
            C.COMPLETE_WORKFLOW_EXECUTION,
            CompleteWorkflowExecutionCommandAttributes(
                result=payloads.to_payloads([task.result()])
            ),
        )
    if isinstance(error, ContinueAsNewError):
        start = ex.start
        return Command(
            C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            ContinueAsNewWorkflowExecutionCommandAttributes(
                workflow_type=WorkflowType(name=error.workflow_type or ex.definition.name),
                task_queue=TaskQueue(name=ex.task_queue),
                input=payloads.to_payloads(list(error.args)),
                workflow_run_timeout=start.workflow_run_timeout if start else None,
                workflow_task_timeout=start.workflow_task_timeout if start else None,
                backoff_start_interval=error.backoff or None,
                memo=error.memo,
                search_attributes=error.search_attributes,
            ),
        )
    if is_cancellation(error) and ex.run_entity.state is SdkExecutionState.CANCEL_REQUESTED:
        return Command(C.CANCEL_WORKFLOW_EXECUTION, CancelWorkflowExecutionCommandAttributes())
    if isinstance(error, WorkflowError):
        return Command(
            C.FAIL_WORKFLOW_EXECUTION,
            FailWorkflowExecutionCommandAttributes(failure=failure_of(error)),
        )
    ex.bug = error
    return None


def failure_of(error: WorkflowError) -> Opaque:
    if isinstance(error, ApplicationError):
        return payloads.application_failure(error.message, error.type, error.non_retryable)
    return payloads.application_failure(str(error), type(error).__name__)
