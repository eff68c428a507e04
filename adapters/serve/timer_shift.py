"""The dev server's timer latency: a timer task fires no sooner than the end of what the
shard's queues last read ahead.

Temporal keys every task of a transaction before writing it
(service/history/shard/task_key_generator.go, `setTaskKeys`): a scheduled task (every
timer-queue task: a user timer, an activity's timeouts and retry backoff, a workflow
task's timeouts, the run and execution timeouts, a workflow's start backoff) gets as its
time its own time rounded up to the millisecond, or, when that is earlier than the
shard's minimum scheduled time, that minimum plus 1 ms. The rule is per task; the
minimum is per shard. The minimum moves on each time one of the shard's queues (the
transfer and visibility queues as well as the timer queue) reads a new range: it becomes
the time of that read plus `history.timerProcessorMaxTimeShift`
(service/history/shard/task_key_manager.go, `getExclusiveReaderHighWatermark`), so that
no task can be written behind what the timer queue has already read. Its default is 1 s
(common/dynamicconfig/constants.go) and `temporal server start-dev` leaves it at that
(cli internal/devserver/server.go overrides other settings only).

A queue reads right after a commit that wrote a task for it
(service/history/queues/queue_immediate.go, `notify`), and the timer queue reads when its
gate fires for a task (queue_scheduled.go, `processNewRange`). So the workflow task that
starts a 0.1 s timer was itself written, and read, a moment before it ran, and the timer
fires about 1 s after that read: measured on the dev server, a 0.05 s to 0.8 s timer
fires 1.00 s after its workflow task was scheduled, and a timer of 1 s or more on time.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.serve.kernel import LiveKernel
from core import requests as rq
from sim.kernel import MS
from sim.persistence import OutboxTask

DEV_SERVER_SHIFT = 1_000 * MS  # history.timerProcessorMaxTimeShift's default


class TimerShift:
    """The rule above for every shard of a history host (sim/nodes/task_keys.py)."""

    def __init__(self, kernel: LiveKernel, shift: int) -> None:
        self.kernel = kernel
        self.shift = shift
        self.minimum: dict[int, int] = {}  # per shard: the minimum scheduled time
        self.floors: dict[tuple[int, int], int] = {}  # a timer task moved later: its time

    def written(self, shard_id: int, outbox: Sequence[OutboxTask]) -> None:
        minimum = self.minimum.get(shard_id)
        immediate = False
        for task in outbox:
            t = task.task
            if not isinstance(t, rq.TimerTask):
                immediate = True
            elif minimum is not None and t.fire_time + MS - t.fire_time % MS < minimum:
                self.floors[(shard_id, task.task_id)] = minimum + MS
        if immediate:  # its queue reads once the commit is done
            self.kernel.after(0, self.read, shard_id)

    def fire_time(self, shard_id: int, task: OutboxTask, due: int) -> int:
        return max(due, self.floors.get((shard_id, task.task_id), due))

    def fired(self, shard_id: int, task: OutboxTask) -> None:
        self.floors.pop((shard_id, task.task_id), None)
        self.read(shard_id)

    def read(self, shard_id: int) -> None:
        """A queue of the shard read a new range: the minimum moves on (never back)."""
        now = self.kernel.clock()
        mark = now - now % MS + self.shift  # Temporal truncates it to the millisecond
        if mark > self.minimum.get(shard_id, mark - 1):
            self.minimum[shard_id] = mark
