"""A reset of a run whose Nexus operation is pending at the reset point
(tests/fixtures/unseen-histories/nexus-reset-reapply.json, the dev server's reset of
nexus-reset-reapply.base.json): the new run is rebuilt with the operation pending
(rebuild_nexus.py), and the operation's completion, which the base run got after the
reset point, is reapplied to it (NexusOperationCompleted's CherryPick,
components/nexusoperations/events.go) unless the request excludes Nexus events
(RESET_REAPPLY_EXCLUDE_TYPE_NEXUS); `tmodel conform` reproduces the recorded pair
(tests/adapters/test_conform_unseen.py)."""

from __future__ import annotations

from adapters.conform.derive import Driver
from adapters.temporal_json import decode_history
from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.history.service.reset import (
    ResetReapplyExcludeType,
    reset,
    reset_request,
)
from core.statemachine.history.service.state import MutableState
from tests.conftest import FIXTURES

E = EventType
UNSEEN = FIXTURES / "unseen-histories"


def _events(name: str) -> tuple[HistoryEvent, ...]:
    return tuple(decode_history((UNSEEN / name).read_text(encoding="utf-8")).events)


Reset = tuple[MutableState, tuple[HistoryEvent, ...], tuple[HistoryEvent, ...]]


def _reset_run(*excluded: int) -> Reset:
    """The base run driven to its close, reset to the workflow task the recorded reset
    named (the one before the operation's completion): the new run's state and events,
    and the base run's events."""
    base = Driver(_events("nexus-reset-reapply.base.json"))
    base.run()
    assert base.state is not None
    recorded = _events("nexus-reset-reapply.json")
    failed = next(e for e in recorded if e.event_type is E.WORKFLOW_TASK_FAILED)
    finish = failed.event_id  # the reset point's WorkflowTaskCompleted in the base run
    request = reset_request("nexus-reset", finish, "reset-1", reset_reapply_exclude_types=excluded)
    now = (base.written[-1].event_time or 0) + 10**9
    outcome = reset(base.state, base.written, request, "new-run", now)
    assert outcome.new_run is not None, outcome.reply
    return outcome.new_run.state, outcome.new_run.events, tuple(base.written)


def test_the_completion_after_the_reset_point_is_reapplied() -> None:
    state, events, base = _reset_run()
    kinds = [e.event_type for e in events]
    completed = kinds.index(E.NEXUS_OPERATION_COMPLETED)
    assert kinds[completed - 1 : completed + 2] == [
        E.WORKFLOW_TASK_FAILED,
        E.NEXUS_OPERATION_COMPLETED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    original = next(e for e in base if e.event_type is E.NEXUS_OPERATION_COMPLETED)
    assert events[completed].attributes == original.attributes
    assert state.nexus_operations == ()


def test_excluding_nexus_leaves_the_operation_pending() -> None:
    state, events, _ = _reset_run(ResetReapplyExcludeType.NEXUS)
    assert E.NEXUS_OPERATION_COMPLETED not in [e.event_type for e in events]
    (pending,) = state.nexus_operations
    assert pending.operation_token  # started before the reset point
