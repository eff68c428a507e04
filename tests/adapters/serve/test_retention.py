"""Retention and archival in `tmodel serve --time-skipping --archive DIR` (in-process, so
the invariant report can be read): a closed run is archived at once in the filestore
layout, deleted once a day (the namespace's retention) has passed, and then read from
the archive by GetWorkflowExecutionHistory with its run id, equal to what was served
before; the report's INV-RETENTION and INV-ARCHIVED-BEFORE-DELETE hold. Broken on
purpose (an archiver that writes nothing, an archive edited after deletion), the same
invariants report the violation and the unarchived run is kept.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from adapters.archive.filestore import FileArchive, history_filename
from adapters.serve.server import Server
from core.opaque import JsonValue
from tests.adapters.serve.sdk import QUEUE, Sleeper, Waiter, bounded, execution

pytestmark = pytest.mark.asyncio(loop_scope="function")
DAY = 86_400.0


@pytest_asyncio.fixture(loop_scope="function")
async def served(tmp_path: Path) -> AsyncIterator[tuple[Server, Client]]:
    server = Server("127.0.0.1:0", time_skipping=True, archive=str(tmp_path / "archive"))
    port = await server.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        async with Worker(client, task_queue=QUEUE, workflows=[Waiter, Sleeper]):
            yield server, client
    finally:
        await server.stop()


def _held(server: Server) -> dict[str, bool]:
    report = server.report()
    return {i["id"]: i["held"] for i in report["invariants"] if i["checked"] is not None}


async def _close_one(client: Client, workflow_id: str) -> tuple[str, str]:
    handle = await client.start_workflow(Waiter.run, "x", id=workflow_id, task_queue=QUEUE)
    await handle.signal(Waiter.finish, "done")
    await handle.result()
    return handle.result_run_id or "", (await handle.fetch_history()).to_json()


async def _pass_a_day(client: Client) -> None:
    """Let the clock skip past the retention of what closed before (a 2-day sleeper)."""
    await client.execute_workflow(Sleeper.run, 2 * DAY, id="clock", task_queue=QUEUE)


@bounded
async def test_archived_then_deleted_then_read_from_the_archive(
    served: tuple[Server, Client],
) -> None:
    server, client = served
    run_id, served_before = await _close_one(client, "archived")
    namespace_id = server.frontend.namespace("default").id
    archive = server.frontend.archive
    assert archive is not None
    path = archive.dir / history_filename(namespace_id, "archived", run_id)
    assert path.exists()  # archived at close, before any deletion
    await _pass_a_day(client)
    assert run_id not in server.runtime.persistence.runs
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle("archived").describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND
    # With its run id, the history comes from the archive, page by page.
    request = ws.GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=execution("archived", run_id), maximum_page_size=4
    )
    events: list[JsonValue] = []
    while True:
        page = await client.workflow_service.get_workflow_execution_history(request)
        assert page.archived
        events.extend(json_format.MessageToDict(e) for e in page.history.events)
        if not page.next_page_token:
            break
        request.next_page_token = page.next_page_token
    assert events == json.loads(served_before)["events"]
    # Without a run id there is nothing to read: the run is gone.
    with pytest.raises(RPCError) as info:
        await client.workflow_service.get_workflow_execution_history(
            ws.GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=execution("archived")
            )
        )
    assert info.value.status == RPCStatusCode.NOT_FOUND
    described = await client.workflow_service.describe_namespace(
        ws.DescribeNamespaceRequest(namespace="default")
    )
    assert described.config.history_archival_uri.startswith("file://")
    held = _held(server)
    assert held["INV-RETENTION"] and held["INV-ARCHIVED-BEFORE-DELETE"]


@bounded
async def test_an_archiver_that_writes_nothing_is_caught(
    served: tuple[Server, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = served
    monkeypatch.setattr(FileArchive, "put", lambda self, *args: None)
    run_id, _ = await _close_one(client, "unarchived")
    await _pass_a_day(client)
    assert run_id in server.runtime.persistence.runs  # kept: it was never archived
    assert not _held(server)["INV-ARCHIVED-BEFORE-DELETE"]


@bounded
async def test_an_archive_changed_after_deletion_is_caught(served: tuple[Server, Client]) -> None:
    server, client = served
    run_id, _ = await _close_one(client, "edited")
    await _pass_a_day(client)
    assert run_id not in server.runtime.persistence.runs
    archive = server.frontend.archive
    assert archive is not None
    path = archive.path(server.frontend.namespace("default").id, "edited", run_id)
    batches = json.loads(path.read_text())
    batches[0]["events"].pop()
    path.write_text(json.dumps(batches))
    assert not _held(server)["INV-ARCHIVED-BEFORE-DELETE"]


@bounded
async def test_a_deletion_is_made_in_the_store_too(tmp_path: Path) -> None:
    """With --store, a deleted run is gone from the file: a server reopened on it does
    not find it, and still finds the run that is within its retention."""
    store, archive = str(tmp_path / "serve.db"), str(tmp_path / "archive")
    server = Server("127.0.0.1:0", time_skipping=True, store=store, archive=archive)
    port = await server.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        async with Worker(client, task_queue=QUEUE, workflows=[Waiter, Sleeper]):
            old, _ = await _close_one(client, "old")
            await _pass_a_day(client)
            assert old not in server.runtime.persistence.runs
            young, _ = await _close_one(client, "young")
    finally:
        await server.stop()
    reopened = Server("127.0.0.1:0", time_skipping=True, store=store, archive=archive)
    await reopened.start()
    try:
        runs = reopened.runtime.persistence.runs
        assert old not in runs and young in runs
        assert reopened.runtime.persistence.current.get(("default", "old")) is None
    finally:
        await reopened.stop()
