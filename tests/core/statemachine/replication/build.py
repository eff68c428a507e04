"""Small builders for the replication tests: events, local writes and tasks."""

from __future__ import annotations

from core.enums import EventType
from core.statemachine.replication import applier, replica
from core.statemachine.replication.replica import Event, RunReplica

META_INCREMENT = 10
STARTED = EventType.WORKFLOW_EXECUTION_STARTED
SIGNALED = EventType.WORKFLOW_EXECUTION_SIGNALED
COMPLETED = EventType.WORKFLOW_EXECUTION_COMPLETED
TASK_SCHEDULED = EventType.WORKFLOW_TASK_SCHEDULED


def write(
    run: RunReplica,
    cluster: str,
    version: int,
    event_type: EventType = TASK_SCHEDULED,
    request_id: str = "",
) -> RunReplica:
    """`run` after `cluster` appended one event of `event_type` under `version`."""
    event = Event(run.next_event_id, version, event_type, cluster, request_id)
    return replica.append_local(run, (event,))


def started(cluster: str = "a", version: int = 1, run_id: str = "r1") -> RunReplica:
    return write(replica.absent(run_id), cluster, version, STARTED)


def last_task(run: RunReplica, source: str, count: int = 1) -> applier.ReplicationTask:
    """The task for the last `count` events of `run`'s current branch."""
    last = len(run.current_events)
    return applier.task_for(run, source, last - count + 1, last)
