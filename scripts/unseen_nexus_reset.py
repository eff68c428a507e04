#!/usr/bin/env python3
"""Record nexus-reset*: resets of a caller run whose Nexus operation is pending.

Dev tool, alongside record_unseen.py's `nexus` scenario (unseen_nexus.py, whose
service, handler and handler workflow it reuses). Two shapes:

- `pending` (nexus-reset): the caller (`NxResetCaller`) starts a workflow-run operation
  whose handler run sleeps 8 s and waits for its result; once the operation has
  started, the caller is reset to its last workflow task, and the handler run's
  completion then reaches the reset run. Writes `nexus-reset.base`, `nexus-reset` and
  the handler run, `nexus-reset.handler`.
- `reapply` (nexus-reset-reapply): the caller (`NxResetReapplyCaller`) waits for an
  operation whose handler run naps 3 s, then sleeps 1 s and completes; it is then reset
  to its workflow task before the completion, which the reset reapplies. Writes
  `nexus-reset-reapply.base` and `nexus-reset-reapply`.

Each history in the forms record_unseen.py writes. Start the dev server first, with its
HTTP API, and run from the repository's root:

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234

Usage::

    PYTHONPATH=. python scripts/unseen_nexus_reset.py [--address HOST:PORT]
        [--http HOST:PORT] [--out DIR] [pending] [reapply]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import uuid
from pathlib import Path

from record_unseen import Recorder
from temporalio import workflow
from temporalio.api.common.v1 import Priority, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker
from unseen_nexus import (
    NxHandler,
    NxService,
    NxTarget,
    OptionsTarget,
    RunInput,
    _update_options,
)

QUEUE = "hh-nxr"
ENDPOINT = "hh-nxr-endpoint"


@workflow.defn
class NxResetCaller:
    @workflow.run
    async def run(self, workflow_id: str) -> str:
        nx = workflow.create_nexus_client(service=NxService, endpoint=ENDPOINT)
        handle = await nx.start_operation(NxService.run, RunInput("sleep", workflow_id))
        return str(await handle)


@workflow.defn
class NxResetReapplyCaller:
    """Waits for an operation whose handler run naps (3 s), then sleeps 1 s."""

    @workflow.run
    async def run(self, workflow_id: str) -> str:
        nx = workflow.create_nexus_client(service=NxService, endpoint=ENDPOINT)
        result = await nx.execute_operation(NxService.run, RunInput("nap", workflow_id))
        await workflow.sleep(1)
        return result


def _last_completed_before(history: WorkflowHistory, event_type: int) -> int:
    """The last WorkflowTaskCompleted before the first event of `event_type` (all of
    them when there is none)."""
    cut = next((e.event_id for e in history.events if e.event_type == event_type), 10**9)
    return max(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < cut
    )


async def _reset(r: Recorder, wid: str, run_id: str, at: int) -> str:
    reset = await r.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=wid, run_id=run_id),
            reason="nexus-reset",
            workflow_task_finish_event_id=at,
            request_id=str(uuid.uuid4()),
        )
    )
    print(f"reset {run_id} at {at} -> {reset.run_id}", flush=True)
    return reset.run_id


async def record_reapply(r: Recorder) -> None:
    """nexus-reset-reapply: the caller waited for the operation, which completed, and
    then finished; reset to its workflow task before the completion (the operation
    pending at the reset point), the reset run gets the completion again by the reset's
    reapply (NexusOperationCompleted's CherryPick, components/nexusoperations/events.go)."""
    wid = f"hh-nx-reset-reapply-{uuid.uuid4().hex[:6]}"
    async with Worker(
        r.client,
        task_queue=QUEUE,
        workflows=[NxResetReapplyCaller, NxTarget],
        nexus_service_handlers=[NxHandler()],
    ):
        h = await r.client.start_workflow(
            NxResetReapplyCaller.run, f"{wid}.handler", id=wid, task_queue=QUEUE
        )
        await r.run("nexus-reset-reapply.base", h)
        history = await h.fetch_history()
        base = history.run_id
        at = _last_completed_before(history, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)
        new = r.client.get_workflow_handle(wid, run_id=await _reset(r, wid, base, at))
        try:
            await asyncio.wait_for(r.run("nexus-reset-reapply", new), 30)
        except TimeoutError:
            print("the reset run did not close in 30 s", flush=True)
        await asyncio.sleep(1)
        await r.dump("nexus-reset-reapply.base", wid, base)
        await r.dump("nexus-reset-reapply", wid, new.run_id)


async def record_options(r: Recorder) -> None:
    """options-reset: a run's priority is set by UpdateWorkflowExecutionOptions after its
    first workflow task; the run is reset to that task, and the reset reapplies the
    WorkflowExecutionOptionsUpdated (`reapplyEvents` in workflow_resetter.go); a signal
    then ends the reset run."""
    wid = f"hh-options-reset-{uuid.uuid4().hex[:6]}"
    async with Worker(r.client, task_queue=QUEUE, workflows=[OptionsTarget]):
        h = await r.client.start_workflow(OptionsTarget.run, id=wid, task_queue=QUEUE)
        await asyncio.sleep(1)
        options = WorkflowExecutionOptions(priority=Priority(priority_key=2))
        await _update_options(r, wid, ["priority"], options)
        history = await h.fetch_history()
        base = history.run_id
        at = _last_completed_before(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
        new = r.client.get_workflow_handle(wid, run_id=await _reset(r, wid, base, at))
        await asyncio.sleep(1)
        await new.signal(OptionsTarget.finish)
        await r.run("options-reset", new)
        await r.dump("options-reset.base", wid, base)
        await r.dump("options-reset", wid, new.run_id)


def _endpoint(r: Recorder) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):  # already there
        r.cli(
            "operator", "nexus", "endpoint", "create", "--name", ENDPOINT,
            "--target-namespace", "default", "--target-task-queue", QUEUE,
        )  # fmt: skip


async def record(r: Recorder) -> None:
    """nexus-reset: reset to the caller's last workflow task while the operation it
    waits for is pending; the handler run's completion reaches the reset run."""
    wid = f"hh-nx-reset-{uuid.uuid4().hex[:6]}"
    async with Worker(
        r.client,
        task_queue=QUEUE,
        workflows=[NxResetCaller, NxTarget],
        nexus_service_handlers=[NxHandler()],
    ):
        h = await r.client.start_workflow(
            NxResetCaller.run, f"{wid}.handler", id=wid, task_queue=QUEUE
        )
        await asyncio.sleep(2)  # the operation started, the caller's task after it done
        history = await h.fetch_history()
        base = history.run_id
        at = _last_completed_before(history, EventType.EVENT_TYPE_NEXUS_OPERATION_COMPLETED)
        new = r.client.get_workflow_handle(wid, run_id=await _reset(r, wid, base, at))
        try:
            await asyncio.wait_for(r.run("nexus-reset", new), 30)
        except TimeoutError:
            print("the reset run did not close in 30 s", flush=True)
        await asyncio.sleep(1)
        await r.dump("nexus-reset.base", wid, base)
        await r.dump("nexus-reset", wid, new.run_id)
        await r.dump("nexus-reset.handler", f"{wid}.handler")


async def main(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address)
    args.out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(client, args.address, args.http, args.out)
    _endpoint(recorder)
    if "pending" in args.shapes:
        await record(recorder)
    if "reapply" in args.shapes:
        await record_reapply(recorder)
    if "options" in args.shapes:
        await record_options(recorder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:17233")
    parser.add_argument("--http", default="127.0.0.1:17234")
    parser.add_argument("--out", type=Path, default=Path("unseen-out"))
    parser.add_argument("shapes", nargs="*", default=["pending", "reapply", "options"])
    asyncio.run(main(parser.parse_args()))
