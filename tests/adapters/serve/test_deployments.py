"""Worker Deployments: the ramp's routing rule against the dev server's.

`tmodel serve` does not serve Worker Deployments yet (DescribeWorkerDeployment and the
other deployment RPCs answer UNIMPLEMENTED; docs/serve.md, Worker Deployments). What is
modelled so far is matching's routing rule, core/statemachine/matching/versioning.py:
which version a ramp sends a workflow to, by the FarmHash of its workflow id. The
fixture tests/fixtures/deployments/ramp.json is the dev server's choice for 24 workflow
ids at a 50% ramp (recorded by deployments_drive.py); the slow test records it again.
"""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from core.errors import BadInput
from core.statemachine.matching.versioning import (
    DeploymentVersion,
    RoutingConfig,
    as_float32,
    ramp_threshold,
    target_version,
)
from tests.adapters.serve.deployments_drive import PERCENTAGE, RAMP, WORKFLOW_IDS, observe
from tests.adapters.serve.sdk import connected

V1 = DeploymentVersion("d", "1.0")
V2 = DeploymentVersion("d", "2.0")


def _recorded() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(RAMP.read_text(encoding="utf-8"))
    return recorded


def test_a_ramp_sends_each_workflow_where_the_dev_server_did() -> None:
    recorded = _recorded()
    runs = recorded["runs"]
    assert isinstance(runs, dict) and sorted(runs) == sorted(WORKFLOW_IDS)
    routing = RoutingConfig(current=V1, ramping=V2, ramping_percentage=PERCENTAGE)
    chosen = {wid: target_version(routing, wid) for wid in WORKFLOW_IDS}
    assert {wid: v.build_id for wid, v in chosen.items() if v is not None} == runs
    # the recording shows both versions, so it tells a ramp from a plain current version
    assert set(runs.values()) == {"1.0", "2.0"}


def test_no_ramp_and_a_full_ramp_ignore_the_workflow_id() -> None:
    for wid in WORKFLOW_IDS:
        assert target_version(RoutingConfig(V1, V2, 0.0), wid) == V1
        assert target_version(RoutingConfig(V1, V2, -1.0), wid) == V1
        assert target_version(RoutingConfig(V1, V2, 100.0), wid) == V2
        assert target_version(RoutingConfig(None, V2, 100.0), wid) == V2
        assert target_version(RoutingConfig(V1, None, 100.0), wid) is None  # to unversioned
        assert target_version(RoutingConfig(None, None, 0.0), wid) is None


def test_a_run_on_the_ramping_version_stays_on_it() -> None:
    # the ids the 50% ramp sent to the current version still go to the ramping one
    on_current = [wid for wid in WORKFLOW_IDS if ramp_threshold(wid) > PERCENTAGE]
    assert on_current
    for wid in on_current:
        routing = RoutingConfig(V1, V2, PERCENTAGE)
        assert target_version(routing, wid) == V1
        assert target_version(routing, wid, use_ramping=True) == V2
        assert target_version(RoutingConfig(V1, None, PERCENTAGE), wid, use_ramping=True) == V1


def _next_float32(value: float) -> float:
    (bits,) = struct.unpack("<I", struct.pack("<f", value))
    (after,) = struct.unpack("<f", struct.pack("<I", bits + 1))
    return float(after)


def test_the_percentage_is_compared_as_the_servers_float32() -> None:
    # RoutingConfig.ramping_version_percentage is a protobuf float: a percentage just
    # above an id's threshold that rounds to the float32 below it does not ramp the id
    found = 0
    for wid in WORKFLOW_IDS:
        threshold = ramp_threshold(wid)
        below = as_float32(threshold)
        middle = (below + _next_float32(below)) / 2
        if not below < threshold < middle:
            continue
        percentage = (threshold + middle) / 2
        assert percentage > threshold and as_float32(percentage) == below
        assert target_version(RoutingConfig(V1, V2, percentage), wid) == V1
        found += 1
    assert found  # some recorded ids sit just above a float32


def test_an_empty_workflow_id_is_refused_not_drawn() -> None:
    with pytest.raises(BadInput):
        ramp_threshold("")


@pytest.mark.slow
def test_the_recorded_ramp_is_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await observe(await connected(dev_address))

    assert asyncio.run(run()) == _recorded()
