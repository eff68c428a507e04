"""SDK-side marker machines: patches and side effects, and local activities.

```
  marker:          Created ──MarkerRecorded──▶ Recorded
  local activity:  Requested ──result──▶ MarkerCreated ──MarkerRecorded──▶ Recorded
```

A patch (`patched` / `deprecate_patch`) and a side effect write their marker at once
(`RecordMarker`). A local activity runs inside the worker, so it has no command until
its result is known: live, the worker runs it and hands the result back; on replay
the result is read from the ``core_local_activity`` marker of the same workflow task
(sdk-core `local_activity_state_machine.rs` resolves from the marker the same way).
Marker names and details follow sdk-core: ``core_patch`` with ``patch-data``
(``{"id", "deprecated"}``) and ``core_local_activity`` with ``data`` (seq, attempt,
activity id and type) and ``result``; side effects use the Go SDK's ``SideEffect``.
"""

from __future__ import annotations

from core.enums import EventType
from core.fastenum import Enum
from core.statemachine.fsm import Row, Table, make_table

PATCH_MARKER = "core_patch"
LOCAL_ACTIVITY_MARKER = "core_local_activity"
SIDE_EFFECT_MARKER = "SideEffect"


class SdkMarkerState(Enum):
    CREATED = "Created"
    RECORDED = "Recorded"


class MarkerInput(Enum):
    RECORDED = "MarkerRecorded"


TABLE: Table[Enum, Enum] = make_table(
    "replay-marker",
    "THM-3.1",
    SdkMarkerState,
    MarkerInput,
    SdkMarkerState.CREATED,
    [(SdkMarkerState.CREATED, MarkerInput.RECORDED, SdkMarkerState.RECORDED)],
)


class SdkLocalActivityState(Enum):
    REQUESTED = "Requested"
    MARKER_CREATED = "MarkerCreated"
    RECORDED = "Recorded"


class LocalActivityInput(Enum):
    RESULT = "result known"
    RECORDED = "MarkerRecorded"


LOCAL_ACTIVITY_TABLE: Table[Enum, Enum] = make_table(
    "replay-local-activity",
    "THM-3.1",
    SdkLocalActivityState,
    LocalActivityInput,
    SdkLocalActivityState.REQUESTED,
    [
        Row(
            SdkLocalActivityState.REQUESTED,
            LocalActivityInput.RESULT,
            SdkLocalActivityState.MARKER_CREATED,
            ("emit_marker", "resolve"),
        ),
        (
            SdkLocalActivityState.MARKER_CREATED,
            LocalActivityInput.RECORDED,
            SdkLocalActivityState.RECORDED,
        ),
    ],
)

MARKER_EVENT_INPUTS: dict[EventType, MarkerInput] = {
    EventType.MARKER_RECORDED: MarkerInput.RECORDED,
    # An upsert (written with a patch, or asked for) is tracked by the same two states.
    EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: MarkerInput.RECORDED,
    EventType.WORKFLOW_PROPERTIES_MODIFIED: MarkerInput.RECORDED,
}
LOCAL_ACTIVITY_EVENT_INPUTS: dict[EventType, LocalActivityInput] = {
    EventType.MARKER_RECORDED: LocalActivityInput.RECORDED,
}
