"""Workflow tasks on the server: schedule, start, complete, fail, time out.

```
              RecordWorkflowTaskStarted        RespondWorkflowTaskCompleted
  Scheduled ─────────────────────────────▶ Started ────────────────────────▶ Completed
      │ sticky schedule-to-start timeout     │ RespondWorkflowTaskFailed | start-to-close
      ▼                                      ▼ timeout | force close
   TimedOut (next task on the normal queue)  Failed / TimedOut (next attempt)
```

Rules encoded here (docs/temporal-semantics.md#workflow-task,
`service/history/workflow/workflow_task_state_machine.go`):

- At most one workflow task is pending. It is scheduled on the sticky queue when the
  last completion asked for stickiness, with a schedule-to-start timer; if that fires
  first the task times out SCHEDULE_TO_START without an attempt increment, stickiness
  is cleared and the task is rescheduled on the normal queue
  (`timer_queue_active_task_executor.go`).
- A push to a sticky queue that matching answers StickyWorkerUnavailable (no poller
  there for 10 s) goes to the run's normal queue instead, mutable state unchanged
  (`push_to_normal_queue`); a poller of another queue that starts a task while the run
  is sticky clears the stickiness (`record_workflow_task_started`).
- A failure or start-to-close timeout increments the attempt, except on a sticky queue
  (stickiness is cleared instead, `failWorkflowTask(incrementAttempt)`). A task with
  attempt > 1 is transient: its Scheduled/Started events are written only when it
  completes, and its own failures and timeouts write nothing.
- RecordWorkflowTaskStarted is idempotent for the same request id and rejects stale
  dispatches: unknown scheduled id NOT_FOUND, another stamp or a sticky poll for a
  task that moved back to the normal queue OBSOLETE, started by another request
  ALREADY_STARTED (`service/history/api/recordworkflowtaskstarted/api.go`).
- A completion or failure must carry the token of the current started task, else
  NOT_FOUND (`respondworkflowtaskcompleted/api.go`).
- A reset fails the task pending at the reset point of the new run with
  RESET_WORKFLOW (reset.py), starting it first if it had not started.
"""

from __future__ import annotations

import dataclasses

from core.enums import EventType, TimeoutType, WorkflowTaskFailedCause
from core.events import (
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)
from core.fastenum import Enum
from core.fastinit import replace
from core.opaque import Opaque
from core.requests import (
    Error,
    ErrorKind,
    Ok,
    RecordWorkflowTaskStarted,
    RespondWorkflowTaskCompleted,
    WorkflowTaskStarted,
    WorkflowTaskTimeoutTask,
    WorkflowTaskToken,
    WorkflowTaskTransfer,
)
from core.statemachine import fsm
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, suggest_continue_as_new
from core.statemachine.history.service import versioning
from core.statemachine.history.service.reset_points import build_id_of, with_completion
from core.statemachine.history.service.speculative_end import write_events
from core.statemachine.history.service.state import (
    RUNNING,
    MutableState,
    WorkflowTaskInfo,
    revise,
)
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged
from core.statemachine.history.service.unwritten_task import (
    queue_of,
    unwritten_attributes,
    write_transient,
)
from core.statemachine.history.service.worker_versions import build_ids_after

E = EventType


class PendingWorkflowTaskState(Enum):
    SCHEDULED = "Scheduled"
    STARTED = "Started"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    DISCARDED = "Discarded"
    DROPPED = "Dropped"


class WorkflowTaskInput(Enum):
    RECORD_STARTED = "RecordWorkflowTaskStarted"
    RESPOND_COMPLETED = "RespondWorkflowTaskCompleted"
    COMPLETION_REJECTED = "RespondWorkflowTaskCompleted (bad command, unhandled command)"
    RESPOND_FAILED = "RespondWorkflowTaskFailed"
    START_TO_CLOSE_TIMEOUT = "start-to-close timeout"
    SCHEDULE_TO_START_TIMEOUT = "sticky schedule-to-start timeout"
    FORCE_CLOSE = "terminate / workflow timeout (FORCE_CLOSE_COMMAND)"
    DISCARD = "speculative task completed with rejections only"
    CONVERT = "speculative task made normal by new events"
    RUN_CLOSED = "run closed before the task started"
    RESET = "reset of the run (RESET_WORKFLOW)"


_S = PendingWorkflowTaskState
_I = WorkflowTaskInput

TABLE = fsm.make_table(
    "workflow task (service)",
    "H5",
    PendingWorkflowTaskState,
    WorkflowTaskInput,
    _S.SCHEDULED,
    [
        (_S.SCHEDULED, _I.RECORD_STARTED, _S.STARTED),
        (_S.SCHEDULED, _I.SCHEDULE_TO_START_TIMEOUT, _S.TIMED_OUT),
        (_S.SCHEDULED, _I.CONVERT, _S.SCHEDULED),
        (_S.STARTED, _I.CONVERT, _S.STARTED),
        (_S.SCHEDULED, _I.RUN_CLOSED, _S.DROPPED),
        (_S.STARTED, _I.RESPOND_COMPLETED, _S.COMPLETED),
        (_S.STARTED, _I.COMPLETION_REJECTED, _S.FAILED),
        (_S.STARTED, _I.RESPOND_FAILED, _S.FAILED),
        (_S.STARTED, _I.START_TO_CLOSE_TIMEOUT, _S.TIMED_OUT),
        (_S.STARTED, _I.FORCE_CLOSE, _S.FAILED),
        (_S.STARTED, _I.RESET, _S.FAILED),
        (_S.STARTED, _I.DISCARD, _S.DISCARDED),
    ],
)


def transition(wft: WorkflowTaskInfo, input_: WorkflowTaskInput) -> None:
    """Check a transition against TABLE (raises InvalidTransition on a model bug)."""
    fsm.step(TABLE, _S.STARTED if wft.started else _S.SCHEDULED, input_)


# A task that keeps failing gets more time to finish from its fourth attempt on
# (workflow_task_state_machine.go getStartToCloseTimeout): the base timeout plus an
# exponential backoff of 5 s, doubling per attempt, capped at 10 minutes
# (history.workflowTaskRetryMaxInterval). The server scales that backoff by a random
# jitter in [0.8, 1); the model takes the low end, a value the server can produce.
RETRY_BACKOFF_MIN_ATTEMPTS = 3
RETRY_INITIAL_INTERVAL = 5_000_000_000
RETRY_MAX_INTERVAL = 600_000_000_000


def start_to_close_timeout(base: int, attempt: int) -> int:
    if attempt <= RETRY_BACKOFF_MIN_ATTEMPTS:
        return base
    steps = attempt - RETRY_BACKOFF_MIN_ATTEMPTS - 1
    backoff = min(RETRY_INITIAL_INTERVAL * (1 << min(steps, 40)), RETRY_MAX_INTERVAL)
    return base + backoff * 4 // 5


def schedule(txn: Txn, speculative: bool = False, dispatch: bool = True) -> None:
    """Schedule a workflow task unless one is pending or the run is closed.

    A speculative task (for an update) writes nothing now; see update.py. Without
    `dispatch` the caller starts it at once (an eager start, a task returned inline by
    the completion that made it): no transfer task takes it to matching, and no sticky
    schedule-to-start timer is armed, since the server writes both in
    GenerateScheduleWorkflowTaskTasks (service/history/workflow/task_generator.go),
    which `bypassTaskGeneration` skips.
    """
    s = txn.state
    if s.wft is not None or s.status is not RUNNING or s.backoff_pending:
        return
    sticky = bool(s.sticky_queue)
    queue = s.sticky_queue if sticky else s.task_queue
    attempt = s.wft_attempt
    timeout = start_to_close_timeout(s.workflow_task_timeout, attempt)
    if attempt > 1 or speculative:  # written only when it completes
        scheduled_id = s.next_event_id
    else:
        scheduled_id = txn.append(
            E.WORKFLOW_TASK_SCHEDULED,
            WorkflowTaskScheduledEventAttributes(
                task_queue=queue_of(s, sticky),
                start_to_close_timeout=timeout,
                attempt=attempt,
            ),
        )
    stamp = s.wft_stamp + 1
    wft = WorkflowTaskInfo(
        scheduled_event_id=scheduled_id,
        attempt=attempt,
        task_queue=queue,
        sticky=sticky,
        scheduled_time=txn.now,
        start_to_close_timeout=timeout,
        stamp=stamp,
        speculative=speculative,
    )
    txn.set(wft=wft, wft_stamp=stamp)
    schedule_to_start = s.sticky_schedule_to_start_timeout if sticky else 0
    if not dispatch:
        return
    txn.task(WorkflowTaskTransfer(scheduled_id, queue, sticky, stamp, schedule_to_start))
    if sticky and schedule_to_start:
        txn.task(
            WorkflowTaskTimeoutTask(
                scheduled_id,
                TimeoutType.SCHEDULE_TO_START,
                attempt,
                stamp,
                txn.now + schedule_to_start,
            )
        )


def push_to_normal_queue(state: MutableState, push: WorkflowTaskTransfer) -> WorkflowTaskTransfer:
    """The push to make after matching answered StickyWorkerUnavailable to `push`: the
    same task on the run's normal queue, keeping the sticky schedule-to-start timeout as
    its expiry (that timer is armed already and times the task out if nobody takes
    it). Mutable state is not changed: stickiness is cleared when a poller of the
    normal queue starts the task (`processWorkflowTask` in
    service/history/transfer_queue_active_task_executor.go)."""
    return dataclasses.replace(push, task_queue=state.task_queue, sticky=False)


def record_workflow_task_started(
    state: MutableState, req: RecordWorkflowTaskStarted, now: int, limits: Limits = DEFAULT_LIMITS
) -> Outcome:
    if state.status is not RUNNING:
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow is closed"))
    wft = state.wft
    if wft is None or wft.scheduled_event_id != req.scheduled_event_id:
        return unchanged(state, Error(ErrorKind.NOT_FOUND, "workflow task not found"))
    if wft.stamp != req.stamp or (req.from_sticky_queue and not wft.sticky):
        return unchanged(state, Error(ErrorKind.OBSOLETE, "workflow task was rescheduled"))
    if wft.started:
        if wft.request_id == req.request_id:
            return unchanged(state, _started_reply(state, wft))
        return unchanged(state, Error(ErrorKind.ALREADY_STARTED, "workflow task already started"))
    txn = Txn(state, now)
    started = _record_started(txn, wft, req, limits)
    return finish(txn, _started_reply(txn.state, started))


def start_eagerly(txn: Txn, request_id: str, identity: str) -> None:
    """Schedule the first workflow task and start it for the starter itself (eager
    workflow start): no transfer task goes to matching, and the Started event carries
    the start request's id and identity (`NewWorkflowWithSignal` in
    service/history/api/create_workflow_util.go)."""
    schedule(txn, dispatch=False)
    wft = txn.state.wft
    assert wft is not None  # the run was just started, with no task pending
    start_at_once(
        txn, RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, request_id, identity)
    )


def start_at_once(
    txn: Txn, start: RecordWorkflowTaskStarted, limits: Limits = DEFAULT_LIMITS
) -> WorkflowTaskStarted:
    """Start the task `schedule(txn, dispatch=False)` just scheduled, as `start` (its
    scheduled id and stamp must be the task's) would start it had a poller got it; the
    reply a poller would get."""
    wft = txn.state.wft
    assert wft is not None and not wft.started and wft.stamp == start.stamp
    started = _record_started(txn, wft, start, limits)
    return _started_reply(txn.state, started)


def reset_sticky_task_queue(state: MutableState, now: int) -> Outcome:
    """Forget the sticky queue of a running run, writing no event: its next workflow
    task is scheduled on the normal queue (service/history/api/resetstickytaskqueue/
    api.go, `ClearStickyTaskQueue`); a closed run answers WorkflowCompleted."""
    if not state.running:
        return unchanged(
            state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow execution already completed")
        )
    txn = Txn(state, now)
    txn.set(sticky_queue="", sticky_schedule_to_start_timeout=0)
    return finish(txn, Ok())


def _record_started(
    txn: Txn, wft: WorkflowTaskInfo, req: RecordWorkflowTaskStarted, limits: Limits
) -> WorkflowTaskInfo:
    """Write (or, for a task not written yet, note) the task's start in `txn`."""
    state, now = txn.state, txn.now
    transition(wft, _I.RECORD_STARTED)
    # LIMIT-SUGGEST-CONTINUE-AS-NEW: the next event id is the Started event's (or, for a
    # task not written yet, its Scheduled event's), as the server counts it.
    suggest = suggest_continue_as_new(limits, state.next_event_id, req.history_size_bytes)
    info, changed = versioning.started(state.versioning, req)
    if info != state.versioning:
        txn.set(versioning=info)
    if wft.transient and wft.scheduled_event_id != state.next_event_id:
        # Events were written since the transient task was scheduled: it starts as a
        # normal task, attempt 1, its Scheduled event written now with its Started
        # (AddWorkflowTaskStartedEvent in workflow_task_state_machine.go; the time is
        # the event's, as a rebuild from the history reads it)
        scheduled, _ = unwritten_attributes(state, revise(wft, attempt=1), 0)
        sid = txn.append(E.WORKFLOW_TASK_SCHEDULED, scheduled)
        wft = revise(wft, attempt=1, scheduled_event_id=sid, scheduled_time=now)
        txn.set(wft_attempt=1)
    if wft.unwritten:
        started_id = wft.scheduled_event_id + 1
    else:
        started_id = txn.append(
            E.WORKFLOW_TASK_STARTED,
            WorkflowTaskStartedEventAttributes(
                scheduled_event_id=wft.scheduled_event_id,
                identity=req.identity,
                request_id=req.request_id,
                suggest_continue_as_new=bool(suggest),
                suggest_continue_as_new_reasons=suggest,
                history_size_bytes=req.history_size_bytes,
                worker_version=req.worker_version,
                target_worker_deployment_version_changed=changed,
            ),
        )
    started = revise(
        wft,
        started_event_id=started_id,
        started_time=now,
        request_id=req.request_id,
        identity=req.identity,
        worker_version=req.worker_version,
        history_size_bytes=req.history_size_bytes,
        suggest_continue_as_new=suggest,
    )
    if state.sticky_queue and not req.from_sticky_queue:
        # A poller of another queue started it while the run is sticky (matching found
        # no sticky poller, so the task went to the normal queue): the stickiness goes
        # (recordworkflowtaskstarted/api.go, ClearStickyTaskQueue), and a task whose
        # Scheduled event is written only now names the queue it was polled from
        # (workflow_task_state_machine.go AddWorkflowTaskStartedEvent: the poll's queue).
        txn.set(sticky_queue="", sticky_schedule_to_start_timeout=0)
        started = revise(started, sticky=False)
    txn.set(wft=started)
    _updates_sent(txn)
    txn.task(
        WorkflowTaskTimeoutTask(
            wft.scheduled_event_id,
            TimeoutType.START_TO_CLOSE,
            wft.attempt,
            wft.stamp,
            now + wft.start_to_close_timeout,
        )
    )
    return started


def _updates_sent(txn: Txn) -> None:
    """A workflow task started: every update not yet accepted goes to the worker with
    it (`Registry.Send` in recordworkflowtaskstarted/api.go; one admitted by an
    UpdateAdmitted event reaches it through that event) and is sent from now on
    (update.py, `reject_unprocessed`)."""
    updates = txn.state.updates
    if updates and not all(u.sent or u.accepted_event_id for u in updates):
        txn.set(updates=tuple(u if u.accepted_event_id else replace(u, sent=True) for u in updates))


def _started_reply(state: MutableState, wft: WorkflowTaskInfo) -> WorkflowTaskStarted:
    return WorkflowTaskStarted(
        token=WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt),
        previous_started_event_id=state.last_completed_wft_started_event_id,
        next_event_id=state.next_event_id,
    )


def current(state: MutableState, token: WorkflowTaskToken) -> WorkflowTaskInfo | Error:
    """The started workflow task a worker's token names, or why it is stale."""
    if state.status is not RUNNING:
        return Error(ErrorKind.WORKFLOW_COMPLETED, "workflow is closed")
    wft = state.wft
    if (
        wft is None
        or not wft.started
        or wft.scheduled_event_id != token.scheduled_event_id
        or wft.started_event_id != token.started_event_id
        or wft.attempt != token.attempt
    ):
        return Error(ErrorKind.NOT_FOUND, "workflow task not found")
    return wft


def complete(
    txn: Txn,
    wft: WorkflowTaskInfo,
    req: RespondWorkflowTaskCompleted,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """Write WorkflowTaskCompleted, clear the task; return the event id (the WTC)."""
    transition(wft, _I.RESPOND_COMPLETED)
    if wft.unwritten:
        wft = write_transient(txn, wft)
    deployment, behavior = versioning.deployment_of(req)
    info = versioning.completed(txn.state.versioning, deployment, behavior)
    if info != txn.state.versioning:
        txn.set(versioning=info)
    completed = txn.append(
        E.WORKFLOW_TASK_COMPLETED,
        WorkflowTaskCompletedEventAttributes(
            scheduled_event_id=wft.scheduled_event_id,
            started_event_id=wft.started_event_id,
            identity=req.identity,
            binary_checksum=req.binary_checksum,
            worker_version=req.worker_version,
            sdk_metadata=req.sdk_metadata,
            metering_metadata=req.metering_metadata,
            versioning_behavior=behavior,
            worker_deployment_name=(
                req.deployment_options.deployment_name if req.deployment_options else ""
            ),
            deployment_version=deployment,
        ),
    )
    txn.set(
        wft=None,
        wft_attempt=1,
        last_completed_wft_started_event_id=wft.started_event_id,
    )
    _add_reset_point(
        txn, req.binary_checksum, build_id_of(req.worker_version, deployment), completed
    )
    _note_worker_version(txn, req.worker_version, limits)
    return completed


def _note_worker_version(txn: Txn, worker_version: Opaque | None, limits: Limits) -> None:
    """The completion's stamp becomes the run's most recent one, and its build joins the
    `BuildIds` search attribute (worker_versions.py)."""
    state = txn.state
    run = state.versioning.effective() if state.versioning is not None else None
    build_ids = build_ids_after(
        state.build_ids, worker_version, limits.search_attribute_value_size, run
    )
    if worker_version != state.most_recent_worker_version:
        txn.set(most_recent_worker_version=worker_version)
    if build_ids != state.build_ids:
        txn.set(build_ids=build_ids)


def _add_reset_point(
    txn: Txn, binary_checksum: str, build_id: str, completed_event_id: int
) -> None:
    """The first completion by a build becomes an auto-reset point (reset_points.py)."""
    state = txn.state
    resettable = not (state.children or state.signals_out or state.cancels_out)
    points = state.reset_points
    added = with_completion(
        points, build_id, state.run_id, completed_event_id, txn.now, resettable, binary_checksum
    )
    if added is not points:
        txn.set(reset_points=added)


def fail(
    txn: Txn,
    wft: WorkflowTaskInfo,
    cause: WorkflowTaskFailedCause,
    failure: Opaque | None = None,
    identity: str = "",
    timeout: TimeoutType | None = None,
    rejected: bool = False,
    binary_checksum: str = "",
) -> None:
    """Fail or time out the pending task, flush the buffer, and set the next attempt.

    Mirrors `failWorkflowTask` (service/history/workflow/util.go): a sticky task clears
    stickiness without an attempt increment; a transient task writes nothing.
    `rejected`: the server refused the completion (bad or unhandled command).
    """
    if timeout is TimeoutType.SCHEDULE_TO_START:
        transition(wft, _I.SCHEDULE_TO_START_TIMEOUT)
    elif timeout is not None:
        transition(wft, _I.START_TO_CLOSE_TIMEOUT)
    elif cause is WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND:
        transition(wft, _I.FORCE_CLOSE)
    else:
        transition(wft, _I.COMPLETION_REJECTED if rejected else _I.RESPOND_FAILED)
    if wft.speculative:  # written first (speculative_end.py)
        events = unwritten_attributes(txn.state, wft, 0)
        wft = write_events(txn, wft, *events, identity if timeout is None else "")
    if not wft.unwritten:
        if timeout is not None:
            txn.append(
                E.WORKFLOW_TASK_TIMED_OUT,
                WorkflowTaskTimedOutEventAttributes(
                    scheduled_event_id=wft.scheduled_event_id,
                    started_event_id=wft.started_event_id,
                    timeout_type=timeout,
                ),
            )
        else:
            txn.append(
                E.WORKFLOW_TASK_FAILED,
                WorkflowTaskFailedEventAttributes(
                    scheduled_event_id=wft.scheduled_event_id,
                    started_event_id=wft.started_event_id,
                    cause=cause,
                    failure=failure,
                    identity=identity,
                    # the worker's (deprecated) checksum, as its request gave it
                    # (AddWorkflowTaskFailedEvent in respondworkflowtaskfailed/api.go)
                    binary_checksum=binary_checksum,
                ),
            )
    s = txn.state
    sticky_only = wft.sticky or timeout is TimeoutType.SCHEDULE_TO_START
    txn.set(
        wft=None,
        wft_attempt=s.wft_attempt if sticky_only else s.wft_attempt + 1,
        sticky_queue="" if wft.sticky else s.sticky_queue,
    )
    before_flush = txn.state.next_event_id
    txn.flush()
    if txn.state.next_event_id != before_flush:
        # New events came with the failure: the next task is a normal one, attempt 1
        # (docs/temporal-semantics.md#transient-workflow-tasks: a transient task is
        # converted when new events arrive).
        txn.set(wft_attempt=1)


_STALE_TIMER = Error(ErrorKind.NOT_FOUND, "stale workflow task timer")  # a frozen value


def workflow_task_timeout(state: MutableState, task: WorkflowTaskTimeoutTask, now: int) -> Outcome:
    """A workflow-task timer fired: time the task out if it is still the same one."""
    wft = state.wft
    if (
        state.status is not RUNNING  # (`running`, inline: every timer asks)
        or wft is None
        or wft.scheduled_event_id != task.scheduled_event_id
        or wft.stamp != task.stamp
        or wft.attempt != task.attempt
    ):
        return unchanged(state, _STALE_TIMER)
    kind = task.timeout_type
    # Only two timers exist for a workflow task: start-to-close once it started, and
    # schedule-to-start while a sticky (or speculative) task waits (task_generator.go).
    live = (kind is TimeoutType.START_TO_CLOSE and wft.started) or (
        kind is TimeoutType.SCHEDULE_TO_START
        and not wft.started
        and (wft.sticky or wft.speculative)
    )
    if not live:
        return unchanged(state, _STALE_TIMER)
    txn = Txn(state, now)
    fail(txn, wft, WorkflowTaskFailedCause.UNSPECIFIED, timeout=task.timeout_type)
    schedule(txn)
    return finish(txn, Ok())


def write_speculative(state: MutableState) -> Outcome:
    """A speculative task pending when events are written or buffered becomes normal: its
    Scheduled (dated when scheduled) and, once started, Started (no identity) go first
    (convertSpeculativeWorkflowTaskToNormal in workflow_task_state_machine.go, as the
    transaction closes, before the buffer is flushed); its ids and stamp stay valid."""
    wft = state.wft
    assert wft is not None and wft.speculative
    transition(wft, _I.CONVERT)
    txn = Txn(state, wft.scheduled_time)
    events = unwritten_attributes(state, wft, wft.scheduled_event_id)
    txn.set(wft=write_events(txn, wft, *events, identity=""))
    return finish(txn, Ok())
