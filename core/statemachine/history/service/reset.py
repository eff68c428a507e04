"""ResetWorkflowExecution: a new run that replays a run's history up to a workflow task.

```
  base run:  1 ............ S  S+1 (the finish event) ...... end   ──▶ terminated, if it
                            │                                          is the running run
  new run:   1 ............ S │ WorkflowTaskFailed(RESET_WORKFLOW) │ reapplied │ WFT Scheduled
            (copied, ids kept)                                       events      (attempt 1)
```

Temporal's reset (`service/history/api/resetworkflow/api.go`, `ResetWorkflow` in
`service/history/ndc/workflow_resetter.go`), rule by rule:

- The finish event id must lie in (1, next event id), else InvalidArgument. The event
  before it must end an event batch (`Rebuild` in ndc/state_rebuilder.go reads whole
  batches; reset_batches.py reads them back from the history), and the rebuilt run must
  have a workflow task pending there (`failWorkflowTask`), each refused in the
  server's words. So a point is the event after a workflow task's Scheduled or Started
  (a WorkflowTaskStarted, Completed, Failed or TimedOut), after the batch of an event
  that came while a task was pending (a signal's, say), or after a failed or timed out
  task (a retry pending).
- Deduplication: if the current run was created with the request's id, its run id is
  the answer and nothing changes. Since 1.31 a reset run keeps its base run's start
  request id (`findStartRequestID`, temporalio/temporal#9479), so a repeated reset
  request is not recognised by its own id: it resets again.
- The new run's mutable state is rebuilt from the base's events 1..finish-1
  (rebuild.py) and starts now (its timeouts count from the reset). Its pending
  workflow task is failed with RESET_WORKFLOW, identity "history-service", the reason
  as a ResetWorkflowFailureInfo failure and both run ids; a task that had not started
  is first started by "history-service" (`failWorkflowTask`), and a retry pending after
  a failure is first written as a new task, attempt 1 (its Scheduled event names an
  older id, so `AddWorkflowTaskStartedEvent` writes it anew). The next attempt is 1
  (`AddWorkflowTaskFailedEvent`). Waiting activities count as scheduled now
  (`failInflightActivity`).
- Reapplied, in order: the base's events after the reset point, those of the runs it
  continued as new into, and, when that chain reaches the current run, the events the
  current run's termination wrote (`reapplyEvents`). Signals and updates come back as
  new events unless excluded (an accepted update as UpdateAdmitted, origin REAPPLY;
  one with no request in its Accepted event is skipped); the later events of a child
  the new run has pending are replayed into it, and so are the later Started and close
  events of a Nexus operation it has pending (unless Nexus is excluded); an options
  update is written and applied again (reapply.py); cancel requests and terminations
  are never reapplied by a reset. The request's post-reset options updates are then
  merged and applied as UpdateWorkflowExecutionOptions's are, with no identity
  (`performPostResetOperations`; a failed one fails the reset). Then a workflow task is
  scheduled.
- The current run, if running, is terminated (reason, identity "history-resetter"),
  after failing its in-flight workflow task as any terminate does (`TerminateWorkflow`
  in workflow/util.go). A run terminated by a reset does not tell its parent, and when
  it is the base it keeps its children running for the new run (`processCloseExecution`
  in transfer_queue_active_task_executor.go).
- The base records the new run's id (`UpdateResetRunID`); base, current and new run are
  written in one transaction, and the new run becomes the current one (`persistToDB`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from enum import IntEnum

from core.enums import EventType, WorkflowTaskFailedCause
from core.events import (
    HistoryEvent,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.requests import (
    CloseExecutionTransfer,
    Error,
    ErrorKind,
    ResetWorkflowExecution,
    TerminateWorkflowExecution,
    WorkflowReset,
)
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, suggest_continue_as_new
from core.statemachine.history.service import execution, ids, options_update, workflow_task
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.reapply import reapply
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.refresh import refresh_tasks
from core.statemachine.history.service.reset_batches import (
    Pending,
    boundary_problem,
    pending_after,
)
from core.statemachine.history.service.state import MutableState, evolve
from core.statemachine.history.service.txn import Outcome, Txn, unchanged
from core.task_queues import task_queue

E = EventType

# consts.IdentityHistoryService is HISTORY_SERVICE (outbound.py); the resetter signs as:
RESETTER = "history-resetter"  # consts.IdentityResetter
EMPTY_UUID = "emptyUuid"  # the request id of a task never started (emptyUUID)


@dataclasses.dataclass(frozen=True, slots=True)
class ResetOutcome:
    """What a reset did to each run it touched.

    `base` is the base run afterwards (its `reset_run_id` set; terminated if it was the
    running current run); `current` the current run when it is another run (terminated
    if it was running); `new_run` the new run, its `events` the whole history (the
    copied prefix first). A refused or deduplicated reset leaves the runs unchanged:
    `current` and `new_run` are None and `base` has no events.
    """

    reply: WorkflowReset | Error
    base: Outcome
    current: Outcome | None = None
    new_run: Outcome | None = None


def reset_run_id(current_run_id: str, request_id: str) -> str:
    """The id of the run a reset starts (the server draws a UUID; see ids.py). Derived
    from the current run, so a reset repeated after the first one gets a fresh id."""
    return ids.new_run_id(current_run_id, f"reset/{request_id}")


def reset(
    base: MutableState,
    base_events: Sequence[HistoryEvent],
    request: ResetWorkflowExecution,
    new_run_id: str,
    now: int,
    current: MutableState | None = None,
    continued: Sequence[Sequence[HistoryEvent]] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> ResetOutcome:
    """Reset run `base` (its history `base_events`) as `request` asks (module docstring).

    `current` is the workflow's current run when it is not the base (None: the base is
    current); `continued` holds the histories of the runs the base continued as new
    into, in chain order, as far as they exist.
    """
    latest = base if current is None else current
    finish = request.workflow_task_finish_event_id
    if finish <= 1 or finish >= base.next_event_id or finish > len(base_events):
        return _refused(base, "Workflow task finish ID must be > 1 && <= workflow last event ID.")
    if latest.start_request_id == request.request_id:  # a repeated request
        return ResetOutcome(
            WorkflowReset(latest.run_id), unchanged(base, WorkflowReset(latest.run_id))
        )
    problem = boundary_problem(base_events, finish)  # (buildMutableStateFromEvent)
    if problem:
        return _refused(base, problem)
    prefix = base_events[: finish - 1]
    try:
        rebuilt = rebuild(
            prefix,
            base.namespace,
            base.workflow_id,
            new_run_id,
            base.start_request_id,
            now,
            base.namespace_id,
            base.retention,
        ).state
    except ValueError as exc:
        return _refused(base, f"cannot rebuild the run: {exc}")
    if rebuilt.wft is None:
        return _refused(base, _NO_TASK.format(finish))
    ended = _terminate(latest, request.reason, now, current is None) if latest.running else None
    txn = Txn(rebuilt, now)
    _fail_task(txn, request, base.run_id, new_run_id, limits)
    _reschedule_activities(txn, now)
    for events in _reapplied_histories(base, base_events[finish - 1 :], continued, latest, ended):
        reapply(txn, events, request)
    for options in request.post_reset_options:  # (performPostResetOperations)
        merged = options_update.merge_and_apply(txn, options, limits)
        if isinstance(merged, Error):
            return _refused(base, merged.message)
    workflow_task.schedule(txn)
    state = txn.frozen()
    tasks = (*refresh_tasks(evolve(state, wft=None), prefix), *txn.tasks)
    reply = WorkflowReset(new_run_id)
    new_run = Outcome(state, (*prefix, *txn.events), tasks, reply)
    if current is not None:  # the base is closed: it only learns of the new run
        marked = Outcome(evolve(base, reset_run_id=new_run_id), (), (), reply)
        return ResetOutcome(reply, marked, ended, new_run)
    if ended is None:
        ended = Outcome(base, (), (), reply)
    marked = dataclasses.replace(ended, state=evolve(ended.state, reset_run_id=new_run_id))
    return ResetOutcome(reply, marked, None, new_run)


def _refused(base: MutableState, message: str) -> ResetOutcome:
    error = Error(ErrorKind.INVALID_ARGUMENT, message)
    return ResetOutcome(error, unchanged(base, error))


_NO_TASK = (
    "Can only reset workflow to event ID in range "
    "[WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {}"
)


def reset_point_problem(events: Sequence[HistoryEvent], finish: int) -> str:
    """Why event `finish` of `events` is no reset point ("" if it is one; `finish` is
    taken to lie in (1, len(events)]): the event before it ends no batch, or no
    workflow task is pending after it (module docstring)."""
    problem = boundary_problem(events, finish)
    if not problem and pending_after(events, finish - 1) is Pending.NONE:
        problem = _NO_TASK.format(finish)
    return problem


# --- the runs that end ---------------------------------------------------------------


def _terminate(run: MutableState, reason: str, now: int, is_base: bool) -> Outcome:
    """Terminate the running `run` for the reset (`terminateWorkflow`)."""
    stop = TerminateWorkflowExecution(reason=reason, identity=RESETTER)
    ended = execution.terminate_workflow_execution(run, stop, now)
    return dataclasses.replace(
        ended,
        tasks=tuple(
            _quiet(t, is_base) if isinstance(t, CloseExecutionTransfer) else t for t in ended.tasks
        ),
    )


def _quiet(task: CloseExecutionTransfer, is_base: bool) -> CloseExecutionTransfer:
    """A run terminated by the resetter does not report to its parent
    (`IsTerminatedByResetter`); the base also keeps its children, which the new run
    takes over (the parent close policy is skipped for a run with a ResetRunId, with
    history.allowResetWithPendingChildren at its default, true)."""
    return dataclasses.replace(task, parent_outcome=None, children=() if is_base else task.children)


# --- the new run ---------------------------------------------------------------------


def reset_failure(reason: str) -> Opaque:
    """The failure of the reset's WorkflowTaskFailed (`NewResetWorkflowFailure`)."""
    return Opaque.of({"message": reason, "resetWorkflowFailureInfo": {}})


def _fail_task(
    txn: Txn, request: ResetWorkflowExecution, base_run_id: str, new_run_id: str, limits: Limits
) -> None:
    """Fail the task pending at the reset point (`failWorkflowTask` in the resetter),
    starting it first if it had not started: that Started event carries the rebuilt
    run's size and the suggestion to continue as new it makes, as any start does
    (`AddWorkflowTaskStartedEvent` takes both from mutable state, `getHistorySizeInfo`
    in workflow_task_state_machine.go)."""
    reason = request.reason
    wft = txn.state.wft
    assert wft is not None and not wft.speculative  # (a rebuild makes none speculative)
    if wft.transient:
        # A retry pending after a failure: its Scheduled id, fixed when the failure was
        # applied, is older than the next event id, so starting it writes it anew as a
        # task of attempt 1 (`AddWorkflowTaskStartedEvent`; the rebuild cleared
        # stickiness: the normal queue)
        scheduled = txn.append(
            E.WORKFLOW_TASK_SCHEDULED,
            WorkflowTaskScheduledEventAttributes(
                task_queue=task_queue(txn.state.task_queue),
                start_to_close_timeout=wft.start_to_close_timeout,
                attempt=1,
            ),
        )
        wft = dataclasses.replace(
            wft, scheduled_event_id=scheduled, attempt=1, scheduled_time=txn.now
        )
        txn.set(wft_attempt=1)
    if not wft.started:
        workflow_task.transition(wft, workflow_task.WorkflowTaskInput.RECORD_STARTED)
        size = request.history_size_bytes
        suggest = suggest_continue_as_new(limits, txn.state.next_event_id, size)
        started = txn.append(
            E.WORKFLOW_TASK_STARTED,
            WorkflowTaskStartedEventAttributes(
                scheduled_event_id=wft.scheduled_event_id,
                identity=HISTORY_SERVICE,
                request_id=EMPTY_UUID,
                suggest_continue_as_new=bool(suggest),
                suggest_continue_as_new_reasons=suggest,
                history_size_bytes=size,
            ),
        )
        wft = dataclasses.replace(
            wft,
            started_event_id=started,
            started_time=txn.now,
            request_id=EMPTY_UUID,
            identity=HISTORY_SERVICE,
        )
    workflow_task.transition(wft, workflow_task.WorkflowTaskInput.RESET)
    txn.append(
        E.WORKFLOW_TASK_FAILED,
        WorkflowTaskFailedEventAttributes(
            scheduled_event_id=wft.scheduled_event_id,
            started_event_id=wft.started_event_id,
            cause=WorkflowTaskFailedCause.RESET_WORKFLOW,
            failure=reset_failure(reason),
            identity=HISTORY_SERVICE,
            base_run_id=base_run_id,
            new_run_id=new_run_id,
        ),
    )
    txn.set(wft=None, wft_attempt=1)


def _reschedule_activities(txn: Txn, now: int) -> None:
    """Waiting activities count as scheduled at the reset (`failInflightActivity`). A
    started one, which the server fails, is never pending at a reset point: the model
    writes ActivityTaskStarted only together with the activity's close."""
    txn.set(
        activities=tuple(
            dataclasses.replace(a, scheduled_time=now, first_scheduled_time=now)
            for a in txn.state.activities
        )
    )


def _reapplied_histories(
    base: MutableState,
    after_point: Sequence[HistoryEvent],
    continued: Sequence[Sequence[HistoryEvent]],
    current: MutableState,
    ended: Outcome | None,
) -> list[Sequence[HistoryEvent]]:
    """The event sequences to reapply, in order (`reapplyContinueAsNewWorkflowEvents`,
    then the current run's termination when the chain reached it)."""
    histories = [after_point]
    visited, last = base.run_id, after_point
    for events in continued:
        closing = last[-1].attributes if last else None
        if not isinstance(closing, WorkflowExecutionContinuedAsNewEventAttributes):
            break
        visited, last = closing.new_execution_run_id, events
        histories.append(events)
    if ended is not None and visited == current.run_id:
        histories.append(ended.events)
    return histories


# --- the request's reapply options ---------------------------------------------------


class ResetReapplyType(IntEnum):
    """temporal.api.enums.v1.ResetReapplyType (deprecated by the exclude types)."""

    UNSPECIFIED = 0
    SIGNAL = 1
    NONE = 2
    ALL_ELIGIBLE = 3


class ResetReapplyExcludeType(IntEnum):
    """temporal.api.enums.v1.ResetReapplyExcludeType."""

    UNSPECIFIED = 0
    SIGNAL = 1
    UPDATE = 2
    NEXUS = 3
    CANCEL_REQUEST = 4


def reset_request(
    reason: str,
    workflow_task_finish_event_id: int,
    request_id: str,
    reset_reapply_type: int = ResetReapplyType.UNSPECIFIED,
    reset_reapply_exclude_types: Iterable[int] = (),
    identity: str = "",
) -> ResetWorkflowExecution:
    """The request for a ResetWorkflowExecutionRequest's fields (enum numbers).

    `GetResetReapplyExcludeTypes` (resetworkflow/api.go): SIGNAL excludes updates, NONE
    signals and updates, UNSPECIFIED and ALL_ELIGIBLE nothing, and the exclude types
    add to that; excluding every type stops reapplication altogether
    (`shouldExcludeAllReapplyEvents`).
    """
    excluded = set(reset_reapply_exclude_types)
    if reset_reapply_type == ResetReapplyType.SIGNAL:
        excluded.add(ResetReapplyExcludeType.UPDATE)
    elif reset_reapply_type == ResetReapplyType.NONE:
        excluded |= {ResetReapplyExcludeType.SIGNAL, ResetReapplyExcludeType.UPDATE}
    every = {t for t in ResetReapplyExcludeType if t is not ResetReapplyExcludeType.UNSPECIFIED}
    return ResetWorkflowExecution(
        reason,
        workflow_task_finish_event_id,
        request_id,
        reapply_signals=ResetReapplyExcludeType.SIGNAL not in excluded,
        reapply_updates=ResetReapplyExcludeType.UPDATE not in excluded,
        identity=identity,
        reapply_children=not every <= excluded,
        reapply_nexus=ResetReapplyExcludeType.NEXUS not in excluded,
    )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
