"""Updates inside the engine: admit, validate, accept or reject, run, respond.

Live, each update request handed over with the task is admitted once (a repeated update
id is ignored), its validator runs - raising rejects it - and an accepted update's
handler runs as a task whose end produces the response. On replay the validator is
skipped and only the updates accepted in the task being replayed (UpdateAccepted events
among the task's command events) are admitted: rejected ones left no trace. Acceptance
and response are protocol messages, each placed by a PROTOCOL_MESSAGE command with
message id ``<update id>/accept`` or ``/complete`` so that replay can match them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core import payloads
from core.commands import Command, ProtocolMessageCommandAttributes
from core.enums import CommandType
from core.events import WorkflowExecutionUpdateAcceptedEventAttributes
from core.opaque import JsonValue, Opaque
from core.requests import (
    UpdateMessage,
    UpdateMessageKind,
    UpdateWorkflowExecution,
)
from core.statemachine.replay import update
from core.statemachine.replay.closing import failure_of
from core.statemachine.replay.definition import WorkflowError
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.scheduler import Future

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

K = UpdateMessageKind


def admit(ex: Execution, requests: Sequence[UpdateWorkflowExecution]) -> None:
    if ex.replaying:
        accepted = _ACCEPTED
        requests = [
            _from_event(e.attributes) for e in ex.lookahead if isinstance(e.attributes, accepted)
        ]
    for request in requests:
        if request.update_id in ex.updates:
            continue
        entity = Entity("update", update.TABLE, update.TABLE.initial, update.EVENT_INPUTS)
        entity.key = request.update_id
        ex.updates[request.update_id] = entity
        name, args = _name_and_args(request.request)
        handler = ex.definition.updates.get(name)
        if handler is None:
            _message(ex, entity, update.UpdateInput.REJECT, _rejection(f"no update {name!r}"))
            continue
        if not ex.replaying and handler.validator is not None:
            error = _validate(ex, handler.validator, args)
            if error is not None:
                _message(ex, entity, update.UpdateInput.REJECT, _rejection(str(error)))
                continue
        _message(ex, entity, update.UpdateInput.ACCEPT, None)
        task = ex.call_handler(handler.method, args)
        if isinstance(task, Future):
            ex.running_handlers.add(entity.key)
            task.add_done_callback(_responder(ex, entity))
        else:
            done: Future[object] = Future()
            done.set_result(task)
            _respond(ex, entity, done)


def _responder(ex: Execution, entity: Entity) -> Callable[[Future[object]], None]:
    return lambda future: _respond(ex, entity, future)


def _validate(ex: Execution, method: str, args: list[object]) -> BaseException | None:
    try:
        ex.call_read_only(method, args)
    except Exception as error:
        return error
    return None


def _respond(ex: Execution, entity: Entity, future: Future[object]) -> None:
    ex.running_handlers.discard(entity.key)
    error = future.exception()
    if error is None:
        body: JsonValue = {"success": payloads.one_value(future.result())}
    elif isinstance(error, WorkflowError):
        body = {"failure": failure_of(error).value()}
    else:
        ex.bug = ex.bug or error
        return
    _message(ex, entity, update.UpdateInput.RESPOND, Opaque.of(body))


def _message(
    ex: Execution, entity: Entity, input_: update.UpdateInput, outcome: Opaque | None
) -> None:
    outputs = ex.step(entity, input_)
    kind, suffix = {
        "emit_accept": (K.ACCEPT, "accept"),
        "emit_respond": (K.RESPOND, "complete"),
        "emit_reject": (K.REJECT, "reject"),
    }[outputs[0]]
    message_id = f"{entity.key}/{suffix}"
    ex.messages.append(UpdateMessage(message_id, entity.key, kind, outcome))
    if kind is not K.REJECT:  # a rejection writes no event, so no command places it
        ex.emit(
            Command(CommandType.PROTOCOL_MESSAGE, ProtocolMessageCommandAttributes(message_id)),
            entity,
        )


def _rejection(message: str) -> Opaque:
    return payloads.application_failure(message, "UpdateRejected")


_ACCEPTED = WorkflowExecutionUpdateAcceptedEventAttributes


def _from_event(a: WorkflowExecutionUpdateAcceptedEventAttributes) -> UpdateWorkflowExecution:
    return UpdateWorkflowExecution(a.protocol_instance_id, a.accepted_request)


def _name_and_args(request: Opaque | None) -> tuple[str, list[object]]:
    body = request.value() if request is not None else None
    data = body.get("input") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return "", []
    name = data.get("name")
    args = data.get("args")
    values: list[object] = []
    if isinstance(args, dict):
        values.extend(payloads.from_payloads(Opaque.of(args)))
    return (name if isinstance(name, str) else ""), values
