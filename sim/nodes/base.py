"""What every node shares: the context (kernel, network, router) and the payloads."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import UnionType

from core import requests as rq
from core.events import HistoryEvent
from core.fastinit import fast_init_all
from core.statemachine.matching import QueueKind, TaskKind, TaskQueue
from core.statemachine.shard import fingerprint32, shard_for
from sim.faults import Faults
from sim.kernel import Kernel
from sim.network import Network

DEFAULT_NAMESPACE = "default"
ROUTE_CACHE = 1 << 20  # remembered routes; past this the cache starts again (a live server)


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A transient failure (shard not owned, write failed): the caller retries."""

    reason: str


@dataclass(frozen=True, slots=True)
class Describe:
    """Read a run's history (the sim's GetWorkflowExecutionHistory, used by queries)."""


@dataclass(frozen=True, slots=True)
class History:
    events: tuple[HistoryEvent, ...]
    workflow_type: str


@dataclass(frozen=True, slots=True)
class StartedWorkflowTask:
    """A poll response: the task, the history up to its WorkflowTaskStarted, updates."""

    workflow_id: str
    run_id: str
    workflow_type: str
    started: rq.WorkflowTaskStarted
    history: tuple[HistoryEvent, ...]
    updates: tuple[rq.UpdateWorkflowExecution, ...]
    sticky: bool = False


@dataclass(frozen=True, slots=True)
class InlineWorkflowTask:
    """A completion's answer that hands its worker the next workflow task, started at
    once (the worker asked, `return_new_workflow_task`): the service's reply and the
    task, its history as a poll of the sticky queue would carry it."""

    reply: rq.WorkflowTaskCompletedOk | rq.TaskDiscarded
    task: StartedWorkflowTask


@dataclass(frozen=True, slots=True)
class StartedActivityTask:
    workflow_id: str
    run_id: str
    activity_id: str
    started: rq.ActivityTaskStarted


Payload = (
    rq.Reply
    | Unavailable
    | History
    | StartedWorkflowTask
    | StartedActivityTask
    | InlineWorkflowTask
)
Request = rq.Request | Describe | rq.ResetWorkflowExecution


class ByClass(dict[type, int]):
    """`isinstance` against several class tuples as one lookup on an object's class.

    ``by_class[type(x)]`` is the index of the first of `kinds` that ``isinstance(x, kind)``
    holds for, else ``len(kinds)``: computed by `issubclass` the first time a class is
    looked up, and remembered (a class's answer never changes). A hot path's chain of
    isinstance checks becomes one dict lookup, with isinstance's meaning, subclasses
    included.
    """

    __slots__ = ("kinds",)

    def __init__(self, *kinds: type | tuple[type, ...] | UnionType) -> None:
        super().__init__()
        self.kinds = kinds

    def __missing__(self, cls: type) -> int:
        index = next((i for i, k in enumerate(self.kinds) if issubclass(cls, k)), len(self.kinds))
        self[cls] = index
        return index


def task_queue(
    name: str,
    task_type: TaskKind,
    kind: QueueKind = QueueKind.NORMAL,
    namespace: str = DEFAULT_NAMESPACE,
) -> TaskQueue:
    """The one `TaskQueue` object with these fields.

    History and workers build queues from names many times a second; sharing one object
    per queue lets matching compare queues by identity before comparing their fields
    (equal fields still match once a queue has left the cache: the cache is bounded, as
    a live server's callers may name any number of queues).
    """
    # All four fields, positionally: lru_cache keys on how it is called, so a default
    # left out and the same default written out would make two objects for one queue.
    return _shared_queue(namespace, name, task_type, kind)


@functools.lru_cache(maxsize=1 << 16)
def _shared_queue(namespace: str, name: str, task_type: TaskKind, kind: QueueKind) -> TaskQueue:
    return TaskQueue(namespace, name, task_type, kind)


class Router:
    """Routing shared by frontend and matching: workflow -> shard -> owner, queue -> host.

    `owner` is the membership view (ringpop in Temporal), kept by the cluster.
    """

    def __init__(self, shards: int, matching: Sequence[str]) -> None:
        self.shards = shards
        self.owner: dict[int, str] = {}
        self.matching = tuple(sorted(matching))
        # Both maps are fixed for a run; remembering them saves a SHA-256 per message.
        self._shard: dict[tuple[str, str], int] = {}
        self._host: dict[str, str] = {}

    def shard(self, namespace: str, workflow_id: str) -> int:
        key = (namespace, workflow_id)
        shard = self._shard.get(key)
        if shard is None:
            if len(self._shard) >= ROUTE_CACHE:
                self._shard.clear()
            shard = self._shard[key] = shard_for(namespace, workflow_id, self.shards)
        return shard

    def matching_for(self, queue: str) -> str:
        host = self._host.get(queue)
        if host is None:
            if len(self._host) >= ROUTE_CACHE:
                self._host.clear()
            host = self._host[queue] = self.matching[fingerprint32(queue) % len(self.matching)]
        return host


class Base:
    """A node: a name, up/down, an epoch bumped by each restart."""

    def __init__(self, name: str, kernel: Kernel, net: Network, faults: Faults) -> None:
        self.name = name
        self.kernel = kernel
        self.net = net
        self.faults = faults
        self.up = True
        self.epoch = 0
        net.add(self)

    def clock(self) -> int:
        """This host's clock: virtual time plus any skew."""
        return self.kernel.now + self.faults.skew.get(self.name, 0)

    def crash(self) -> None:
        self.up = False
        self.epoch += 1
        self.kernel.log(self.name, "crash")

    def restart(self) -> None:
        self.up = True
        self.kernel.log(self.name, "restart")


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
