"""The live kernel: the simulator's kernel, driven by a clock instead of a loop.

Theory of operation. The cluster's nodes schedule calls on a kernel (`at`, `after`) and
read its clock (`now`); in the simulator a loop pops those calls in virtual-time order
as fast as it can. Here the same queue is drained by an asyncio task, `pump`, that runs
every call whose time has come by the clock and sleeps until the next one, or until a
gRPC handler pokes it. The clock is real time (the wall clock at start, advanced by the
monotonic clock) plus an offset that only time skipping moves: with skipping on, the
clock jumps to the next durable timer (`skip_target()`: a user timer, a timeout, a
retry or start backoff) whenever the holds on it come to nothing, as the Java SDK's
test server counts them (`SelfAdvancingTimerImpl`): each TestService lock is a hold
(`locks`, which an UnlockTimeSkippingWithSleep takes below zero while it sleeps), and
so is each workflow or activity task in flight (`in_flight()`). Long polls and the
nodes' own retry delays are not targets: they just come due after a jump. Everything
runs on the event loop's one thread, so the nodes need no locks. Trace lines are
folded into the hash and only the most recent are kept, since a server runs without end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import time
from collections.abc import Callable
from typing import Any

from sim.kernel import SEQ_BITS, T0, Kernel

RECENT_TRACE = 1000  # trace lines kept for a report


def _none(at_most: int) -> int:
    return 0


def _nothing() -> int | None:
    return None


class LiveKernel(Kernel):
    __slots__ = (
        "_base_mono",
        "_base_wall",
        "_wake",
        "in_flight",
        "locks",
        "offset",
        "recent",
        "skip_target",
        "skipping",
    )

    def __init__(self, seed: int, time_skipping: bool = False) -> None:
        super().__init__(seed)
        self.recent: collections.deque[str] = collections.deque(maxlen=RECENT_TRACE)
        self._base_wall = time.time_ns()
        self._base_mono = time.monotonic_ns()
        self.offset = 0  # ns skipped so far
        self.skipping = time_skipping
        self.locks = 0  # TestService holds (LockTimeSkipping adds one, unlocking takes one)
        # how many tasks are in flight, counted up to at_most + 1 (set by the runtime)
        self.in_flight: Callable[[int], int] = _none
        self.skip_target: Callable[[], int | None] = _nothing  # the next durable timer
        self._wake: asyncio.Event | None = None
        self.now = self.clock()

    def clock(self) -> int:
        """The current time in ns since the epoch: real time plus what was skipped."""
        return self._base_wall + (time.monotonic_ns() - self._base_mono) + self.offset

    def tick(self) -> int:
        """Bring `now` up to the clock (before a handler calls into the nodes)."""
        now = self.clock()
        if now > self.now:
            self.now = now
        return self.now

    def poke(self) -> None:
        """Something changed outside the queue: let the pump look again."""
        if self._wake is not None:
            self._wake.set()

    def log(self, node: str, what: str) -> None:
        line = f"t={self.now - T0} {node} {what}"
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.recent.append(line)

    def skip_to(self, target: int) -> None:
        """Move the clock forward to `target` (never back)."""
        gap = target - self.clock()
        if gap > 0:
            self.offset += gap
            self.log("kernel", f"skip {gap}ns")

    def run_due(self) -> int:
        """Run every scheduled call whose time has come; how many ran."""
        keys = self._keys
        take = self._calls.pop
        pop = heapq.heappop
        ran = 0
        limit = (self.clock() + 1) << SEQ_BITS
        while keys and keys[0] < limit:
            key = pop(keys)
            fn, args = take(key)
            # A call runs at the clock's reading when it runs, never before it is due:
            # on a real server each hop (a completion, then matching's dispatch, then
            # RecordActivityTaskStarted) stamps its events with a fresh reading of its
            # own clock (timeSource.Now() in service/history/historybuilder/
            # event_factory.go), so an activity a waiting poll starts has a start time
            # after its schedule time (their two timers never tie).
            due = max(key >> SEQ_BITS, self.clock())
            if due > self.now:
                self.now = due
            self.steps += 1
            ran += 1
            fn(*args)
        self.tick()
        return ran

    def can_skip(self) -> bool:
        """No hold left: the TestService locks and the tasks in flight add up to none
        (a sleeping UnlockTimeSkippingWithSleep counts -1, so an activity that sleeps
        through `env.sleep` lets the clock move on to its own timeouts, as in Java)."""
        if not self.skipping or self.locks > 0:
            return False
        return self.in_flight(-self.locks) <= -self.locks

    async def pump(self, stop: asyncio.Event) -> None:
        """Drain the queue by the clock until `stop` is set."""
        self._wake = wake = asyncio.Event()
        while not stop.is_set():
            wake.clear()
            self.run_due()
            if self.can_skip():
                target = self.skip_target()
                if target is not None and target > self.clock():
                    self.skip_to(target)
                    continue
            timeout: float | None = None
            first = self.next_time()
            if first is not None:
                timeout = max(0.0, (first - self.clock()) / 1e9)
            if timeout == 0.0:
                await asyncio.sleep(0)  # due already: let handlers in, then run it
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    # The queue methods are the simulator's; scheduling pokes the pump.
    def at(self, time_ns: int, fn: Callable[..., None], *args: Any) -> None:
        super().at(time_ns, fn, *args)
        if self._wake is not None:
            self._wake.set()

    def after(self, delay: int, fn: Callable[..., None], *args: Any) -> None:
        super().after(delay, fn, *args)
        if self._wake is not None:
            self._wake.set()
