"""Task tokens and page tokens: opaque bytes to the SDK, JSON to us.

A workflow task token names the run and the task's scheduled and started event ids and
attempt (what `RespondWorkflowTask*` must match); an activity token names the run, the
activity's scheduled event id, attempt and id; a query token names a pending query.
The real server serialises `temporal.server.api.token.v1.TaskToken`; an SDK never looks
inside, so any stable encoding serves. A token that does not decode is answered as
the server answers it: INVALID_ARGUMENT "Error deserializing task token." (an empty
one: "Task token not set on request.").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .errors import ServiceError, invalid

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


__all__ = ["ServiceError", "TaskToken", "decode_page_token", "decode_task_token", "page_token"]
