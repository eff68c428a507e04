"""OperatorService's Nexus endpoint registry through `tmodel serve`: Create, Get, List,
Update and Delete NexusEndpoint, their replies and every validation error, equal the
real dev server's, recorded in tests/fixtures/serve/nexus_endpoints_dev.json by the same
scenario (`transcript` below); the slow test checks the record against a dev server.

`python -m tests.adapters.serve.test_nexus_endpoints HOST:PORT` prints the transcript
as JSON (the fixture is its output against `temporal server start-dev`, CLI 1.9.1 /
server 1.32.0). Ids, names and times, which each run draws, are renamed or reduced to
what the server promises of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.nexus.v1 import message_pb2 as nexus_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.client import Client
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_endpoints_dev.json"


def _worker(name: str, namespace: str = "default", queue: str = "nexus-q") -> nexus_pb.EndpointSpec:
    target = nexus_pb.EndpointTarget.Worker(namespace=namespace, task_queue=queue)
    return nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(worker=target))


def _external(name: str, url: str) -> nexus_pb.EndpointSpec:
    target = nexus_pb.EndpointTarget.External(url=url)
    return nexus_pb.EndpointSpec(name=name, target=nexus_pb.EndpointTarget(external=target))


class Scenario:
    def __init__(self, client: Client) -> None:
        self.service = client.operator_service
        self.suffix = uuid.uuid4().hex[:8]
        self.names: dict[str, str] = {}  # the run's names -> stable ones
        self.ids: dict[str, str] = {}  # the ids drawn -> stable ones
        self.log: list[Any] = []

    def name(self, stable: str) -> str:
        real = f"{stable}-{self.suffix}"
        self.names[real] = stable
        return real

    def _id(self, real: str) -> str:
        return self.ids.setdefault(real, f"id{len(self.ids) + 1}")

    def endpoint(self, endpoint: nexus_pb.Endpoint) -> dict[str, Any]:
        """The endpoint with its id and name renamed and its times reduced to which are
        set (and whether the modification time keeps whole milliseconds)."""
        out = MessageToDict(endpoint)
        out["id"] = self._id(endpoint.id)
        out["urlPrefix"] = endpoint.url_prefix.replace(endpoint.id, out["id"])
        out["spec"]["name"] = self.names.get(endpoint.spec.name, endpoint.spec.name)
        for key in ("createdTime", "lastModifiedTime"):
            out.pop(key, None)
        out["times"] = [endpoint.HasField("created_time"), endpoint.HasField("last_modified_time")]
        if endpoint.HasField("last_modified_time"):
            out["times"].append(endpoint.last_modified_time.nanos % 1_000_000 == 0)
        return out

    async def step(self, label: str, call: Any) -> Any:
        try:
            reply = await call
        except RPCError as error:
            self.log.append([label, error.status.name, self._renamed(error.message)])
            return None
        return reply

    def _renamed(self, text: str) -> str:
        for real, stable in [*self.names.items(), *self.ids.items()]:
            text = text.replace(real, stable)
        return text

    async def create(self, label: str, spec: nexus_pb.EndpointSpec) -> nexus_pb.Endpoint | None:
        reply = await self.step(
            label, self.service.create_nexus_endpoint(ops.CreateNexusEndpointRequest(spec=spec))
        )
        if reply is None:
            return None
        self.log.append([label, self.endpoint(reply.endpoint)])
        return reply.endpoint  # type: ignore[no-any-return]

    async def get(self, label: str, endpoint_id: str) -> None:
        reply = await self.step(
            label, self.service.get_nexus_endpoint(ops.GetNexusEndpointRequest(id=endpoint_id))
        )
        if reply is not None:
            self.log.append([label, self.endpoint(reply.endpoint)])

    async def update(
        self, label: str, endpoint_id: str, version: int, spec: nexus_pb.EndpointSpec
    ) -> None:
        reply = await self.step(
            label,
            self.service.update_nexus_endpoint(
                ops.UpdateNexusEndpointRequest(id=endpoint_id, version=version, spec=spec)
            ),
        )
        if reply is not None:
            self.log.append([label, self.endpoint(reply.endpoint)])

    async def delete(self, label: str, endpoint_id: str, version: int) -> None:
        reply = await self.step(
            label,
            self.service.delete_nexus_endpoint(
                ops.DeleteNexusEndpointRequest(id=endpoint_id, version=version)
            ),
        )
        if reply is not None:
            self.log.append([label, "deleted"])

    async def listing(
        self, label: str, after: str = "", **fields: Any
    ) -> ops.ListNexusEndpointsResponse | None:
        """List; record this scenario's endpoints in the reply (or, for a page, how
        many endpoints it has), whether they come in id order, whether the page token
        names the page's last id, and whether the page starts past `after`."""
        reply = await self.step(
            label, self.service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(**fields))
        )
        if reply is None:
            return None
        mine = [e for e in reply.endpoints if e.spec.name in self.names]
        ids = [e.id for e in reply.endpoints]
        token = _token_id(reply.next_page_token)
        paged = "page_size" in fields
        self.log.append(
            [
                label,
                len(ids) if paged else sorted(self.names[e.spec.name] for e in mine),
                ids == sorted(ids),  # the table's order: by id
                None if token is None else token == (ids[-1] if ids else None),
                all(i > after for i in ids),
            ]
        )
        return reply  # type: ignore[no-any-return]


def _token_id(token: bytes) -> str | None:
    """The last id a page token names (the SQL store's {"LastID": base64 bytes})."""
    if not token:
        return None
    return str(uuid.UUID(bytes=base64.b64decode(json.loads(token)["LastID"])))


async def transcript(client: Client) -> list[Any]:
    s = Scenario(client)
    first = await s.create("create", _worker(s.name("alpha")))
    assert first is not None
    await s.create("create with a name taken", _worker(s.name("alpha"), queue="other"))
    await s.create("create empty", nexus_pb.EndpointSpec())
    await s.create("create with no target", nexus_pb.EndpointSpec(name=s.name("beta")))
    await s.create("create with a bad name", _worker("1_bad-"))
    await s.create("create with a long name", _worker("a" * 201))
    await s.create("create with no namespace", _worker(s.name("beta"), namespace=""))
    await s.create("create with an unknown namespace", _worker(s.name("beta"), namespace="nope"))
    await s.create("create with no queue", _worker(s.name("beta"), queue=""))
    await s.create("create with a system queue", _worker(s.name("beta"), queue="/_sys/q"))
    await s.create("create with a long queue", _worker(s.name("beta"), queue="q" * 1001))
    await s.create("create with bad name and queue", _worker("-", queue=""))
    await s.create("create with an ftp URL", _external(s.name("beta"), "ftp://example.com"))
    await s.create("create with no URL", _external(s.name("beta"), ""))
    big = _worker(s.name("beta"))
    big.description.CopyFrom(common_pb.Payload(data=b"x" * 20_001))
    await s.create("create with a big description", big)
    described = _worker(s.name("gamma"))
    described.description.CopyFrom(
        common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b'"about"')
    )
    third = await s.create("create with a description", described)
    second = await s.create("create external", _external(s.name("beta"), "https://example.com/x"))
    assert second is not None and third is not None
    await s.get("get", first.id)
    await s.get("get with no id", "")
    await s.get("get with a malformed id", "xyz")
    await s.get("get unknown", str(uuid.UUID(int=1)))
    await s.update("update with a stale version", first.id, 5, _worker(s.name("alpha"), queue="q2"))
    await s.update("update unknown", str(uuid.UUID(int=2)), 1, _worker(s.name("alpha")))
    await s.update("update with no id", "", 1, _worker(s.name("alpha")))
    await s.update("update invalid", first.id, 1, _worker(s.name("alpha"), queue=""))
    await s.update("update", first.id, 1, _worker(s.name("alpha"), queue="q2"))
    await s.update("update again", first.id, 2, _worker(s.name("alpha"), queue="q3"))
    await s.get("get updated", first.id)
    await s.listing("list")
    await s.listing("list by name", name=s.name("beta"))
    await s.listing("list by an unknown name", name="nobody")
    await s.listing("list a negative page", page_size=-1)
    await s.listing("list a page too big", page_size=1001)
    page = await s.listing("list one", page_size=1)
    if page is not None:
        last = page.endpoints[-1].id
        await s.listing("list the next", last, page_size=1, next_page_token=page.next_page_token)
    await s.listing("list with a bad token", page_size=1, next_page_token=b"nope")
    await s.delete("delete with no version", first.id, 0)
    await s.delete("delete with no id and version", "", 0)
    await s.delete("delete with another version", first.id, 9)
    await s.delete("delete again", first.id, 3)
    await s.get("get deleted", first.id)
    await s.delete("delete external", second.id, 1)
    await s.delete("delete described", third.id, 1)
    return s.log


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


def _differences(seen: list[Any], want: list[Any]) -> list[Any]:
    wrong: list[Any] = [[s, w] for s, w in zip(seen, want, strict=False) if s != w]
    if len(seen) != len(want):
        wrong.append(["lengths", len(seen), len(want)])
    return wrong


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_registry_answers_as_the_dev_server(client: Client) -> None:
    seen = await transcript(client)
    assert _differences(seen, json.loads(FIXTURE.read_text())) == []


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_created_endpoint_is_found_and_a_deleted_one_is_gone(client: Client) -> None:
    service = client.operator_service
    name = f"plain-{uuid.uuid4().hex[:8]}"
    created = await service.create_nexus_endpoint(
        ops.CreateNexusEndpointRequest(spec=_worker(name))
    )
    found = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=name))
    assert [e.id for e in found.endpoints] == [created.endpoint.id]
    assert created.endpoint.version == 1 and created.endpoint.HasField("created_time")
    await service.delete_nexus_endpoint(
        ops.DeleteNexusEndpointRequest(id=created.endpoint.id, version=1)
    )
    gone = await service.list_nexus_endpoints(ops.ListNexusEndpointsRequest(name=name))
    assert list(gone.endpoints) == []


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> list[Any]:
        return await transcript(await connected(dev_address))

    assert _differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []


if __name__ == "__main__":

    async def _main(address: str) -> None:
        print(json.dumps(await transcript(await connected(address)), indent=1))

    asyncio.run(_main(sys.argv[1]))
