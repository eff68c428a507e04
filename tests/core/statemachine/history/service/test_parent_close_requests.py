"""What a closing parent sends its open children, by their parent close policies
(`applyParentClosePolicy` in service/history/transfer_queue_active_task_executor.go):
a termination and a cancel request signed by the history service, the cancel request
with no reason and naming the parent as the requester. The events they write are
compared with the recorded children of the unseen histories (`pcp-terminate.child.json`,
`pcp-request-cancel.child.json`)."""

from __future__ import annotations

from typing import Any

from adapters.temporal_json import decode_history, encode_history
from core import requests as rq
from core.enums import EventType as E
from core.events import HistoryEvent
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.execution import parent_close_requests
from tests.conftest import FIXTURES

UNSEEN = FIXTURES / "unseen-histories"


def _recorded(name: str, kind: E) -> HistoryEvent:
    events = decode_history((UNSEEN / name).read_text(encoding="utf-8")).events
    return next(e for e in events if e.event_type is kind)


def _attributes(event: HistoryEvent) -> Any:
    encoded: Any = encode_history([event])
    first: dict[str, Any] = encoded["events"][0]
    return next(v for k, v in first.items() if k.endswith("Attributes"))


def test_a_closing_parent_s_requests_write_what_the_server_writes() -> None:
    asked = _recorded("pcp-request-cancel.child.json", E.WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    stopped = _recorded("pcp-terminate.child.json", E.WORKFLOW_EXECUTION_TERMINATED)
    parent = _attributes(asked)["externalWorkflowExecution"]
    task = rq.CloseExecutionTransfer(
        run_id=parent["runId"],
        workflow_id=parent["workflowId"],
        children=(("t", "r1", 1), ("a", "r2", 2), ("c", "r3", 3)),
    )
    sent = {workflow_id: request for workflow_id, _, request in parent_close_requests(task)}
    assert sorted(sent) == ["c", "t"]  # ABANDON sends nothing
    for workflow_id, recorded in (("c", asked), ("t", stopped)):
        child = service.start(
            rq.StartWorkflowExecution("default", workflow_id, "k", "K", "q", "s"), 0
        )
        written = service.handle(child.state, sent[workflow_id], 1).events
        event = next(e for e in written if e.event_type is recorded.event_type)
        assert _attributes(event) == _attributes(recorded)
