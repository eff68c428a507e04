"""What the rest of the official Python samples (temporalio/samples-python) found `tmodel
serve` doing differently from the dev server, each reproduced on its own through
temporalio against a served model (one server for the module)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.serve import nexus_attempts, nexus_tasks
from adapters.serve.tokens import decode_task_token
from tests.adapters.serve.serving import serve


@workflow.defn(name="SamplesEntity", sandboxed=False)
class Entity:
    """nexus_messaging's GreetingWorkflow in short: a long-lived run that takes updates
    from whichever worker polls its queue now."""

    def __init__(self) -> None:
        self.value = "first"
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return self.value

    @workflow.update
    def set_value(self, value: str) -> str:
        previous, self.value = self.value, value
        return previous

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve() as address:
        yield address


def test_an_update_after_the_sticky_worker_shut_down_goes_to_the_next_worker(
    address: str,
) -> None:
    """nexus_messaging/callerpattern: the handler workflow outlives the first test's
    worker, and the next test's update waited 10 s for the gone worker's sticky queue
    (its Nexus start timed out meanwhile). A worker's shutdown unloads its sticky queue
    (ShutdownWorker, service/frontend/workflow_handler.go), so on the dev server the
    update's task goes to the normal queue at once."""

    async def main() -> float:
        client = await Client.connect(address)
        queue = f"q-{uuid.uuid4()}"
        handle = await client.start_workflow(Entity.run, id=f"e-{uuid.uuid4()}", task_queue=queue)
        async with Worker(client, task_queue=queue, workflows=[Entity]):
            assert await handle.execute_update(Entity.set_value, "second") == "first"
        # the first worker is gone (its run is cached on its sticky queue); a new one
        loop = asyncio.get_running_loop()
        async with Worker(client, task_queue=queue, workflows=[Entity]):
            began = loop.time()
            previous = await asyncio.wait_for(handle.execute_update(Entity.set_value, "third"), 30)
            took = loop.time() - began
            assert previous == "second"
            await handle.signal(Entity.finish)
            assert await asyncio.wait_for(handle.result(), 30) == "third"
        return took

    took = asyncio.run(main())
    # the sticky window (and the worker's sticky schedule-to-start timeout) is 10 s
    assert took < 5.0, f"the update waited {took:.1f} s for the shut-down worker's sticky queue"


def test_a_nexus_start_tried_again_after_its_request_timeout_has_a_new_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """nexus_messaging/callerpattern (while its update waited): the start whose request
    timed out came back to the handler worker under the token of the attempt it was still
    running, and the SDK's table of running tasks, keyed by token, lost one ("Failed to
    remove task for completed Nexus start operation"). Each dispatch has its own id
    (matching's DispatchNexusTask), so the second attempt has a new token and a late
    answer to the first finds no task."""
    monkeypatch.setattr(nexus_tasks, "REQUEST_TIMEOUT", 0.05)
    # The timed-out attempt backs off by the component's policy before it is queued again
    # (nexus_attempts.py): 40-50 ms here instead of about 1 s.
    monkeypatch.setattr(nexus_attempts, "INITIAL_INTERVAL", 50_000_000)
    operation = SimpleNamespace(scheduled_event_id=5, request_id="req")
    record = SimpleNamespace(state=SimpleNamespace(running=True, nexus_operations=[operation]))
    runtime = SimpleNamespace(
        commit_listeners=[],
        holds=[],
        kernel=SimpleNamespace(poke=lambda: None),
        persistence=SimpleNamespace(runs={"run": record}),
    )
    tasks = nexus_tasks.NexusTasks(cast(Any, SimpleNamespace(runtime=runtime, now=lambda: 0)))

    async def main() -> tuple[bytes, bytes, object]:
        task_id = next(tasks._ids)  # as _dispatch numbers a task
        tasks.offer(nexus_tasks.NexusTask(task_id, "ns", "handler-q", "ns", "wf", "run", 5, "req"))
        first = await tasks.poll("ns", "handler-q", None)
        assert first is not None
        await asyncio.sleep(0.2)  # its request times out; the start is queued again
        second = await tasks.poll("ns", "handler-q", None)
        assert second is not None and second.scheduled_event_id == 5
        late = tasks.take(decode_task_token(first.token()).query_id)
        return first.token(), second.token(), late

    first, second, late = asyncio.run(main())
    assert first != second, "the second attempt reuses the first attempt's token"
    assert late is None, "a late answer to the timed-out attempt was taken as the second's"
