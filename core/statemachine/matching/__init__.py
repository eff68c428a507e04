"""Matching: task queues with partitions, sync match or backlog, long polls, sticky queues.

```
  history transfer task ──add_task──▶ sync match? ──yes──▶ Dispatch ──Record*Started──▶ reply
                                          │ no                 ▲                          │
                                          ▼                    │ poll                     │
                                       backlog ────────────────┘        OK: Delivered ◀───┤
                                          ▲                  NotFound/AlreadyStarted/     │
                                          └── TransientError   Obsolete: Dropped ◀────────┘
```

docs/temporal-semantics.md#matching (`temporal:docs/architecture/matching-service.md`,
`service/matching/matching_engine.go`, `matcher.go`, `backlog_manager.go`,
`common/tqid/task_queue_id.go`):

- **Partitions.** A normal task queue has `matching.numTaskqueueRead/WritePartitions`
  partitions (default 4); a sticky queue has one. The caller picks the partition of an add
  or a poll (Temporal picks at random), or lets the model pin one by a hash.
- **Forwarding.** Partitions form a tree (degree 20, so 4 partitions are a root and three
  children) along which idle partitions forward polls and tasks towards the root. The model
  abstracts the tree: with `MatchingConfig.forwarding` (the default) any poller of a queue
  can take any task of it, its own partition first; without it partitions are isolated.
- **Sync match or backlog.** An add goes straight to the longest-waiting eligible poller
  (`TrySyncMatch`) or is appended to the backlog (`SpoolTask`); a poll takes the oldest
  live backlog task. Matching is greedy, so a task waits only while no poller can take it.
- **Dispatch protocol.** A matched task is not yet delivered: it is Dispatching while
  matching asks history to record it started, and `on_record_started_reply` settles it
  (see `task.py`). At-least-once: an add may be repeated and each copy is delivered on
  its own; history's Record*Started dedupes (TaskAlreadyStarted), not matching.
- **Long polls** are state: a Waiting poller with a deadline. `expire_polls` answers the
  overdue ones with empty responses (`poller.py`).
- **Sticky queues.** An add to a sticky queue with no poller outstanding and none seen in
  the last 10 s answers `StickyWorkerUnavailable` (`stickyPollerUnavailableWindow`);
  history then uses the normal queue.
- **Expiry.** A task carries its schedule-to-start expiry and is dropped when it is read
  for dispatch after it (`IsTaskExpired`).

Not modelled: rate limits, task-queue ownership and leases between matching hosts (the
backlog here is durable by construction), versioning/build ids, priorities and fairness
keys, queries and Nexus tasks. Of Worker Deployments the routing rules are written
down (`versioning.py`: which version a ramp sends a workflow to; `run_versioning.py`:
a run's versioning from its history, and which version its task goes to); the engine
does not route by version: `tmodel serve` names each version's queue apart and
routes a pushed task to it (adapters/serve/deployments.py).
"""

from __future__ import annotations

from core.statemachine.matching.engine import (
    add_task,
    cancel_poll,
    expire_polls,
    find_task,
    has_recent_poller,
    on_record_started_reply,
    partition_count,
    pick_partition,
    poll,
    violations,
)
from core.statemachine.matching.poller import TABLE as POLLER_TABLE
from core.statemachine.matching.poller import PollerInput, PollerState
from core.statemachine.matching.task import (
    RULE,
    DropReason,
    RecordStartedReply,
    TaskInput,
    TaskState,
)
from core.statemachine.matching.task import TABLE as TASK_TABLE
from core.statemachine.matching.values import (
    DEFAULT_PARTITIONS,
    LONG_POLL_EXPIRATION_NS,
    STICKY_POLLER_UNAVAILABLE_WINDOW_NS,
    AddOutcome,
    Backlogged,
    Dispatch,
    Dropped,
    MatchingConfig,
    MatchingState,
    MatchingTask,
    Poller,
    PollExpired,
    PollOutcome,
    QueueKind,
    ReplyOutcome,
    StickyWorkerUnavailable,
    TaskEntry,
    TaskKey,
    TaskKind,
    TaskQueue,
    Waiting,
)

__all__ = [
    "DEFAULT_PARTITIONS",
    "LONG_POLL_EXPIRATION_NS",
    "POLLER_TABLE",
    "RULE",
    "STICKY_POLLER_UNAVAILABLE_WINDOW_NS",
    "TASK_TABLE",
    "AddOutcome",
    "Backlogged",
    "Dispatch",
    "DropReason",
    "Dropped",
    "MatchingConfig",
    "MatchingState",
    "MatchingTask",
    "PollExpired",
    "PollOutcome",
    "Poller",
    "PollerInput",
    "PollerState",
    "QueueKind",
    "RecordStartedReply",
    "ReplyOutcome",
    "StickyWorkerUnavailable",
    "TaskEntry",
    "TaskInput",
    "TaskKey",
    "TaskKind",
    "TaskQueue",
    "TaskState",
    "Waiting",
    "add_task",
    "cancel_poll",
    "expire_polls",
    "find_task",
    "has_recent_poller",
    "on_record_started_reply",
    "partition_count",
    "pick_partition",
    "poll",
    "violations",
]
