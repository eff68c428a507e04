"""Standalone Nexus operations in `tmodel serve`: each run's record, its timers, and its
start attempts and cancel request carried to the handler worker.

The core decides (`core.statemachine.standalone.nexus_operation`); this module keeps the
records (by namespace and operation id, newest run last, and by run id), runs the
decisions' effects and wakes the long polls waiting on a run. Timers are the live
kernel's (`kernel.at`), so they fire on the server's clock. A start attempt is a Nexus
task (nexus_tasks.py) on the endpoint's target task queue, as the CHASM invocation task
sends it (operation_tasks.go, operationInvocationTaskHandler): the operation's header,
the server's request id, the completion callback, and a link to the operation itself
(loadStartArgs: a standalone operation has no caller workflow, so its own
`nexus_operation` link is the caller's). The task names no workflow: its run id is the
operation's, its "scheduled event id" the attempt (or the cancel request's attempt).
The handler's answer (rpc_nexus_tasks.py), a request timeout, and the handler run's
completion callback (nexus_callbacks.py) come back here as the table's inputs.

With `--store` each run's record and start request are written to the file whenever
the record changes (store_standalone.py's rows); a server started again on the file
reads them back, arms the timers the record still has (nexus_operation.armed) and sends
again a start attempt or cancel request that was due (the Nexus tasks themselves are
not stored). An endpoint with an external (URL) target is never called, so its
operations wait for their timeouts.
Under time skipping its Nexus tasks hold the clock as a caller's do (nexus_tasks.py
`holds`), and the timers its record still has (nexus_operation.armed) are targets a
skipping clock may jump to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.opaque import JsonValue, Opaque
from core.statemachine.standalone import nexus_operation as no

from . import convert, errors, standalone_common
from .nexus_attempts import next_delay
from .nexus_tasks import NexusTask, cancel_request
from .store_standalone import RunRows

if TYPE_CHECKING:
    from .frontend import Frontend

log = logging.getLogger("tmodel.serve")
OPERATION_LINK_TYPE = "temporal.api.common.v1.Link.NexusOperation"
_GO_PATH_SAFE = "$&+,;=:@"  # what Go's url.PathEscape leaves as is, besides unreserved


def operation_url(namespace: str, operation_id: str, run_id: str) -> str:
    """The Nexus link URL of a standalone operation
    (commonnexus.ConvertLinkNexusOperationToNexusLink)."""
    parts = (quote(p, safe=_GO_PATH_SAFE) for p in (namespace, operation_id, run_id))
    return "temporal:///namespaces/{}/nexus-operations/{}/{}/details".format(*parts)


def operation_timeout(record: no.NexusOperation, now: int) -> int | None:
    """The Operation-Timeout header's span, in ns (operationInvocationTaskHandler.Execute):
    the start-to-close timeout, or what is left of the schedule-to-close one if less;
    None when neither is set."""
    spans = []
    if record.timeouts.start_to_close:
        spans.append(record.timeouts.start_to_close)
    if record.timeouts.schedule_to_close:
        spans.append(record.timeouts.schedule_to_close - (now - record.schedule_time))
    return min(spans) if spans else None


@dataclass(slots=True)
class Entry:
    namespace: str
    operation: no.NexusOperation
    request: ws.StartNexusOperationExecutionRequest  # input, header, metadata, ...
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    reopened: bool = False  # read back from the store (its endpoint may not be, yet)

    @property
    def business_id(self) -> str:
        return self.operation.operation_id

    @property
    def run_id(self) -> str:
        return self.operation.run_id


def not_found(operation_id: str) -> errors.ServiceError:
    return errors.not_found(f"operation not found for ID: {operation_id}")


@dataclass(frozen=True, slots=True)
class Saved:
    """One run as the `--store` file keeps it: the record and the start request's bytes
    (the timers are the record's own to derive again, nexus_operation.armed)."""

    namespace: str
    operation: no.NexusOperation
    request: bytes


class StandaloneNexus(standalone_common.RunIndex[Entry]):
    def __init__(self, fe: Frontend) -> None:
        super().__init__()
        self.fe = fe
        self.rng = random.Random(0)  # the retry policy's jitter (nexus_attempts.py)
        fe.runtime.skip_sources.append(self.next_timer)
        store = fe.runtime.store
        self.saved = RunRows(store, "standalone_nexus_operations") if store is not None else None
        if self.saved is not None:
            for saved in self.saved.rows():
                assert isinstance(saved, Saved)
                self._reopen(saved)

    def next_timer(self, now: int) -> int | None:
        """The earliest time after `now` at which a run's timer would still change it:
        where a skipping clock may jump."""
        dues = (t.due for e in self.by_run.values() for t in no.armed(e.operation))
        return min((due for due in dues if due > now), default=None)

    def _reopen(self, saved: Saved) -> None:
        """A run read back from the store: its timers armed again, and its start attempt
        or cancel request sent again if one was due (the Nexus tasks were not stored)."""
        request = ws.StartNexusOperationExecutionRequest.FromString(saved.request)
        entry = Entry(saved.namespace, saved.operation, request, reopened=True)
        self.index(entry)
        record = saved.operation
        cancel = record.cancellation
        self._carry_out(
            entry,
            no.Effects(
                timers=no.armed(record),
                invoke=record.status is no.Status.SCHEDULED,
                send_cancel=record.running
                and cancel is not None
                and cancel.status is no.CancelStatus.SCHEDULED,
            ),
        )

    def _save(self, entry: Entry) -> None:
        if self.saved is not None:
            request = entry.request.SerializeToString()
            self.saved.put(entry.operation.run_id, Saved(entry.namespace, entry.operation, request))

    # -- records ---------------------------------------------------------------------
    def current(self, namespace: str, operation_id: str, run_id: str = "") -> Entry:
        """The run named (the newest when `run_id` is empty); NOT_FOUND otherwise."""
        self.fe.namespace(namespace)
        entry = self.named(namespace, operation_id, run_id)
        if entry is None:
            raise not_found(operation_id)
        return entry

    def add(
        self, namespace: str, req: ws.StartNexusOperationExecutionRequest, timeouts: no.Timeouts
    ) -> Entry:
        run_id = self.fe.new_id()
        target = (req.endpoint, req.service, req.operation)
        record, effects = no.schedule(
            req.operation_id, run_id, self.fe.new_id(), target, timeouts, self.fe.now()
        )
        entry = Entry(namespace, record, req)
        self.index(entry)
        self._save(entry)
        self._carry_out(entry, effects)
        return entry

    def forget(self, entry: Entry) -> None:
        self.unindex(entry)
        if self.saved is not None:
            self.saved.delete(entry.operation.run_id)

    # -- decisions --------------------------------------------------------------------
    def apply(self, entry: Entry, event: no.Event) -> no.Decision:
        """Decide `event` on the run, carry out the effects and wake the run's long
        polls; a refusal raises the error the row names."""
        decision = no.decide(entry.operation, event)
        changed = decision.operation != entry.operation
        entry.operation = decision.operation
        if changed:
            self._save(entry)
        self._carry_out(entry, decision.effects)
        standalone_common.settle(entry.waiters, changed, decision.effects.error)
        return decision

    def _carry_out(self, entry: Entry, effects: no.Effects) -> None:
        kernel = self.fe.runtime.kernel
        for timer in effects.timers:
            kernel.at(timer.due, self._fire, entry.operation.run_id, timer)
        if effects.invoke:
            self._invoke(entry)
        if effects.send_cancel:
            self._send_cancel(entry)

    def _fire(self, run_id: str, timer: no.Timer) -> None:
        entry = self.by_run.get(run_id)
        if entry is None:
            return
        try:
            self.apply(entry, no.Event(timer.input, self.fe.now(), attempt=timer.stamp))
        except errors.ServiceError:
            pass  # a timer's row refuses nothing; kept from ending the kernel's pump
        except Exception:
            log.exception("standalone Nexus operation timer %s of %s", timer.input.name, run_id)

    # -- the handler --------------------------------------------------------------------
    def _target(self, entry: Entry) -> tuple[str, str, str] | None:
        """The endpoint's (name, handler namespace, task queue); None for an endpoint no
        longer registered or with an external target."""
        registry = self.fe.nexus_endpoints
        endpoint = registry.named(entry.operation.endpoint) if registry is not None else None
        if endpoint is None or endpoint.spec.target.WhichOneof("variant") != "worker":
            return None
        worker = endpoint.spec.target.worker
        return endpoint.spec.name, worker.namespace, worker.task_queue

    def _task(
        self, entry: Entry, target: tuple[str, str, str], attempt: int, cancel: bool
    ) -> NexusTask:
        record = entry.operation
        _name, namespace, queue = target
        tasks = self.fe.nexus_tasks
        return NexusTask(
            tasks.next_id() if tasks is not None else 0,
            namespace,
            queue,
            entry.namespace,
            "",  # no caller workflow
            record.run_id,
            attempt,
            record.request_id,
            cancel=cancel,
        )

    def _invoke(self, entry: Entry) -> None:
        """Send the current attempt's start to the handler's task queue; an endpoint no
        longer registered fails the attempt ("endpoint not registered", a NOT_FOUND
        handler error, which is not retried). The endpoints are not stored: a run read
        back from the store whose endpoint is not registered (yet) backs off instead,
        and is tried again with the server's retry policy."""
        record = entry.operation
        target = self._target(entry)
        tasks = self.fe.nexus_tasks
        if target is None or tasks is None:
            registry = self.fe.nexus_endpoints
            if registry is None or registry.named(record.endpoint) is None:
                failure = failure_pb.Failure(message="endpoint not registered")
                failure.nexus_handler_failure_info.type = "NOT_FOUND"
                task = self._task(entry, ("", "", ""), record.attempt, False)
                kernel = self.fe.runtime.kernel
                kernel.at(kernel.now, self.attempt_failed, task, failure, entry.reopened)
            return
        task = self._task(entry, target, record.attempt, False)
        request = entry.request
        attributes: dict[str, JsonValue] = {
            "nexusHeader": dict(request.nexus_header),
            "service": record.service,
            "operation": record.operation,
        }
        if request.HasField("input"):
            attributes["input"] = convert.to_json(request.input)
        link = operation_url(entry.namespace, record.operation_id, record.run_id)
        task.request = tasks.start_request(task, target[0], attributes, (link, OPERATION_LINK_TYPE))
        timeout = operation_timeout(record, self.fe.now())
        if timeout is not None and "operation-timeout" not in task.request.header:
            task.request.header["operation-timeout"] = f"{timeout // 1_000_000}ms"
        tasks.offer(task)

    def _send_cancel(self, entry: Entry) -> None:
        record = entry.operation
        target = self._target(entry)
        tasks = self.fe.nexus_tasks
        if target is None or tasks is None or record.cancellation is None:
            return
        task = self._task(entry, target, record.cancellation.attempt, True)
        header = dict(entry.request.nexus_header)
        task.request = cancel_request(
            target[0], header, record.service, record.operation, record.operation_token
        )
        task.request.header["content-length"] = "0"  # the cancel's empty HTTP body
        task.request.scheduled_time.CopyFrom(convert.timestamp(self.fe.now()))
        tasks.offer(task)

    def live(self, task: NexusTask) -> bool:
        """Does the operation still want this task (the invocation and cancellation
        tasks' Validate: the status and the attempt current)?"""
        entry = self.by_run.get(task.run_id)
        if entry is None:
            return False
        record = entry.operation
        if task.cancel:
            cancel = record.cancellation
            return (
                record.running
                and cancel is not None
                and cancel.status is no.CancelStatus.SCHEDULED
                and cancel.attempt == task.scheduled_event_id
            )
        return record.status is no.Status.SCHEDULED and record.attempt == task.scheduled_event_id

    def answer(self, task: NexusTask, event: no.Event) -> None:
        """The handler's answer to a task (rpc_nexus_tasks.py), as the table's input."""
        entry = self.by_run.get(task.run_id)
        if entry is not None:
            self.apply(entry, event)

    def attempt_failed(self, task: NexusTask, failure: failure_pb.Failure, retryable: bool) -> None:
        """A start or cancel attempt failed: retried after the retry policy's delay
        (nexus_attempts.py's, the server's policy) when `retryable`."""
        attempt = task.scheduled_event_id
        delay = next_delay(attempt, self.rng)
        kind: no.Input | no.CancelInput = (
            no.CancelInput.FAILED if task.cancel else no.Input.ATTEMPT_FAILED
        )
        event = no.Event(
            kind,
            self.fe.now(),
            attempt=attempt,
            retryable=retryable,
            delay=delay,
            payload=convert.opaque_of(failure),
        )
        with contextlib.suppress(errors.ServiceError):  # a stale answer refuses nothing
            self.answer(task, event)

    def complete(
        self,
        run_id: str,
        request_id: str,
        outcome: tuple[str, Opaque | None, Opaque | None],
        link: JsonValue,
        start_time: int,
        token: str,
    ) -> bool:
        """The handler run's completion callback (nexus_callbacks.py)
        (HandleNexusCompletion); False when no operation takes it."""
        entry = self.by_run.get(run_id)
        if entry is None:
            return False
        kind, result, failure = outcome
        inputs = {
            "completed": no.Input.COMPLETED,
            "canceled": no.Input.COMPLETION_CANCELED,
            "failed": no.Input.COMPLETION_FAILED,
        }
        event = no.Event(
            inputs[kind],
            self.fe.now(),
            payload=result if kind == "completed" else failure,
            token=token,
            links=(link,),
            start_time=start_time,
            request_id=request_id,
        )
        try:
            self.apply(entry, event)
        except errors.ServiceError:
            return False
        return True

    async def changed(self, entry: Entry, deadline: float | None) -> bool:
        """Wait until the run changes (standalone_common.changed)."""
        return await standalone_common.changed(entry.waiters, deadline)
