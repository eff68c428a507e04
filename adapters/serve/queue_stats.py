"""Task queue statistics, as `temporal task-queue describe` shows them: how many tasks a
queue took and handed out per second, and how old its oldest waiting task is.

Temporal's matching keeps, for each partition of a queue, a counter of the tasks added
and one of the tasks dispatched to pollers (`incTaskTracker` in
service/matching/physical_task_queue_manager.go: an add when history pushes a task, a
dispatch when a poll is handed one). Each counter is a ring of 5 s buckets covering
30 s (`newTaskTracker` in service/matching/matching_engine.go); its rate is the tasks in
the ring over the time it covers, which is the time since the counter was made until
that reaches 30 s (`rate` in service/matching/task_tracker.go). Both counters of a
partition are made together, at its first add or dispatch. DescribeTaskQueue sums the
partitions' rates (`MergeStats`, common/taskqueue/stats.go); the CLI prints the add rate
less the dispatch rate as the backlog's increase rate.

Only a queue's normal partitions count here: a sticky queue is a queue of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.statemachine import matching as m
from core.statemachine.history.service.state import MutableState

SECOND = 1_000_000_000
BUCKET = 5 * SECOND
WINDOW = 30 * SECOND
BUCKETS = WINDOW // BUCKET + 1  # the ring holds one bucket more than the window


@dataclass(slots=True)
class RateTracker:
    """Tasks counted in a ring of `BUCKETS` buckets of `BUCKET` ns, from `made` on."""

    made: int
    bucket_start: int = -1
    position: int = 0
    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def __post_init__(self) -> None:
        if self.bucket_start < 0:
            self.bucket_start = self.made

    def _advance(self, now: int) -> None:
        passed = max(0, now - self.bucket_start) // BUCKET
        for _ in range(min(passed, BUCKETS)):
            self.position = (self.position + 1) % BUCKETS
            self.counts[self.position] = 0
        self.bucket_start += passed * BUCKET

    def count(self, now: int) -> None:
        self._advance(now)
        self.counts[self.position] += 1

    def rate(self, now: int) -> float:
        """Tasks per second over what the ring covers (0 before any time has passed)."""
        self._advance(now)
        covered = min(now - self.bucket_start + WINDOW, now - self.made)
        if covered <= 0:
            return 0.0
        return sum(self.counts) / (covered / SECOND)


def task_kind(task_type: int) -> m.TaskKind:
    """The kind of task a TaskQueueType number names (1 workflow, 2 activity)."""
    return m.TaskKind.WORKFLOW if task_type == 1 else m.TaskKind.ACTIVITY


QueueKey = tuple[str, str, m.TaskKind]  # namespace, queue name, task kind
Pair = tuple[RateTracker, RateTracker]  # a partition's add and dispatch counters


IDLE = 300 * SECOND  # matching.maxTaskQueueIdleTime: an idle queue is unloaded
SWEEP_EVERY = 1000  # tasks and polls between sweeps of idle queues' counters


class QueueStats:
    """Every normal partition's add and dispatch counters (a matching host's observer).

    A queue with no task added or dispatched and no poll for 5 minutes loses its
    counters, as matching unloads such a queue with its partitions' trackers
    (`matching.maxTaskQueueIdleTime`; liveness marked by adds and polls, `liveness.go`);
    so callers using ever new queue names do not make this grow without end."""

    def __init__(self) -> None:
        self.trackers: dict[QueueKey, dict[int, Pair]] = {}  # by queue, then partition
        self.alive: dict[QueueKey, int] = {}  # queue -> last activity
        self.counted = 0
        # DescribeTaskQueue's answers by (namespace, queue, task type): when made, and the
        # TaskQueueTypeInfo message (rpc_system.describe_task_queue)
        self.described: dict[tuple[str, str, int], tuple[int, Any]] = {}

    def _pair(self, queue: m.TaskQueue, partition: int, now: int) -> Pair:
        self.polled(queue.namespace, queue.name, queue.task_type, now)
        partitions = self.trackers.setdefault((queue.namespace, queue.name, queue.task_type), {})
        pair = partitions.get(partition)
        if pair is None:
            pair = partitions[partition] = (RateTracker(now), RateTracker(now))
        return pair

    def polled(self, namespace: str, name: str, kind: m.TaskKind, now: int) -> None:
        """The queue is in use (a task, or a poll): its counters stay."""
        self.alive[(namespace, name, kind)] = now
        self.counted += 1
        if self.counted % SWEEP_EVERY == 0:
            self.sweep(now)

    def sweep(self, now: int) -> None:
        """Drop the counters of the queues idle for `IDLE`."""
        for queue in [q for q, last in self.alive.items() if now - last >= IDLE]:
            del self.alive[queue]
            self.trackers.pop(queue, None)

    def added(self, queue: m.TaskQueue, partition: int, now: int) -> None:
        if queue.kind is m.QueueKind.NORMAL:
            self._pair(queue, partition, now)[0].count(now)

    def dispatched(self, queue: m.TaskQueue, partition: int, now: int) -> None:
        if queue.kind is m.QueueKind.NORMAL:
            self._pair(queue, partition, now)[1].count(now)

    def rates(self, namespace: str, name: str, kind: m.TaskKind, now: int) -> tuple[float, float]:
        """The queue's add and dispatch rates, each summed over its partitions."""
        self.sweep(now)
        pairs = self.trackers.get((namespace, name, kind), {}).values()
        return sum(a.rate(now) for a, _ in pairs), sum(d.rate(now) for _, d in pairs)


def created(task: m.MatchingTask, state: MutableState | None) -> int | None:
    """When the task was made: its workflow task's or its activity attempt's scheduled
    time, which matching's copy of the task dates within a transfer task's delay (None if
    the run no longer has it)."""
    if state is None:
        return None
    if task.kind is m.TaskKind.WORKFLOW:
        wft = state.wft
        return (
            wft.scheduled_time
            if wft and wft.scheduled_event_id == task.scheduled_event_id
            else None
        )
    info = state.activity(task.scheduled_event_id)
    return info.scheduled_time if info is not None else None


def backlog_age(
    tasks: Iterable[m.MatchingTask],
    state_of: Callable[[m.MatchingTask], MutableState | None],
    now: int,
) -> int:
    """The age of the oldest waiting task, in ns (0 with none): `getBacklogHeadAge` in
    service/matching/task_reader.go, the oldest over partitions (`MergeStats`)."""
    times = [t for t in (created(task, state_of(task)) for task in tasks) if t is not None]
    return max(0, now - min(times)) if times else 0
