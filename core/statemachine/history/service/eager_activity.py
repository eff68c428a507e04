"""Eager activity execution: a completion's activity started at once for its worker.

A ScheduleActivityTask command may ask (`request_eager_execution`) that the activity be
handed back to the worker completing the workflow task, already started, in the
completion's reply, rather than sent through matching for a worker to poll. The
rules (`handleCommandScheduleActivity` and `handlePostCommandEagerExecuteActivity` in
service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go):

- Granted when the command asks for it, the namespace's
  `system.enableActivityEagerExecution` is on (`Limits.activity_eager_execution`), and
  either the run uses no versioning or the activity asks to run on the workflow's
  build (`use_workflow_build_id`). A paused run is never granted it; the model has no
  paused runs (workflow pause is not modelled).
- A granted activity is scheduled with no transfer task: matching never sees it.
- Once every command and message of the completion is handled, each granted activity
  still pending in a run still running is started: a new request id, the completer's
  identity, and the stamp of the workflow's assigned build id. One cancelled by a later
  command of the same completion, or in a run a later command closed, is not started.
- As any start of an activity with a retry policy (every activity the model schedules
  has one), the start is kept in mutable state; ActivityTaskStarted is written when the
  activity closes (activity.py).
"""

from __future__ import annotations

from core.commands import ScheduleActivityTaskCommandAttributes
from core.enums import VersioningBehavior
from core.opaque import Opaque
from core.requests import ActivityTaskStarted, RecordActivityTaskStarted
from core.statemachine.history.limits import Limits
from core.statemachine.history.service import activity
from core.statemachine.history.service.ids import new_run_id
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Txn

# The stamp an eager start records: `WorkerVersionStamp{UseVersioning: buildId != "",
# BuildId: buildId}` of the workflow's assigned build id. No run has one in the model
# (versioning rules, which assign build ids, are not modelled), so it is the empty
# stamp, both fields at their zero values.
_NO_BUILD_STAMP = Opaque.of({})


def granted(limits: Limits, state: MutableState, a: ScheduleActivityTaskCommandAttributes) -> bool:
    """Whether the activity the command schedules is to be started eagerly."""
    return (
        a.request_eager_execution
        and limits.activity_eager_execution
        and (not _versioning_used(state) or a.use_workflow_build_id)
    )


def _versioning_used(state: MutableState) -> bool:
    """The run uses old (build-id based) versioning: its most recent completion's stamp
    says so and no Worker Deployment behavior applies to it, which allows eager
    activities whether pinned or not. The other half of the server's test, an assigned
    build id, never holds in the model (see _NO_BUILD_STAMP)."""
    stamp = state.most_recent_worker_version
    value = stamp.value() if stamp is not None else None
    uses = isinstance(value, dict) and value.get("useVersioning") is True
    behavior = VersioningBehavior.UNSPECIFIED
    if state.versioning is not None:
        behavior = state.versioning.effective().behavior
    return uses and behavior is VersioningBehavior.UNSPECIFIED


def start(txn: Txn, activity_ids: list[str], identity: str) -> tuple[ActivityTaskStarted, ...]:
    """Start the granted activities, named by activity id in command order, that are
    still pending in a run still running (the post-actions, after every command)."""
    if not txn.state.running or not activity_ids:  # a later command closed the run
        return ()
    # The server stamps the start with a clock reading of its own, taken after the
    # commands' events were made (timeSource.Now() in AddActivityTaskStartedEvent), so
    # the start is later than the schedule: on the model's nanosecond clock, 1 ns later.
    # It matters: the schedule-to-close timer is then due before a start-to-close timer
    # of the same length, and wins (timer_sequence.go sorts timers by due time first).
    completed_at = txn.now
    txn.now = completed_at + EAGER_START_LATER
    try:
        return _start_each(txn, activity_ids, identity)
    finally:
        txn.now = completed_at


EAGER_START_LATER = 1  # ns after the completion's own time (see `start`)


def _start_each(
    txn: Txn, activity_ids: list[str], identity: str
) -> tuple[ActivityTaskStarted, ...]:
    started: list[ActivityTaskStarted] = []
    for activity_id in activity_ids:
        info = next((x for x in txn.state.activities if x.activity_id == activity_id), None)
        if info is None:  # cancelled at once by a later command
            continue
        if info.started:
            # started by an earlier post-action: a cancelled activity's id scheduled
            # again in the same completion; the server would start it a second time
            # and hand it out twice, the model hands it out once
            continue
        request = RecordActivityTaskStarted(
            info.scheduled_event_id,
            info.stamp,
            # the server draws a random UUID (uuid.NewString()); the model derives one
            new_run_id(txn.state.run_id, f"eager-activity/{info.scheduled_event_id}"),
            identity,
            _NO_BUILD_STAMP,
        )
        _, reply = activity.decide(txn, request)  # the Scheduled -> Started row
        if isinstance(reply, ActivityTaskStarted):
            started.append(reply)
    return tuple(started)
