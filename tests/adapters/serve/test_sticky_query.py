"""A query that finds no worker on the run's sticky queue clears the run's stickiness
(sticky_query_scenario.py), and so does one a sticky worker takes and does not answer
within the sticky schedule-to-start timeout (sticky_query_timeout_scenario.py): against
`tmodel serve`, and, slow, against the dev server, which answers the same."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import event_type_pb2 as ev

from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.sticky_query_scenario import drive
from tests.adapters.serve.sticky_query_timeout_scenario import drive as drive_timeout

# The run's events: started, its first task (with the timer of wait_condition), the
# signal, the signal's task on the normal queue, completed; no WorkflowTaskTimedOut.
EXPECTED = (
    8,
    [
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ev.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        ev.EVENT_TYPE_TIMER_STARTED,
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ev.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        ev.EVENT_TYPE_TIMER_CANCELED,
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    ],
)


@pytest.mark.asyncio
@bounded
async def test_a_query_past_a_dead_sticky_worker_unsticks_the_run(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_dev_server_does_the_same(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED


# A sticky worker that takes the query and never answers: the answer comes from the
# normal queue after the sticky schedule-to-start timeout, the late answer finds no
# task, and the run is no longer sticky (the signal's task is not timed out first).
TIMEOUT_EXPECTED = (
    '"from the normal queue"',
    True,
    "NOT_FOUND",
    [
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ev.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ev.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ev.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        ev.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    ],
)


@pytest.mark.asyncio
@bounded
async def test_a_sticky_worker_that_keeps_a_query_loses_it_to_the_normal_queue(
    address: str,
) -> None:
    assert await drive_timeout(address) == TIMEOUT_EXPECTED


@pytest.mark.slow
def test_the_dev_server_moves_the_kept_query_too(dev_address: str) -> None:
    assert asyncio.run(drive_timeout(dev_address)) == TIMEOUT_EXPECTED
