#!/usr/bin/env python3
"""Record reset-point-*: resets to points other than a workflow task's close.

Dev tool, alongside record_unseen.py. The history service takes any reset point whose
previous event ends an event batch and leaves a workflow task pending
(`buildMutableStateFromEvent` in service/history/ndc/state_rebuilder.go,
`failWorkflowTask` in ndc/workflow_resetter.go). Shapes, each reset by a raw
ResetWorkflowExecution:

- `after-signal`: a run no worker polls gets two signals; reset to the second (the
  point after the first signal's batch, its first task never started). A worker then
  ends the new run.
- `after-scheduled`: as after-signal, reset to the event after the first
  WorkflowTaskScheduled (the first signal comes back by reapply).
- `to-started`: a run whose worker completed two tasks, with a signal and an update
  after the second started; reset to that WorkflowTaskStarted's id (the point after
  its Scheduled, which ends the signal's batch).
- `after-failed`: a raw poller fails the first task, a signal follows; reset to the
  event after the WorkflowTaskFailed (a transient task pending).

The refusals asked on the way (to points inside a batch, or with no task pending) are
written to `reset-point-refusals.json`. Each history in the forms record_unseen.py
writes. Start the dev server first and run from the repository's root:

    temporal server start-dev --ip 127.0.0.1 --headless --port 17233 --http-port 17234

Usage::

    PYTHONPATH=scripts:. python scripts/unseen_reset_points.py [--address HOST:PORT]
        [--http HOST:PORT] [--out DIR] [shape ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from record_unseen import Recorder
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import Worker
from unseen_hunt3_raw import _raw_fail

QUEUE = "hh-rp"


@workflow.defn
class RpWaiter:
    """Counts `note` signals and `bump` updates until `finish`."""

    def __init__(self) -> None:
        self.notes = 0
        self.bumps = 0
        self.done = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return f"{self.notes} notes, {self.bumps} bumps"

    @workflow.signal
    def note(self, text: str) -> None:
        self.notes += 1

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.update
    def bump(self, by: int) -> int:
        self.bumps += by
        return self.bumps


async def _reset(r: Recorder, wid: str, run_id: str, at: int) -> str:
    reset = await r.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id=wid, run_id=run_id),
            reason="reset-point",
            workflow_task_finish_event_id=at,
            request_id=str(uuid.uuid4()),
        )
    )
    print(f"reset {run_id} at {at} -> {reset.run_id}", flush=True)
    return reset.run_id


async def _refusal(r: Recorder, wid: str, run_id: str, at: int) -> dict[str, Any]:
    try:
        await _reset(r, wid, run_id, at)
    except RPCError as e:
        return {"at": at, "status": e.status.name, "message": e.message}
    raise RuntimeError(f"the reset of {wid} at {at} was taken")


def _ids(history: Any, event_type: int) -> list[int]:
    return [e.event_id for e in history.events if e.event_type == event_type]


async def _finish(r: Recorder, name: str, wid: str, run_id: str) -> None:
    async with Worker(r.client, task_queue=QUEUE, workflows=[RpWaiter]):
        new: WorkflowHandle[Any, Any] = r.client.get_workflow_handle(wid, run_id=run_id)
        await asyncio.sleep(1)
        await new.signal(RpWaiter.note, "after the reset")
        await new.signal(RpWaiter.finish)
        await asyncio.wait_for(r.run(name, new), 30)


async def record_unpolled(r: Recorder, name: str, at: int, refusals: dict[str, Any]) -> None:
    """after-signal (at 4) and after-scheduled (at 3): two signals to a run no worker
    polls, then a reset to `at`."""
    wid = f"hh-{name}-{uuid.uuid4().hex[:6]}"
    h = await r.client.start_workflow(RpWaiter.run, id=wid, task_queue=QUEUE + "-idle")
    await h.signal(RpWaiter.note, "one")
    await h.signal(RpWaiter.note, "two")
    base = (await h.describe()).run_id
    refusals[f"{name}: at 2"] = await _refusal(r, wid, base, 2)
    new = await _reset(r, wid, base, at)
    # the new run keeps the base's queue, which no worker polls: poll it now
    async with Worker(r.client, task_queue=QUEUE + "-idle", workflows=[RpWaiter]):
        handle: WorkflowHandle[Any, Any] = r.client.get_workflow_handle(wid, run_id=new)
        await asyncio.sleep(1)
        await handle.signal(RpWaiter.finish)
        await asyncio.wait_for(r.run(name, handle), 30)
    await r.dump(f"{name}.base", wid, base)
    await r.dump(name, wid, new)


async def record_to_started(r: Recorder, refusals: dict[str, Any]) -> None:
    """to-started: reset to the second task's Started id, signal and update after it."""
    name = "reset-point-to-started"
    wid = f"hh-{name}-{uuid.uuid4().hex[:6]}"
    async with Worker(r.client, task_queue=QUEUE, workflows=[RpWaiter]):
        h = await r.client.start_workflow(RpWaiter.run, id=wid, task_queue=QUEUE)
        await asyncio.sleep(1)
        await h.signal(RpWaiter.note, "one")
        await asyncio.sleep(1)
        await h.execute_update(RpWaiter.bump, 2)
        await h.signal(RpWaiter.note, "two")
        await asyncio.sleep(1)
    history = await h.fetch_history()
    base = history.run_id
    completed = _ids(history, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    started = _ids(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    signaled = _ids(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    refusals[f"{name}: after a completion"] = await _refusal(r, wid, base, completed[0] + 1)
    refusals[f"{name}: inside a signal's batch"] = await _refusal(r, wid, base, signaled[0] + 1)
    new = await _reset(r, wid, base, started[1])
    await _finish(r, name, wid, new)
    await r.dump(f"{name}.base", wid, base)
    await r.dump(name, wid, new)


async def record_after_failed(r: Recorder) -> None:
    """after-failed: a raw poller fails the first task; a signal; reset to the event
    after the WorkflowTaskFailed."""
    name = "reset-point-after-failed"
    wid = f"hh-{name}-{uuid.uuid4().hex[:6]}"
    queue = QUEUE + "-raw"
    h = await r.client.start_workflow(RpWaiter.run, id=wid, task_queue=queue)
    await _raw_fail(r, queue)
    await h.signal(RpWaiter.note, "one")
    history = await h.fetch_history()
    base = history.run_id
    failed = _ids(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    new = await _reset(r, wid, base, failed[0] + 1)
    async with Worker(r.client, task_queue=queue, workflows=[RpWaiter]):
        handle: WorkflowHandle[Any, Any] = r.client.get_workflow_handle(wid, run_id=new)
        await asyncio.sleep(1)
        await handle.signal(RpWaiter.finish)
        await asyncio.wait_for(r.run(name, handle), 30)
    await r.dump(f"{name}.base", wid, base)
    await r.dump(name, wid, new)


async def main(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address)
    args.out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(client, args.address, args.http, args.out)
    refusals: dict[str, Any] = {}
    if "after-signal" in args.shapes:
        await record_unpolled(recorder, "reset-point-after-signal", 4, refusals)
    if "after-scheduled" in args.shapes:
        await record_unpolled(recorder, "reset-point-after-scheduled", 3, refusals)
    if "to-started" in args.shapes:
        await record_to_started(recorder, refusals)
    if "after-failed" in args.shapes:
        await record_after_failed(recorder)
    text = json.dumps(refusals, indent=1, sort_keys=True) + "\n"
    (args.out / "reset-point-refusals.json").write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:17233")
    parser.add_argument("--http", default="127.0.0.1:17234")
    parser.add_argument("--out", type=Path, default=Path("unseen-out"))
    shapes = ["after-signal", "after-scheduled", "to-started", "after-failed"]
    parser.add_argument("shapes", nargs="*", default=shapes)
    asyncio.run(main(parser.parse_args()))
