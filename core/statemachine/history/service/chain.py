"""The run that continues a chain: a retry, a cron run or a continue-as-new.

When a run closes and its chain goes on, the server starts the next run with a
first-task backoff: the retry policy's (`next_retry`), the cron schedule's
(`cron_backoff`), or the command's, never less than keeps the chain's runs
`MIN_RUN_INTERVAL` apart. `next_run` builds that start from the closing run's state
(`SetupNewWorkflowForRetryOrCron`, service/history/workflow/retry.go, and
`ContinueAsNew` in mutable_state_impl.go).
"""

from __future__ import annotations

from core.enums import ContinueAsNewInitiator, RetryState
from core.opaque import Opaque
from core.requests import StartWorkflowExecution
from core.statemachine.history.service import execution
from core.statemachine.history.service.cron import cron_backoff
from core.statemachine.history.service.retry import next_retry, retry_policy
from core.statemachine.history.service.state import MutableState, RetryCarry


def cron_delay(s: MutableState, now: int) -> int | None:
    if not s.cron_schedule:
        return None
    return cron_backoff(s.cron_schedule, s.execution_time or s.start_time, now)


def workflow_retry(
    s: MutableState, failure: Opaque | None, now: int
) -> tuple[int | None, RetryState]:
    if s.retry_policy is None:
        return None, RetryState.RETRY_POLICY_NOT_SET
    value = failure.value() if failure is not None else {}
    info = value.get("applicationFailureInfo", {}) if isinstance(value, dict) else {}
    info = info if isinstance(info, dict) else {}
    deadline = s.start_time + s.execution_timeout if s.execution_timeout else 0
    return next_retry(
        retry_policy(s.retry_policy),
        s.attempt,
        now,
        deadline,
        error_type=str(info.get("type", "")),
        non_retryable=bool(info.get("nonRetryable", False)),
    )


# A chain may not start a new run sooner than this after the last one began
# (history.workflowIdReuseMinimalInterval, 1 s by default).
MIN_RUN_INTERVAL = 1_000_000_000


def min_backoff(s: MutableState, now: int, backoff: int) -> int:
    """The first-task backoff of the run continuing `s`: at least what keeps the chain's
    runs MIN_RUN_INTERVAL apart (`ContinueAsNewMinBackoff` in mutable_state_impl.go,
    applied to continue-as-new and to retries alike)."""
    lifetime = now - (s.execution_time or s.start_time)
    if lifetime + backoff < MIN_RUN_INTERVAL:
        return MIN_RUN_INTERVAL - lifetime
    return backoff


_NO_CARRY = RetryCarry()


def next_run(
    s: MutableState,
    run_id: str,
    initiator: ContinueAsNewInitiator,
    backoff: int,
    now: int,
    failure: Opaque | None = None,
    last_completion_result: Opaque | None = None,
) -> StartWorkflowExecution:
    """The start of the run that continues this one's chain (retry, cron or
    continue-as-new).

    A retry or a cron run starts with this run's own input, header, memo and search
    attributes (`SetupNewWorkflowForRetryOrCron`, service/history/workflow/retry.go); a
    continue-as-new replaces them with the command's.
    """
    backoff = min_backoff(s, now, backoff)
    carry = s.retry_carry or _NO_CARRY
    return StartWorkflowExecution(
        namespace=s.namespace,
        workflow_id=s.workflow_id,
        run_id=run_id,
        workflow_type=s.workflow_type,
        task_queue=s.task_queue,
        request_id=run_id,
        input=carry.input,
        header=carry.header,
        memo=carry.memo,
        search_attributes=carry.search_attributes,
        priority=s.priority,
        workflow_task_timeout=s.workflow_task_timeout,
        run_timeout=s.run_timeout,
        execution_timeout=s.execution_timeout,
        first_workflow_task_backoff=backoff,
        parent=s.parent,
        retry_policy=s.retry_policy,
        attempt=s.attempt + 1 if initiator is ContinueAsNewInitiator.RETRY else 1,
        initiator=initiator,
        continued_execution_run_id=s.run_id,
        continued_failure=failure,
        first_execution_run_id=s.first_run_id,
        namespace_id=s.namespace_id,
        # Only a child's chain carries its root on: the server passes the root on with
        # the parent (`ContinueAsNew` in mutable_state_impl.go), and a run whose Started
        # names no root is its own (`ApplyWorkflowExecutionStartedEvent`).
        root=s.root if s.parent is not None else None,
        reset_points=execution.roll_over(s.reset_points, s.run_id, now, s.retention),
        retention=s.retention,
        cron_schedule=s.cron_schedule,
        last_completion_result=last_completion_result,
    )
