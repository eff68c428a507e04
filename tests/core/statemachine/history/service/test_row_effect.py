"""`row_effect.check`: a handler's effect - events appended, events buffered, buffered
events deleted - is compared with its row's `writes` and `retracts`, and a mismatch of
any of the three is `fsm.RowBroken` (the check skips its set work only when the buffer
is untouched, which must not hide a buffer change)."""

from __future__ import annotations

import pytest

from core.enums import EventType as E
from core.events import HistoryEvent, WorkflowExecutionSignaledEventAttributes
from core.statemachine import fsm
from core.statemachine.history.service import row_effect, timer
from core.statemachine.history.service.state import BUFFERED_EVENT_ID, MutableState
from core.statemachine.history.service.txn import Txn

SIGNALED = E.WORKFLOW_EXECUTION_SIGNALED


def _signal() -> HistoryEvent:
    attributes = WorkflowExecutionSignaledEventAttributes(signal_name="s")
    return HistoryEvent(BUFFERED_EVENT_ID, SIGNALED, attributes)


def _txn() -> Txn:
    state = MutableState("ns", "wf", "run", "Flow", "q", 1, 2, 3, 4, buffered=(_signal(),))
    return Txn(state, 10)


Row = fsm.Row[timer.PendingTimerState, timer.TimerInput]


def _row(writes: tuple[E, ...] = (), retracts: tuple[E, ...] = ()) -> Row:
    row = timer.TABLE.rows[0]
    return fsm.Row(row.source, row.input, row.target, writes=writes, retracts=retracts)


def _check(txn: Txn, before: row_effect.Mark, row: Row) -> None:
    row_effect.check(timer.TABLE, row, txn, before)


def test_an_untouched_buffer_and_no_events_match_an_empty_row() -> None:
    txn = _txn()
    before = row_effect.mark(txn)
    _check(txn, before, _row())
    with pytest.raises(fsm.RowBroken, match=r"wrote \(\) .* the row says \(WORKFLOW_EXEC"):
        _check(txn, before, _row(writes=(SIGNALED,)))


def test_an_appended_event_must_be_the_row_s() -> None:
    txn = _txn()
    before = row_effect.mark(txn)
    txn.append(SIGNALED, WorkflowExecutionSignaledEventAttributes(signal_name="t"))
    _check(txn, before, _row(writes=(SIGNALED,)))
    with pytest.raises(fsm.RowBroken):
        _check(txn, before, _row())


def test_a_buffered_event_counts_as_written() -> None:
    txn = _txn()
    before = row_effect.mark(txn)
    txn.set(buffered=(*txn.state.buffered, _signal()))
    _check(txn, before, _row(writes=(SIGNALED,)))
    with pytest.raises(fsm.RowBroken, match=r"wrote \(WORKFLOW_EXECUTION_SIGNALED\)"):
        _check(txn, before, _row())


def test_a_deleted_buffered_event_counts_as_retracted() -> None:
    txn = _txn()
    before = row_effect.mark(txn)
    txn.set(buffered=())
    _check(txn, before, _row(retracts=(SIGNALED,)))
    with pytest.raises(fsm.RowBroken, match=r"deleted \(WORKFLOW_EXECUTION_SIGNALED\)"):
        _check(txn, before, _row())


def test_a_buffer_rebuilt_with_the_same_events_is_no_change() -> None:
    txn = _txn()
    before = row_effect.mark(txn)
    txn.set(buffered=tuple(list(txn.state.buffered)))  # a new tuple of the same events
    _check(txn, before, _row())
