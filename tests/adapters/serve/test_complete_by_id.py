"""An activity no worker started, completed by id (complete_by_id_scenario.py): the
server starts its attempt for the completer, then completes it; a failure or a
heartbeat by id of it is NotFound. The slow twin asks the dev server the same."""

from __future__ import annotations

import asyncio

import pytest

from tests.adapters.serve.complete_by_id_scenario import drive
from tests.adapters.serve.sdk import bounded

GONE = (
    "NOT_FOUND: invalid activityID or activity already timed out or invoking workflow is completed"
)
EXPECTED = (
    GONE,
    GONE,
    "by id",
    (
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
        "EVENT_TYPE_ACTIVITY_TASK_STARTED",
        "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    ),
    (True, "", 1),
)


@pytest.mark.asyncio
@bounded
async def test_an_activity_not_started_is_completed_by_id(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_completes_it_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
