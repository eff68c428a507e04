"""Testing your own workflow against the reference model (`tmodel serve`).

Run it with pytest: the fixture starts `tmodel serve` on a free loopback port, the test
runs an official temporalio worker and client against it. The project's own test suite
runs this file (tests/docs/test_serve_examples.py), so it stays correct.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from adapters.serve.process import serve_process


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn(sandboxed=False)
class GreetingWorkflow:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.approved)
        await workflow.sleep(timedelta(days=1))  # a day later...
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def is_approved(self) -> bool:
        return self.approved


@pytest.fixture(scope="module")
def tmodel_address() -> Iterator[str]:
    # `tmodel serve --time-skipping`: the day-long timer passes as soon as nothing is
    # in flight, so the test takes milliseconds.
    with serve_process("--time-skipping") as address:
        yield address


@pytest.fixture
async def env(tmodel_address: str) -> AsyncIterator[WorkflowEnvironment]:
    client = await Client.connect(tmodel_address)
    yield WorkflowEnvironment.from_client(client)


async def test_greeting_waits_for_approval(env: WorkflowEnvironment) -> None:
    async with Worker(
        env.client, task_queue="greetings", workflows=[GreetingWorkflow], activities=[greet]
    ):
        handle = await env.client.start_workflow(
            GreetingWorkflow.run, "Ada", id="greeting-ada", task_queue="greetings"
        )
        assert await handle.query(GreetingWorkflow.is_approved) is False
        await handle.signal(GreetingWorkflow.approve)
        assert await handle.result() == "Hello, Ada!"


def drop_in_test_server() -> str:
    """The path to hand to `WorkflowEnvironment.start_time_skipping(
    test_server_existing_path=...)`: tmodel serves in place of the Java test server."""
    path = shutil.which("tmodel-test-server")
    assert path is not None, "pip install temporal-model provides tmodel-test-server"
    return path
