"""Facts of a run that Describe and the visibility rows show and the model keeps no
field for: whether a reset started it, and its state transition count, which counts
transactions the server closes where the model writes the run once."""

from __future__ import annotations

from core.events import HistoryEvent
from core.events.workflow import WorkflowExecutionStartedEventAttributes
from sim.persistence import RunRecord


def started_event(events: list[HistoryEvent]) -> WorkflowExecutionStartedEventAttributes | None:
    """The attributes of the run's WorkflowExecutionStarted event (None if it has none)."""
    attributes = events[0].attributes if events else None
    return attributes if isinstance(attributes, WorkflowExecutionStartedEventAttributes) else None


def state_transitions(run: RunRecord) -> int:
    """The run's StateTransitionCount: its writes, and one more for each transaction the
    server closes where the model writes the run once: for a run a reset started, the
    rebuild of its base's history up to the reset point (Rebuild, service/history/ndc/
    state_rebuilder.go) before the reset writes the run; for a child its parent started,
    the scheduling of its first workflow task, which the server leaves out of the
    child's creation (GenerateFirstWorkflowTask, service/history/api/
    create_workflow_util.go) and does when the parent has recorded the start
    (service/history/api/scheduleworkflowtask/api.go)."""
    if is_reset_run(run):
        return run.version + 1
    start = started_event(run.events)
    if start is None or start.parent_workflow_execution is None:
        return run.version
    # a retried or continued child's next run is made with its first task (or backoff)
    return run.version + (0 if start.continued_execution_run_id else 1)


def is_reset_run(run: RunRecord) -> bool:
    """IsResetRun (mutable_state_impl.go): the Started event names another run as the
    original, as a reset's copy of its base's start does."""
    start = started_event(run.events)
    original = start.original_execution_run_id if start else ""
    return bool(original) and original != run.state.run_id
