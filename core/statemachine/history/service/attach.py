"""A start that meets a running workflow under the USE_EXISTING conflict policy and asks,
by its OnConflictOptions, to attach itself to that run (`handleUseExistingWorkflowOnConflictOptions`
in service/history/api/startworkflow/api.go): the run writes a
WorkflowExecutionOptionsUpdated event with the attached request id and completion
callbacks and the start's links, always marked worker-may-ignore (event_factory.go,
CreateWorkflowExecutionOptionsUpdatedEvent), and schedules no workflow task
(UpdateWorkflowWithoutWorkflowTask). The attached callbacks join the run's own: its
close calls them all (ApplyWorkflowExecutionOptionsUpdatedEvent, mutable_state_impl.go).

Not modelled: the attached request id is not kept for deduplication (the server's
AttachRequestID lets a retried start find the event it attached).
"""

from __future__ import annotations

from core.enums import EventType
from core.events import OpaqueAttributes
from core.nexus_request import AttachToRun
from core.opaque import JsonValue, Opaque
from core.replies import Error, ErrorKind, Ok
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged


def attach_to_run(state: MutableState, request: AttachToRun, now: int) -> Outcome:
    if not state.running:  # the start then meets the id reuse policy (api.go)
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow execution is closed"))
    fields: dict[str, JsonValue] = {}
    if request.request_id:
        fields["attachedRequestId"] = request.request_id
    added = _listed(request.completion_callbacks)
    if added:
        fields["attachedCompletionCallbacks"] = added
    txn = Txn(state, now)
    options_updated(txn, fields, request.links)
    if added:
        callbacks = [*_listed(state.completion_callbacks), *added]
        txn.set(completion_callbacks=Opaque.of(callbacks))
    return finish(txn, Ok())


def options_updated(txn: Txn, fields: dict[str, JsonValue], links: Opaque | None = None) -> None:
    """Write WorkflowExecutionOptionsUpdated with these attributes and links, marked
    worker-may-ignore as the server always marks it (the event of an attach and of
    UpdateWorkflowExecutionOptions, options_update.py)."""
    event_id = txn.add(
        EventType.WORKFLOW_EXECUTION_OPTIONS_UPDATED,
        OpaqueAttributes("workflowExecutionOptionsUpdatedEventAttributes", Opaque.of(fields)),
    )
    txn.mark(event_id, links=links, worker_may_ignore=True)


def _listed(value: Opaque | None) -> list[JsonValue]:
    listed = value.value() if value is not None else None
    return list(listed) if isinstance(listed, list) else []
