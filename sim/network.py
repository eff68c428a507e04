"""The network: messages between nodes, with partitions, loss, duplication and delay.

A message is a call of a handler on the destination node, scheduled after a latency.
It is lost if either end is down or a partition cuts src -> dst, or at the drop rate;
it may arrive twice (duplicate) or late (delay, which also reorders). A node that
restarts has a new epoch: messages addressed to its old incarnation are lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sim.faults import Faults
from sim.kernel import MS, Kernel

LATENCY = (100_000, 2 * MS)  # one hop, ns


class Node(Protocol):
    name: str
    up: bool
    epoch: int


class Network:
    def __init__(self, kernel: Kernel, faults: Faults) -> None:
        self.kernel = kernel
        self.faults = faults
        self.nodes: dict[str, Node] = {}
        self.latency = LATENCY  # (low, high) ns of one hop; a live server uses (0, 0)

    def add(self, node: Node) -> None:
        self.nodes[node.name] = node

    def send(self, src: str, dst: str, fn: Callable[..., None], *args: Any) -> None:
        """Deliver `fn(*args)` at `dst` after a latency, unless a fault interferes.

        The draws are `Faults.chance` and `Kernel.jitter` written out in place (one send
        per message makes the calls count): the same draws in the same order, so the
        same trace.
        """
        node = self.nodes[dst]
        if not node.up:
            return
        faults = self.faults
        if faults.blocked and (src, dst) in faults.blocked:
            return  # partitions are counted when they begin (faults.switch), not per message
        kernel = self.kernel
        random = kernel.rng.random
        rates = faults.rates
        rate = rates["drop"]
        if rate > 0.0 and random() < rate:
            faults.injected["drop"] += 1
            return
        low, high = self.latency
        delay = low + int(random() * (high - low + 1))
        if faults.delay_max:
            rate = rates["delay"]
            if rate > 0.0 and random() < rate:
                faults.injected["delay"] += 1
                delay += int(random() * (faults.delay_max + 1))
        message = (node, node.epoch, fn, args)
        kernel.deliver_after(delay, message)
        rate = rates["duplicate"]
        if rate > 0.0 and random() < rate:
            faults.injected["duplicate"] += 1
            kernel.deliver_after(delay + low + int(random() * (high - low + 1)), message)
