"""Workflow Update lifecycle as written to history (rule H17).

```
            WorkflowExecutionUpdateCompleted
  Accepted ──────────────────────────────────▶ Completed
```

docs/temporal-semantics.md#event-types and #speculative-workflow-tasks
(`temporal:docs/architecture/speculative-workflow-task.md`): an update the
workflow accepts is written as UpdateAccepted in the batch of the workflow task that
accepted it, and its outcome as UpdateCompleted naming the Accepted event in
accepted_event_id. A rejected update leaves no event: WORKFLOW_EXECUTION_UPDATE_REJECTED
exists in the enum but the server never writes it. UpdateAdmitted (an update durably
admitted before a worker saw it) carries no reference and is checked only for position.
"""

from __future__ import annotations

import dataclasses

from core.enums import EventType
from core.events import (
    HistoryEvent,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Entity, Fold, Handler, follower, opener

RULE = "H17"


class UpdateState(Enum):
    ACCEPTED = "Accepted"
    COMPLETED = "Completed"


class UpdateInput(Enum):
    COMPLETED = "WorkflowExecutionUpdateCompleted"


TABLE = make_table(
    "update",
    RULE,
    UpdateState,
    UpdateInput,
    UpdateState.ACCEPTED,
    [(UpdateState.ACCEPTED, UpdateInput.COMPLETED, UpdateState.COMPLETED)],
)


def _open(fold: Fold) -> dict[int, Entity[UpdateState]]:
    return fold.updates


def on_rejected(fold: Fold, event: HistoryEvent) -> None:
    fold.violate(RULE, event, "WorkflowExecutionUpdateRejected is never written to history")


_follow_completed = follower(
    TABLE,
    WorkflowExecutionUpdateCompletedEventAttributes,
    _open,
    UpdateInput.COMPLETED,
    key=lambda a: a.accepted_event_id,
    ref_name="accepted_event_id",
)


def on_completed(fold: Fold, event: HistoryEvent) -> None:
    """UpdateCompleted names its Accepted event. Servers before 1.21 did not write
    accepted_event_id (temporal 6691620a20, June 2023: "Write accepted event ID in update
    completion event"); proto3 writes no 0, so absent reads as 0. Such an event is
    matched to the open update by its id instead (meta.updateId, the Accepted event's
    protocol_instance_id); with neither, it names no event, as before."""
    attrs = event.attributes
    if isinstance(attrs, WorkflowExecutionUpdateCompletedEventAttributes) and not (
        attrs.accepted_event_id
    ):
        meta = attrs.meta.value() if attrs.meta is not None else None
        update_id = meta.get("updateId") if isinstance(meta, dict) else None
        for opened_by, entity in _open(fold).items():
            if update_id and entity.name == update_id:
                attrs = dataclasses.replace(attrs, accepted_event_id=opened_by)
                event = dataclasses.replace(event, attributes=attrs)
                break
    _follow_completed(fold, event)


HANDLERS: dict[EventType, Handler] = {
    EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: opener(
        WorkflowExecutionUpdateAcceptedEventAttributes,
        _open,
        UpdateState.ACCEPTED,
        name=lambda a: a.protocol_instance_id,
    ),
    EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED: on_completed,
    EventType.WORKFLOW_EXECUTION_UPDATE_REJECTED: on_rejected,
}
