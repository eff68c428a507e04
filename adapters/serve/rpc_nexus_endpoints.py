"""OperatorService's Nexus endpoint registry: Create, Get, List, Update and Delete
NexusEndpoint, with the server's validation and errors.

An endpoint names a target: a worker target (a namespace and a task queue, where the
handler worker polls) or an external URL. The rules come from three layers of Temporal's
server, each cited where it applies: the frontend's validation
(`service/frontend/nexus_endpoint_client.go`), matching, which owns the endpoints table
and checks names and versions (`service/matching/nexus_endpoint_client.go`), and the
SQL persistence the dev server runs on (`common/persistence/sql/nexus_endpoint_store.go`),
which orders the table by id and pages it by the last id seen. Each answer was compared
with `temporal server start-dev` (CLI 1.9.1, server 1.32); see tests/adapters/serve/
test_nexus_endpoints.py.

Endpoints are kept in memory only: a server started with `--store` does not keep them
across a restart (the dev server, in memory, does not either).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import grpc
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops

from . import convert, errors
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]

# The frontend's EndpointNameRegex and the dynamic config defaults it reads
# (common/dynamicconfig/constants.go: limit.endpointNameMaxLength,
# limit.endpointExternalURLMaxLength, limit.endpointDescriptionMaxSize,
# limit.endpointListDefaultPageSize, limit.endpointListMaxPageSize, and
# limit.maxIDLength for the task queue).
NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9\-]*[a-zA-Z0-9]$"
NAME_MAX = 200
URL_MAX = 4 * 1024
DESCRIPTION_MAX = 20_000
PAGE_DEFAULT = 100
PAGE_MAX = 1000
QUEUE_MAX = 1000
RESERVED_QUEUE_PREFIX = "/_sys/"  # common/tqid/task_queue_validator.go


@dataclass(slots=True)
class Endpoint:
    """One row of the endpoints table (persistencespb.NexusEndpointEntry)."""

    id: str
    version: int
    spec: nexus_pb.EndpointSpec
    created_ns: int | None  # an update's row has no creation time (matching drops it)
    modified_ns: int | None = None


@dataclass(slots=True)
class Registry:
    """The endpoints, by id (the table's order) and by name (matching's index)."""

    by_id: dict[str, Endpoint] = field(default_factory=dict)

    def named(self, name: str) -> Endpoint | None:
        return next((e for e in self.by_id.values() if e.spec.name == name), None)

    def ordered(self) -> list[Endpoint]:
        return [self.by_id[key] for key in sorted(self.by_id)]


def registry(fe: Frontend) -> Registry:
    found = fe.nexus_endpoints
    if found is None:
        found = Registry()
        fe.nexus_endpoints = found
    return found


def _quoted(text: str) -> str:
    """Go's %q of a string (what the server's messages quote with)."""
    return json.dumps(text, ensure_ascii=False)


def _queue_issue(queue: str) -> str | None:
    """tqid.Validate's complaint about a task queue name, if any."""
    if not queue:
        return "taskQueue is not set"
    if len(queue) > QUEUE_MAX:
        return "taskQueue length exceeds limit"
    if queue.startswith(RESERVED_QUEUE_PREFIX):
        return f"task queue name cannot start with reserved prefix {RESERVED_QUEUE_PREFIX}"
    return None


def _validate_spec(fe: Frontend, spec: nexus_pb.EndpointSpec) -> None:
    """validateUpsertSpec: every issue found, joined by ", ", as one INVALID_ARGUMENT;
    a worker target's namespace that does not exist is FAILED_PRECONDITION instead."""
    issues: list[str] = []
    if not spec.name:
        issues.append("endpoint name not set")
    else:
        if len(spec.name) > NAME_MAX:
            issues.append(f"endpoint name exceeds length limit of {NAME_MAX}")
        if re.match(NAME_PATTERN, spec.name) is None or spec.name.endswith("\n"):
            issues.append(f"endpoint name must match the regex: {_quoted(NAME_PATTERN)}")
    variant = spec.target.WhichOneof("variant")
    if variant is None:
        issues.append("empty target variant")
        raise errors.invalid(", ".join(issues))
    if variant == "worker":
        worker = spec.target.worker
        if not worker.namespace:
            issues.append("target namespace not set")
        elif worker.namespace not in fe.namespaces:
            raise errors.failed_precondition(
                "could not verify namespace referenced by target exists: "
                f"Namespace {worker.namespace} is not found."
            )
        queue_issue = _queue_issue(worker.task_queue)
        if queue_issue is not None:
            issues.append(f"invalid target task queue: {_quoted(queue_issue)}")
    else:
        url = spec.target.external.url
        if not url:
            issues.append("empty target URL")
        elif len(url) > URL_MAX:
            issues.append(f"target URL length exceeds limit of {URL_MAX}")
        else:
            # Go's url.Parse rejects a few malformed URLs this parse accepts; the scheme
            # check, which decides nearly every case, is the server's.
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https"):
                issues.append(
                    f"invalid target URL scheme: {_quoted(scheme)}, expected http or https"
                )
    if spec.description.ByteSize() > DESCRIPTION_MAX:
        issues.append(f"description size exceeds limit of {DESCRIPTION_MAX}")
    if issues:
        raise errors.invalid(", ".join(issues))


def _id_issue(endpoint_id: str) -> str | None:
    """getEndpointIDIssues: set, and a UUID (github.com/google/uuid's Parse)."""
    if not endpoint_id:
        return "endpoint ID not set"
    try:
        uuid.UUID(endpoint_id)
    except ValueError:
        if len(endpoint_id) not in (32, 36, 38, 41, 45):
            return f'malformed endpoint ID: "invalid UUID length: {len(endpoint_id)}"'
        return 'malformed endpoint ID: "invalid UUID format"'
    return None


def _proto(entry: Endpoint) -> nexus_pb.Endpoint:
    """endpointPersistedEntryToExternalAPI: the last modification time only once the
    endpoint was changed (version above 1)."""
    out = nexus_pb.Endpoint(
        version=entry.version,
        id=entry.id,
        url_prefix=f"/nexus/endpoints/{entry.id}/services",
    )
    out.spec.CopyFrom(entry.spec)
    if entry.created_ns is not None:
        out.created_time.CopyFrom(convert.timestamp(entry.created_ns))
    if entry.version > 1 and entry.modified_ns is not None:
        out.last_modified_time.CopyFrom(convert.timestamp(entry.modified_ns))
    return out


def _clean(spec: nexus_pb.EndpointSpec) -> nexus_pb.EndpointSpec:
    """The spec as stored: name, description and target only."""
    out = nexus_pb.EndpointSpec(name=spec.name)
    if spec.HasField("description"):
        out.description.CopyFrom(spec.description)
    out.target.CopyFrom(spec.target)
    return out


async def create_nexus_endpoint(
    fe: Frontend, req: ops.CreateNexusEndpointRequest, context: Context
) -> ops.CreateNexusEndpointResponse:
    _validate_spec(fe, req.spec)
    table = registry(fe)
    if table.named(req.spec.name) is not None:  # matching's CreateNexusEndpoint
        raise errors.ServiceError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"error creating Nexus endpoint. Endpoint with name {req.spec.name} already registered",
        )
    # matching draws a version-4 UUID (uuid.NewString); here from the seeded RNG
    endpoint_id = str(uuid.UUID(int=fe.rng.getrandbits(128), version=4))
    entry = Endpoint(endpoint_id, 1, _clean(req.spec), created_ns=fe.now())
    table.by_id[endpoint_id] = entry
    return ops.CreateNexusEndpointResponse(endpoint=_proto(entry))


async def get_nexus_endpoint(
    fe: Frontend, req: ops.GetNexusEndpointRequest, context: Context
) -> ops.GetNexusEndpointResponse:
    issue = _id_issue(req.id)
    if issue is not None:
        raise errors.invalid(issue)
    entry = registry(fe).by_id.get(req.id)
    if entry is None:  # the SQL store's GetNexusEndpoint
        raise errors.not_found(f"Nexus endpoint with ID `{req.id}` not found")
    return ops.GetNexusEndpointResponse(endpoint=_proto(entry))


async def update_nexus_endpoint(
    fe: Frontend, req: ops.UpdateNexusEndpointRequest, context: Context
) -> ops.UpdateNexusEndpointResponse:
    _validate_spec(fe, req.spec)
    entry = registry(fe).by_id.get(req.id)  # matching's UpdateNexusEndpoint: no id check
    if entry is None:
        raise errors.not_found(f"error updating Nexus endpoint. endpoint ID {req.id} not found")
    if req.version != entry.version:
        raise errors.failed_precondition(
            f"nexus endpoint version mismatch. received: {req.version} expected {entry.version}"
        )
    # matching writes a new row without the creation time; its hybrid logical clock,
    # which stamps the modification, keeps milliseconds
    now_ms = fe.now() // 1_000_000
    modified = max(now_ms, (entry.modified_ns or 0) // 1_000_000 + 1) * 1_000_000
    updated = Endpoint(entry.id, entry.version + 1, _clean(req.spec), None, modified)
    registry(fe).by_id[entry.id] = updated
    return ops.UpdateNexusEndpointResponse(endpoint=_proto(updated))


async def delete_nexus_endpoint(
    fe: Frontend, req: ops.DeleteNexusEndpointRequest, context: Context
) -> ops.DeleteNexusEndpointResponse:
    issues = [issue] if (issue := _id_issue(req.id)) is not None else []
    if req.version <= 0:
        issues.append("endpoint version is non-positive")
    if issues:
        raise errors.invalid(", ".join(issues))
    # matching deletes by id whatever the version given (its DeleteNexusEndpoint)
    if registry(fe).by_id.pop(req.id, None) is None:
        raise errors.not_found(f"error deleting nexus endpoint with ID: {req.id}")
    return ops.DeleteNexusEndpointResponse()


def _page_token(last_id: str) -> bytes:
    """The SQL store's page token: JSON naming the last id's 16 bytes, base64."""
    raw = base64.b64encode(uuid.UUID(last_id).bytes).decode()
    return json.dumps({"LastID": raw}, separators=(",", ":")).encode()


def _after(token: bytes) -> str:
    """The id a page token names; a token not the store's is INTERNAL, as there."""
    try:
        decoded = json.loads(token)
        return str(uuid.UUID(bytes=base64.b64decode(decoded["LastID"], validate=True)))
    except (ValueError, TypeError, KeyError):
        raise errors.ServiceError(
            grpc.StatusCode.INTERNAL, "error listing Nexus endpoints"
        ) from None


async def list_nexus_endpoints(
    fe: Frontend, req: ops.ListNexusEndpointsRequest, context: Context
) -> ops.ListNexusEndpointsResponse:
    table = registry(fe)
    if req.name:  # listAndFilterByName: page size and token ignored
        found = table.named(req.name)
        return ops.ListNexusEndpointsResponse(endpoints=[_proto(found)] if found else [])
    size = req.page_size or PAGE_DEFAULT
    if req.page_size < 0:
        raise errors.invalid("page_size is negative")
    if req.page_size > PAGE_MAX:
        raise errors.invalid(f"page_size exceeds limit of {PAGE_MAX}")
    rows = table.ordered()
    if req.next_page_token:
        after = _after(req.next_page_token)
        rows = [row for row in rows if row.id > after]
    page = rows[:size]
    out = ops.ListNexusEndpointsResponse(endpoints=[_proto(row) for row in page])
    if page and len(page) == size:  # a full page has a token, even the last one
        out.next_page_token = _page_token(page[-1].id)
    return out
