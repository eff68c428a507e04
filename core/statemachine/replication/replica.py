"""One cluster's copy of a run: its branches, their events, and the run's lifecycle.

```
            Create               Close
  Absent ──────────▶ Running ──────────▶ Closed
   │  ▲               │  ▲ Append, Backfill,  │  ▲ Backfill, SwitchClosed,
   └──┘ Resync        └──┘ SwitchOpen,       └──┘ Duplicate, Resync
                           Duplicate, Resync
                     Running ◀── SwitchOpen ── Closed
                     Running ── SwitchClosed ─▶ Closed
```

A replica holds a `VersionHistories` (`version_history.py`) and, per branch, that
branch's events in full (Temporal forks a branch and shares the prefix in storage; the
model copies it). Its lifecycle state is that of the run's *current* branch:

- **Create**: the first events of the run (a local start, or a replicated batch that
  begins at event 1: `service/history/ndc/history_replicator.go`, `applyStartEvents`).
- **Append / Close**: events added to the current branch, by the active cluster's own
  writes or a replicated batch that extends the current branch; a batch that ends in a
  close event closes the run. Nothing is appended to a closed current branch: a run
  closes at most once on its current branch (INV-REPL-CLOSES-ONCE; Temporal's history
  service refuses writes to a closed run and no valid batch extends one).
- **Backfill**: a replicated batch that lands on a non-current branch (it lost the
  conflict) changes the branch, not the run's state (`BackfillWorkflow`).
- **SwitchOpen / SwitchClosed**: the conflict resolver makes another branch current
  and rebuilds the run from it (`ndc/conflict_resolver.go`, `GetOrRebuildCurrentMutableState`);
  the run is then open or closed as that branch is. So a run closed on a branch that
  loses is open again if the winning branch is: the close went with its branch.
- **Duplicate / Resync**: a batch already applied, or one that would leave a gap, changes
  nothing (`ndc/branch_manager.go`, `verifyEventsOrder`).

Events carry `origin`, the cluster that wrote them. Temporal's events do not (the version
names the cluster); the model keeps it to *check* that the version does
(INV-REPL-VERSION-OWNER).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from core.enums import EventType
from core.errors import BadInput
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.fsm import make_table, step
from core.statemachine.replication import version_history as vh

RULE = "INV-REPL-CLOSES-ONCE"


class RunState(Enum):
    ABSENT = "Absent"
    RUNNING = "Running"
    CLOSED = "Closed"


class RunInput(Enum):
    CREATE = "Create"
    APPEND = "Append"
    CLOSE = "Close"
    BACKFILL = "Backfill"
    SWITCH_OPEN = "SwitchOpen"
    SWITCH_CLOSED = "SwitchClosed"
    DUPLICATE = "Duplicate"
    RESYNC = "Resync"


_S, _I = RunState, RunInput
TABLE = make_table(
    "run replica",
    RULE,
    RunState,
    RunInput,
    RunState.ABSENT,
    [
        (_S.ABSENT, _I.CREATE, _S.RUNNING),
        (_S.ABSENT, _I.RESYNC, _S.ABSENT),
        (_S.RUNNING, _I.APPEND, _S.RUNNING),
        (_S.RUNNING, _I.CLOSE, _S.CLOSED),
        (_S.RUNNING, _I.BACKFILL, _S.RUNNING),
        (_S.RUNNING, _I.SWITCH_OPEN, _S.RUNNING),
        (_S.RUNNING, _I.SWITCH_CLOSED, _S.CLOSED),
        (_S.RUNNING, _I.DUPLICATE, _S.RUNNING),
        (_S.RUNNING, _I.RESYNC, _S.RUNNING),
        (_S.CLOSED, _I.BACKFILL, _S.CLOSED),
        (_S.CLOSED, _I.SWITCH_OPEN, _S.RUNNING),
        (_S.CLOSED, _I.SWITCH_CLOSED, _S.CLOSED),
        (_S.CLOSED, _I.DUPLICATE, _S.CLOSED),
        (_S.CLOSED, _I.RESYNC, _S.CLOSED),
    ],
)


@dataclass(frozen=True, slots=True)
class Event:
    """A history event as replication sees it.

    `request_id` names what a client asked for (a signal's, update's or cancel's id):
    reapplication keeps it, so the invariants can follow a signal across branches.
    `body` is the full `HistoryEvent` when the caller has one; it travels verbatim, so
    a reapplied event keeps the body of the event it copies (with that event's id and
    version: the caller renumbers it if it writes the body out).
    """

    event_id: int
    version: int
    event_type: EventType
    origin: str
    request_id: str = ""
    body: HistoryEvent | None = None

    @property
    def closes(self) -> bool:
        return self.event_type in CLOSE_EVENT_TYPES


Events = tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class RunReplica:
    """One cluster's copy of run `run_id`.

    `branches[i]` are the events of branch ``histories.histories[i]``. `reapplied` holds
    ``(source run id, event id, version)`` of losing-branch events already reapplied to
    this run (`definition.NewEventReappliedID`, checked by `IsResourceDuplicated`).
    """

    run_id: str
    state: RunState
    histories: vh.VersionHistories
    branches: tuple[Events, ...]
    reapplied: frozenset[tuple[str, int, int]] = frozenset()

    @property
    def current_events(self) -> Events:
        return self.branches[self.histories.current] if self.branches else ()

    @property
    def next_event_id(self) -> int:
        return len(self.current_events) + 1


def last_write_version(run: RunReplica | None) -> int:
    """The version of the last event on `run`'s current branch (0 for no events)."""
    if run is None or not run.current_events:
        return 0
    return run.current_events[-1].version


def absent(run_id: str) -> RunReplica:
    """A run this cluster has not seen yet."""
    return RunReplica(run_id, RunState.ABSENT, vh.VersionHistories(((),)), ((),))


def check_batch(events: Events, first_event_id: int | None = None) -> None:
    """`BadInput` unless `events` is a non-empty run of consecutive event ids (starting at
    `first_event_id` if given) with versions that never go down."""
    if not events:
        raise BadInput("an event batch must not be empty")
    if first_event_id is not None and events[0].event_id != first_event_id:
        raise BadInput(f"batch starts at event {events[0].event_id}, expected {first_event_id}")
    for before, after in pairwise(events):
        if after.event_id != before.event_id + 1 or after.version < before.version:
            raise BadInput(f"events {before.event_id} and {after.event_id} are out of order")


def items_for(base: vh.Items, events: Events) -> vh.Items:
    """`base` extended by one item per version change in `events`."""
    items = base
    for index, event in enumerate(events):
        last = index + 1 == len(events) or events[index + 1].version != event.version
        if last:
            items = vh.add_or_update(items, vh.item(event.event_id, event.version))
    return items


def lifecycle(replica: RunReplica, input_: RunInput) -> RunState:
    """The run's next state on `input_`; `InvalidTransition` if the table has no row."""
    state, _ = step(TABLE, replica.state, input_)
    return state


def extend_branch(replica: RunReplica, index: int, events: Events) -> RunReplica:
    """`events` appended to branch `index` (items and events); the state is unchanged."""
    branch = replica.branches[index]
    check_batch(events, len(branch) + 1)
    items = items_for(replica.histories.histories[index], events)
    histories = vh.replace_branch(replica.histories, index, items)
    branches = (*replica.branches[:index], (*branch, *events), *replica.branches[index + 1 :])
    return RunReplica(replica.run_id, replica.state, histories, branches, replica.reapplied)


def with_state(replica: RunReplica, state: RunState) -> RunReplica:
    return RunReplica(replica.run_id, state, replica.histories, replica.branches, replica.reapplied)


def append_local(replica: RunReplica, events: Events) -> RunReplica:
    """The active cluster's own write: `events` appended to the current branch (Create
    if the run is absent, Close if the batch ends in a close event). `InvalidTransition`
    for a write to a closed run (INV-REPL-CLOSES-ONCE); `BadInput` if a close event is
    not the batch's last."""
    if any(e.closes for e in events[:-1]):
        raise BadInput("a close event must be the last event of its batch")
    if replica.state is RunState.ABSENT:
        created = with_state(replica, lifecycle(replica, RunInput.CREATE))
        extended = extend_branch(created, 0, events)
    else:
        lifecycle(replica, RunInput.APPEND)  # refuses a closed run before anything changes
        extended = extend_branch(replica, replica.histories.current, events)
    if events[-1].closes:
        return with_state(extended, lifecycle(extended, RunInput.CLOSE))
    return extended


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
