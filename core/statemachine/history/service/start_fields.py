"""Fields of WorkflowExecutionStarted that show how the start reached the history
service: what it named and left unset, which differs between the SDKs' clients and the
server's own starts (execution.py writes the event).

- A client's start goes through the frontend, which normalises its task queue to kind
  NORMAL (`tqid.NormalizeAndValidate`, common/tqid/task_queue_validator.go) and builds
  the history request with attempt 1 and a first task backoff (zero when there is none:
  `CreateHistoryStartWorkflowRequest`, common/util.go). The server's own starts skip the
  normalisation (CreateSchedule and StartBatchOperation in
  service/frontend/workflow_handler.go: a queue with no kind), and the Worker Deployment
  client builds its history request itself, with neither attempt nor backoff
  (service/worker/workerdeployment/client.go).
- A timeout the start names is written as given, zero included (the Go SDK's client
  sends execution and run timeouts of 0s); one it leaves unset is not written.
"""

from __future__ import annotations

from dataclasses import replace

from core.enums import ContinueAsNewInitiator, TaskQueueKind
from core.requests import StartWorkflowExecution
from core.statemachine.history.service.cron import cron_backoff


def queue_kind(req: StartWorkflowExecution) -> TaskQueueKind:
    """The kind of the Started event's task queue (its first task's is always NORMAL)."""
    return TaskQueueKind.UNSPECIFIED if req.internal else TaskQueueKind.NORMAL


def given(value: int, explicit: bool) -> int | None:
    """A timeout as the Started event writes it: absent unless set or named as zero."""
    return value if value or explicit else None


def backoff(req: StartWorkflowExecution) -> int | None:
    """The first task's backoff as WorkflowExecutionStarted writes it. A client's start
    always names one, zero when there is none, as do a retry and a cron run (retry.go);
    a continue-as-new passes the command's backoff on unless the chain's minimum interval
    lengthens it (ContinueAsNewMinBackoff in service/history/workflow/mutable_state_impl.go),
    so a continued run that needs no wait writes none. A start naming no attempt was built
    without CreateHistoryStartWorkflowRequest, so names no backoff either."""
    can = req.initiator is ContinueAsNewInitiator.WORKFLOW
    if not req.attempt or (can and not req.first_workflow_task_backoff):
        return None
    return req.first_workflow_task_backoff


def child_cron(req: StartWorkflowExecution, now: int) -> StartWorkflowExecution:
    """A child's first run under a cron schedule: the transfer task builds the child's
    history request with `CreateHistoryStartWorkflowRequest` (common/util.go) when it
    starts it, which names the cron schedule as the initiator and waits for the
    schedule's first time after now (recorded: `kids.cron.run1.json`). A client's start
    gets the same from the frontend (adapters/serve); a chain's next run has its own."""
    if req.parent is None or not req.cron_schedule:
        return req
    if req.initiator is not ContinueAsNewInitiator.UNSPECIFIED:
        return req
    backoff = cron_backoff(req.cron_schedule, now, now) or 0
    return replace(
        req, initiator=ContinueAsNewInitiator.CRON_SCHEDULE, first_workflow_task_backoff=backoff
    )
