"""The run itself: one start, at most one close, nothing after it (rules H2, H3, H19).

```
               WorkflowExecutionStarted             a close event
  NotStarted ───────────────────────────▶ Running ─────────────────▶ Closed
                                          │    ▲
                                          └────┘ any other event
```

Why (docs/temporal-semantics.md#close-events;
`service/history/historybuilder/event_store.go`, `finishEvent`):
a history begins with WorkflowExecutionStarted, and only there (H2). The six close
events - Completed, Failed, TimedOut, Canceled, Terminated, ContinuedAsNew - end the
run: the history builder refuses any event after one, and discards what was still
buffered, so a history holds at most one close and it is the last event (H3).
ContinuedAsNew names the run it continues into (H19); the new run's Started event names
this one back (checked across files by `validate_chain`).
"""

from __future__ import annotations

from core.enums import EventType
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent, WorkflowExecutionContinuedAsNewEventAttributes
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Fold, Handler

START_RULE = "H2"
CLOSE_RULE = "H3"
CONTINUE_AS_NEW_RULE = "H19"


class RunState(Enum):
    NOT_STARTED = "NotStarted"
    RUNNING = "Running"
    CLOSED = "Closed"


class RunInput(Enum):
    STARTED = "WorkflowExecutionStarted"
    EVENT = "any other event"
    CLOSED = "close event"


TABLE = make_table(
    "workflow execution",
    START_RULE,
    RunState,
    RunInput,
    RunState.NOT_STARTED,
    [
        (RunState.NOT_STARTED, RunInput.STARTED, RunState.RUNNING),
        (RunState.RUNNING, RunInput.EVENT, RunState.RUNNING),
        (RunState.RUNNING, RunInput.CLOSED, RunState.CLOSED),
    ],
)


def run_input(event_type: EventType) -> RunInput:
    """The run machine's input for an event type."""
    if event_type is EventType.WORKFLOW_EXECUTION_STARTED:
        return RunInput.STARTED
    if event_type in CLOSE_EVENT_TYPES:
        return RunInput.CLOSED
    return RunInput.EVENT


# Enum members read once: `RunState.RUNNING` goes through EnumType.__getattr__'s hook
# each time (about as slow as a Python call), these module names do not.
_NOT_STARTED, _RUNNING, _CLOSED = RunState.NOT_STARTED, RunState.RUNNING, RunState.CLOSED
# Most events are an EVENT input to a running run. If the table's row for that pair leads
# back to Running, such an event changes nothing: `check_run` returns at once, and
# `validate` asks `event_keeps_running` once per history (at its first such event) rather
# than call `check_run` for each.
NOT_AN_EVENT_INPUT = frozenset({EventType.WORKFLOW_EXECUTION_STARTED, *CLOSE_EVENT_TYPES})
_RUNNING_EVENT = (_RUNNING, RunInput.EVENT)


def event_keeps_running() -> bool:
    """Whether the table keeps a running run running on an ordinary event."""
    row = TABLE.next.get(_RUNNING_EVENT)
    return row is not None and row.target is _RUNNING


def check_run(fold: Fold, event: HistoryEvent) -> bool:
    """Step the run machine; report H2/H3 and return False if the event must be skipped."""
    if (
        fold.started
        and not fold.close_event_id
        and event.event_type not in NOT_AN_EVENT_INPUT
        and event_keeps_running()
    ):
        return True
    state = _CLOSED if fold.close_event_id else _RUNNING if fold.started else _NOT_STARTED
    input_ = run_input(event.event_type)
    row = TABLE.next.get((state, input_))
    if row is not None:
        if row.target is _RUNNING:
            fold.started = True
        elif row.target is _CLOSED:
            fold.close_event_id = event.event_id
            fold.close_event_type = event.event_type.name
        return True
    name = event.event_type.name
    if state is _CLOSED:
        fold.violate(
            CLOSE_RULE, event, f"{name} after the run closed at event {fold.close_event_id}"
        )
        return False
    if state is _RUNNING:  # a second WorkflowExecutionStarted
        fold.violate(START_RULE, event, "WorkflowExecutionStarted after the first event")
        return False
    fold.violate(START_RULE, event, f"the history begins with {name}, not WorkflowExecutionStarted")
    fold.started = True  # report once, then check the rest as if it had started
    return check_run(fold, event)


def on_continued_as_new(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if (
        isinstance(attrs, WorkflowExecutionContinuedAsNewEventAttributes)
        and not attrs.new_execution_run_id
    ):
        fold.violate(CONTINUE_AS_NEW_RULE, event, "ContinuedAsNew names no new_execution_run_id")


HANDLERS: dict[EventType, Handler] = {
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: on_continued_as_new,
}
