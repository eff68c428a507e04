"""The tables of service/child.py and service/external.py decide: every report about a
child or an external request is answered by its row, and a row or handler broken in
a copy of the table is caught (by `fsm.check_target` or by the history validator)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core import requests as rq
from core.enums import EventType
from core.errors import InvalidDefinition
from core.statemachine import fsm
from core.statemachine.history.service import child, external
from tests.core.statemachine.coverage_scenarios import Run
from tests.core.statemachine.history.service.entity_walks import child_paths

E = EventType
NOT_READY, NOT_FOUND = rq.ErrorKind.NOT_READY, rq.ErrorKind.NOT_FOUND


def _kind(reply: rq.Reply) -> object:
    return reply.kind if isinstance(reply, rq.Error) else type(reply)


def test_every_report_is_answered_by_its_row() -> None:
    run, replies = child_paths()
    assert [_kind(r) for r in replies] == [
        NOT_READY, rq.Ok, NOT_FOUND, NOT_FOUND, rq.Ok, NOT_FOUND, NOT_FOUND, NOT_FOUND,
        rq.Ok, rq.Ok, NOT_FOUND, NOT_FOUND, rq.Ok, NOT_FOUND,
    ]  # fmt: skip
    written = [e.event_type for e in run.events]
    for once in (
        E.CHILD_WORKFLOW_EXECUTION_STARTED,
        E.CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.START_CHILD_WORKFLOW_EXECUTION_FAILED,
        E.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ):
        assert written.count(once) == 1, once
    assert run.state.children == () and run.state.signals_out == () == run.state.cancels_out


def test_a_rejected_report_writes_nothing() -> None:
    run, _ = child_paths()
    before = (run.state, len(run.events))
    assert _kind(run.send(rq.RecordChildExecutionStarted(999, "r"))) is NOT_FOUND
    assert _kind(run.send(rq.RecordExternalResult(999, cancel=True, delivered=True))) is NOT_FOUND
    assert (run.state, len(run.events)) == before


def test_a_report_to_a_closed_parent_is_not_found() -> None:
    run = Run()
    run.send(rq.TerminateWorkflowExecution("stop"))
    for report in (
        rq.RecordChildExecutionStarted(5, "r"),
        rq.RecordExternalResult(5, cancel=False, delivered=True),
    ):
        assert _kind(run.send(report)) is NOT_FOUND


def test_state_of_reads_the_record() -> None:
    assert child.state_of(None) is child.PendingChildState.CLOSED
    assert external.state_of(None) is external.PendingExternalState.CLOSED


def _mutated(table: fsm.Table[Any, Any], source: Any, input_: Any, **change: Any) -> Any:
    rows = [
        dataclasses.replace(r, **change) if (r.source, r.input) == (source, input_) else r
        for r in table.rows
    ]
    return fsm.make_table(table.name, table.rule, type(source), type(input_), table.initial, rows)


def test_a_handler_that_leaves_the_child_off_its_row_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(child.HANDLERS, "start", lambda call: rq.Ok())  # forgets the start
    with pytest.raises(
        InvalidDefinition, match="left the entity in INITIATED, the row says STARTED"
    ):
        child_paths()


def test_a_duplicate_start_row_made_to_start_again_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    S, I = child.PendingChildState, child.ChildInput  # noqa: E741
    broken = _mutated(child.TABLE, S.STARTED, I.RECORD_STARTED, handler="start")
    monkeypatch.setattr(child, "TABLE", broken)
    with pytest.raises(AssertionError, match="CHILD_WORKFLOW_EXECUTION_STARTED"):
        child_paths()  # the second Started event: the validator refuses the history


def test_a_delivered_row_that_keeps_the_request_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    S, I = external.PendingExternalState, external.ExternalInput  # noqa: E741
    broken = _mutated(external.TABLE, S.INITIATED, I.DELIVERED, target=S.INITIATED)
    monkeypatch.setattr(external, "TABLE", broken)
    with pytest.raises(AssertionError, match="EXTERNAL_WORKFLOW_EXECUTION_SIGNALED"):
        child_paths()  # delivered twice, written twice: the validator refuses it
