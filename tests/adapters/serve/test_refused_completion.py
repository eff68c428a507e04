"""A refused completion's error and WorkflowTaskFailed failure are worded as the cause
(refused_completion_scenario.py): against `tmodel serve`, and, slow, against the dev
server, which answers the same."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums

from tests.adapters.serve.refused_completion_scenario import drive
from tests.adapters.serve.sdk import bounded

EXPECTED = [
    (
        ("INVALID_ARGUMENT", "UnhandledCommand"),
        (cause_enums.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, "UnhandledCommand", True, False),
    ),
    *(
        (
            ("INVALID_ARGUMENT", f"BadScheduleActivityAttributes: {detail}"),
            (
                cause_enums.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
                f"BadScheduleActivityAttributes: {detail}",
                True,
                False,
            ),
        )
        for detail in ("taskQueue is not set", "missing task queue name")
    ),
    (
        ("INVALID_ARGUMENT", "BadStartTimerAttributes"),
        (
            cause_enums.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            "BadStartTimerAttributes",
            True,
            False,
        ),
    ),
]


@pytest.mark.asyncio
@bounded
async def test_a_refused_completion_is_worded_as_its_cause(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_words_it_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
