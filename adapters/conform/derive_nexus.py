"""The requests behind a recorded history's Nexus operation events and its
WorkflowExecutionOptionsUpdated events (for derive.py).

A caller's Nexus operation (core/statemachine/history/service/nexus.py) leaves two
kinds of events. Its commands' events (NexusOperationScheduled, NexusOperationCancelRequested)
are read back into the commands the worker sent, field by field, as the other command
events are (requests.py). The others record what the handler answered, each behind one
`RecordNexusOperationResult` the server's outbound queue (or the handler run's
completion callback) delivered (components/nexusoperations/executors.go,
completion.go):

- NexusOperationStarted: the start's asynchronous answer (the operation token and the
  handler's links);
- NexusOperationCompleted, Failed or Canceled: the operation's outcome (its result, or
  the handler's failure, which the server wraps: the event's failure's cause);
- NexusOperationCancelRequestCompleted or Failed: the handler's answer to the cancel;
- NexusOperationTimedOut: one of the operation's timeout timer tasks fired (the kind is
  the cause's timeout type).

The answers name the operation by the request id the model drew for it (the server
draws a random one), read off the model's pending record. The endpoints a worker's
commands name are the namespace's registry, which a history does not record: their
ids are read off the Scheduled events, as the namespace id is off other fields. A
Started followed at once by its operation's outcome is one completion that came before
the start's answer (`_pair`), and an answer about an operation the batch before it
scheduled was not buffered during that batch's task (`unbatched`).

WorkflowExecutionOptionsUpdated is written by UpdateWorkflowExecutionOptions
(options_update.py), or by a start that attached to the run (attach.py): an event
naming an attached request id or attached callbacks is the latter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core import requests as rq
from core.commands import Command
from core.enums import CommandType, EventType
from core.events import HistoryEvent, OpaqueAttributes
from core.opaque import JsonValue, Opaque
from core.options_request import UpdateWorkflowExecutionOptions
from core.statemachine.history.service.state import MutableState

if TYPE_CHECKING:
    from adapters.conform.derive_base import DriverBase

E = EventType
C = CommandType

# The handler's answers, each to the outcome of the RecordNexusOperationResult behind it.
ANSWERS: dict[EventType, str] = {
    E.NEXUS_OPERATION_STARTED: "started",
    E.NEXUS_OPERATION_COMPLETED: "completed",
    E.NEXUS_OPERATION_FAILED: "failed",
    E.NEXUS_OPERATION_CANCELED: "canceled",
    E.NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED: "cancel_completed",
    E.NEXUS_OPERATION_CANCEL_REQUEST_FAILED: "cancel_failed",
}
# Every Nexus event a request or a timer (not a command) writes: the server buffers them
# while a workflow task is in flight (bufferEvent in historybuilder/event_store.go).
REPORTED = frozenset({*ANSWERS, E.NEXUS_OPERATION_TIMED_OUT})
# ... and WorkflowExecutionOptionsUpdated too, which no command writes either.
BUFFERED = REPORTED | {E.WORKFLOW_EXECUTION_OPTIONS_UPDATED}

# The command's fields, as the Scheduled event records them (HandleScheduleCommand in
# components/nexusoperations/workflow/commands.go copies them across after trimming the
# timeouts and lower-casing the header's keys, both of which a second pass leaves alone).
_SCHEDULE_FIELDS = (
    "endpoint",
    "service",
    "operation",
    "input",
    "scheduleToCloseTimeout",
    "nexusHeader",
    "scheduleToStartTimeout",
    "startToCloseTimeout",
)


def fields(event: HistoryEvent) -> dict[str, Any]:
    """An opaque event's attributes as JSON (empty if it has none)."""
    a = event.attributes
    value = a.value.value() if isinstance(a, OpaqueAttributes) else None
    return value if isinstance(value, dict) else {}


def nexus_command(event: HistoryEvent) -> Command | None:
    """The command behind NexusOperationScheduled or NexusOperationCancelRequested (None:
    neither)."""
    f = fields(event)
    if event.event_type is E.NEXUS_OPERATION_SCHEDULED:
        sent: dict[str, JsonValue] = {k: f[k] for k in _SCHEDULE_FIELDS if k in f}
        key, kind = "scheduleNexusOperationCommandAttributes", C.SCHEDULE_NEXUS_OPERATION
    elif event.event_type is E.NEXUS_OPERATION_CANCEL_REQUESTED:
        sent = {"scheduledEventId": f.get("scheduledEventId", "0")}
        key, kind = "requestCancelNexusOperationCommandAttributes", C.REQUEST_CANCEL_NEXUS_OPERATION
    else:
        return None
    return Command(
        kind,
        OpaqueAttributes(key, Opaque.of(sent)),
        user_metadata=event.user_metadata,
        event_group_markers=event.event_group_markers,
    )


def endpoints_of(real: Sequence[HistoryEvent]) -> tuple[tuple[str, str], ...]:
    """The endpoints (name, id) the history's Scheduled events name."""
    found: dict[str, str] = {}
    for event in real:
        if event.event_type is E.NEXUS_OPERATION_SCHEDULED:
            f = fields(event)
            found.setdefault(str(f.get("endpoint", "")), str(f.get("endpointId", "")))
    return tuple(found.items())


def scheduled_id(event: HistoryEvent) -> int:
    raw = fields(event).get("scheduledEventId", 0)
    return int(raw) if str(raw).isdigit() else 0


def _opaque(value: Any) -> Opaque | None:
    return Opaque.of(value) if value is not None else None


def answer(
    state: MutableState, event: HistoryEvent, started: HistoryEvent | None = None
) -> rq.RecordNexusOperationResult:
    """The handler's answer behind one of the ANSWERS events. A completion names the
    operation's token when the operation had started (a callback's completion carries
    it); a start's synchronous outcome has none. With `started`, the NexusOperationStarted
    the server wrote for a completion that came before the start's answer: the
    completion carries the token, the links and the handler run's start time it has."""
    f = fields(event)
    sid = scheduled_id(event)
    info = next((x for x in state.nexus_operations if x.scheduled_event_id == sid), None)
    outcome = ANSWERS[event.event_type]
    failure = f.get("failure")
    if outcome in ("failed", "canceled") and isinstance(failure, dict):
        failure = failure.get("cause")  # the server's wrapper is written around it
    token = _token(f)
    if outcome != "started" and info is not None:
        token = info.operation_token
    links = event.links if outcome in ("started", "completed") else None
    start_time = None
    if started is not None:
        token, links = _token(fields(started)), started.links
        start_time = started.event_time
    return rq.RecordNexusOperationResult(
        sid,
        info.request_id if info is not None else "",
        outcome,
        result=_opaque(f.get("result")),
        failure=_opaque(failure),
        operation_token=token,
        links=links,
        start_time=start_time,
    )


def _token(f: dict[str, Any]) -> str:
    """A started operation's token: servers before 1.27.0 wrote it as operationId alone
    (NexusOperationStarted's operationToken came with "Upgrade to Nexus SDK 0.2.0",
    temporal e806987fd6; 1.32 writes both)."""
    return str(f.get("operationToken") or f.get("operationId") or "")


_OUTCOMES = frozenset(
    {E.NEXUS_OPERATION_COMPLETED, E.NEXUS_OPERATION_FAILED, E.NEXUS_OPERATION_CANCELED}
)


def _pair(real: Sequence[HistoryEvent], k: int) -> bool:
    """Is event `k` a NexusOperationStarted written with its operation's outcome, which
    follows it at once? The server writes both for a completion that arrives before the
    start's answer (fabricateStartedEventIfMissing, components/nexusoperations/
    completion.go); a start answered while no workflow task was in flight would have
    scheduled one between them, and two answers buffered while one was come out the same
    as that one completion."""
    return (
        real[k].event_type is E.NEXUS_OPERATION_STARTED
        and k + 1 < len(real)
        and real[k + 1].event_type in _OUTCOMES
        and scheduled_id(real[k + 1]) == scheduled_id(real[k])
    )


def unbatched(real: Sequence[HistoryEvent], j: int, run: list[int]) -> list[int]:
    """The part of `run` (positions right after the batch ending before `j`) that may have
    been buffered while the batch's workflow task was in flight: up to the first answer
    about an operation that batch scheduled, which could not be answered before it."""
    k = j - 1
    while k > 0 and real[k].event_type is not E.WORKFLOW_TASK_COMPLETED:
        k -= 1
    batch = real[k].event_id
    for n, p in enumerate(run):
        if real[p].event_type in REPORTED and scheduled_id(real[p]) > batch:
            return run[:n]
    return run


# The events `step` handles.
STEPPED = BUFFERED


def step(driver: DriverBase, i: int, now: int) -> None:
    """Issue the request behind event `i` (one of STEPPED) of the driver's history."""
    real, state = driver.real, driver.state
    event = real[i]
    assert state is not None
    if i > 0 and _pair(real, i - 1):
        return  # (the answer was sent with the Started before it)
    if event.event_type is E.NEXUS_OPERATION_TIMED_OUT:
        driver.fire(rq.NexusTimeoutTask, now, due=True, **timed_out(event))
    elif event.event_type is E.WORKFLOW_EXECUTION_OPTIONS_UPDATED:
        driver.send(options_request(state, event), now)
    elif _pair(real, i):
        driver.send(answer(state, real[i + 1], started=event), now)
    else:
        driver.send(answer(state, event), now)


def timed_out(event: HistoryEvent) -> dict[str, object]:
    """The keys of the timeout task behind NexusOperationTimedOut: the operation, and the
    outcome its kind of timeout reports (the cause's timeoutFailureInfo)."""
    failure = fields(event).get("failure")
    cause = failure.get("cause") if isinstance(failure, dict) else None
    info = cause.get("timeoutFailureInfo") if isinstance(cause, dict) else None
    kind = str(info.get("timeoutType", "")) if isinstance(info, dict) else ""
    outcome = kind.removeprefix("TIMEOUT_TYPE_").lower() + "_timed_out"
    return {"scheduled_event_id": scheduled_id(event), "outcome": outcome}


def options_request(
    state: MutableState, event: HistoryEvent
) -> UpdateWorkflowExecutionOptions | rq.AttachToRun:
    """The request behind WorkflowExecutionOptionsUpdated: a start's attach (attach.py),
    or UpdateWorkflowExecutionOptions naming, by its mask, what the event changed (the
    event carries the merged options: the override, or its unsetting, and the priority)."""
    f = fields(event)
    if "attachedRequestId" in f or "attachedCompletionCallbacks" in f:
        return rq.AttachToRun(
            str(f.get("attachedRequestId", "")),
            _opaque(f.get("attachedCompletionCallbacks")),
            event.links,
        )
    options: dict[str, JsonValue] = {}
    paths: list[str] = []
    override = f.get("versioningOverride")
    now = state.versioning.override if state.versioning is not None else None
    current = now.value() if now is not None else None
    if override != current:
        paths.append("versioningOverride")
        if override is not None:
            options["versioningOverride"] = override
    priority = f.get("priority")  # (absent: the update cleared it)
    had = state.priority.value() if state.priority is not None else None
    if priority != had:
        paths.append("priority")
        if priority is not None:
            options["priority"] = priority
    return UpdateWorkflowExecutionOptions(
        Opaque.of(options), tuple(paths), str(f.get("identity", ""))
    )
