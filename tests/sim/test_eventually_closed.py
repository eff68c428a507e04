"""INV-EVENTUALLY-CLOSED notices runs that never close, and what it does not claim.

Last sitting's finding, investigated: with the service refusing every activity
completion (NOT_FOUND), a 5-workflow run (seed 0, 78 events) reported nothing. Every
workflow of that run did close: each activity timed out after its completions were
refused, and the workflow code failed the run (WorkflowExecutionFailed). Closing with a
failure is closing, so the liveness invariant holds there; what went unnoticed is the
refusal itself (recorded as an open item). The invariant does catch nothing ever closing:
with every workflow-task completion refused no run can close, and every workflow is
reported.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.enums import EventType
from core.event_sets import CLOSE_EVENT_TYPES
from core.requests import Error, ErrorKind, Request, RespondWorkflowTaskCompleted
from core.statemachine import fsm
from core.statemachine.history.limits import Limits
from core.statemachine.history.service import activity, handle
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome, unchanged
from sim.config import SimConfig
from sim.run import simulate


def test_no_run_closing_is_reported_for_every_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    dispatch = handle._dispatch

    def refuse(state: MutableState, request: Request, now: int, limits: Limits) -> Outcome:
        if isinstance(request, RespondWorkflowTaskCompleted):
            return unchanged(state, Error(ErrorKind.INVALID_ARGUMENT, "refused"))
        return dispatch(state, request, now, limits)

    monkeypatch.setattr(handle, "_dispatch", refuse)
    result = simulate(SimConfig(seed=0, workflows=5))
    late = sorted(v.message.split()[0] for v in result.violations)
    assert {v.id for v in result.violations} == {"INV-EVENTUALLY-CLOSED"}
    assert late == [f"wf-{i}" for i in range(5)]


def test_refused_activity_completions_still_let_every_run_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reproduction of the finding: the activity table's completion rows refuse
    (Started --RespondActivityTaskCompleted / reject_not_found--> Started); every run
    still closes, failed, after its activity timed out. The finding was on the mixed
    workload, whose draws changed when a pattern joined it; the saga workload keeps the
    situation (each workflow's activities time out, and its code fails the run)."""
    rows = [
        dataclasses.replace(r, target=r.source, handler="reject_not_found", writes=())
        if r.input is activity.ActivityInput.RESPOND_COMPLETED and r.handler == "complete"
        else r
        for r in activity.TABLE.rows
    ]
    table = activity.TABLE
    refusing = fsm.make_table(
        table.name, table.rule, activity.PendingActivityState, activity.ActivityInput,
        table.initial, rows,
    )  # fmt: skip
    monkeypatch.setattr(activity, "TABLE", refusing)
    result = simulate(SimConfig(seed=0, workflows=5, workload="saga"))
    closes = [
        next(e.event_type for e in history if e.event_type in CLOSE_EVENT_TYPES)
        for history in result.histories.values()
    ]
    assert closes == [EventType.WORKFLOW_EXECUTION_FAILED] * 5
    assert not any(
        e.event_type is EventType.ACTIVITY_TASK_COMPLETED
        for history in result.histories.values()
        for e in history
    )
    assert result.violations == ()
