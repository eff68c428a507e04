"""Shared task queue values: the `TaskQueue` an event or a command names.

A run's events and a workflow's commands name the same few queues over and over (every
activity scheduled, every workflow task). `TaskQueue` is frozen, so one value per queue
is built and shared by the history service and the replay engine alike.
"""

from __future__ import annotations

from functools import lru_cache

from core.enums import TaskQueueKind
from core.events import TaskQueue


@lru_cache(maxsize=1024)  # queues are few; a long-lived server's sticky ones come and go
def task_queue(
    name: str, kind: TaskQueueKind = TaskQueueKind.NORMAL, normal_name: str = ""
) -> TaskQueue:
    """The TaskQueue value of queue `name`, built once per (name, kind, normal_name)."""
    return TaskQueue(name=name, kind=kind, normal_name=normal_name)
