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
        """Deliver `fn(*args)` at `dst` after a latency, unless a fault interferes."""
        node = self.nodes[dst]
        if not node.up:
            return
        faults = self.faults
        if faults.blocked and (src, dst) in faults.blocked:
            return  # partitions are counted when they begin (faults.switch), not per message
        if faults.chance("drop"):
            return
        kernel = self.kernel
        delay = kernel.jitter(*self.latency)
        if faults.delay_max and faults.chance("delay"):
            delay += kernel.jitter(0, faults.delay_max)
        kernel.after(delay, self._deliver, node, node.epoch, fn, args)
        if faults.chance("duplicate"):
            again = delay + kernel.jitter(*self.latency)
            kernel.after(again, self._deliver, node, node.epoch, fn, args)

    @staticmethod
    def _deliver(node: Node, epoch: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        if node.up and node.epoch == epoch:
            fn(*args)
