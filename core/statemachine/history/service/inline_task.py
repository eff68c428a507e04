"""The next workflow task, handed back inline by the completion that makes it.

A worker that completes a workflow task may ask for the next one in the answer
(`return_new_workflow_task`; every current SDK asks). The rules, from
`service/history/api/respondworkflowtaskcompleted/api.go` (`bypassTaskGeneration` and
what follows it):

- Only a completion the server accepts: one it refuses (a bad or unhandled command)
  fails its task and schedules the next through matching (commands.py `_reject` does
  not come here).
- The completion makes a new task when the run is still running and events were
  buffered while the task ran, the worker asked for one (`force_create_new_workflow_task`,
  the local-activity heartbeat), or an activity that had not started was cancelled: a
  normal task; otherwise, when an update waits for a task, a speculative one.
- Asked for, the task is scheduled without the transfer task that would take it to
  matching and without a sticky schedule-to-start timer (both are written by
  GenerateScheduleWorkflowTaskTasks, which the bypass skips), and started in the same
  transaction, as a poller's start would start it, its start-to-close timer included
  (`AddWorkflowTaskStartedEvent` in service/history/workflow/workflow_task_state_machine.go):
  request id "request-from-RespondWorkflowTaskCompleted", the completion's identity,
  the queue it was scheduled on. A speculative task writes no event here either: its
  Scheduled and Started come when it completes or is converted (unwritten_task.py).
- The completion's worker version stamp goes on the Started event, except a stamp
  saying `useVersioning` on a run with no assigned build id (old, build-id based
  versioning), which the server drops; the model's runs never have an assigned build
  id (worker_versions.py), so such a stamp is always dropped.
- The inline start asks matching nothing, so it has no routing revision to report: the
  server passes the sentinel -1, which leaves the run's notified and declined target
  versions as they are (but for an override, which clears them), and so does the model
  (versioning.py `started`).
- Not asked for, the task goes through matching, and one that would be speculative is
  a normal one, its Scheduled event written now: a speculative task is never given a
  transfer task by a completion.

Not modelled: the server's two other exceptions, which schedule a normal task through
matching even when asked, a stamp whose build id differs from the run's assigned build
id and a run in the middle of a transition to another deployment version
(`GetDeploymentTransition`): the model has no assigned build ids and keeps no
transition (versioning.py); and the workflow-task heartbeat timeout, which carries the
original scheduled time over to a heartbeat's next task
(`AddWorkflowTaskScheduledEventAsHeartbeat`).
"""

from __future__ import annotations

from core.opaque import Opaque
from core.requests import (
    RecordWorkflowTaskStarted,
    RespondWorkflowTaskCompleted,
    WorkflowTaskStarted,
)
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.reset_batches import INLINE_START_REQUEST_ID
from core.statemachine.history.service.txn import Txn

# The routing revision of a start that did not go through matching (api.go passes -1).
NO_ROUTING_REVISION = -1


def schedule_next(
    txn: Txn,
    req: RespondWorkflowTaskCompleted,
    speculative: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> WorkflowTaskStarted | None:
    """Schedule the task accepted completion `req` makes; started at once and returned
    when the worker asked for it, else None (the task goes through matching)."""
    inline = req.return_new_workflow_task
    speculative = speculative and inline  # else normal (api.go: "WFT must be created as Normal")
    workflow_task.schedule(txn, speculative=speculative, dispatch=not inline)
    wft = txn.state.wft
    if not inline or wft is None:
        return None  # (none scheduled: the run waits out a backoff)
    start = RecordWorkflowTaskStarted(
        wft.scheduled_event_id,
        wft.stamp,
        INLINE_START_REQUEST_ID,
        identity=req.identity,
        from_sticky_queue=wft.sticky,
        worker_version=_stamp(req),
        history_size_bytes=req.history_size_bytes,
        target_revision=NO_ROUTING_REVISION,
    )
    return workflow_task.start_at_once(txn, start, limits)


def _stamp(req: RespondWorkflowTaskCompleted) -> Opaque | None:
    """The completion's stamp as the inline Started carries it: none for one that says
    `useVersioning`, the run having no assigned build id."""
    stamp = req.worker_version
    value = stamp.value() if stamp is not None else None
    if isinstance(value, dict) and value.get("useVersioning") is True:
        return None
    return stamp
