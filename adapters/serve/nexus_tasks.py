"""Nexus tasks: a caller's scheduled operation delivered to the handler worker's task
queue, and the handler's answer carried back to the caller's history.

In Temporal, a NexusOperationScheduled event comes with an outbound-queue task; its
executor (components/nexusoperations/executors.go) sends the start as an HTTP request
to the endpoint; for a worker target the frontend's Nexus handler
(service/frontend/nexus_handler.go) turns it into a Nexus task that matching hands to a
PollNexusTaskQueue (service/matching), and the worker's RespondNexusTaskCompleted or
RespondNexusTaskFailed is the HTTP answer, which the executor records in the caller's
history. Here the same path is kept in the server process: a commit listener sees each
NexusOperationScheduled event, builds the task the handler would get (the request as
the dev server shapes it: headers, the link to the Scheduled event, the callback), and
queues it on the endpoint's target (namespace, task queue); a poll takes it; the answer
becomes a `RecordNexusOperationResult` to the caller run.

A caller's cancel request (NexusOperationCancelRequested) goes the same way as a cancel
task (the executor's CancelationTask, executors.go executeCancelationTask), sent once the
operation has started and only while the caller runs (the executor drops the task of a
closed run); the handler's answer becomes the cancel request's outcome.

Kept in memory only: a restart (or `--store`) loses the tasks not yet answered, and an
operation on an endpoint with an external (URL) target is never delivered. The
operations' timeouts are not armed here: they are timer tasks of the caller run's
outbox (core nexus.py), kept with the run and fired by the timer queue.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb

from core.enums import EventType
from core.events import HistoryEvent, OpaqueAttributes
from core.statemachine.history.service.nexus_system import SYSTEM_ENDPOINT
from sim.persistence import Mutation

from . import convert
from .nexus_attempts import AttemptLog, timeout_failure
from .nexus_links import event_url
from .nexus_system import SystemOperations
from .tokens import TaskToken

if TYPE_CHECKING:
    from .frontend import Frontend

log = logging.getLogger("tmodel.serve")

LONG_POLL_LIMIT = 60.0  # seconds: matching.longPollExpirationInterval
LONG_POLL_MARGIN = 1.0  # answer this long before the caller's deadline
REQUEST_TIMEOUT = 10.0  # seconds: the executor's request timeout (RequestTimeout)
SYSTEM_CALLBACK = "temporal://system"  # commonnexus.SystemCallbackURL
CALLBACK_TOKEN_HEADER = "temporal-callback-token"  # commonnexus.CallbackTokenHeader
LINK_TYPE = "temporal.api.common.v1.Link.WorkflowEvent"


@dataclass(slots=True)
class NexusTask:
    """One start of an operation, to be answered by the handler."""

    task_id: int
    namespace: str  # the handler's (the endpoint's target)
    task_queue: str
    caller_namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    request_id: str
    request: nexus_pb.Request = field(default_factory=nexus_pb.Request)
    cancel: bool = False  # a cancel task (the operation's cancel request), not a start

    def token(self) -> bytes:
        return TaskToken("nexus", self.namespace, query_id=self.task_id).encode()


def _scheduled(event: HistoryEvent) -> dict[str, Any] | None:
    attrs = event.attributes
    if event.event_type is not EventType.NEXUS_OPERATION_SCHEDULED:
        return None
    if not isinstance(attrs, OpaqueAttributes):
        return None
    value = attrs.value.value()
    return value if isinstance(value, dict) else None


# the events after which a requested cancel may be sent: the request itself, or the
# start of an operation whose cancel was requested before it started
_CANCEL_TRIGGERS = frozenset(
    {EventType.NEXUS_OPERATION_CANCEL_REQUESTED, EventType.NEXUS_OPERATION_STARTED}
)


def event_link(namespace: str, workflow_id: str, run_id: str, event_id: int) -> str:
    """The nexus link to a caller's NexusOperationScheduled event
    (commonnexus.ConvertLinkWorkflowEventToNexusLink)."""
    return event_url(
        namespace, workflow_id, run_id, event_id, "EVENT_TYPE_NEXUS_OPERATION_SCHEDULED"
    )


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String writes one of seconds ("10s", "7.5s")."""
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


def callback_token(task: NexusTask) -> str:
    """What the completion callback carries to find the caller's operation (the server
    encrypts a NexusOperationCompletion proto; an SDK never looks inside)."""
    inner = json.dumps(
        [
            task.caller_namespace,
            task.workflow_id,
            task.run_id,
            task.scheduled_event_id,
            task.request_id,
        ],
        separators=(",", ":"),
    )
    data = base64.b64encode(inner.encode()).decode()
    return json.dumps({"v": 1, "d": data}, separators=(",", ":"))


def cancel_request(
    endpoint: str, header: dict[str, str], service: str, operation: str, token: str
) -> nexus_pb.Request:
    """A cancel request as the handler worker gets it (executors.go
    executeCancelationTask): the operation's header, the frontend's Request-Timeout, the
    operation named by its token."""
    timeout = go_duration(REQUEST_TIMEOUT)
    out = nexus_pb.Request(endpoint=endpoint)
    out.header.update(header)
    out.header["user-agent"] = "temporalio/server"
    out.header["request-timeout"] = timeout
    out.header["Request-Timeout"] = timeout
    cancel = out.cancel_operation
    cancel.service = service
    cancel.operation = operation
    cancel.operation_token = token
    cancel.operation_id = token
    out.capabilities.temporal_failure_responses = True
    return out


class NexusTasks:
    """The Nexus task queues of the server, by (namespace, task queue)."""

    def __init__(self, fe: Frontend) -> None:
        self.fe = fe
        self.queues: dict[tuple[str, str], deque[NexusTask]] = {}
        self.polls: dict[tuple[str, str], deque[asyncio.Future[NexusTask | None]]] = {}
        self.outstanding: dict[int, NexusTask] = {}  # delivered, not answered
        self.polled: set[tuple[str, str]] = set()  # the queues a worker has polled
        self._ids = itertools.count(1)
        self.cancels_sent: set[tuple[str, int]] = set()  # (caller run id, scheduled event id)
        # each operation's header (its Scheduled event's nexusHeader), which its cancel
        # request carries too (executors.go loadArgsForCancelation)
        self.headers: dict[tuple[str, int], dict[str, str]] = {}
        self.attempts = AttemptLog()  # each operation's attempts (nexus_attempts.py)
        self.system = SystemOperations(fe, self.attempts, REQUEST_TIMEOUT)  # nexus_system.py
        fe.runtime.holds.append(self.system.holds)
        fe.runtime.commit_listeners.append(self._on_commit)
        fe.runtime.holds.append(self.holds)

    # -- dispatch -----------------------------------------------------------------------
    def _on_commit(self, mutations: tuple[Mutation, ...]) -> None:
        runs = self.fe.runtime.persistence.runs
        for mutation in mutations:
            if self.attempts.records:  # an operation closed: its attempts are forgotten
                self.attempts.forget_closed(mutation.state)
            for event in mutation.events:
                attrs = _scheduled(event)
                record = runs.get(mutation.run_id)
                if record is None:
                    continue
                state = record.state
                if attrs is not None:
                    self._dispatch(
                        state.namespace, mutation.workflow_id, state.run_id, event, attrs
                    )
                elif event.event_type in _CANCEL_TRIGGERS:
                    self._dispatch_cancels(state, mutation.workflow_id)

    def _dispatch_cancels(self, state: Any, workflow_id: str) -> None:
        """A cancel task for each started operation of a running caller whose cancel was
        requested and not sent yet (Operation.Cancel and TransitionStarted schedule it,
        statemachine.go; the executor drops the task of a closed run)."""
        if not state.running:
            return
        registry = self.fe.nexus_endpoints
        for info in state.nexus_operations:
            key = (state.run_id, info.scheduled_event_id)
            if not info.cancel_requested_event_id or not info.operation_token:
                continue
            if key in self.cancels_sent:
                continue
            endpoint = registry.by_id.get(info.endpoint_id) if registry is not None else None
            if endpoint is None or endpoint.spec.target.WhichOneof("variant") != "worker":
                continue
            self.cancels_sent.add(key)
            target = endpoint.spec.target.worker
            task = NexusTask(
                next(self._ids),
                target.namespace,
                target.task_queue,
                state.namespace,
                workflow_id,
                state.run_id,
                info.scheduled_event_id,
                info.request_id,
                cancel=True,
            )
            header = self.headers.get(key, {})
            task.request = cancel_request(
                endpoint.spec.name, header, info.service, info.operation, info.operation_token
            )
            task.request.scheduled_time.CopyFrom(convert.timestamp(self.fe.now()))
            self.offer(task)

    def _dispatch(
        self, namespace: str, workflow_id: str, run_id: str, event: HistoryEvent, a: dict[str, Any]
    ) -> None:
        if a.get("endpoint") == SYSTEM_ENDPOINT:  # run by the server itself
            self.system.start(namespace, workflow_id, run_id, event.event_id, a)
            return
        registry = self.fe.nexus_endpoints
        endpoint = registry.by_id.get(a.get("endpointId", "")) if registry is not None else None
        if endpoint is None or endpoint.spec.target.WhichOneof("variant") != "worker":
            return  # no longer registered, or an external target: not delivered here
        target = endpoint.spec.target.worker
        task = NexusTask(
            next(self._ids),
            target.namespace,
            target.task_queue,
            namespace,
            workflow_id,
            run_id,
            event.event_id,
            a.get("requestId", ""),
        )
        task.request = self.start_request(task, endpoint.spec.name, a)
        self.headers[(run_id, event.event_id)] = dict(a.get("nexusHeader") or {})
        self.offer(task)

    def next_id(self) -> int:
        """A new task id (the callers' and standalone operations' tasks share them)."""
        return next(self._ids)

    def start_request(
        self, task: NexusTask, endpoint: str, a: dict[str, Any], caller: tuple[str, str] = ("", "")
    ) -> nexus_pb.Request:
        """The request the handler worker gets, as the dev server shapes it: the HTTP
        headers the executor sent (lower-cased by the frontend) plus the frontend's own
        Request-Timeout, the start with its callback and the link to the caller (the
        caller's Scheduled event, or `caller`'s URL and link type: a standalone
        operation's link to itself), and the endpoint's name."""
        link, link_type = caller
        if not link:
            link = event_link(
                task.caller_namespace, task.workflow_id, task.run_id, task.scheduled_event_id
            )
            link_type = LINK_TYPE
        timeout = go_duration(REQUEST_TIMEOUT)
        out = nexus_pb.Request(endpoint=endpoint)
        header = out.header
        header.update(a.get("nexusHeader") or {})
        header["user-agent"] = "temporalio/server"
        header["request-timeout"] = timeout
        header["nexus-request-id"] = task.request_id
        header["nexus-link"] = f'<{link}>; type="{link_type}"'
        header["Request-Timeout"] = timeout
        out.scheduled_time.CopyFrom(convert.timestamp(self.fe.now()))
        start = out.start_operation
        start.service = a.get("service", "")
        start.operation = a.get("operation", "")
        start.request_id = task.request_id
        start.callback = SYSTEM_CALLBACK
        if "input" in a:
            convert.fill(start.payload, a["input"])
        start.callback_header[CALLBACK_TOKEN_HEADER] = callback_token(task)
        start.links.add(url=link, type=link_type)
        out.capabilities.temporal_failure_responses = True
        return out

    def offer(self, task: NexusTask) -> None:
        """Queue `task`, or hand it to the longest waiting poll."""
        key = (task.namespace, task.task_queue)
        waiting = self.polls.get(key)
        while waiting:
            poll = waiting.popleft()
            if not poll.done():
                poll.set_result(task)
                self.outstanding[task.task_id] = task  # a hold on time skipping from now
                return
        self.queues.setdefault(key, deque()).append(task)

    def _deliver(self, task: NexusTask) -> NexusTask:
        """Hand out `task`; unanswered within the request timeout, it is queued again as
        a new task (the executor's request times out and the start is tried again)."""
        self.outstanding[task.task_id] = task
        asyncio.get_running_loop().call_later(REQUEST_TIMEOUT, self._expire, task.task_id)
        return task

    def _expire(self, task_id: int) -> None:
        """The request timed out: the attempt failed ("upstream timeout"), and after the
        retry policy's backoff the start is tried again as a new Nexus task, with a
        token of its own (matching's DispatchNexusTask names each dispatch by a new
        uuid, service/matching/matching_engine.go), so the handler worker, which may
        still be running the first attempt, keys the two apart, and a late answer to the
        first finds nothing."""
        task = self.outstanding.pop(task_id, None)
        if task is not None:
            self.fe.runtime.kernel.poke()  # its hold lifts (until a poll takes it again)
            self.retry_later(task, timeout_failure())

    @staticmethod
    def key(task: NexusTask) -> tuple[str, int, bool]:
        return task.run_id, task.scheduled_event_id, task.cancel

    def retry_later(self, task: NexusTask, failure: failure_pb.Failure) -> None:
        """An attempt failed retryably: BACKING_OFF for the policy's delay, then the task
        is queued again (nexus_attempts.py); a standalone operation's attempt is its
        record's to retry (standalone_nexus.py)."""
        if not task.workflow_id and self.fe.standalone_nexus is not None:
            self.fe.standalone_nexus.attempt_failed(task, failure, retryable=True)
            return
        delay = self.attempts.failed(self.key(task), self.fe.now(), failure)
        loop = asyncio.get_running_loop()
        loop.call_later(delay / 1e9, self._rescheduled, task)

    def _rescheduled(self, task: NexusTask) -> None:
        self.attempts.rescheduled(self.key(task))
        self.offer(dataclasses.replace(task, task_id=next(self._ids)))

    def holds(self) -> int:
        """The holds Nexus tasks put on time skipping: each start or cancel handed to a
        handler worker and not answered yet, and each waiting in a queue that a worker
        has polled. In the Java test server a scheduled operation locks the clock until
        its outcome, and the request timeout or a failed attempt lifts the lock while the
        start waits to be tried again (TestWorkflowMutableStateImpl:
        processScheduleNexusOperation, timeoutNexusRequest, failNexusOperation). Here a
        task in a queue no worker has polled holds nothing, so an operation no worker
        takes lets the clock move on to its timeouts; a retryable failure lifts the hold
        until the start is queued again; and an asynchronous operation holds nothing once
        started (its handler workflow's own tasks hold the clock while they run)."""
        waiting = sum(
            1
            for key, queue in self.queues.items()
            if key in self.polled
            for task in queue
            if self._live(task)
        )
        return len(self.outstanding) + waiting

    # -- polls and answers --------------------------------------------------------------
    async def poll(self, namespace: str, queue: str, deadline: float | None) -> NexusTask | None:
        """A long poll: a task of the queue, or None at the long-poll limit (or just
        before the caller's deadline)."""
        key = (namespace, queue)
        self.polled.add(key)
        pending = self.queues.get(key)
        while pending:
            queued = pending.popleft()
            if self._live(queued):
                return self._deliver(queued)
        loop = asyncio.get_running_loop()
        limit = loop.time() + LONG_POLL_LIMIT
        if deadline is not None:
            limit = min(limit, deadline - LONG_POLL_MARGIN)
        future: asyncio.Future[NexusTask | None] = loop.create_future()
        self.polls.setdefault(key, deque()).append(future)
        try:
            task = await asyncio.wait_for(asyncio.shield(future), max(0.0, limit - loop.time()))
        except TimeoutError:
            self._give_back(future)
            return None
        except asyncio.CancelledError:  # the caller went away
            self._give_back(future)
            raise
        return self._deliver(task) if task is not None else None

    def _give_back(self, future: asyncio.Future[NexusTask | None]) -> None:
        """A poll that ends unanswered: a task given to it in the meantime goes back to
        its queue (and its hold lifts)."""
        handed = future.result() if future.done() and not future.cancelled() else None
        if handed is not None:
            self.outstanding.pop(handed.task_id, None)
            self.offer(handed)
        future.cancel()

    def _live(self, task: NexusTask) -> bool:
        """Is the task's operation still pending in a running caller? A task of one that
        closed meanwhile (a timeout, the caller's close) is dropped, as the server's
        executor drops an invocation its operation no longer wants (the tasks' Validate,
        components/nexusoperations/tasks.go). A standalone operation's task (no caller
        workflow) is asked of its record."""
        if not task.workflow_id:
            store = self.fe.standalone_nexus
            return store is not None and store.live(task)
        record = self.fe.runtime.persistence.runs.get(task.run_id)
        if record is None or not record.state.running:
            return False
        return any(
            x.scheduled_event_id == task.scheduled_event_id and x.request_id == task.request_id
            for x in record.state.nexus_operations
        )

    def take(self, task_id: int) -> NexusTask | None:
        """The delivered task an answer names (None: unknown, answered or expired)."""
        return self.outstanding.pop(task_id, None)
