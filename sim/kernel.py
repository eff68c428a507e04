"""The discrete-event kernel: a virtual clock, one seeded RNG, an ordered event queue.

Theory of operation (FoundationDB's simulator, TigerBeetle's VOPR): the whole cluster
runs in one thread on a virtual clock in nanoseconds. An event is a call scheduled at a
virtual time; the queue is a heap ordered by ``(time, seq)`` where `seq` is a counter,
so two events at the same time run in the order they were scheduled and the order
depends on nothing but the seed. There is one `random.Random`, seeded from the config;
no wall clock, threads or real I/O. Nodes write canonical trace lines
(``t=<ns> <node> <what>``) and the kernel folds each into a SHA-256, so equal seeds give
equal trace hashes and any divergence shows as a different hash.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from typing import Any, Protocol

MS = 1_000_000
SECOND = 1_000 * MS
T0 = 1_767_225_600 * SECOND  # 2026-01-01T00:00:00Z: virtual time starts here

# A queued event is a key, time << SEQ_BITS | seq: one integer that orders by time, then
# by scheduling order. The heap holds the keys alone and each key's call waits in a dict
# beside it, so the heap compares ints (about a third fewer instructions per event than
# a heap of (key, fn, args) tuples, whose comparisons go through the tuples). Keys are
# unique (each has its own sequence number), so the calls run in the keys' order.
Call = tuple[Callable[..., None], tuple[Any, ...]]
SEQ_BITS = 40  # a run schedules far fewer than 2**40 events
_push = heapq.heappush


class Addressee(Protocol):
    """What a message is addressed to: a node that may be down or restarted since."""

    up: bool
    epoch: int


def deliver(node: Addressee, epoch: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
    """A message's arrival: `fn(*args)` if `node` is up and still in incarnation `epoch`
    (a restart bumps the epoch, so messages sent to the old incarnation are lost).

    The network schedules every message as this call; `Kernel.run` recognises it and
    makes the same check in its loop rather than calling it (one Python call fewer per
    message), so the same calls run in the same order either way.
    """
    if node.up and node.epoch == epoch:
        fn(*args)


# A message: the node it is addressed to, that node's epoch when it was sent, the call.
Message = tuple[Addressee, int, Callable[..., None], tuple[Any, ...]]


class Kernel:
    """The clock, the RNG, the queue and the trace of one simulation."""

    __slots__ = ("_calls", "_hash", "_keys", "_seq", "now", "rng", "steps", "trace")

    def __init__(self, seed: int) -> None:
        self.now = T0
        self.rng = random.Random(seed)
        self._keys: list[int] = []  # a heap
        self._calls: dict[int, Call] = {}  # key -> (fn, args)
        self._seq = 0
        self._hash = hashlib.sha256()
        self.trace: list[str] = []
        self.steps = 0

    def at(self, time: int, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` at virtual time `time` (never in the past)."""
        self._seq = seq = self._seq + 1
        now = self.now
        key = (time if time > now else now) << SEQ_BITS | seq
        self._calls[key] = (fn, args)
        _push(self._keys, key)

    def after(self, delay: int, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` `delay` ns from now (a negative delay means now)."""
        self._seq = seq = self._seq + 1
        now = self.now
        key = (now + delay if delay > 0 else now) << SEQ_BITS | seq
        self._calls[key] = (fn, args)
        _push(self._keys, key)

    def deliver_after(self, delay: int, message: Message) -> None:
        """Deliver `message` `delay` ns from now: ``after(delay, deliver, *message)``
        with the message's tuple used as it is (no variadic call, no repacking)."""
        self._seq = seq = self._seq + 1
        now = self.now
        key = (now + delay if delay > 0 else now) << SEQ_BITS | seq
        self._calls[key] = (deliver, message)
        _push(self._keys, key)

    def next_time(self) -> int | None:
        """The virtual time of the first queued event; None when nothing is queued."""
        keys = self._keys
        return keys[0] >> SEQ_BITS if keys else None

    def clear(self) -> None:
        """Drop every queued event (a finished run's: see `sim.cluster.dismantle`)."""
        self._keys.clear()
        self._calls.clear()

    def jitter(self, low: int, high: int) -> int:
        """A uniform delay in [low, high] ns.

        Scaled from one `random()` draw rather than `randint`, which costs several times
        as much; the kernel draws one per message. The rounding bias is below 2**-53
        per value, far under any delay that matters.
        """
        return low + int(self.rng.random() * (high - low + 1))

    def chance(self, p: float) -> bool:
        return p > 0.0 and self.rng.random() < p

    def log(self, node: str, what: str) -> None:
        """Append a canonical trace line and fold it into the trace hash."""
        line = f"t={self.now - T0} {node} {what}"
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.trace.append(line)

    @property
    def trace_hash(self) -> str:
        return self._hash.hexdigest()

    def run(self, until: int, stop: Callable[[], bool] | None = None) -> None:
        """Run events in order until the queue is empty, `until` passes, or `stop()`."""
        keys = self._keys
        take = self._calls.pop
        pop = heapq.heappop
        limit = (until + 1) << SEQ_BITS  # every key of a time <= until is below it
        steps = self.steps  # counted in a local, stored back before `stop()` and on leaving
        try:
            while keys:
                key = pop(keys)
                if key >= limit:  # past `until`: put it back (the heap pops it next again)
                    _push(keys, key)
                    break
                fn, args = take(key)
                self.now = key >> SEQ_BITS
                steps += 1
                if fn is deliver:  # `deliver` written out: most events are messages
                    node, epoch, fn, args = args
                    if node.up and node.epoch == epoch:
                        fn(*args)
                else:
                    fn(*args)
                if not steps & 63 and stop is not None:
                    self.steps = steps
                    if stop():
                        return
        finally:
            self.steps = steps
