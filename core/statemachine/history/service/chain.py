"""The run that continues a chain: a retry, a cron run or a continue-as-new.

When a run closes and its chain goes on, the server starts the next run with a
first-task backoff: the retry policy's (`next_retry`), the cron schedule's
(`cron_backoff`), or the command's, never less than keeps the chain's runs
`MIN_RUN_INTERVAL` apart. `next_run` builds that start from the closing run's state
(`SetupNewWorkflowForRetryOrCron`, service/history/workflow/retry.go, and
`ContinueAsNew` in mutable_state_impl.go).

A run closes so by a command (command_handlers.py: complete, fail, continue-as-new) or
by its run timeout (`workflow_run_timeout` here, `executeWorkflowRunTimeoutTask` in
service/history/timer_queue_active_task_executor.go): a timed-out run is retried under
its retry policy, or else goes on by its cron schedule, unless the chain's execution
timeout has expired.
"""

from __future__ import annotations

from core.enums import ContinueAsNewInitiator, EventType, RetryState, TimeoutType
from core.events import WorkflowExecutionTimedOutEventAttributes
from core.opaque import Opaque
from core.requests import Error, ErrorKind, Ok, StartWorkflowExecution, WorkflowRunTimeoutTask
from core.statemachine.history.service import execution, versioning
from core.statemachine.history.service.activity_tasks import TIMEOUT_NAME, timeout_failure
from core.statemachine.history.service.cron import cron_backoff
from core.statemachine.history.service.ids import new_run_id
from core.statemachine.history.service.retry import next_retry, retry_policy
from core.statemachine.history.service.state import MutableState, RetryCarry, RunStatus
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged


def cron_delay(s: MutableState, now: int) -> int | None:
    if not s.cron_schedule:
        return None
    return cron_backoff(s.cron_schedule, s.execution_time or s.start_time, now)


def workflow_retry(
    s: MutableState, failure: Opaque | None, now: int
) -> tuple[int | None, RetryState]:
    """The retry of a run failed with `failure` (`GetRetryBackoffDuration`)."""
    value = failure.value() if failure is not None else {}
    info = value.get("applicationFailureInfo", {}) if isinstance(value, dict) else {}
    info = info if isinstance(info, dict) else {}
    error_type, non_retryable = str(info.get("type", "")), bool(info.get("nonRetryable", False))
    return _retry(s, now, error_type, non_retryable, failure)


def _retry(
    s: MutableState, now: int, error_type: str, non_retryable: bool, failure: Opaque | None = None
) -> tuple[int | None, RetryState]:
    if s.retry_policy is None:
        return None, RetryState.RETRY_POLICY_NOT_SET
    # The retry must start before the chain's execution expiration
    # (`WorkflowExecutionExpirationTime`, the same for every run of the chain).
    return next_retry(
        retry_policy(s.retry_policy),
        s.attempt,
        now,
        s.execution_expiration,
        error_type=error_type,
        non_retryable=non_retryable,
        # judged as IsRetryableFailure judges it, its next retry delay capped by the
        # maximum interval (getBackoffInterval)
        failure=failure,
    )


# What a timed-out run hands its successor as the continued failure
# (`failure.NewTimeoutFailure("workflow timeout", TIMEOUT_TYPE_START_TO_CLOSE)`), and the
# type a retry policy names to make it non-retryable (`retrypolicy.IsRetryableFailure`:
# "TemporalTimeout:" and the timeout type's Go name).
RUN_TIMEOUT_FAILURE = timeout_failure("workflow timeout", TimeoutType.START_TO_CLOSE)
RUN_TIMEOUT_ERROR_TYPE = "TemporalTimeout:" + TIMEOUT_NAME[TimeoutType.START_TO_CLOSE]


def workflow_run_timeout(state: MutableState, task: WorkflowRunTimeoutTask, now: int) -> Outcome:
    """The run timeout: time the run out, and start the chain's next run if it goes on.

    `executeWorkflowRunTimeoutTask`: while the chain's execution expiration is still
    ahead, the run is retried when its retry policy allows (initiator RETRY), or else
    continued by its cron schedule (CRON_SCHEDULE); WorkflowExecutionTimedOut carries the
    retry state and the next run's id. Once the execution has expired the retry state is
    TIMEOUT and the chain ends. The next run is started as after a failure, with the
    timeout failure as its continued failure and this run's last completion result.
    """
    if not state.running:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "stale run timeout"))
    delay: int | None = None
    retry_state = RetryState.TIMEOUT
    initiator = ContinueAsNewInitiator.RETRY
    if not state.execution_expiration or state.execution_expiration > now:
        delay, retry_state = _retry(state, now, RUN_TIMEOUT_ERROR_TYPE, False)
        if delay is None and (delay := cron_delay(state, now)) is not None:
            initiator = ContinueAsNewInitiator.CRON_SCHEDULE
    following = new_run_id(state.run_id, initiator.name.lower()) if delay is not None else ""
    txn = Txn(state, now)
    execution.force_close_task(txn)
    txn.append(
        EventType.WORKFLOW_EXECUTION_TIMED_OUT,
        WorkflowExecutionTimedOutEventAttributes(
            retry_state=retry_state, new_execution_run_id=following
        ),
    )
    execution.close(txn, RunStatus.TIMED_OUT, None, delay is not None, retry_state)
    if delay is None:
        return finish(txn, Ok())
    start = next_run(
        state,
        following,
        initiator,
        delay,
        now,
        RUN_TIMEOUT_FAILURE,
        state.last_completion_result,
    )
    return finish(txn, Ok(), start)


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
    # A retry and a continue-as-new are started with the run's completion callbacks; a
    # cron run is not (`SetupNewWorkflowForRetryOrCron` copies them for RETRY only,
    # `ContinueAsNew` always).
    cron = initiator is ContinueAsNewInitiator.CRON_SCHEDULE
    callbacks = None if cron else s.completion_callbacks
    # A retry or a cron run keeps the start's priority and a pinned override (retry.go);
    # a continue-as-new keeps the run's priority as it is now (`ContinueAsNew` copies
    # ExecutionInfo.Priority) and replaces the versioning (command_handlers.py).
    again = initiator is not ContinueAsNewInitiator.WORKFLOW and s.retry_carry is not None
    priority = carry.priority if again else s.priority
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
        priority=priority,
        workflow_task_timeout=s.workflow_task_timeout,
        run_timeout=s.run_timeout,
        execution_timeout=s.execution_timeout,
        explicit_execution_timeout=s.explicit_execution_timeout,
        explicit_run_timeout=s.explicit_run_timeout,
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
        execution_expiration=s.execution_expiration,
        completion_callbacks=callbacks,
        links=s.start_links,  # the chain's start's (see MutableState.start_links)
        versioning=versioning.retried(s, initiator),
    )
