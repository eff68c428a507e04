"""A signal or a cancel request to another workflow, as the sender's service records
it: every rule of it, as rows of one table that decides.

```
  SignalExternalWorkflowExecution |             delivered | failed
  RequestCancelExternalWorkflowExecution ──▶ Initiated ───────────────────▶ Closed
```

How it runs (as service/activity.py and service/child.py): the transfer executor's
report (`RecordExternalResult`) is turned into one `ExternalInput` by `classify`; the
request's state is read off its pending record (`state_of`: none pending is
`Closed`); `fsm.decide` picks the row; the handler writes the outcome event; a row
ending in Closed deletes the record (here, not in a handler); and the state the
handler leaves is checked to be the row's target.

Rules (docs/temporal-semantics.md#external-signal-and-cancel;
`service/history/transfer_queue_active_task_executor.go` processSignalExecution and
processCancelExecution):

- The command (validated in command_handlers.py) writes the Initiated event, the
  pending record (`signals_out` or `cancels_out`) and the transfer task that acts on
  the target.
- The target's answer is recorded once: ExternalWorkflowExecutionSignaled or
  ExternalWorkflowExecutionCancelRequested when delivered, Signal/RequestCancel
  ExternalWorkflowExecutionFailed with its cause when not. A report about a request
  no longer pending (the transfer task delivered again) is NOT_FOUND and changes
  nothing; so is any report to a closed run.
- The event is buffered while a workflow task is in flight, and a workflow task is
  scheduled if none is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from core.errors import InvalidDefinition
from core.fastenum import Enum
from core.requests import Ok, RecordExternalResult, Reply
from core.statemachine import fsm
from core.statemachine.history.service.child_events import (
    NOT_PENDING,
    apply_report,
    external_result,
    with_namespace,
)
from core.statemachine.history.service.state import ExternalInfo, MutableState
from core.statemachine.history.service.txn import Outcome, Txn


class PendingExternalState(Enum):
    """A signal or cancel request to another workflow in the sender's mutable state
    (the pending SignalInfo / RequestCancelInfo). The SDK side's machines are
    `core.statemachine.replay.signal_external` and `cancel_external`."""

    INITIATED = "Initiated"  # its Initiated event written, the target's answer not yet
    CLOSED = "Closed"  # its outcome written and its record deleted (or never known)


class ExternalInput(Enum):
    DELIVERED = "delivered"
    FAILED = "failed"


_S = PendingExternalState
_I = ExternalInput
R = fsm.Row

TABLE = fsm.make_table(
    "external signal or cancel (service)",
    "INV-RESULT-AT-MOST-ONCE",
    PendingExternalState,
    ExternalInput,
    _S.INITIATED,
    [
        R(_S.INITIATED, _I.DELIVERED, _S.CLOSED, handler="record_delivered"),
        R(_S.INITIATED, _I.FAILED, _S.CLOSED, handler="record_failed"),
        # Duplicate and late reports about a request no longer pending.
        *(R(_S.CLOSED, i, _S.CLOSED, handler="reject_not_found") for i in ExternalInput),
    ],
)


def classify(request: RecordExternalResult) -> ExternalInput:
    """The table input a report is."""
    return _I.DELIVERED if request.delivered else _I.FAILED


def pending(state: MutableState, request: RecordExternalResult) -> tuple[ExternalInfo, ...]:
    """The pending requests of the kind `request` reports on."""
    return state.cancels_out if request.cancel else state.signals_out


def record_of(state: MutableState, request: RecordExternalResult) -> ExternalInfo | None:
    key = request.initiated_event_id
    return next((x for x in pending(state, request) if x.initiated_event_id == key), None)


def state_of(info: ExternalInfo | None) -> PendingExternalState:
    """The state a request is in, read off its pending record (None: not pending)."""
    return _S.CLOSED if info is None else _S.INITIATED


Row: TypeAlias = fsm.Row[PendingExternalState, ExternalInput]


def decide(txn: Txn, request: RecordExternalResult) -> tuple[Row, Reply]:
    """Run the row `request` selects on the request it names; return the row and the
    reply. The state the handler leaves must be the row's target."""
    info = record_of(txn.state, request)
    row = fsm.decide(TABLE, state_of(info), classify(request))
    reply = HANDLERS[row.handler](txn, info, request)
    if row.target is _S.CLOSED and info is not None:
        rest = tuple(x for x in pending(txn.state, request) if x is not info)
        # the table closes it (DeleteSignalRequested / DeletePendingRequestCancel)
        txn.set(**{"cancels_out" if request.cancel else "signals_out": rest})
    fsm.check_target(TABLE, row, state_of(record_of(txn.state, request)))
    return row, reply


def handle(state: MutableState, request: RecordExternalResult, now: int) -> Outcome:
    """The transfer executor's report about a signal or cancel this run sent."""
    return apply_report(state, now, lambda txn: decide(txn, request)[1])


def _record(txn: Txn, info: ExternalInfo | None, request: RecordExternalResult) -> Reply:
    """Write the outcome event (delivered or failed, by the request's kind)."""
    if info is None:
        raise InvalidDefinition(f"{TABLE.name}: a Closed row read the record")
    event_type, attrs = external_result(info, request)
    txn.add(event_type, with_namespace(attrs, txn.state.namespace, txn.state))
    return Ok()


HANDLERS: dict[str, Callable[[Txn, ExternalInfo | None, RecordExternalResult], Reply]] = {
    "record_delivered": _record,
    "record_failed": _record,
    "reject_not_found": lambda txn, info, request: NOT_PENDING,
}
