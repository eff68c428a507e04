"""Task tokens and page tokens: opaque bytes to the SDK, JSON to us.

A workflow task token names the run and the task's scheduled and started event ids and
attempt (what `RespondWorkflowTask*` must match); an activity token names the run, the
activity's scheduled event id, attempt and id; a query token names a pending query.
The real server serialises `temporal.server.api.token.v1.TaskToken`; an SDK never looks
inside, so any stable encoding serves. A token that does not decode is answered as
the server answers it: INVALID_ARGUMENT "Error deserializing task token." (an empty
one: "Task token not set on request.").

An activity token may also come in the real server's own encoding: a client can build
one (sdk-typescript's test-async-completion.ts does, to complete an activity that does
not exist). `decode_server_token` reads the fields of `token.v1.Task`
(proto/internal/temporal/server/api/token/v1/message.proto) that name the activity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .errors import ServiceError, invalid, namespace_not_found

_VERSION = 1


@dataclass(frozen=True, slots=True)
class TaskToken:
    kind: str  # "workflow", "activity", "query" or "nexus" (query_id: the task's id)
    namespace: str
    workflow_id: str = ""
    run_id: str = ""
    scheduled_event_id: int = 0
    started_event_id: int = 0
    attempt: int = 0
    activity_id: str = ""
    query_id: int = 0

    def encode(self) -> bytes:
        return json.dumps([_VERSION, asdict(self)], separators=(",", ":")).encode()


def decode_task_token(data: bytes) -> TaskToken:
    if not data:
        raise invalid("Task token not set on request.")
    try:
        version, fields = json.loads(data.decode())
        if version != _VERSION or not isinstance(fields, dict):
            raise ValueError("version")
        token = TaskToken(**fields)
        if token.kind not in ("workflow", "activity", "query", "nexus"):
            raise ValueError("kind")
        return token
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid("Error deserializing task token.") from exc


# token.v1.Task's fields by number: the strings, then the integers (the rest are skipped)
_TEXT_FIELDS = {1: "namespace_id", 2: "workflow_id", 3: "run_id", 6: "activity_id"}
_INT_FIELDS = {4: "scheduled_event_id", 5: "attempt", 10: "started_event_id"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _server_fields(data: bytes) -> tuple[dict[str, str], dict[str, int]]:
    """The protobuf wire fields of a `token.v1.Task`, by name: strings, integers."""
    fields: dict[str, str] = {}
    numbers: dict[str, int] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if number in _INT_FIELDS:
                numbers[_INT_FIELDS[number]] = value
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated field")
            if number in _TEXT_FIELDS:
                fields[_TEXT_FIELDS[number]] = data[at : at + size].decode()
            at += size
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise ValueError("wire type")
    if at != len(data) or not fields.get("namespace_id"):
        raise ValueError("no namespace id")
    return fields, numbers


def decode_server_token(data: bytes, namespace_ids: Mapping[str, str]) -> TaskToken:
    """An activity task token, in our encoding or in the real server's (`token.v1.Task`,
    its namespace named by id: `namespace_ids` maps ids to names). The frontend resolves
    the id first and answers NamespaceNotFound for one it does not know
    (service/frontend/workflow_handler.go, RespondActivityTaskCompleted and the rest)."""
    try:
        return decode_task_token(data)
    except ServiceError:
        if not data:
            raise  # "Task token not set on request."
        try:
            fields, numbers = _server_fields(data)
        except (ValueError, UnicodeDecodeError):
            raise invalid("Error deserializing task token.") from None
    namespace_id = fields.pop("namespace_id")
    if namespace_id not in namespace_ids:
        raise namespace_not_found(namespace_id)
    kind = "activity" if fields.get("activity_id") else "workflow"
    return TaskToken(
        kind,
        namespace_ids[namespace_id],
        workflow_id=fields.get("workflow_id", ""),
        run_id=fields.get("run_id", ""),
        scheduled_event_id=numbers.get("scheduled_event_id", 0),
        started_event_id=numbers.get("started_event_id", 0),
        attempt=numbers.get("attempt", 0),
        activity_id=fields.get("activity_id", ""),
    )


def page_token(**fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()


def decode_page_token(data: bytes) -> dict[str, object]:
    if not data:
        return {}
    try:
        fields = json.loads(data.decode())
    except (ValueError, UnicodeDecodeError):
        fields = None
    if not isinstance(fields, dict):
        raise invalid("Invalid NextPageToken.")
    return fields


def int_field(fields: dict[str, object], name: str, default: int = 0) -> int:
    value = fields.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid("Invalid NextPageToken.")
    return value


__all__ = [
    "ServiceError",
    "TaskToken",
    "decode_page_token",
    "decode_server_token",
    "decode_task_token",
    "page_token",
]
