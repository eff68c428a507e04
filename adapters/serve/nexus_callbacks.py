"""Completion callbacks: when a run started by an asynchronous Nexus operation closes,
its completion reaches the caller's history.

A handler worker starts the operation's workflow with a completion callback (the
caller's `temporal://system` URL and the callback token the Nexus task carried,
nexus_tasks.py). In Temporal the run's close schedules the callback; the callbacks
component (components/callbacks) builds the completion from the close event
(`GetNexusCompletion`, service/history/workflow/mutable_state_impl.go) and, for the
system URL, hands it to the caller's history service (components/nexusoperations/
completion.go). Here a commit listener sees the close and sends the caller run a
`RecordNexusOperationResult`: the first payload of a completed run's result; a failed
run's failure; "operation canceled", "operation terminated" or "operation exceeded
internal timeout" failures for the other closes; with a link to the handler run's
first event and its start time, for the Started event written first if the start's
answer has not come yet.

Delivered once, in memory: a caller unreachable then (its run closed, the server
stopped) does not get it later, where the server retries a callback until it is done.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import TYPE_CHECKING, Any

from core import requests as rq
from core.enums import EventType
from core.events import HistoryEvent
from core.opaque import JsonValue, Opaque
from sim.persistence import Mutation

from .nexus_tasks import CALLBACK_TOKEN_HEADER, SYSTEM_CALLBACK

if TYPE_CHECKING:
    from .frontend import Frontend

log = logging.getLogger("tmodel.serve")
E = EventType
OPERATION_TOKEN_HEADER = "nexus-operation-token"
_FAILURES: dict[EventType, tuple[str, str, dict[str, JsonValue]]] = {
    # the close -> (outcome, message, failure info) of GetNexusCompletion
    E.WORKFLOW_EXECUTION_TERMINATED: (
        "failed",
        "operation terminated",
        {"terminatedFailureInfo": {}},
    ),
    E.WORKFLOW_EXECUTION_TIMED_OUT: (
        "failed",
        "operation exceeded internal timeout",
        {"timeoutFailureInfo": {}},
    ),
}


def decode_token(token: str) -> tuple[str, str, str, int, str] | None:
    """The caller's namespace, workflow id, run id, scheduled event id and request id a
    callback token names (None: not a token this server made)."""
    try:
        outer = json.loads(token)
        ns, wf, run, scheduled, request_id = json.loads(base64.b64decode(outer["d"]))
        return str(ns), str(wf), str(run), int(scheduled), str(request_id)
    except (ValueError, TypeError, KeyError):
        return None


def _payload(attrs: Any) -> Opaque | None:
    result = attrs.result.value() if attrs.result is not None else None
    payloads = result.get("payloads") if isinstance(result, dict) else None
    return Opaque.of(payloads[0]) if isinstance(payloads, list) and payloads else None


def completion(close: HistoryEvent) -> tuple[str, Opaque | None, Opaque | None] | None:
    """The outcome, result and failure a closed run's callback reports."""
    attrs: Any = close.attributes
    kind = close.event_type
    if kind is E.WORKFLOW_EXECUTION_COMPLETED:
        return "completed", _payload(attrs), None
    if kind is E.WORKFLOW_EXECUTION_FAILED:
        return "failed", None, attrs.failure
    if kind is E.WORKFLOW_EXECUTION_CANCELED:
        info: dict[str, JsonValue] = {}
        if attrs.details is not None:
            info["details"] = attrs.details.value()
        failure: dict[str, JsonValue] = {
            "message": "operation canceled",
            "canceledFailureInfo": info,
        }
        return "canceled", None, Opaque.of(failure)
    if kind in _FAILURES:
        outcome, message, info = _FAILURES[kind]
        return outcome, None, Opaque.of({"message": message, **info})
    return None  # continued as new or retried: the chain's next run carries the callback


class NexusCallbacks:
    def __init__(self, fe: Frontend) -> None:
        self.fe = fe
        self.pending: set[asyncio.Task[None]] = set()
        fe.runtime.commit_listeners.append(self._on_commit)

    def _on_commit(self, mutations: tuple[Mutation, ...]) -> None:
        runs = self.fe.runtime.persistence.runs
        for mutation in mutations:
            record = runs.get(mutation.run_id)
            if record is None or record.state.running or not mutation.events:
                continue
            state = record.state
            callbacks = state.completion_callbacks
            close = mutation.events[-1]
            outcome = completion(close)
            if callbacks is None or outcome is None:
                continue
            start_link: JsonValue = {
                "workflowEvent": {
                    "namespace": state.namespace,
                    "workflowId": state.workflow_id,
                    "runId": state.run_id,
                    "eventRef": {
                        "eventId": "1",
                        "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
                    },
                }
            }
            self.complete(state.run_id, callbacks, outcome, start_link, state.start_time)

    def complete(
        self,
        source: str,
        callbacks: Opaque,
        outcome: tuple[str, Opaque | None, Opaque | None],
        link: JsonValue,
        start_time: int,
    ) -> None:
        """Send a closed execution's completion (`source` its run id) to each of its
        callbacks to this server's callers: a standalone operation's record
        (standalone_nexus.py), or the caller run."""
        for index, callback in _system_callbacks(callbacks):
            header = callback.get("header", {})
            caller = decode_token(header.get(CALLBACK_TOKEN_HEADER, ""))
            if caller is None:
                continue
            ns, wf, run, scheduled, request_id = caller
            called = (source, index)
            token = header.get(OPERATION_TOKEN_HEADER, "")
            standalone = self.fe.standalone_nexus
            if not wf and standalone is not None:  # a standalone operation's callback
                done = standalone.complete(run, request_id, outcome, link, start_time, token)
                self.fe.callbacks_called[called] = (done, self.fe.now())
                continue
            request = rq.RecordNexusOperationResult(
                scheduled,
                request_id,
                outcome[0],
                result=outcome[1],
                failure=outcome[2],
                operation_token=token,
                links=Opaque.of([link]),
                start_time=start_time,
            )
            delivery = self._deliver(ns, wf, run, request, called)
            task = asyncio.get_running_loop().create_task(delivery)
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def _deliver(
        self,
        ns: str,
        wf: str,
        run: str,
        request: rq.RecordNexusOperationResult,
        called: tuple[str, int],
    ) -> None:
        try:
            answer = await self.fe.runtime.call(ns, wf, run, request, None)
            if _not_found(answer) and run and request.request_id:
                # The run the callback names is gone (closed by a reset, which carried
                # the operation over): a NotFound from it is tried again on the
                # workflow's current run (completion.go Handle, "in case the original
                # run was reset")
                await self.fe.runtime.call(ns, wf, "", request, None)
        except Exception:  # the caller is gone or the server is stopping: not delivered
            log.info("a Nexus completion callback to %s/%s was not delivered", wf, run)
            self.fe.callbacks_called[called] = (False, self.fe.now())
        else:
            self.fe.callbacks_called[called] = (True, self.fe.now())


def _not_found(answer: object) -> bool:
    """A history service reply the server's completion handler sees as NotFound: a
    closed run (ErrWorkflowCompleted) or no such pending operation."""
    kinds = (rq.ErrorKind.NOT_FOUND, rq.ErrorKind.WORKFLOW_COMPLETED)
    return isinstance(answer, rq.Error) and answer.kind in kinds


def _system_callbacks(callbacks: Opaque) -> list[tuple[int, dict[str, Any]]]:
    """The Nexus callbacks to this server's own callers (the `temporal://system` URL),
    each with its index among the run's callbacks."""
    value = callbacks.value()
    out = []
    for index, callback in enumerate(value if isinstance(value, list) else []):
        nexus = callback.get("nexus") if isinstance(callback, dict) else None
        if isinstance(nexus, dict) and nexus.get("url") == SYSTEM_CALLBACK:
            out.append((index, nexus))
    return out
