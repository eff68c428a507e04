"""The values matching works on: queues, tasks, pollers, the state and the outcomes.

All are frozen, slotted dataclasses over tuples, so a state can be hashed by a model
checker. Times are integer nanoseconds since the Unix epoch and durations integer
nanoseconds, as in history events and the history service; matching never reads a clock
of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from core.errors import BadInput
from core.fastenum import Enum
from core.fastinit import fast_init_all
from core.statemachine.matching.poller import PollerState
from core.statemachine.matching.task import DropReason, TaskState

DEFAULT_PARTITIONS = 4
"""`matching.numTaskqueueReadPartitions` / `...WritePartitions` (`dynamicconfig/constants.go`)."""

LONG_POLL_EXPIRATION_NS = 60 * 10**9
"""`matching.longPollExpirationInterval` (1 min) in nanoseconds: a poll's usual deadline
is ``now + this``."""

STICKY_POLLER_UNAVAILABLE_WINDOW_NS = 10 * 10**9
"""`stickyPollerUnavailableWindow` (10 s, `matching_engine.go`, hard-coded in Temporal) in
nanoseconds."""

TaskKey: TypeAlias = int
"""Matching's own id for one added task (one per `add_task` call, duplicates included)."""


class TaskKind(Enum):
    WORKFLOW = "Workflow"
    ACTIVITY = "Activity"


class QueueKind(Enum):
    NORMAL = "Normal"
    STICKY = "Sticky"


@dataclass(frozen=True, slots=True)
class TaskQueue:
    """A task queue: namespace, name and task type; sticky queues take workflow tasks only."""

    namespace: str
    name: str
    task_type: TaskKind
    kind: QueueKind = QueueKind.NORMAL

    def __post_init__(self) -> None:
        if self.kind is QueueKind.STICKY and self.task_type is not TaskKind.WORKFLOW:
            raise BadInput(f"sticky queue {self.name!r} must be a workflow task queue")

    def __eq__(self, other: object) -> bool:
        # The dataclass's own __eq__ builds two tuples; matching compares queues in its
        # inner loops, and callers that share one object per queue hit the `is` at once.
        if self is other:
            return True
        if not isinstance(other, TaskQueue):
            return NotImplemented
        return (
            self.name == other.name
            and self.task_type is other.task_type
            and self.kind is other.kind
            and self.namespace == other.namespace
        )


@dataclass(frozen=True, slots=True)
class MatchingTask:
    """What history's transfer task asks matching to deliver.

    `stamp` is the attempt/stamp history checks in Record*Started; `expiry` is the
    schedule-to-start deadline in ns since the epoch (None: no schedule-to-start timeout).
    """

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    stamp: int
    kind: TaskKind
    expiry: int | None = None


@dataclass(frozen=True, slots=True)
class MatchingConfig:
    """Partition counts (writes must not exceed reads, or tasks are stranded), forwarding,
    and the sticky poller window in nanoseconds."""

    read_partitions: int = DEFAULT_PARTITIONS
    write_partitions: int = DEFAULT_PARTITIONS
    forwarding: bool = True
    sticky_window: int = STICKY_POLLER_UNAVAILABLE_WINDOW_NS

    def __post_init__(self) -> None:
        if not 1 <= self.write_partitions <= self.read_partitions:
            raise BadInput(
                "need 1 <= write_partitions <= read_partitions, got "
                f"{self.write_partitions} > {self.read_partitions}"
            )


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """One added task where matching keeps it, with its lifecycle state."""

    key: TaskKey
    queue: TaskQueue
    partition: int
    task: MatchingTask
    state: TaskState
    poller_id: str | None = None
    reason: DropReason | None = None


@dataclass(frozen=True, slots=True)
class Poller:
    """One outstanding long poll (`deadline` in ns since the epoch); `task_key` names the
    task it was offered, if any."""

    poller_id: str
    queue: TaskQueue
    partition: int
    deadline: int
    state: PollerState = PollerState.WAITING
    task_key: TaskKey | None = None


@dataclass(frozen=True, slots=True)
class MatchingState:
    """All task queues of one matching service.

    `backlog` is in dispatch order (a respooled task goes to the end), `dispatching` holds
    tasks waiting for history's Record*Started reply, `finished` is the ledger of delivered
    and dropped tasks (kept so ``INV-NO-LOST-TASK`` can be checked from the state alone).
    `pollers` are in arrival order; `last_poll` is the last poll time of each queue.
    """

    config: MatchingConfig = MatchingConfig()
    next_key: TaskKey = 1
    backlog: tuple[TaskEntry, ...] = ()
    dispatching: tuple[TaskEntry, ...] = ()
    finished: tuple[TaskEntry, ...] = ()
    pollers: tuple[Poller, ...] = ()
    last_poll: tuple[tuple[TaskQueue, int], ...] = ()


# --- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Matching offers `task` to `poller_id` and now asks history to record it started."""

    task_key: TaskKey
    poller_id: str
    task: MatchingTask


@dataclass(frozen=True, slots=True)
class Waiting:
    """The poll is parked until a task arrives or its deadline passes."""

    poller_id: str


@dataclass(frozen=True, slots=True)
class Backlogged:
    task_key: TaskKey


@dataclass(frozen=True, slots=True)
class Dropped:
    task_key: TaskKey
    reason: DropReason


@dataclass(frozen=True, slots=True)
class StickyWorkerUnavailable:
    """No poller on the sticky queue recently: history should use the normal queue."""

    queue: TaskQueue


@dataclass(frozen=True, slots=True)
class PollExpired:
    """An empty poll response: the deadline passed with no task."""

    poller_id: str
    queue: TaskQueue


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What a Record*Started reply did.

    `task_state` is the task's new state (Delivered, Dropped or Backlog); `delivered` is
    the poll response for `poller_id` when it is Delivered; `dispatches` are the offers
    made afterwards (the freed poller taking another task, the respooled task reaching
    another poller), each again pending history's reply.
    """

    task_key: TaskKey
    poller_id: str
    task_state: TaskState
    delivered: MatchingTask | None
    reason: DropReason | None
    dispatches: tuple[Dispatch, ...]


AddOutcome: TypeAlias = Dispatch | Backlogged | Dropped | StickyWorkerUnavailable
PollOutcome: TypeAlias = Dispatch | Waiting


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
