"""A long poll's lifecycle: it waits, is offered a task, and returns it or times out.

```
            Offer               RecordStartedOk
  Waiting ─────────▶ Offered ──────────────────▶ Matched
   │   ▲               │
   │   └── Rejected ───┘  (task dropped or respooled: keep polling)
   │ Deadline
   ▼
  Expired   (empty poll response)
```

docs/temporal-semantics.md#long-polls
(`service/matching/matching_engine.go`, `matcher.go`): a poll blocks for up
to `matching.longPollExpirationInterval` (about a minute) and then returns an *empty*
response, not an error. A poller that was offered a task waits while matching records it
started in history; if history rejects the task (dropped or to be retried), the poll
loop goes on (`goto pollLoop`) and the poller waits for another task. Only a Waiting
poller expires: an Offered one is in the middle of an RPC to history and is answered by
that reply first. A poller whose deadline has passed is never offered a task.
"""

from __future__ import annotations

from core.fastenum import Enum
from core.statemachine.fsm import make_table

RULE = "INV-NO-LOST-TASK"


class PollerState(Enum):
    WAITING = "Waiting"
    OFFERED = "Offered"
    MATCHED = "Matched"
    EXPIRED = "Expired"


class PollerInput(Enum):
    OFFER = "Offer"
    RECORD_STARTED_OK = "RecordStartedOk"
    REJECTED = "Rejected"
    DEADLINE = "Deadline"


TABLE = make_table(
    "matching poller",
    RULE,
    PollerState,
    PollerInput,
    PollerState.WAITING,
    [
        (PollerState.WAITING, PollerInput.OFFER, PollerState.OFFERED),
        (PollerState.WAITING, PollerInput.DEADLINE, PollerState.EXPIRED),
        (PollerState.OFFERED, PollerInput.RECORD_STARTED_OK, PollerState.MATCHED),
        (PollerState.OFFERED, PollerInput.REJECTED, PollerState.WAITING),
    ],
)
