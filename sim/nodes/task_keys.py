"""The hook a history host calls as it keys and fires its scheduled tasks.

The simulator installs none: a timer task fires at its own time. `tmodel serve`
installs the dev server's rule (adapters/serve/timer_shift.py), under which a timer
task written shortly after the shard's queues last read fires no sooner than the end of
what they read ahead (Temporal's `history.timerProcessorMaxTimeShift`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sim.persistence import Mutation, OutboxTask


class TaskKeys(Protocol):
    def written(
        self, shard_id: int, mutations: Sequence[Mutation], outbox: Sequence[OutboxTask]
    ) -> None:
        """A commit wrote `mutations` and `outbox` to the shard (before its tasks are
        processed)."""

    def fire_time(self, shard_id: int, task: OutboxTask, due: int) -> int:
        """When the timer task `task`, due at `due`, fires."""

    def fired(self, shard_id: int, task: OutboxTask) -> None:
        """The timer queue woke for `task` (before it is executed)."""
