"""A refused completion's error and WorkflowTaskFailed failure are worded as the server
words them (refused_completion_scenario.py): against `tmodel serve`, and, slow, against
the dev server, which answers the same."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import failed_cause_pb2 as cause_enums

from tests.adapters.serve.refused_completion_scenario import Refusal, drive
from tests.adapters.serve.sdk import bounded

C = cause_enums.WorkflowTaskFailedCause


def _refusal(cause: str, words: str) -> Refusal:
    """INVALID_ARGUMENT in `words`, and a WorkflowTaskFailed with `cause` and a server
    failure (retryable) in the same words."""
    return ("INVALID_ARGUMENT", words), (
        C.Value(f"WORKFLOW_TASK_FAILED_CAUSE_{cause}"),
        words,
        True,
        False,
    )


def _attributes(cause: str, words: str) -> Refusal:
    name = "".join(word.capitalize() for word in cause.split("_"))
    return _refusal(cause, f"{name}: {words}")


EXPECTED = [
    _refusal("UNHANDLED_COMMAND", "UnhandledCommand"),
    _attributes("BAD_SCHEDULE_ACTIVITY_ATTRIBUTES", "taskQueue is not set"),
    _attributes("BAD_SCHEDULE_ACTIVITY_ATTRIBUTES", "missing task queue name"),
    _attributes("BAD_SCHEDULE_ACTIVITY_ATTRIBUTES", "activityId is not set"),
    _attributes("BAD_SCHEDULE_ACTIVITY_ATTRIBUTES", "activityType is not set"),
    _attributes("BAD_START_TIMER_ATTRIBUTES", "TimerId is not set on StartTimerCommand."),
    _attributes("BAD_CANCEL_TIMER_ATTRIBUTES", "TimerId is not set on CancelTimerCommand."),
    _attributes("BAD_RECORD_MARKER_ATTRIBUTES", "MarkerName is not set on RecordMarkerCommand."),
    _attributes(
        "BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES",
        "ScheduledEventId is not set on RequestCancelActivityTaskCommand.",
    ),
    _attributes(
        "BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES",
        "Failure is not set on FailWorkflowExecutionCommand.",
    ),
]


@pytest.mark.asyncio
@bounded
async def test_a_refused_completion_is_worded_as_the_server_words_it(address: str) -> None:
    assert await drive(address) == EXPECTED


@pytest.mark.slow
def test_the_dev_server_words_it_alike(dev_address: str) -> None:
    assert asyncio.run(drive(dev_address)) == EXPECTED
