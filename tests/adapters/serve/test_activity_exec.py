"""PauseActivityExecution, UnpauseActivityExecution, ResetActivityExecution and
UpdateActivityExecutionOptions through `tmodel serve` (the RPCs the temporal CLI 1.9.1
calls for `temporal activity pause|unpause|reset|update-options`; tmodel serve answered
UNIMPLEMENTED): on a workflow's activities and on a standalone activity, the replies,
errors and states equal the real dev server's, recorded in
tests/fixtures/serve/activity_exec_dev.json by the same scenario
(activity_exec_scenario.py; the slow test records it again), and the CLI's commands
work against the served model as against the dev server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.activity_exec_scenario import Operated, transcript
from tests.adapters.serve.activity_ops_scenario import NS
from tests.adapters.serve.sdk import bounded, connected
from tests.adapters.serve.test_cli import cli, cli_json

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "activity_exec_dev.json"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_answers_are_the_dev_servers(client: Client) -> None:
    assert await transcript(client) == json.loads(FIXTURE.read_text())


async def _operated(client: Client) -> Operated:
    """A workflow with pending activities a1, a2 (type Act) and b1, and a scheduled
    standalone activity, as the scenario starts them."""
    s = Operated(client)
    await s.start()
    await s.start_standalone()
    return s


async def _standalone_state(address: str, activity_id: str) -> tuple[str, str]:
    described = await cli_json(address, "activity", "describe", "--activity-id", activity_id)
    return described["info"]["status"], described["info"]["runState"]


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_cli_operates_a_workflows_activity(client: Client, address: str) -> None:
    s = await _operated(client)
    target = ("--activity-id", "a1", "--workflow-id", s.workflow_id)
    code, _out, err = await cli(address, "activity", "pause", *target, "--reason", "r")
    assert code == 0, err
    pending = (await client.get_workflow_handle(s.workflow_id).describe()).raw_description
    paused = {a.activity_id: a.paused for a in pending.pending_activities}
    assert paused == {"a1": True, "a2": False, "b1": False}
    assert [a.pause_info.manual.reason for a in pending.pending_activities if a.paused] == ["r"]
    for command in ("unpause", "reset"):
        code, _out, err = await cli(address, "activity", command, *target)
        assert code == 0, (command, err)
    pending = (await client.get_workflow_handle(s.workflow_id).describe()).raw_description
    assert not any(a.paused for a in pending.pending_activities)
    updated = await cli_json(
        address, "activity", "update-options", *target, "--start-to-close-timeout", "30s"
    )
    assert updated["StartToCloseTimeout"] == 30_000_000_000  # ns, as the CLI prints it


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_cli_operates_a_standalone_activity(client: Client, address: str) -> None:
    s = await _operated(client)
    target = ("--activity-id", s.standalone)
    code, _out, err = await cli(address, "activity", "pause", *target, "--reason", "r")
    assert code == 0, err
    assert await _standalone_state(address, s.standalone) == (
        "ACTIVITY_EXECUTION_STATUS_PAUSED",
        "PENDING_ACTIVITY_STATE_PAUSED",
    )
    code, _out, err = await cli(address, "activity", "pause", *target)
    # the dev server's answer, through the CLI
    assert code == 1
    assert "unable to pause Activity: activity is in non-pausable state Paused" in err
    code, _out, err = await cli(address, "activity", "unpause", *target)
    assert code == 0, err
    assert await _standalone_state(address, s.standalone) == (
        "ACTIVITY_EXECUTION_STATUS_RUNNING",
        "PENDING_ACTIVITY_STATE_SCHEDULED",
    )
    code, _out, err = await cli(address, "activity", "reset", *target)
    assert code == 0, err
    updated = await cli_json(
        address, "activity", "update-options", *target, "--start-to-close-timeout", "30s"
    )
    assert updated["StartToCloseTimeout"] == 30_000_000_000  # ns, as the CLI prints it
    described = await cli_json(address, "activity", "describe", *target)
    assert described["info"]["startToCloseTimeout"] == "30s"


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_unknown_standalone_activity_is_not_found(client: Client) -> None:
    unknown = ws.PauseActivityExecutionRequest(namespace=NS, activity_id=str(uuid.uuid4()))
    with pytest.raises(RPCError) as missing:
        await client.workflow_service.pause_activity_execution(unknown)
    assert missing.value.status is RPCStatusCode.NOT_FOUND


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> object:
        return await transcript(await connected(dev_address))

    assert asyncio.run(record()) == json.loads(FIXTURE.read_text())
