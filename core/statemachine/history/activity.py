"""Activity lifecycle as written to history (rule H9; open activity ids, H10).

```
                 ActivityTaskStarted           Completed | Failed | TimedOut
  Scheduled ─────────────────────────▶ Started ─────────────────────────────▶ (closed)
     │  │ TimedOut (never started)       │ CancelRequested (servers that wrote
     │  ▼                                ▼  Started at dispatch)
     │ (closed)              StartedCancelRequested ── Completed | Failed |
     │ CancelRequested              ▲                  TimedOut | Canceled ──▶ (closed)
     ▼          ActivityTaskStarted │
  CancelRequested ──────────────────┘
     │ Canceled | TimedOut (not running)
     ▼
  (closed)
```

Why these shapes (docs/temporal-semantics.md#activity;
`service/history/workflow/mutable_state_impl.go`):
with a retry policy (the server always fills one in) ActivityTaskStarted is not written
at dispatch but only when the activity closes, just before its terminal event in the
same batch, carrying the final attempt; retries leave no trace. Cancelling an activity
that is not running writes CancelRequested and Canceled in the same batch
(`handleCommandRequestCancelActivity`). Servers that wrote Started at dispatch (no
retry policy) can show Started before a CancelRequested, hence that row.
ActivityTaskCanceled is legal only after a cancel request, and names it in
latest_cancel_requested_event_id. A second cancel request is legal only for an activity
that had already closed when it was made (its close buffered while a workflow task ran,
or written by the same batch's first request): the server writes the request and nothing
more (AddActivityTaskCancelRequestedEvent's HasActivityFinishEvent), so the close must
follow in the flush that ends the batch, as an id reuse's must (`settle_reuses`).
An activity id is unique among open activities (SCHEDULE_ACTIVITY_DUPLICATE_ID).
"""

from __future__ import annotations

from core.enums import EventType
from core.events import (
    ActivityPropertiesModifiedExternallyEventAttributes,
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    HistoryEvent,
)
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import (
    Entity,
    Fold,
    Handler,
    advance,
    check_started_ref,
    follower,
    opener,
    reference_ok,
    release,
)

RULE = "H9"
DUPLICATE_ID_RULE = "H10"


class ActivityState(Enum):
    SCHEDULED = "Scheduled"
    CANCEL_REQUESTED = "CancelRequested"
    STARTED = "Started"
    STARTED_CANCEL_REQUESTED = "StartedCancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELED = "Canceled"


class ActivityInput(Enum):
    STARTED = "ActivityTaskStarted"
    COMPLETED = "ActivityTaskCompleted"
    FAILED = "ActivityTaskFailed"
    TIMED_OUT = "ActivityTaskTimedOut"
    CANCEL_REQUESTED = "ActivityTaskCancelRequested"
    CANCELED = "ActivityTaskCanceled"


_S = ActivityState
_I = ActivityInput

TABLE = make_table(
    "activity",
    RULE,
    ActivityState,
    ActivityInput,
    _S.SCHEDULED,
    [
        (_S.SCHEDULED, _I.STARTED, _S.STARTED),
        (_S.SCHEDULED, _I.TIMED_OUT, _S.TIMED_OUT),
        (_S.SCHEDULED, _I.CANCEL_REQUESTED, _S.CANCEL_REQUESTED),
        (_S.CANCEL_REQUESTED, _I.STARTED, _S.STARTED_CANCEL_REQUESTED),
        (_S.CANCEL_REQUESTED, _I.CANCELED, _S.CANCELED),
        (_S.CANCEL_REQUESTED, _I.TIMED_OUT, _S.TIMED_OUT),
        (_S.STARTED, _I.COMPLETED, _S.COMPLETED),
        (_S.STARTED, _I.FAILED, _S.FAILED),
        (_S.STARTED, _I.TIMED_OUT, _S.TIMED_OUT),
        (_S.STARTED, _I.CANCEL_REQUESTED, _S.STARTED_CANCEL_REQUESTED),
        (_S.STARTED_CANCEL_REQUESTED, _I.COMPLETED, _S.COMPLETED),
        (_S.STARTED_CANCEL_REQUESTED, _I.FAILED, _S.FAILED),
        (_S.STARTED_CANCEL_REQUESTED, _I.TIMED_OUT, _S.TIMED_OUT),
        (_S.STARTED_CANCEL_REQUESTED, _I.CANCELED, _S.CANCELED),
    ],
)


_CANCEL_ASKED = frozenset({_S.CANCEL_REQUESTED, _S.STARTED_CANCEL_REQUESTED})


def _open(fold: Fold) -> dict[int, Entity[ActivityState]]:
    return fold.activities


def _ids(fold: Fold) -> dict[str, int]:
    return fold.activity_ids


def _closer(
    attrs_type: type[
        ActivityTaskCompletedEventAttributes
        | ActivityTaskFailedEventAttributes
        | ActivityTaskTimedOutEventAttributes
    ],
    input_: ActivityInput,
) -> Handler:
    return follower(
        TABLE,
        attrs_type,
        _open,
        input_,
        key=lambda a: a.scheduled_event_id,
        ref_name="scheduled_event_id",
        started=lambda a: a.started_event_id,
        names=_ids,
    )


def on_cancel_requested(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if not isinstance(attrs, ActivityTaskCancelRequestedEventAttributes):
        return
    again = fold.activities.get(attrs.scheduled_event_id)
    if again is not None and again.state in _CANCEL_ASKED and fold.command_window:
        message = (
            f"activity {attrs.scheduled_event_id}: ACTIVITY_TASK_CANCEL_REQUESTED is not "
            f"allowed in state {again.state.name}"
        )  # unless the activity closes in this batch's flush (settle_reuses)
        fold.reuses[again.opened_by] = (RULE, event.event_id, message, fold.command_window)
        return
    entity = advance(
        fold,
        TABLE,
        fold.activities,
        attrs.scheduled_event_id,
        _I.CANCEL_REQUESTED,
        event,
        "scheduled_event_id",
    )
    if entity is not None:
        entity.cancel_requested_event_id = event.event_id


def on_canceled(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if not isinstance(attrs, ActivityTaskCanceledEventAttributes):
        return
    entity = advance(
        fold,
        TABLE,
        fold.activities,
        attrs.scheduled_event_id,
        _I.CANCELED,
        event,
        "scheduled_event_id",
    )
    if entity is None:
        return
    check_started_ref(fold, TABLE, entity, event, attrs.started_event_id)
    if attrs.latest_cancel_requested_event_id != entity.cancel_requested_event_id:
        fold.violate(
            RULE,
            event,
            "ActivityTaskCanceled.latest_cancel_requested_event_id="
            f"{attrs.latest_cancel_requested_event_id}, but the cancel was requested by event "
            f"{entity.cancel_requested_event_id}",
        )
    fold.reuses.pop(entity.opened_by, None)
    release(fold.activity_ids, entity)


def on_properties_modified(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if not isinstance(attrs, ActivityPropertiesModifiedExternallyEventAttributes):
        return
    sid = attrs.scheduled_event_id
    if reference_ok(fold, event, "scheduled_event_id", sid) and sid not in fold.activities:
        fold.violate(RULE, event, f"scheduled_event_id={sid} does not name an open activity")


HANDLERS: dict[EventType, Handler] = {
    EventType.ACTIVITY_TASK_SCHEDULED: opener(
        ActivityTaskScheduledEventAttributes,
        _open,
        _S.SCHEDULED,
        name=lambda a: a.activity_id,
        names=_ids,
        duplicate_rule=DUPLICATE_ID_RULE,
    ),
    EventType.ACTIVITY_TASK_STARTED: follower(
        TABLE,
        ActivityTaskStartedEventAttributes,
        _open,
        _I.STARTED,
        key=lambda a: a.scheduled_event_id,
        ref_name="scheduled_event_id",
        records_start=True,
    ),
    EventType.ACTIVITY_TASK_COMPLETED: _closer(ActivityTaskCompletedEventAttributes, _I.COMPLETED),
    EventType.ACTIVITY_TASK_FAILED: _closer(ActivityTaskFailedEventAttributes, _I.FAILED),
    EventType.ACTIVITY_TASK_TIMED_OUT: _closer(ActivityTaskTimedOutEventAttributes, _I.TIMED_OUT),
    EventType.ACTIVITY_TASK_CANCEL_REQUESTED: on_cancel_requested,
    EventType.ACTIVITY_TASK_CANCELED: on_canceled,
    EventType.ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY: on_properties_modified,
}
