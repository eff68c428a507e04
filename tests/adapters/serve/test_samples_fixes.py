"""What the official Python samples (temporalio/samples-python) found `tmodel serve`
doing differently from the dev server, each reproduced here on its own: the rule on the
pure history service first (deterministic), then the sample's shape through temporalio
against a served model (one server for the module)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from core import requests as rq
from sim.service_run import ServiceRun
from tests.adapters.serve.serving import serve


@pytest.mark.parametrize("inline", [False, True])
def test_an_update_admitted_during_a_task_gets_a_task_of_its_own(inline: bool) -> None:
    """hello/hello_update: an update that arrives while the first task is with the worker
    is not in that task; completing the task must schedule another to carry it, or the
    caller waits forever (`HasOutgoingMessages` in respondworkflowtaskcompleted/api.go).
    The task is speculative, started inline, when the worker asks for the next task (as
    every SDK does), and a normal one otherwise (a speculative task is never dispatched)."""
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    token = run.poll()
    run.send(rq.UpdateWorkflowExecution("u1"))
    assert run.state.wft is not None and run.state.wft.started  # no second task yet
    reply = run.send(rq.RespondWorkflowTaskCompleted(token, (), return_new_workflow_task=inline))
    wft = run.state.wft
    assert wft is not None, "the waiting update has no task to carry it"
    assert wft.speculative == inline and wft.started == inline
    if inline:
        assert isinstance(reply, rq.WorkflowTaskCompletedOk) and reply.new_task is not None
    else:
        started = run.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p"))
        assert isinstance(started, rq.WorkflowTaskStarted)


@pytest.mark.parametrize("inline", [False, True])
def test_an_update_admitted_during_a_discarded_task_gets_a_task_of_its_own(inline: bool) -> None:
    """The same when the task in flight was itself speculative and only rejected."""
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), ()))
    run.send(rq.UpdateWorkflowExecution("u1"))
    token = run.poll()
    run.send(rq.UpdateWorkflowExecution("u2"))
    reject = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.REJECT)
    completion = rq.RespondWorkflowTaskCompleted(
        token, (), messages=(reject,), return_new_workflow_task=inline
    )
    run.send(completion)
    assert [u.update_id for u in run.state.updates] == ["u2"]
    wft = run.state.wft
    assert wft is not None, "the waiting update has no task to carry it"
    assert wft.speculative == inline and wft.started == inline


@workflow.defn(name="SamplesSlowStart", sandboxed=False)
class SlowStart:
    """hello_update's GreetingWorkflow, with a first activation slow enough that the
    update the test sends right after starting arrives while that task is in flight."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> str:
        time.sleep(0.3)  # holds the first task on purpose
        await workflow.wait_condition(lambda: self.done)
        return "done"

    @workflow.update
    async def finish(self) -> str:
        self.done = True
        return "updated"


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve() as address:
        yield address


def test_hello_update_sent_right_after_start_completes(address: str) -> None:
    async def main() -> None:
        client = await Client.connect(address)
        queue = f"q-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=[SlowStart]):
            handle = await client.start_workflow(
                SlowStart.run, id=f"u-{uuid.uuid4()}", task_queue=queue
            )
            await asyncio.sleep(0.1)  # the first task is with the worker now
            assert await asyncio.wait_for(handle.execute_update(SlowStart.finish), 10) == "updated"
            assert await asyncio.wait_for(handle.result(), 10) == "done"

    asyncio.run(main())
