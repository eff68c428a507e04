"""A query that finds no worker on the run's sticky queue clears the run's stickiness
(sticky_query_scenario.py): against `tmodel serve`, and, slow, against the dev server,
which answers the same."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import event_type_pb2 as ev

from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.sticky_query_scenario import drive

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
