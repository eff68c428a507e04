"""Workflow Update's requests: a client's update (UpdateWorkflowExecution) and the
protocol messages a workflow task completion carries about it (UpdateMessage). Named
in core/requests.py too, whose Request union and completions use them; the history
service's update.py handles them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.fastinit import fast_init_all
from core.opaque import Opaque


@dataclass(frozen=True, slots=True)
class UpdateWorkflowExecution:
    """A client's update: admitted in memory until a workflow task accepts or rejects it.

    `request` is the update request as history records it on acceptance (meta, input).
    """

    update_id: str
    request: Opaque | None = None


class UpdateMessageKind(Enum):
    ACCEPT = "Acceptance"
    REJECT = "Rejection"
    RESPOND = "Response"


@dataclass(frozen=True, slots=True)
class UpdateMessage:
    """A protocol message in a workflow task completion (temporal/api/update/v1)."""

    message_id: str
    update_id: str
    kind: UpdateMessageKind
    outcome: Opaque | None = None
    # An acceptance's accepted_request_sequencing_event_id, as the worker sends it (the
    # server copies it into UpdateAccepted: `onAcceptanceMsg`,
    # service/history/workflow/update/update.go). A worker echoes the sequencing id of
    # the request message the server sent it, or, for an update the server sent as an
    # UpdateAdmitted event (a reset reapplies it so), that event's id. 0: the id of the
    # server's message, which a worker echoes (the task's Scheduled event here).
    sequencing_event_id: int = 0
    # A response's meta as the worker sends it, which the server writes into
    # UpdateCompleted (`CreateWorkflowExecutionUpdateCompletedEvent`,
    # service/history/historybuilder/event_factory.go): the Python and TypeScript SDKs
    # echo the request's (its id and the caller's identity), the Go SDK sends the id
    # alone. None: the request's, as those SDKs do.
    meta: Opaque | None = None


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
