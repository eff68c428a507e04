"""An update call waits for its stage until history's 20 s soft timeout or the caller's
deadline, whichever comes first (update_wait_scenario.py): against `tmodel serve`, and,
slow, against the dev server, which answers the same."""

from __future__ import annotations

import asyncio

import pytest

from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.update_wait_scenario import drive

EXPECTED = (
    "the caller's deadline",
    True,
    "WorkflowUpdateRPCTimeoutOrCancelledError",
    20,
    "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED",
    False,
)


@pytest.mark.asyncio
@bounded
async def test_an_update_call_waits_for_its_deadline_or_the_soft_timeout(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_waits_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
