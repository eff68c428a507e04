"""Marker: a single event the server stores without interpreting (rule H18).

```
  Recorded
```

docs/temporal-semantics.md#marker (and #markers for what SDKs put in them):
RecordMarker writes MarkerRecorded in the command batch of the
workflow task that issued it (H7 checks the batch). The SDKs give markers meaning
(patches, local activities, side effects); the server only insists that the marker has
a name (`service/history/api/command_attr_validator.go`, validateRecordMarkerAttributes).
"""

from __future__ import annotations

from core.enums import EventType
from core.events import HistoryEvent, MarkerRecordedEventAttributes
from core.fastenum import Enum
from core.statemachine.fsm import make_table
from core.statemachine.history.fold import Fold, Handler

RULE = "H18"


class MarkerState(Enum):
    RECORDED = "Recorded"


class MarkerInput(Enum):
    """A marker takes no input after it is recorded."""


TABLE = make_table("marker", RULE, MarkerState, MarkerInput, MarkerState.RECORDED, [])


def on_recorded(fold: Fold, event: HistoryEvent) -> None:
    attrs = event.attributes
    if isinstance(attrs, MarkerRecordedEventAttributes) and not attrs.marker_name:
        fold.violate(RULE, event, "MarkerRecorded has no marker_name")


HANDLERS: dict[EventType, Handler] = {EventType.MARKER_RECORDED: on_recorded}
