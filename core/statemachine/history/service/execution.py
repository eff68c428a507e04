"""The run itself: start, signal, cancel request, terminate.

Rules (docs/temporal-semantics.md#workflow-execution and #closing-a-run;
`temporal:docs/architecture/workflow-lifecycle.md`, `service/history/api/*`):

- Start writes WorkflowExecutionStarted and, unless the first workflow task is delayed
  (`first_workflow_task_backoff`: continue-as-new, retry, cron, start delay), the first
  WorkflowTaskScheduled; it emits the transfer task and the run-timeout timer.
- A signal or cancel request writes its event (buffered while a task is in flight)
  and schedules a workflow task if none is pending. A repeated request id is a no-op
  (the server keeps the ids of recent signal and cancel requests).
- Terminate and the run timeout first fail an in-flight workflow task with
  FORCE_CLOSE_COMMAND and flush the buffer (`TerminateWorkflow`/`TimeoutWorkflow` in
  `service/history/workflow/util.go`), then write the close event. The run timeout's
  timer fires at `run_expiry`; what it does, which may continue the chain, is in
  chain.py.
- Requests to a closed run are rejected (WorkflowExecutionAlreadyCompleted); a start
  for an id that is already running is rejected unless it repeats the same request id.
"""

from __future__ import annotations

import dataclasses

from core.enums import (
    EventType,
    RetryState,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from core.events import (
    HistoryEvent,
    WorkflowExecution,
    WorkflowExecutionCancelRequestedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowType,
)
from core.fastenum import Enum
from core.fastinit import replace
from core.opaque import JsonValue, Opaque
from core.payloads import to_payloads
from core.requests import (
    ChildOutcome,
    CloseExecutionTransfer,
    Error,
    ErrorKind,
    Ok,
    RequestCancelWorkflowExecution,
    SignalWithStartWorkflowExecution,
    SignalWorkflowExecution,
    StartVersioning,
    StartWorkflowExecution,
    TerminateWorkflowExecution,
    WorkflowBackoffTask,
    WorkflowRunTimeoutTask,
)
from core.statemachine import fsm
from core.statemachine.history.limits import without_nil
from core.statemachine.history.service import start_fields, update, versioning, workflow_task
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.run_timeouts import (
    execution_expiration,
    run_expiry,
    run_timeout,
    task_timeout,
)
from core.statemachine.history.service.start_fields import given
from core.statemachine.history.service.state import (
    MutableState,
    ResetPoint,
    RunStatus,
    UpdateInfo,
    evolve,
    retry_carry_of,
)
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged
from core.task_queues import task_queue
from core.timefmt import rfc3339

E = EventType


def reset_points_json(points: tuple[ResetPoint, ...]) -> Opaque | None:
    """temporal.api.workflow.v1.ResetPoints as protojson (fields in number order, defaults
    left out, int64 as text)."""
    if not points:
        return None
    out: list[JsonValue] = []
    for p in points:
        point: dict[str, JsonValue] = {}
        if p.binary_checksum:
            point["binaryChecksum"] = p.binary_checksum
        point["runId"] = p.run_id
        point["firstWorkflowTaskCompletedId"] = str(p.first_workflow_task_completed_id)
        point["createTime"] = rfc3339(p.create_time)
        if p.expire_time:
            point["expireTime"] = rfc3339(p.expire_time)
        if p.resettable:
            point["resettable"] = True
        if p.build_id:
            point["buildId"] = p.build_id
        out.append(point)
    return Opaque.of({"points": out})


def roll_over(
    points: tuple[ResetPoint, ...], run_id: str, now: int, retention: int
) -> tuple[ResetPoint, ...]:
    """The points a continued run inherits: unexpired ones, the last run's now expiring a
    retention after it closed (`rolloverAutoResetPointsWithExpiringTime`)."""
    kept = []
    for p in points:
        if p.expire_time and p.expire_time < now:
            continue
        kept.append(replace(p, expire_time=now + retention) if p.run_id == run_id else p)
    return tuple(kept)


def _with_versioning(started: HistoryEvent, v: StartVersioning) -> HistoryEvent:
    """The Started event with what its start carried of Worker Versioning."""
    assert isinstance(started.attributes, WorkflowExecutionStartedEventAttributes)
    attributes = dataclasses.replace(
        started.attributes,
        versioning_override=v.versioning_override,
        inherited_pinned_version=v.inherited_pinned_version,
        inherited_auto_upgrade_info=v.inherited_auto_upgrade_info,
        declined_target_version_upgrade=v.declined_target_version_upgrade,
        source_version_stamp=v.source_version_stamp,
        inherited_build_id=v.inherited_build_id,
    )
    return dataclasses.replace(started, attributes=attributes)


def start_workflow_execution(
    req: StartWorkflowExecution, now: int, signal: SignalWorkflowExecution | None = None
) -> Outcome:
    """A new run: its first events and tasks (with SignalWithStart, the signal first)."""
    req = start_fields.child_cron(req, now)
    run = run_timeout(req.run_timeout, req.execution_timeout)
    filled = {
        "run_timeout": run,
        "workflow_task_timeout": task_timeout(req.workflow_task_timeout, run),
        "execution_expiration": execution_expiration(req, now),
        "memo": without_nil(req.memo, "fields"),
        "search_attributes": without_nil(req.search_attributes, "indexedFields"),
    }
    changed = {name: v for name, v in filled.items() if getattr(req, name) != v}
    if changed:  # a start that arrives with them filled in is kept as it is
        req = replace(req, **changed)
    state = MutableState(
        namespace=req.namespace,
        workflow_id=req.workflow_id,
        run_id=req.run_id,
        workflow_type=req.workflow_type,
        task_queue=req.task_queue,
        start_time=now,
        workflow_task_timeout=req.workflow_task_timeout,
        run_timeout=req.run_timeout,
        execution_timeout=req.execution_timeout,
        explicit_execution_timeout=req.explicit_execution_timeout,
        explicit_run_timeout=req.explicit_run_timeout or bool(req.run_timeout),
        first_run_id=req.first_execution_run_id or req.run_id,
        start_request_id=req.request_id,
        parent=req.parent,
        attempt=req.attempt,
        retry_policy=req.retry_policy,
        namespace_id=req.namespace_id,
        root=req.root or (req.workflow_id, req.run_id),
        execution_time=now + req.first_workflow_task_backoff,
        reset_points=req.reset_points,
        retention=req.retention,
        memo=req.memo,
        search_attributes=req.search_attributes,
        priority=req.priority,
        retry_carry=retry_carry_of(req),
        cron_schedule=req.cron_schedule,
        last_completion_result=req.last_completion_result,
        execution_expiration=req.execution_expiration,
        completion_callbacks=req.completion_callbacks,
        start_links=req.links,
    )
    # An eager start is declined when the first task waits for a backoff (the Starter's
    # check in service/history/api/startworkflow/api.go).
    eager = req.request_eager_execution and not req.first_workflow_task_backoff
    txn = Txn.creating(state, now)
    txn.append(
        E.WORKFLOW_EXECUTION_STARTED,
        WorkflowExecutionStartedEventAttributes(
            workflow_type=WorkflowType(name=req.workflow_type),
            task_queue=task_queue(req.task_queue, start_fields.queue_kind(req)),
            input=req.input,
            workflow_execution_timeout=given(req.execution_timeout, req.explicit_execution_timeout),
            workflow_run_timeout=given(req.run_timeout, req.explicit_run_timeout),
            workflow_task_timeout=req.workflow_task_timeout,
            original_execution_run_id=req.run_id,
            first_execution_run_id=req.first_execution_run_id or req.run_id,
            continued_execution_run_id=req.continued_execution_run_id,
            initiator=req.initiator,
            continued_failure=req.continued_failure,
            retry_policy=req.retry_policy,
            identity=req.identity,
            attempt=req.attempt,
            workflow_execution_expiration_time=req.execution_expiration or None,
            first_workflow_task_backoff=start_fields.backoff(req),
            workflow_id=req.workflow_id,
            parent_workflow_namespace=req.namespace if req.parent else "",
            parent_workflow_execution=(
                WorkflowExecution(workflow_id=req.parent.workflow_id, run_id=req.parent.run_id)
                if req.parent
                else None
            ),
            parent_initiated_event_id=req.parent.initiated_event_id if req.parent else 0,
            header=req.header,
            memo=req.memo,
            search_attributes=req.search_attributes,
            last_completion_result=req.last_completion_result,
            parent_workflow_namespace_id=req.namespace_id if req.parent else "",
            root_workflow_execution=(
                WorkflowExecution(workflow_id=req.root[0], run_id=req.root[1])
                if req.parent and req.root
                else None
            ),
            prev_auto_reset_points=reset_points_json(req.reset_points),
            priority=req.priority,
            cron_schedule=req.cron_schedule,
            eager_execution_accepted=eager,
            completion_callbacks=req.completion_callbacks,
        ),
    )
    if req.versioning is not None:
        v = versioning.start_v32(req.versioning)  # the override in its v0.32 form only
        txn.events[0] = _with_versioning(txn.events[0], v)
        txn.set(versioning=versioning.start_info(v))
    if req.user_metadata is not None:
        txn.events[0] = dataclasses.replace(txn.events[0], user_metadata=req.user_metadata)
    txn.mark(1, links=req.links)  # the start's links (event_factory.go, the Started event)
    if signal is not None:
        _write_signal(txn, signal)
    if req.update is not None:  # update-with-start: the first workflow task carries it
        txn.set(updates=(UpdateInfo(req.update.update_id, req.update.request),))
    if req.first_workflow_task_backoff:
        txn.set(backoff_pending=True)
        txn.task(WorkflowBackoffTask(now + req.first_workflow_task_backoff))
    elif eager:
        workflow_task.start_eagerly(txn, req.request_id, req.identity)
    else:
        workflow_task.schedule(txn)
    backoff = req.first_workflow_task_backoff
    expiry = run_expiry(now, backoff, req.run_timeout, req.execution_expiration)
    if expiry:
        txn.task(WorkflowRunTimeoutTask(expiry))
    return finish(txn, Ok())


# Closes after which ALLOW_DUPLICATE_FAILED_ONLY lets a new run start.
_FAILED_CLOSES = frozenset(
    {RunStatus.FAILED, RunStatus.CANCELED, RunStatus.TERMINATED, RunStatus.TIMED_OUT}
)


def start_again(state: MutableState, req: StartWorkflowExecution, now: int = 0) -> Outcome:
    """StartWorkflowExecution for a workflow id whose latest run is `state`.

    A retry of the latest run's own start (same request id) is answered again, running
    or closed: the request id is compared before the reuse policy
    (`service/history/api/startworkflow/api.go`, the previous start request id check),
    so a retried start never begins a second chain. A running run rejects another
    start, unless the policy is TERMINATE_IF_RUNNING, which terminates it first. A
    closed run lets a new run start as the WorkflowIdReusePolicy says
    (`service/history/api/startworkflow/`, id reuse checks): ALLOW_DUPLICATE always,
    ALLOW_DUPLICATE_FAILED_ONLY after a failure, cancel, terminate or timeout,
    REJECT_DUPLICATE never. An allowed start is returned in `Outcome.new_run`. The
    retried start of an update-with-start that made the running run admits its update
    there.
    """
    policy = req.id_reuse_policy
    if req.request_id == state.start_request_id:
        if req.update is not None and state.running:
            # update-with-start retried: its update goes to the run its start made
            # (`canDedup` in service/history/api/multioperation/api.go)
            return update.update_workflow_execution(state, req.update, now)
        return unchanged(state, Ok())  # the client retried its own start
    if state.running and policy is not WorkflowIdReusePolicy.TERMINATE_IF_RUNNING:
        return unchanged(
            state, Error(ErrorKind.ALREADY_EXISTS, f"workflow {state.workflow_id} is running")
        )
    if state.running:
        ended = terminate_workflow_execution(state, terminate_if_running(req.run_id), now)
        return dataclasses.replace(ended, new_run=req)
    allowed = policy is WorkflowIdReusePolicy.ALLOW_DUPLICATE or (
        policy is WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        and state.status in _FAILED_CLOSES
    )
    if not allowed:
        return unchanged(
            state, Error(ErrorKind.ALREADY_EXISTS, f"workflow {state.workflow_id} already ran")
        )
    return Outcome(state, (), (), Ok(), new_run=req)


def terminate_if_running(new_run_id: str) -> TerminateWorkflowExecution:
    """The terminate of a running run that a start with TERMINATE_IF_RUNNING (or the
    TERMINATE_EXISTING conflict policy) replaces, in the history service's words
    (terminateWorkflowAction, service/history/api/workflow_id_dedup.go)."""
    return TerminateWorkflowExecution(
        reason="TerminateIfRunning WorkflowIdReusePolicy",
        identity=HISTORY_SERVICE,
        details=to_payloads([f"terminated by new runID: {new_run_id}"]),
    )


def _closed(state: MutableState) -> Outcome:
    return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow execution is closed"))


def signal_workflow_execution(
    state: MutableState, req: SignalWorkflowExecution, now: int
) -> Outcome:
    # A repeated request is answered OK even after the run closed: its first attempt
    # was applied (`service/history/api/signalworkflow/api.go` checks the request id
    # before the run's state), so a sender whose answer was lost is not told it failed.
    if req.request_id and req.request_id in state.signal_request_ids:
        return unchanged(state, Ok())
    if not state.running:
        return _closed(state)
    txn = Txn(state, now)
    _write_signal(txn, req)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def _write_signal(txn: Txn, req: SignalWorkflowExecution) -> None:
    # the request's links go on the event (AddWorkflowExecutionSignaledEvent in
    # service/history/historybuilder/event_factory.go)
    event_id = txn.add(
        E.WORKFLOW_EXECUTION_SIGNALED,
        WorkflowExecutionSignaledEventAttributes(
            signal_name=req.signal_name,
            input=req.input,
            identity=req.identity,
            header=req.header,
            request_id=req.request_id,
            external_workflow_execution=(
                WorkflowExecution(workflow_id=req.external_workflow_id, run_id=req.external_run_id)
                if req.external_workflow_id
                else None
            ),
        ),
    )
    txn.mark(event_id, links=req.links)
    if req.request_id:
        txn.set(signal_request_ids=txn.state.signal_request_ids | {req.request_id})


def signal_with_start_workflow_execution(
    state: MutableState | None, req: SignalWithStartWorkflowExecution, now: int
) -> Outcome:
    """Signal the running run; otherwise start a new run whose first event after the
    start is the signal (`service/history/api/signalwithstartworkflow/`)."""
    if state is not None and state.running:
        return signal_workflow_execution(state, req.signal, now)
    return start_workflow_execution(req.start, now, req.signal)


def request_cancel_workflow_execution(
    state: MutableState, req: RequestCancelWorkflowExecution, now: int
) -> Outcome:
    if not state.running:  # "a success even if the target workflow has already finished"
        return unchanged(state, Ok())  # (service/history/api/requestcancelworkflow/api.go)
    if state.cancel_requested:
        return unchanged(state, Ok())  # a second request changes nothing
    txn = Txn(state, now)
    event_id = txn.add(
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        WorkflowExecutionCancelRequestedEventAttributes(
            cause=req.reason,
            identity=req.identity,
            external_initiated_event_id=req.external_initiated_event_id,
            external_workflow_execution=(
                WorkflowExecution(workflow_id=req.external_workflow_id, run_id=req.external_run_id)
                if req.external_workflow_id
                else None
            ),
        ),
    )
    # the request's links go on the event (AddWorkflowExecutionCancelRequestedEvent in
    # service/history/historybuilder/event_factory.go)
    txn.mark(event_id, links=req.links)
    # Unlike a signal, a cancel request schedules the workflow task even during the
    # first task's backoff (a start delay, a retry or cron wait), ending it: the
    # request's update asks for a new task unconditionally (requestcancelworkflow/api.go,
    # UpdateWorkflowWithNewWorkflowTask), where signalworkflow/api.go checks
    # IsWorkflowPendingOnWorkflowTaskBackoff. The backoff timer then finds it done.
    txn.set(cancel_requested=True, backoff_pending=False)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


def force_close_task(txn: Txn) -> None:
    """Fail a task in flight as the history service (`failWorkflowTask`,
    service/history/workflow/util.go), and flush the buffer."""
    wft = txn.state.wft
    if wft is not None and wft.started:
        cause = WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND
        workflow_task.fail(txn, wft, cause, identity=HISTORY_SERVICE)
    txn.flush()


class RunInput(Enum):
    COMPLETE = "CompleteWorkflowExecution"
    FAIL = "FailWorkflowExecution"
    RETRY = "FailWorkflowExecution (retried)"
    CRON = "CompleteWorkflowExecution (cron: the chain goes on)"
    CANCEL = "CancelWorkflowExecution"
    CONTINUE_AS_NEW = "ContinueAsNewWorkflowExecution"
    TERMINATE = "TerminateWorkflowExecution"
    TIME_OUT = "run timeout"
    TIME_OUT_CHAINED = "run timeout (retried, or cron: the chain goes on)"


_R = RunStatus
TABLE = fsm.make_table(
    "workflow execution (service)",
    "INV-RUN-CLOSES-ONCE",
    RunStatus,
    RunInput,
    _R.RUNNING,
    [
        (_R.RUNNING, RunInput.COMPLETE, _R.COMPLETED),
        (_R.RUNNING, RunInput.FAIL, _R.FAILED),
        (_R.RUNNING, RunInput.RETRY, _R.FAILED),
        (_R.RUNNING, RunInput.CRON, _R.COMPLETED),
        (_R.RUNNING, RunInput.CANCEL, _R.CANCELED),
        (_R.RUNNING, RunInput.CONTINUE_AS_NEW, _R.CONTINUED_AS_NEW),
        (_R.RUNNING, RunInput.TERMINATE, _R.TERMINATED),
        (_R.RUNNING, RunInput.TIME_OUT, _R.TIMED_OUT),
        (_R.RUNNING, RunInput.TIME_OUT_CHAINED, _R.TIMED_OUT),
    ],
)

_INPUT_OF = {
    _R.COMPLETED: RunInput.COMPLETE,
    _R.FAILED: RunInput.FAIL,
    _R.CANCELED: RunInput.CANCEL,
    _R.CONTINUED_AS_NEW: RunInput.CONTINUE_AS_NEW,
    _R.TERMINATED: RunInput.TERMINATE,
    _R.TIMED_OUT: RunInput.TIME_OUT,
}

_CHAINED_INPUT = {
    _R.COMPLETED: RunInput.CRON,
    _R.FAILED: RunInput.RETRY,
    _R.TIMED_OUT: RunInput.TIME_OUT_CHAINED,
}

# How a parent hears of its child's close (ChildOutcome), by the child's final status.
_PARENT_OUTCOME = {
    RunStatus.COMPLETED: ChildOutcome.COMPLETED,
    RunStatus.FAILED: ChildOutcome.FAILED,
    RunStatus.CANCELED: ChildOutcome.CANCELED,
    RunStatus.TIMED_OUT: ChildOutcome.TIMED_OUT,
    RunStatus.TERMINATED: ChildOutcome.TERMINATED,
}


def close(
    txn: Txn,
    status: RunStatus,
    payload: Opaque | None = None,
    chain_continues: bool = False,
    retry_state: RetryState = RetryState.RETRY_POLICY_NOT_SET,
) -> None:
    """Mark the run closed after its close event; emit the close transfer task.

    The task carries what the transfer executor needs: the parent to notify (unless
    the chain continues as a new run) and the open children with their parent close
    policies (`transfer_queue_active_task_executor.go`, processCloseExecution).
    """
    s = txn.state
    # a run that hands over to the chain's next one: a failed or timed-out run (retried,
    # or a cron run with no retry left) or a completed cron run
    run_input = _CHAINED_INPUT[status] if chain_continues else _INPUT_OF[status]
    new_status, _ = fsm.step(TABLE, s.status, run_input)
    assert new_status is status, (new_status, status)
    left = s.wft
    if left is not None:  # scheduled, never started: it goes with the run
        workflow_task.transition(left, workflow_task.WorkflowTaskInput.RUN_CLOSED)
        if left.speculative:
            left = None
    txn.set(
        status=status,
        close_event_id=s.next_event_id - 1,
        wft=None,
        wft_at_close=left,
        buffered=(),
    )
    txn.task(
        CloseExecutionTransfer(
            run_id=s.run_id,
            workflow_id=s.workflow_id,
            parent=s.parent,
            parent_outcome=(
                _PARENT_OUTCOME.get(status) if s.parent and not chain_continues else None
            ),
            payload=payload,
            children=tuple(
                (c.workflow_id, c.run_id, c.parent_close_policy)
                for c in s.children
                if c.started_event_id
            ),
            retry_state=retry_state,
        )
    )


def terminate_workflow_execution(
    state: MutableState, req: TerminateWorkflowExecution, now: int
) -> Outcome:
    if not state.running:
        return _closed(state)
    txn = Txn(state, now)
    terminate(txn, req)
    return finish(txn, Ok())


def terminate(txn: Txn, req: TerminateWorkflowExecution) -> None:
    """Fail a task in flight, flush, write WorkflowExecutionTerminated, close the run
    (`TerminateWorkflow` in service/history/workflow/util.go)."""
    force_close_task(txn)
    event_id = txn.append(
        E.WORKFLOW_EXECUTION_TERMINATED,
        WorkflowExecutionTerminatedEventAttributes(
            reason=req.reason, details=req.details, identity=req.identity
        ),
    )
    txn.mark(event_id, links=req.links)  # the request's (CreateWorkflowExecutionTerminatedEvent)
    close(txn, RunStatus.TERMINATED)


def workflow_backoff_timer_fired(
    state: MutableState, task: WorkflowBackoffTask, now: int
) -> Outcome:
    """The delayed first workflow task is due."""
    if not state.running or not state.backoff_pending:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "stale backoff timer"))
    txn = Txn(evolve(state, backoff_pending=False), now)
    workflow_task.schedule(txn)
    return finish(txn, Ok())


# ParentClosePolicy numbers (temporal/api/enums/v1/workflow.proto).
_TERMINATE, _ABANDON, _REQUEST_CANCEL = 1, 2, 3


def parent_close_requests(
    task: CloseExecutionTransfer,
) -> tuple[tuple[str, str, TerminateWorkflowExecution | RequestCancelWorkflowExecution], ...]:
    """What the close transfer task sends each still-open child, by its parent close
    policy: TERMINATE terminates it, REQUEST_CANCEL asks it to cancel, ABANDON leaves it
    running (`applyParentClosePolicy` in transfer_queue_active_task_executor.go): both
    signed by the history service, the cancel request with no reason and naming the
    parent as the requester (recorded: `pcp-*.child.json` of the unseen histories).

    Returns ``(workflow_id, run_id, request)`` per child that gets a request.
    """
    requests: list[
        tuple[str, str, TerminateWorkflowExecution | RequestCancelWorkflowExecution]
    ] = []
    for workflow_id, run_id, policy in task.children:
        if policy == _TERMINATE:
            stop = TerminateWorkflowExecution("by parent close policy", HISTORY_SERVICE)
            requests.append((workflow_id, run_id, stop))
        elif policy == _REQUEST_CANCEL:
            request = RequestCancelWorkflowExecution(
                request_id=f"{task.run_id}/close/{workflow_id}",
                identity=HISTORY_SERVICE,
                external_workflow_id=task.workflow_id,
                external_run_id=task.run_id,
            )
            requests.append((workflow_id, run_id, request))
    return tuple(requests)
