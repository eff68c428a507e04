"""The internal worker: Temporal's own system workflows, run inside `tmodel serve`.

Temporal's worker service (`service/worker/`) runs system workflows such as the batcher
(`service/worker/batcher/`) with the Go SDK, polling each namespace's internal task
queue `temporal-sys-per-ns-tq` (`common/primitives/task_queues.go`
PerNSWorkerTaskQueue). Here the same structure runs on the server's event loop: for
every namespace, one loop polls that queue's workflow tasks and answers each through
the model's replay engine (`core.workflow` definitions, cold replay of the whole
history, as a worker without a sticky cache does), and one loop polls its activity
tasks and runs the activity as a coroutine that may heartbeat. The system workflows
are therefore ordinary runs with ordinary histories, which `tmodel validate` accepts
and `tmodel replay` replays against the same definitions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from core import payloads
from core import requests as rq
from core.events import ActivityTaskScheduledEventAttributes
from core.opaque import JsonValue, Opaque
from core.statemachine import matching as m
from core.statemachine.replay.definition import Definition
from sim.nodes.base import StartedActivityTask, StartedWorkflowTask
from sim.replay_code import ReplayCode

from .runtime import Runtime

QUEUE = "temporal-sys-per-ns-tq"  # common/primitives/task_queues.go PerNSWorkerTaskQueue
IDENTITY = "tmodel-internal-worker"
POLL_PAUSE = 0.05  # seconds between polls after a failed call (a stopping server)
log = logging.getLogger("tmodel.serve.internal")


class ActivityFailure(Exception):
    """An activity gives up; `non_retryable` as temporal.NewNonRetryableApplicationError."""

    def __init__(self, message: str, kind: str = "", non_retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.non_retryable = non_retryable


@dataclass(slots=True)
class ActivityCall:
    """What a system activity is given: where it runs, its arguments, its last
    heartbeat's details, and a way to heartbeat (True: the run asked it to cancel)."""

    namespace: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    args: list[JsonValue]
    last_heartbeat: JsonValue
    heartbeat: Callable[[JsonValue], Awaitable[bool]]


Activity = Callable[[ActivityCall], Awaitable[JsonValue]]


class InternalWorker:
    """Polls `QUEUE` in every namespace and runs the registered system workflows and
    activities; `start` and `stop` with the server."""

    def __init__(
        self,
        runtime: Runtime,
        workflows: Mapping[str, Definition],
        activities: Mapping[str, Activity],
    ) -> None:
        self.runtime = runtime
        self.code = ReplayCode(workflows)
        self.activities = activities
        self.tasks: dict[str, list[asyncio.Task[None]]] = {}

    def start(self, namespaces: list[str]) -> None:
        for namespace in namespaces:
            self.watch(namespace)

    def watch(self, namespace: str) -> None:
        """Start polling a namespace's internal queue (once)."""
        if namespace in self.tasks:
            return
        loop = asyncio.get_running_loop()
        self.tasks[namespace] = [
            loop.create_task(self._loop(namespace, m.TaskKind.WORKFLOW)),
            loop.create_task(self._loop(namespace, m.TaskKind.ACTIVITY)),
        ]

    async def stop(self) -> None:
        everything = [t for tasks in self.tasks.values() for t in tasks]
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
        self.tasks = {}

    async def _loop(self, namespace: str, kind: m.TaskKind) -> None:
        while True:
            task = await self.runtime.poll(namespace, QUEUE, kind, False, None, IDENTITY)
            try:
                if isinstance(task, StartedWorkflowTask):
                    await self._workflow_task(namespace, task)
                elif isinstance(task, StartedActivityTask):
                    asyncio.get_running_loop().create_task(self._activity_task(namespace, task))
            except Exception:  # a bug of a system workflow must not stop the worker
                log.exception("internal worker: task of %s failed", namespace)
                await asyncio.sleep(POLL_PAUSE)

    async def _workflow_task(self, namespace: str, task: StartedWorkflowTask) -> None:
        token = task.started.token
        _, answer = self.code.answer_task(task.workflow_type, None, task.history, task.updates)
        req: rq.Request
        if answer.failure is not None:
            req = rq.RespondWorkflowTaskFailed(
                token, failure=Opaque.of({"message": answer.failure}), identity=IDENTITY
            )
        else:
            req = rq.RespondWorkflowTaskCompleted(
                token, answer.commands, identity=IDENTITY, messages=answer.messages
            )
        await self.runtime.call(namespace, task.workflow_id, task.run_id, req)

    async def _activity_task(self, namespace: str, task: StartedActivityTask) -> None:
        token = task.started.token
        record = self.runtime.record(namespace, task.workflow_id, task.run_id)
        if record is None:
            return
        sid = token.scheduled_event_id
        scheduled = record.events[sid - 1].attributes
        info = record.state.activity(sid)
        if not isinstance(scheduled, ActivityTaskScheduledEventAttributes) or info is None:
            return
        run = self.activities.get(info.activity_type)

        async def heartbeat(details: JsonValue) -> bool:
            beat = rq.RecordActivityTaskHeartbeat(token, payloads.to_payloads([details]))
            answer = await self.runtime.call(namespace, task.workflow_id, task.run_id, beat)
            return isinstance(answer, rq.Heartbeat) and answer.cancel_requested

        call = ActivityCall(
            namespace,
            task.workflow_id,
            task.run_id,
            sid,
            payloads.from_payloads(scheduled.input),
            payloads.first(info.heartbeat_details),
            heartbeat,
        )
        reply: rq.Request
        try:
            if run is None:
                raise ActivityFailure(f"no activity type {info.activity_type!r}", "NotFound", True)
            result = await run(call)
            reply = rq.RespondActivityTaskCompleted(token, payloads.to_payloads([result]), IDENTITY)
        except ActivityFailure as failure:
            reply = rq.RespondActivityTaskFailed(
                token,
                payloads.application_failure(str(failure), failure.kind, failure.non_retryable),
                failure.kind,
                failure.non_retryable,
                IDENTITY,
            )
        await self.runtime.call(namespace, task.workflow_id, task.run_id, reply)
