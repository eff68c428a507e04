"""An update the worker's completion leaves unprocessed is rejected by the server with
unprocessedUpdateFailure, and the rejection writes no event
(unprocessed_update_scenario.py): against `tmodel serve`, and, slow, the dev server,
which answered the same when recorded (2026-12-07)."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import update_pb2 as update_enums

from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.unprocessed_update_scenario import drive

EXPECTED = (
    update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
    "Workflow Update is rejected because it wasn't processed by worker. Probably, "
    "Workflow Update is not supported by the worker.",
    "UnprocessedUpdate",
    True,
    4,  # started, the first task's scheduled, started and completed; nothing since
)


@pytest.mark.asyncio
@bounded
async def test_an_unprocessed_update_is_rejected(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_dev_server_does_the_same(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
