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

The timer queue does not read as it fires every task. A read takes the range up to the
new minimum (queue_base.go, `processNewRange`, whose upper bound is
`getExclusiveReaderHighWatermark`), and every task of that range is kept in memory and
submitted at its own time (reader.go, `submit`) without another read; the queue reads
again only when its gate fires for the first task past the range (queue_scheduled.go,
`lookAheadTask`, `NotifyNewTasks`). So a task that fires from the range read earlier
leaves the minimum where that read put it, and the timers its own transaction writes are
keyed against that earlier read.

A chain's execution timeout is one task of its own, written once, with the chain's
second run (service/history/workflow/task_generator.go, `GenerateWorkflowStartTasks`:
not on the first run, and carried to later runs by WorkflowExecutionTimerTaskStatus),
where the model writes each run a run timeout at the earlier of its run and execution
deadlines. A later run's timeout task at the execution deadline therefore takes the key
the chain's second run gave that deadline, not one against the minimum of its own write.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from adapters.serve.kernel import LiveKernel
from core import requests as rq
from sim.kernel import MS
from sim.persistence import Mutation, OutboxTask

DEV_SERVER_SHIFT = 1_000 * MS  # history.timerProcessorMaxTimeShift's default


class TimerShift:
    """The rules above for every shard of a history host (sim/nodes/task_keys.py)."""

    def __init__(self, kernel: LiveKernel, shift: int) -> None:
        self.kernel = kernel
        self.shift = shift
        self.minimum: dict[int, int] = {}  # per shard: the minimum scheduled time
        self.read_to: dict[int, int] = {}  # per shard: the end of the timer queue's read
        self.keys: dict[tuple[int, int], int] = {}  # a pending timer task: its key time
        self.floors: dict[tuple[int, int], int] = {}  # a timer task moved later: its key
        # per shard and chain (its first run id): the key of its execution timeout task
        self.chains: dict[tuple[int, str], int] = {}
        self._chain_keys: list[tuple[int, tuple[int, str]]] = []  # a heap of (key, chain)

    def written(
        self, shard_id: int, mutations: Sequence[Mutation], outbox: Sequence[OutboxTask]
    ) -> None:
        states = {m.run_id: m.state for m in mutations}
        immediate = False
        for task in outbox:
            t = task.task
            if not isinstance(t, rq.TimerTask):
                immediate = True
                continue
            key = self._key(shard_id, t.fire_time)
            state = states.get(task.run_id)
            if state is not None and state.first_run_id not in ("", task.run_id):
                # a later run of a chain: its execution timeout task was keyed once
                chain = (shard_id, state.first_run_id)
                if chain not in self.chains and state.execution_expiration:
                    self.chains[chain] = self._key(shard_id, state.execution_expiration)
                    heapq.heappush(self._chain_keys, (self.chains[chain], chain))
                if (
                    isinstance(t, rq.WorkflowRunTimeoutTask)
                    and t.fire_time == state.execution_expiration
                    and chain in self.chains
                ):
                    key = self.chains[chain]
            self.keys[(shard_id, task.task_id)] = key
            if key > t.fire_time + MS:  # moved later than its own time
                self.floors[(shard_id, task.task_id)] = key
        if immediate:  # its queue reads once the commit is done
            self.kernel.after(0, self.advance, shard_id)

    def _key(self, shard_id: int, fire_time: int) -> int:
        """setTaskKeys: the time rounded up to the millisecond, or past the minimum."""
        key = fire_time + MS - fire_time % MS
        minimum = self.minimum.get(shard_id)
        return minimum + MS if minimum is not None and key < minimum else key

    def fire_time(self, shard_id: int, task: OutboxTask, due: int) -> int:
        return max(due, self.floors.get((shard_id, task.task_id), due))

    def fired(self, shard_id: int, task: OutboxTask) -> None:
        key = self.keys.pop((shard_id, task.task_id), None)
        self.floors.pop((shard_id, task.task_id), None)
        read_to = self.read_to.get(shard_id)
        if key is None or read_to is None or key >= read_to:  # past the range read
            self.advance(shard_id)  # the gate fired: the timer queue reads a new range
            self.read_to[shard_id] = self.minimum[shard_id]

    def advance(self, shard_id: int) -> None:
        """A queue of the shard reads a new range: the minimum moves on (never back)."""
        now = self.kernel.clock()
        mark = now - now % MS + self.shift  # Temporal truncates it to the millisecond
        if mark > self.minimum.get(shard_id, mark - 1):
            self.minimum[shard_id] = mark
        self._forget_chains(now)

    def _forget_chains(self, now: int) -> None:
        """Drop the chains whose execution timeout task fired a shift ago or more: that
        task closed the chain, so no later run of it is written (the map stays bounded
        by the chains still running on a long-lived server)."""
        order = self._chain_keys
        while order and order[0][0] + self.shift < now:
            _, chain = heapq.heappop(order)
            del self.chains[chain]
