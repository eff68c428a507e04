"""The kernel's message delivery: `Kernel.run` checks a message's addressee in its own
loop, `deliver` makes the same check as a call (the live kernel calls it); both must
drop a message to a node that is down or restarted since, run the rest, and keep the
scheduling order of messages and other events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.config import FaultPlan
from sim.faults import Faults
from sim.kernel import T0, Kernel, deliver
from sim.network import Network


@dataclass
class Node:
    name: str
    up: bool = True
    epoch: int = 0


def _run_queue_by_calls(kernel: Kernel) -> None:
    """Drain the queue calling each event as it is, as `LiveKernel.run_due` does."""
    import heapq

    while kernel._keys:
        fn, args = kernel._calls.pop(heapq.heappop(kernel._keys))
        fn(*args)


def _schedule(kernel: Kernel, seen: list[str]) -> tuple[Node, Node, Node]:
    live, restarted, down = Node("live"), Node("restarted"), Node("down")
    record: Any = seen.append
    kernel.deliver_after(5, (live, 0, record, ("live",)))
    kernel.deliver_after(5, (restarted, 0, record, ("restarted",)))
    kernel.after(5, record, "plain")
    kernel.deliver_after(5, (down, 0, record, ("down",)))
    kernel.deliver_after(1, (live, 0, record, ("first",)))
    kernel.deliver_after(-3, (live, 0, record, ("now",)))  # a negative delay means now
    restarted.epoch += 1
    down.up = False
    return live, restarted, down


def test_the_run_loop_drops_messages_to_a_down_or_restarted_node_in_order() -> None:
    kernel, seen = Kernel(0), list[str]()
    _schedule(kernel, seen)
    kernel.run(T0 + 10)
    assert seen == ["now", "first", "live", "plain"]
    assert kernel.now == T0 + 5


def test_deliver_called_as_a_function_does_the_same() -> None:
    kernel, seen = Kernel(0), list[str]()
    _schedule(kernel, seen)
    _run_queue_by_calls(kernel)
    assert seen == ["now", "first", "live", "plain"]


def test_deliver_runs_the_call_only_for_the_same_incarnation() -> None:
    seen: list[int] = []
    node = Node("n", epoch=2)
    deliver(node, 2, seen.append, (1,))
    deliver(node, 1, seen.append, (2,))
    node.up = False
    deliver(node, 2, seen.append, (3,))
    assert seen == [1]


def test_a_message_sent_before_a_restart_is_lost_and_one_after_arrives() -> None:
    kernel = Kernel(0)
    net = Network(kernel, Faults(kernel, FaultPlan()))
    net.latency = (10, 10)
    node = Node("n")
    net.add(node)
    seen: list[str] = []
    net.send("x", "n", seen.append, "before")
    node.epoch += 1  # a crash and restart
    net.send("x", "n", seen.append, "after")
    kernel.run(T0 + 100)
    assert seen == ["after"]


def test_the_kernel_runs_its_schedule_in_order_and_stops_at_until() -> None:
    """Bare keys in the heap, calls beside them: calls in time then scheduling order,
    the clock at each, and a run that stops at `until` leaves the rest for the next."""
    kernel, seen = Kernel(0), list[str]()
    _schedule(kernel, seen)
    kernel.at(T0 + 20, seen.append, "late")
    kernel.after(2, seen.append, "two")
    kernel.run(T0 + 10)
    assert seen == ["now", "first", "two", "live", "plain"]
    assert kernel.now == T0 + 5
    kernel.run(T0 + 30)
    assert seen[-1] == "late" and kernel.now == T0 + 20
    assert kernel.steps == 8  # the two dropped messages count as steps too


def test_clearing_the_kernel_drops_every_event() -> None:
    kernel, seen = Kernel(0), list[str]()
    _schedule(kernel, seen)
    kernel.clear()
    kernel.run(T0 + 10)
    assert seen == [] and kernel.steps == 0
