"""History, workers and the serve adapter name task queues in different ways (defaults
left out or written out, by position or keyword); `task_queue` must still give one object
per queue, which matching's identity checks and dict lookups rely on to stay cheap."""

from __future__ import annotations

from core.statemachine.matching import QueueKind, TaskKind, TaskQueue
from sim.nodes.base import DEFAULT_NAMESPACE, task_queue


def test_one_object_per_queue_however_its_defaults_are_given() -> None:
    left_out = task_queue("orders", TaskKind.WORKFLOW)
    written_out = task_queue("orders", TaskKind.WORKFLOW, QueueKind.NORMAL, DEFAULT_NAMESPACE)
    by_keyword = task_queue("orders", TaskKind.WORKFLOW, namespace=DEFAULT_NAMESPACE)
    assert left_out is written_out
    assert left_out is by_keyword
    assert left_out == TaskQueue(DEFAULT_NAMESPACE, "orders", TaskKind.WORKFLOW)


def test_different_queues_stay_different_objects() -> None:
    normal = task_queue("orders", TaskKind.WORKFLOW)
    assert task_queue("orders", TaskKind.ACTIVITY) is not normal
    assert task_queue("orders", TaskKind.WORKFLOW, QueueKind.STICKY) is not normal
    assert task_queue("orders", TaskKind.WORKFLOW, namespace="other") is not normal
