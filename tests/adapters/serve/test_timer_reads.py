"""Which read of the timer queue keys a timer on `tmodel serve` (adapters/serve/timer_shift.py).

The timer queue reads a range up to its shard's new minimum scheduled time when its gate
fires for a task past what it read before, and fires every task of that range from
memory without reading again (service/history/queues/queue_base.go `processNewRange`,
reader.go `submit`, queue_scheduled.go `lookAheadTask`). A chain's execution timeout is
one task, written with its second run (workflow/task_generator.go,
`GenerateWorkflowStartTasks`). The dev server's recording `exec-vs-run.last`
(tests/fixtures/unseen-histories) shows both: a retried run whose start backoff was due
before the chain's execution deadline times out at that deadline, with no workflow task.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from adapters.serve.timer_shift import TimerShift
from core import requests as rq
from core.statemachine.history.service.state import MutableState
from sim.kernel import MS, SECOND
from sim.persistence import Mutation, OutboxTask
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.test_timer_shift import _Clock

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "unseen-histories"
QUEUE = "timer-reads"


def _task(task_id: int, task: rq.Task, run_id: str = "run") -> OutboxTask:
    return OutboxTask(task_id, run_id, "wf", task, "default")


def _timer(task_id: int, fire_time: int) -> OutboxTask:
    return _task(task_id, rq.UserTimerTask("t", 5, fire_time))


def test_a_task_fired_from_the_range_read_leaves_the_minimum() -> None:
    kernel = _Clock()
    keys = TimerShift(kernel, SECOND)
    first, second = _timer(1, kernel.time), _timer(2, kernel.time + 500 * MS)
    keys.written(1, [], [first, second])
    kernel.time = first.task.fire_time + MS  # type: ignore[union-attr]
    keys.fired(1, first)  # past anything read: the gate fires, the queue reads
    read = kernel.time - kernel.time % MS + SECOND
    assert keys.minimum[1] == read
    kernel.time += 500 * MS
    keys.fired(1, second)  # inside that range: fired from memory, no read
    assert keys.minimum[1] == read
    # what the second task's transaction writes is keyed against the first read
    backoff = _timer(3, kernel.time + 200 * MS)
    keys.written(1, [], [backoff])
    assert keys.fire_time(1, backoff, backoff.task.fire_time) == read + MS  # type: ignore[union-attr]


def _state(run_id: str, expiration: int) -> MutableState:
    return MutableState(
        "default", "wf", run_id, "Wf", "q", 0, SECOND, SECOND, 3 * SECOND,
        first_run_id="run1", execution_expiration=expiration,
    )  # fmt: skip


def test_a_later_run_keeps_the_execution_timeout_key_of_the_second() -> None:
    kernel = _Clock()
    keys = TimerShift(kernel, SECOND)
    deadline = kernel.time + 3 * SECOND
    keys.advance(1)  # a read now: the minimum is a second ahead
    run2 = Mutation("run2", "wf", 0, _state("run2", deadline), ())
    keys.written(1, [run2], [_task(1, rq.WorkflowRunTimeoutTask(kernel.time + SECOND), "run2")])
    kernel.time += 2500 * MS  # the third run is written half a second before the deadline
    keys.advance(1)
    run3 = Mutation("run3", "wf", 0, _state("run3", deadline), ())
    backoff = _task(2, rq.WorkflowBackoffTask(kernel.time + 400 * MS), "run3")
    timeout = _task(3, rq.WorkflowRunTimeoutTask(deadline), "run3")
    keys.written(1, [run3], [backoff, timeout])
    assert keys.fire_time(1, timeout, deadline) == deadline
    assert keys.fire_time(1, backoff, kernel.time + 400 * MS) > deadline
    # the chain's key is kept until its execution timeout has fired, then dropped
    kernel.time = deadline + SECOND
    keys.advance(1)
    assert list(keys.chains) == [(1, "run1")]
    kernel.time += 2 * MS
    keys.advance(1)
    assert keys.chains == {}


@workflow.defn(name="TimerReadsWait", sandboxed=False)
class Wait:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


def _types(events: list[dict[str, object]]) -> list[str]:
    return [str(e["eventType"]) for e in events]


@pytest.mark.asyncio
@bounded
async def test_exec_vs_run_ends_as_on_the_dev_server(address: str) -> None:
    recorded = json.loads((FIXTURE / "exec-vs-run.last.json").read_text())["events"]
    assert "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED" not in _types(recorded)
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[Wait]):
        handle = await client.start_workflow(
            Wait.run, id=f"reads-{uuid.uuid4()}", task_queue=QUEUE,
            execution_timeout=timedelta(seconds=3), run_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )  # fmt: skip
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        last = await client.get_workflow_handle(handle.id).fetch_history()
    types = [ev.EventType.Name(e.event_type) for e in last.events]
    assert types == _types(recorded)
