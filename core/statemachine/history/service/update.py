"""Workflow Update on the server: admit, accept, reject, complete.

```
  UpdateWorkflowExecution ──▶ Admitted (memory) ──accept──▶ Accepted ──respond──▶ Completed
                                   └──reject──▶ gone (no event)
```

Rules (docs/temporal-semantics.md#speculative-workflow-tasks;
`temporal:docs/architecture/speculative-workflow-task.md`,
`service/history/workflow/update/`): an update is held in memory until a workflow task
carries it to the worker. With no task pending, a *speculative* task is created that is
not persisted: if it completes with nothing but rejections it leaves no trace at all;
otherwise its Scheduled and Started events are written with its completion. The
worker's protocol messages become events in command order (a PROTOCOL_MESSAGE command
names its message; messages no command names follow the commands): an acceptance
writes UpdateAccepted, naming the sequencing event the worker's acceptance names (the
request message's, the task's Scheduled event, unless the worker names another); a
response writes UpdateCompleted naming the acceptance; a rejection writes nothing.
A repeated update id is answered without a second admission.

A reset reapplies the updates of the base run as UpdateAdmitted events (origin
REAPPLY); such an update is accepted with an UpdateAccepted that carries no request,
since the Admitted event holds it (`onAcceptanceMsg` in
service/history/workflow/update/update.go).
"""

from __future__ import annotations

from enum import Enum

from core.enums import EventType, UpdateAdmittedEventOrigin
from core.events import (
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateAdmittedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from core.fastinit import replace
from core.opaque import Opaque
from core.requests import (
    Error,
    ErrorKind,
    Ok,
    UpdateMessage,
    UpdateMessageKind,
    UpdateWorkflowExecution,
)
from core.statemachine import fsm
from core.statemachine.history.service import workflow_task
from core.statemachine.history.service.state import MutableState, UpdateInfo, evolve
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged

E = EventType


class PendingUpdateState(Enum):
    ADMITTED = "Admitted"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    COMPLETED = "Completed"


TABLE = fsm.make_table(
    "update (service)",
    "H17",
    PendingUpdateState,
    UpdateMessageKind,
    PendingUpdateState.ADMITTED,
    [
        (PendingUpdateState.ADMITTED, UpdateMessageKind.ACCEPT, PendingUpdateState.ACCEPTED),
        (PendingUpdateState.ADMITTED, UpdateMessageKind.REJECT, PendingUpdateState.REJECTED),
        (PendingUpdateState.ACCEPTED, UpdateMessageKind.RESPOND, PendingUpdateState.COMPLETED),
    ],
)


# history.maxInFlightUpdates, by default (common/dynamicconfig/constants.go): updates
# admitted or accepted and not yet completed, per run
MAX_IN_FLIGHT_UPDATES = 10


def update_workflow_execution(
    state: MutableState, req: UpdateWorkflowExecution, now: int
) -> Outcome:
    if not state.running:
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow is closed"))
    if any(u.update_id == req.update_id for u in state.updates):
        return unchanged(state, Ok())
    if req.update_id in state.completed_updates:  # known and done: its outcome stands
        return unchanged(state, Ok())
    if len(state.updates) >= MAX_IN_FLIGHT_UPDATES:  # checkInFlightLimit, update/registry.go
        message = (
            "limit on number of concurrent in-flight updates has been reached"
            f" ({MAX_IN_FLIGHT_UPDATES})"
        )
        return unchanged(state, Error(ErrorKind.RESOURCE_EXHAUSTED, message))
    txn = Txn(state, now)
    txn.state = evolve(state, updates=(*state.updates, UpdateInfo(req.update_id, req.request)))
    # Unlike a signal, an update gets its task even while the first task waits out a
    # backoff (a start delay, a retry or cron wait): updateworkflow/api.go adds one
    # whenever none is pending, with no IsWorkflowPendingOnWorkflowTaskBackoff check. A
    # task that only rejects leaves the run waiting again (commands.py).
    txn.set(backoff_pending=False)
    workflow_task.schedule(txn, speculative=True)
    return finish(txn, Ok())


def apply_message(txn: Txn, message: UpdateMessage, sequencing_event_id: int) -> bool:
    """Write what one protocol message means; False if it names no admitted update.
    `sequencing_event_id`: the one the server's request message named, written on an
    acceptance whose worker sent none of its own."""
    info = next((u for u in txn.state.updates if u.update_id == message.update_id), None)
    if info is None:
        return False
    rest = tuple(u for u in txn.state.updates if u is not info)
    current = PendingUpdateState.ACCEPTED if info.accepted_event_id else PendingUpdateState.ADMITTED
    if (current, message.kind) not in TABLE.next:
        return False  # e.g. rejecting an accepted update, or a response before acceptance
    fsm.step(TABLE, current, message.kind)
    if message.kind is UpdateMessageKind.REJECT:
        txn.set(updates=rest)
        return True
    if message.kind is UpdateMessageKind.ACCEPT:
        accepted = txn.append(
            E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            WorkflowExecutionUpdateAcceptedEventAttributes(
                protocol_instance_id=info.update_id,
                accepted_request_message_id=f"{info.update_id}/request",
                accepted_request_sequencing_event_id=(
                    message.sequencing_event_id or sequencing_event_id
                ),
                accepted_request=None if info.admitted_event_id else info.request,
            ),
        )
        info = replace(info, accepted_event_id=accepted)
        txn.set(updates=(*rest, info))
        return True
    txn.append(
        E.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        WorkflowExecutionUpdateCompletedEventAttributes(
            meta=message.meta if message.meta is not None else _meta(info),
            accepted_event_id=info.accepted_event_id,
            outcome=message.outcome,
        ),
    )
    txn.set(updates=rest, completed_updates=txn.state.completed_updates | {info.update_id})
    return True


def admit_by_event(
    txn: Txn, update_id: str, request: Opaque | None, origin: UpdateAdmittedEventOrigin
) -> None:
    """Write UpdateAdmitted for `request` (of update `update_id`, which a request names
    in `meta.updateId`) and hold the update until a task takes it.

    `AddWorkflowExecutionUpdateAdmittedEvent` (mutable_state_impl.go), as a reset's
    reapplication uses it; an update already held under the same id is replaced, as
    the server's UpdateInfos map is keyed by update id. No workflow task is scheduled:
    the caller does.
    """
    admitted = txn.append(
        E.WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        WorkflowExecutionUpdateAdmittedEventAttributes(request=request, origin=origin),
    )
    kept = tuple(u for u in txn.state.updates if u.update_id != update_id)
    txn.set(updates=(*kept, UpdateInfo(update_id, request, admitted_event_id=admitted)))


def request_update_id(request: Opaque | None) -> str:
    """The update id a temporal.api.update.v1.Request names (`meta.updateId`)."""
    value = request.value() if request is not None else None
    meta = value.get("meta") if isinstance(value, dict) else None
    update_id = meta.get("updateId") if isinstance(meta, dict) else None
    return update_id if isinstance(update_id, str) else ""


def _meta(info: UpdateInfo) -> Opaque:
    """The completed update's meta when the worker's response names none: the request's
    own (its id and the caller's identity), or just the id when the request carried
    none."""
    request = info.request.value() if info.request is not None else None
    meta = request.get("meta") if isinstance(request, dict) else None
    if isinstance(meta, dict) and meta.get("updateId") == info.update_id:
        return Opaque.of(meta)
    return Opaque.of({"updateId": info.update_id})


# The failure an update the server rejects for its worker gets (unprocessedUpdateFailure,
# service/history/workflow/update/errors_failures.go).
UNPROCESSED = Opaque.of(
    {
        "message": "Workflow Update is rejected because it wasn't processed by worker. "
        "Probably, Workflow Update is not supported by the worker.",
        "source": "Server",
        "applicationFailureInfo": {"type": "UnprocessedUpdate", "nonRetryable": True},
    }
)


def _unanswered(info: UpdateInfo) -> bool:
    """Sent to a worker, and neither accepted nor rejected since (`stateSent`)."""
    return info.sent and not info.accepted_event_id


def reject_unprocessed(txn: Txn) -> None:
    """The completion of a running run's task left updates sent with it neither
    accepted nor rejected: the server rejects them (`RejectUnprocessed`,
    respondworkflowtaskcompleted/workflow_task_completed_handler.go, with UNPROCESSED),
    which writes no event."""
    updates = txn.state.updates
    if updates and any(_unanswered(u) for u in updates):
        txn.set(updates=tuple(u for u in updates if not _unanswered(u)))


def unprocessed_by(
    state: MutableState, messages: tuple[UpdateMessage, ...], closes: bool
) -> tuple[str, ...]:
    """The ids of the updates a completion with `messages` (and a command closing the
    run, if `closes`) would reject as unprocessed (`reject_unprocessed`): the sent ones
    not accepted that no message names. The frontend notes their failure before the
    completion commits, so a caller waiting on that commit finds it."""
    if closes or not state.updates:
        return ()
    named = {m.update_id for m in messages}
    return tuple(u.update_id for u in state.updates if _unanswered(u) and u.update_id not in named)


def unprocessed(before: MutableState, after: MutableState) -> tuple[str, ...]:
    """The ids of the updates a completion that took `before` to `after` did reject as
    unprocessed: sent in `before`, in neither `after`'s pending nor its completed
    updates, the run still running (a closing completion aborts its updates)."""
    if not after.running:
        return ()
    kept = {u.update_id for u in after.updates} | after.completed_updates
    return tuple(u.update_id for u in before.updates if _unanswered(u) and u.update_id not in kept)


def outgoing(state: MutableState) -> bool:
    """An admitted update waits for a task to carry it (`HasOutgoingMessages`,
    service/history/workflow/update/registry.go): once a completion leaves one, the
    server creates a task for it (respondworkflowtaskcompleted/api.go)."""
    updates = state.updates
    return bool(updates) and any(not u.accepted_event_id for u in updates)  # mostly none


def requests_to_send(state: MutableState) -> tuple[UpdateWorkflowExecution, ...]:
    """The update requests a workflow task carries to the worker as messages: every
    update not yet accepted, but one admitted by an UpdateAdmitted event (a reset's
    reapplication), which reaches the worker through that event (`Update.Send` in
    service/history/workflow/update/update.go sends no request for it)."""
    updates = state.updates
    if not updates:  # the common case: asked for every workflow task started
        return ()
    return tuple(
        UpdateWorkflowExecution(u.update_id, u.request)
        for u in updates
        if not u.accepted_event_id and not u.admitted_event_id
    )


def only_rejections(messages: tuple[UpdateMessage, ...]) -> bool:
    return all(m.kind is UpdateMessageKind.REJECT for m in messages)
