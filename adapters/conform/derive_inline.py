"""How the deriver reads a history's next workflow task after a completion: started
inline by that completion (the worker asked for it in the answer), a speculative one
made normal later, and the sticky queue the completion named."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.conform.derive_base import attrs
from core.enums import EventType, TaskQueueKind
from core.events import HistoryEvent
from core.statemachine.history.service.reset_batches import INLINE_START_REQUEST_ID

E = EventType


def started_inline(real: Sequence[HistoryEvent], k: int) -> HistoryEvent | None:
    """The WorkflowTaskStarted of the task the completion ending before event `k`
    scheduled and started for its worker, who asked for it in the answer: the next
    task's Scheduled at `k` and its Started right after, with the request id the server
    gives such a start (core inline_task.py); else None, the task (if any) was started
    by a poll."""
    if k + 1 >= len(real) or real[k].event_type is not E.WORKFLOW_TASK_SCHEDULED:
        return None
    started = real[k + 1]
    if started.event_type is not E.WORKFLOW_TASK_STARTED:
        return None
    return started if attrs(started).request_id == INLINE_START_REQUEST_ID else None


def speculative_inline(inline: HistoryEvent | None, identity: str) -> bool:
    """Was the task started inline a speculative one, for an update the history never
    shows (the worker rejected it), written only when later events made it normal? Its
    Started then names no worker: an inline start of a normal task carries the
    completer's identity, the conversion writes none
    (convertSpeculativeWorkflowTaskToNormal, workflow_task_state_machine.go)."""
    return inline is not None and bool(identity) and not attrs(inline).identity


def next_sticky(real: Sequence[HistoryEvent], j: int) -> str:
    """The sticky queue of the next task scheduled at or after `j`, or "" if it is on
    the normal queue (or none is)."""
    for event in real[j:]:
        if event.event_type is E.WORKFLOW_TASK_SCHEDULED:
            q = attrs(event).task_queue
            return str(q.name) if q is not None and q.kind is TaskQueueKind.STICKY else ""
    return ""
