"""Limits that keep one caller from starving the others and the server's memory
bounded, as the Temporal frontend and matching set them.

- Long-running calls (polls, history long polls, queries, updates: the methods of
  `service/frontend/configs/quotas.go` ExecutionAPICountLimitOverride) are counted per
  namespace and method while they wait; past `frontend.namespaceCount` (1200 per
  instance, `common/dynamicconfig/constants.go`) a new one is refused at once with
  RESOURCE_EXHAUSTED "namespace concurrent poller limit exceeded", cause
  CONCURRENT_LIMIT, scope NAMESPACE (`common/rpc/interceptor/concurrent_request_limit.go`).
  So a flood of polls holds a bounded number of waiters, and the pollers it refuses
  back off and retry, as SDKs do on RESOURCE_EXHAUSTED.
- A request above 4 MiB never reaches a handler: gRPC refuses it (gate.py). The size
  of what a request carries (inputs, memos, results, details: limit.blobSize.error and
  the others) is the history service's to enforce (core/statemachine/history/
  service/enforce.py).
- Who polled each task queue is remembered for DescribeTaskQueue within the bounds
  matching keeps (`PollerHistory`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb

from .errors import ServiceError

CONCURRENT_LIMIT = 1200  # frontend.namespaceCount
LONG_RUNNING = frozenset(
    {
        "PollActivityTaskQueue",
        "PollWorkflowTaskQueue",
        "PollWorkflowExecutionUpdate",
        "QueryWorkflow",
        "UpdateWorkflowExecution",
        "GetWorkflowExecutionHistory",  # only with wait_new_event
        "ExecuteMultiOperation",
        "PollActivityExecution",
        "DescribeActivityExecution",  # only with a long-poll token
    }
)


def busy() -> ServiceError:
    """interceptor.ErrNamespaceCountLimitServerBusy."""
    return ServiceError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "namespace concurrent poller limit exceeded",
        details_pb.ResourceExhaustedFailure(
            cause=cause_enums.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
            scope=cause_enums.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        ),
    )


class Concurrency:
    """How many long-running calls each (namespace, method) has in flight."""

    def __init__(self, limit: int = CONCURRENT_LIMIT) -> None:
        self.limit = limit
        self.active: dict[tuple[str, str], int] = {}  # only keys with calls in flight

    @contextlib.contextmanager
    def call(self, rpc: str, namespace: str, request: Any) -> Iterator[None]:
        """Count the call while it runs; refuse it (busy) past the limit."""
        if (
            rpc not in LONG_RUNNING
            or (rpc == "GetWorkflowExecutionHistory" and not request.wait_new_event)
            or (rpc == "DescribeActivityExecution" and not request.long_poll_token)
        ):
            yield
            return
        key = (namespace, rpc)
        count = self.active[key] = self.active.get(key, 0) + 1
        try:
            if count > self.limit:
                raise busy()
            yield
        finally:
            left = self.active[key] - 1
            if left:
                self.active[key] = left
            else:
                del self.active[key]


POLLER_HISTORY = 1000  # poller_history.go pollerHistoryInitMaxSize (per task queue)
POLLER_TTL = 300 * 10**9  # matching.PollerHistoryTTL, 5 min
SWEEP_EVERY = 1000  # poller notes between sweeps of expired entries


DEFAULT_POLLER_RATE = 100_000.0  # defaultTaskDispatchRPS, task_queue_partition_manager.go


@dataclass(frozen=True, slots=True)
class PollerNote:
    """A poller's last poll of a queue: when, the dispatch rate it asked for
    (`max_tasks_per_second`, else the default) and its worker version capabilities and
    deployment options as the poll gave them (messages, or None when unset): what
    DescribeTaskQueue shows of it (`getPollerInfo`, service/matching/poller_history.go)."""

    time: int
    rate: float = DEFAULT_POLLER_RATE
    capabilities: Any = None
    deployment: Any = None


def poller_note(req: Any, now: int) -> PollerNote:
    """What a workflow or activity task poll tells of its poller."""
    rate = DEFAULT_POLLER_RATE
    if "task_queue_metadata" in req.DESCRIPTOR.fields_by_name:  # an activity poll's
        meta = req.task_queue_metadata
        if meta.HasField("max_tasks_per_second"):
            rate = meta.max_tasks_per_second.value
    return PollerNote(
        now, rate, _copy(req, "worker_version_capabilities"), _copy(req, "deployment_options")
    )


def _copy(req: Any, name: str) -> Any:
    """A copy of the request's message field `name` (None if unset)."""
    if not req.HasField(name):
        return None
    value = getattr(req, name)
    out = type(value)()
    out.CopyFrom(value)
    return out


class PollerHistory:
    """Who polled each task queue lately, for DescribeTaskQueue: per (namespace, queue,
    task type) at most 1000 identities, each kept 5 minutes after its last poll, as
    matching's pollerHistory keeps them; so callers polling under ever new names or
    identities do not make it grow without end."""

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str, int], dict[str, PollerNote]] = {}
        self.notes = 0

    def note(self, key: tuple[str, str, int], identity: str, poll: PollerNote) -> None:
        seen = self.queues.setdefault(key, {})
        seen.pop(identity, None)  # re-inserted: the dict stays in order of last poll
        seen[identity] = poll
        now = poll.time
        if len(seen) > POLLER_HISTORY:
            del seen[next(iter(seen))]
        self.notes += 1
        if self.notes % SWEEP_EVERY == 0:
            self.sweep(now)

    def recent(self, key: tuple[str, str, int], now: int) -> dict[str, PollerNote]:
        return {i: p for i, p in self.queues.get(key, {}).items() if p.time > now - POLLER_TTL}

    def sweep(self, now: int) -> None:
        for key in list(self.queues):
            kept = self.recent(key, now)
            if kept:
                self.queues[key] = kept
            else:
                del self.queues[key]
