"""Transfer tasks that reach other workflows: start a child, tell a parent its child
closed (and apply the parent close policy), signal or cancel another workflow.

Temporal's transfer queue executes these through the history client, like any caller
(`service/history/transfer_queue_active_task_executor.go`): the target may live on
another shard, on another host. Here a task is a small sequence of calls through the
frontend's router; the outbox task is deleted only after the last call is answered,
and a task whose answers are lost is executed again after `RETRY` (at least once).
Repeats are harmless: the start carries the parent's request id (a retried start is
answered again, not started twice), the parent's records name the initiated event
(a second record finds nothing to record), and a child already started is not
started again (`processStartChildExecution` checks the parent's child info first).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from core import requests as rq
from core.statemachine.history.service.execution import parent_close_requests
from sim.kernel import SECOND
from sim.nodes.base import Payload, Request, Unavailable
from sim.persistence import OutboxTask

if TYPE_CHECKING:
    from sim.nodes.history import HistoryHost

RETRY = 1 * SECOND
Key = tuple[int, int, int]  # shard id, range id, outbox task id


def execute(host: HistoryHost, key: Key, task: OutboxTask) -> None:
    """Run (or re-run) one cross-workflow transfer task until it is done."""
    shard_id, range_id, _ = key
    if host.owned_pending(shard_id, range_id, task.task_id) is None:
        return
    t = task.task
    if not isinstance(t, rq.CloseExecutionTransfer) and _source_closed(host, task):
        # A run that closed in the batch that asked for a child, a signal or a cancel
        # sends none of them (processStartChildExecution: a closed parent starts no
        # child; processSignalExecution, processCancelExecution: nothing for a closed
        # run; transfer_queue_active_task_executor.go). Its parent close policy, in the
        # close task, still reaches children already started.
        host.finish_transfer(key, task)
        return
    if isinstance(t, rq.StartChildTransfer):
        _start_child(host, key, task, t)
    elif isinstance(t, rq.CloseExecutionTransfer):
        _report_close(host, key, task, t)
    elif isinstance(t, rq.SignalExternalTransfer | rq.CancelExternalTransfer):
        then = partial(_external_done, host, key, task, t)
        if t.workflow_id == task.workflow_id:
            # A workflow may not signal or cancel its own workflow id, whatever the run
            # id: the request fails as if the target were not found, without a call
            # (processSignalExecution, processCancelExecution in
            # transfer_queue_active_task_executor.go: "handle workflow signal itself").
            then(rq.Error(rq.ErrorKind.NOT_FOUND, "a workflow cannot signal or cancel itself"))
        else:
            request: Request = t.signal if isinstance(t, rq.SignalExternalTransfer) else t.request
            _call(host, task.namespace, t.workflow_id, t.run_id, request, then)
    host.kernel.after(RETRY, execute, host, key, task)


def _source_closed(host: HistoryHost, task: OutboxTask) -> bool:
    state = host.run_state(task.run_id)
    return state is not None and not state.running


def _call(
    host: HistoryHost,
    namespace: str,
    workflow_id: str,
    run_id: str,
    req: Request,
    then: object,
) -> None:
    host.cluster.frontend.history_call(
        host.name, host.on_transfer_reply, then, namespace, workflow_id, run_id, req
    )


def _start_child(host: HistoryHost, key: Key, task: OutboxTask, t: rq.StartChildTransfer) -> None:
    parent = host.run_state(task.run_id)
    child = parent.child(t.initiated_event_id) if parent is not None else None
    if child is None or child.started_event_id:  # resolved, or parent gone: nothing to do
        host.finish_transfer(key, task)
        return
    req = t.request

    def started(answer: Payload) -> None:
        if isinstance(answer, rq.Error) and answer.kind is rq.ErrorKind.ALREADY_EXISTS:
            record: Request = rq.RecordStartChildExecutionFailed(t.initiated_event_id)
        elif isinstance(answer, rq.Error | Unavailable):
            return  # transient: the retry starts again (deduplicated by request id)
        else:
            record = rq.RecordChildExecutionStarted(t.initiated_event_id, req.run_id)
        settled = partial(_settled, host, key, task)
        _call(host, task.namespace, task.workflow_id, task.run_id, record, settled)

    _call(host, req.namespace, req.workflow_id, "", req, started)


def _report_close(
    host: HistoryHost, key: Key, task: OutboxTask, t: rq.CloseExecutionTransfer
) -> None:
    # the parent close policy: what core says the server sends each open child
    for workflow_id, run_id, request in parent_close_requests(t):
        _call(host, task.namespace, workflow_id, run_id, request, None)
    parent = t.parent
    if parent is None or t.parent_outcome is None:
        host.finish_transfer(key, task)
        return
    # the run that closed the chain (`t.run_id`) is the one the parent's event names
    report = rq.RecordChildExecutionCompleted(
        parent.initiated_event_id, t.parent_outcome, t.payload, t.run_id, t.retry_state
    )
    settled = partial(_settled, host, key, task)
    _call(host, task.namespace, parent.workflow_id, parent.run_id, report, settled)


def _external_done(
    host: HistoryHost,
    key: Key,
    task: OutboxTask,
    t: rq.SignalExternalTransfer | rq.CancelExternalTransfer,
    answer: Payload,
) -> None:
    if isinstance(answer, Unavailable):
        return
    delivered = not isinstance(answer, rq.Error)
    cancel = isinstance(t, rq.CancelExternalTransfer)
    result = rq.RecordExternalResult(t.initiated_event_id, cancel, delivered)
    settled = partial(_settled, host, key, task)
    _call(host, task.namespace, task.workflow_id, task.run_id, result, settled)


def _settled(host: HistoryHost, key: Key, task: OutboxTask, answer: Payload) -> None:
    if isinstance(answer, Unavailable):
        return  # transient: the task runs again after RETRY
    if isinstance(answer, rq.Error) and answer.kind is rq.ErrorKind.NOT_READY:
        return  # the parent has not recorded the child's start yet: try again later
    host.finish_transfer(key, task)  # recorded, or nothing left to record
