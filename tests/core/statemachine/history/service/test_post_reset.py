"""A reset's post-reset operations (ResetWorkflowExecutionRequest.post_reset_operations):
the server merges and applies each options update to the new run after what the reset
reapplied and before the workflow task it schedules, with no identity
(`performPostResetOperations` in service/history/ndc/workflow_resetter.go;
`reset-post-options.json` of the unseen histories)."""

from __future__ import annotations

from core import requests as rq
from core.enums import EventType
from core.events import OpaqueAttributes
from core.opaque import Opaque
from core.statemachine.history.service.reset import reset
from core.statemachine.history.service.txn import Outcome
from tests.core.statemachine.coverage_scenarios import Run

E = EventType
PRIORITY = Opaque.of({"priorityKey": 3})


def _reset(run: Run, options: tuple[rq.UpdateWorkflowExecutionOptions, ...]) -> Outcome:
    finish = next(e.event_id for e in run.events if e.event_type is E.WORKFLOW_TASK_COMPLETED)
    request = rq.ResetWorkflowExecution("r", finish, "reset-1", post_reset_options=options)
    outcome = reset(run.state, list(run.events), request, "new-run", run.now + 10**9)
    assert outcome.new_run is not None, outcome.reply
    return outcome.new_run


def test_a_post_reset_options_update_follows_the_reapplied_events() -> None:
    run = Run()
    run.complete()
    run.send(rq.SignalWorkflowExecution("after the point"))
    update = rq.UpdateWorkflowExecutionOptions(
        Opaque.of({"priority": PRIORITY.value()}), ("priority",)
    )
    new = _reset(run, (update,))
    kinds = [e.event_type for e in new.events]
    at = kinds.index(E.WORKFLOW_TASK_FAILED)
    assert kinds[at + 1 :] == [
        E.WORKFLOW_EXECUTION_SIGNALED,
        E.WORKFLOW_EXECUTION_OPTIONS_UPDATED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    attributes = new.events[at + 2].attributes
    assert isinstance(attributes, OpaqueAttributes)
    written = attributes.value.value()
    assert written == {"unsetVersioningOverride": True, "priority": PRIORITY.value()}
    assert new.state.priority == PRIORITY


def test_a_post_reset_update_that_changes_nothing_writes_nothing() -> None:
    run = Run()
    run.complete()
    keep = rq.UpdateWorkflowExecutionOptions(Opaque.of({}), ("versioningOverride",))
    new = _reset(run, (keep,))
    assert E.WORKFLOW_EXECUTION_OPTIONS_UPDATED not in [e.event_type for e in new.events]
