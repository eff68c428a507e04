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
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

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


_F = descriptor_pb2.FieldDescriptorProto
_STRING, _INT64, _INT32, _OPTIONAL = _F.TYPE_STRING, _F.TYPE_INT64, _F.TYPE_INT32, _F.LABEL_OPTIONAL


def _server_task_class() -> Any:
    """A message class with the fields of `token.v1.Task` that name an activity (the
    others, unknown to it, are skipped when parsing), built from a descriptor: the
    server's internal protos are not published."""
    proto = descriptor_pb2.FileDescriptorProto(name="tmodel_server_token.proto", syntax="proto3")
    message = proto.message_type.add(name="Task")
    kinds = {
        1: ("namespace_id", _STRING), 2: ("workflow_id", _STRING), 3: ("run_id", _STRING),
        4: ("scheduled_event_id", _INT64), 5: ("attempt", _INT32),
        6: ("activity_id", _STRING), 10: ("started_event_id", _INT64),
    }  # fmt: skip
    for number, (name, kind) in kinds.items():
        message.field.add(name=name, number=number, type=kind, label=_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("Task"))


_SERVER_TASK = _server_task_class()


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
        task = _SERVER_TASK()
        try:
            task.ParseFromString(data)
        except DecodeError:
            task.Clear()
        if not task.namespace_id:  # not a token either way
            raise invalid("Error deserializing task token.") from None
    if task.namespace_id not in namespace_ids:
        raise namespace_not_found(task.namespace_id)
    return TaskToken(
        "activity" if task.activity_id else "workflow",
        namespace_ids[task.namespace_id],
        workflow_id=task.workflow_id,
        run_id=task.run_id,
        scheduled_event_id=task.scheduled_event_id,
        started_event_id=task.started_event_id,
        attempt=task.attempt,
        activity_id=task.activity_id,
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
