"""A run's timeouts as the server gives them at its start: the run and workflow task
timeouts a start may name, the chain's execution expiration and when the run's own
timeout timer fires (execution.py starts runs with them; refresh.py rebuilds the timer)."""

from __future__ import annotations

from core.requests import StartWorkflowExecution

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10_000_000_000  # frontend.defaultWorkflowTaskTimeout
MAX_WORKFLOW_TASK_TIMEOUT = 120_000_000_000  # maxWorkflowTaskStartToCloseTimeout


def run_timeout(run: int, execution: int) -> int:
    """The run timeout a start gets (`overrideWorkflowRunTimeout`,
    service/history/api/create_workflow_util.go): at most the execution timeout."""
    if execution == 0:
        return run
    return execution if run == 0 else min(run, execution)


def task_timeout(task: int, run: int) -> int:
    """The workflow task timeout (`overrideWorkflowTaskTimeout`): 10 s by default, at
    most 2 minutes, and never longer than the run timeout."""
    task = min(task or DEFAULT_WORKFLOW_TASK_TIMEOUT, MAX_WORKFLOW_TASK_TIMEOUT)
    return task if run == 0 else min(task, run)


_MS = 1_000_000


def execution_expiration(req: StartWorkflowExecution, now: int) -> int:
    """When the chain's execution timeout ends (0: never). A run continuing a chain keeps
    the chain's; a first start's is now plus its execution timeout, rounded to the
    millisecond (`CreateHistoryStartWorkflowRequest` in common/util.go)."""
    if req.execution_expiration or not req.execution_timeout:
        return req.execution_expiration
    return (now + req.execution_timeout + _MS // 2) // _MS * _MS


def run_expiry(start: int, backoff: int, run_timeout: int, expiration: int) -> int:
    """When the run's timeout timer fires (0: never): the run timeout counts from the end
    of the first-task backoff, and never past the chain's execution expiration
    (`ApplyWorkflowExecutionStartedEvent` in mutable_state_impl.go sets
    WorkflowRunExpirationTime so; the execution timeout's own timer, at the expiration,
    is this one when the run has no earlier deadline)."""
    if not run_timeout:
        return expiration
    at = start + backoff + run_timeout
    return min(at, expiration) if expiration else at
