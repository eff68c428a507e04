"""The raw-poller parts of the `hunt3` scenario (unseen_hunt3_scenario.py): workflow
tasks failed or held by a raw gRPC poller, or waiting for no worker, while signals,
updates, timers, activities, cancel requests, terminations and resets arrive."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.protocol.v1 import Message
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Rejection
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
)
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_workflows_hunt3 import (
    _FAILED,
    HUNT3_ACTIVITIES,
    HUNT3_WORKFLOWS,
    BeatsElsewhere,
    BreaksLater,
    Broken,
)

if TYPE_CHECKING:
    from record_unseen import Recorder

from unseen_hunt3_scenario import _run, _start


async def _raw_fail(r: Recorder, queue: str) -> None:
    """A raw poller takes the queue's next workflow task and fails it."""
    service = r.client.workflow_service
    poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=queue), identity="raw-poller"
    )
    task = await service.poll_workflow_task_queue(poll)
    await service.respond_workflow_task_failed(
        RespondWorkflowTaskFailedRequest(
            namespace="default", task_token=task.task_token, identity="raw-poller",
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
            failure=Failure(message="failed by a raw poller"),
        )
    )  # fmt: skip


async def transient(r: Recorder) -> None:
    """transient-signals: the first task fails (a raw poller), and two signals arrive
    while nobody polls its transient retry; transient-two-fails: the retry fails too
    (attempt 2, a raw poller), then two signals, then a worker."""
    for name, fails in (("transient-signals", 1), ("transient-two-fails", 2)):
        queue = f"hh3-raw-{name}"
        h = await r.client.start_workflow(Broken.run, "plain", id=f"hh3-{name}", task_queue=queue)
        for _ in range(fails):
            await _raw_fail(r, queue)
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(0.5)
        async with Worker(
            r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS, activities=HUNT3_ACTIVITIES,
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):  # fmt: skip
            await asyncio.sleep(1)
            await h.signal(Broken.finish)
            await _run(r, name, h)
        await r.dump(name, h.id)


async def speculative(r: Recorder) -> None:
    """speculative-signal: with no worker polling, an update's speculative task waits
    unstarted while a signal arrives; then a worker takes it."""
    queue = "hh3-raw-speculative"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    async with worker():
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-speculative-signal", task_queue=queue
        )
        await asyncio.sleep(1)
    _FAILED.add("spec")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "spec"))
    await asyncio.sleep(1)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.5)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.5)
    async with worker():
        print(f"  the update: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "speculative-signal", h)
    await r.dump("speculative-signal", h.id)


async def _raw_poll(r: Recorder, queue: str) -> Any:
    poll = PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=queue), identity="raw-poller"
    )
    return await r.client.workflow_service.poll_workflow_task_queue(poll)


async def raw(r: Recorder) -> None:
    """raw-*: workflow tasks held by a raw poller that never answers (a speculative one,
    a transient one) while signals and updates arrive, and an update to a transient task
    nobody polls."""
    two = timedelta(seconds=2)
    for name in ("raw-spec-timeout", "raw-transient-held", "raw-transient-update"):
        queue = f"hh3-{name}"
        worker = partial(
            Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
            activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
        )  # fmt: skip
        update: asyncio.Future[Any] | None = None
        if name == "raw-spec-timeout":
            async with worker():
                h = await r.client.start_workflow(
                    Broken.run, "plain", id=f"hh3-{name}", task_queue=queue, task_timeout=two
                )
                await asyncio.sleep(1)
            _FAILED.add(name)
            update = asyncio.ensure_future(h.execute_update(Broken.flaky, name))
            await _raw_poll(r, queue)  # the speculative task, never answered
        else:
            h = await r.client.start_workflow(
                Broken.run, "plain", id=f"hh3-{name}", task_queue=queue, task_timeout=two
            )
            await _raw_fail(r, queue)
            if name == "raw-transient-held":
                await _raw_poll(r, queue)  # attempt 2, never answered
            else:
                _FAILED.add(name)
                update = asyncio.ensure_future(h.execute_update(Broken.flaky, name))
        await asyncio.sleep(0.5)
        await h.signal(Broken.fix)
        await asyncio.sleep(3)  # past the held task's 2 s timeout
        async with worker():
            if update is not None:
                with contextlib.suppress(Exception):
                    print(f"  {name} update: {await asyncio.wait_for(update, 20)}", flush=True)
            await h.signal(Broken.finish)
            await _run(r, name, h)
        await r.dump(name, h.id)


async def held(r: Recorder) -> None:
    """breaks-later: a timer fires and an activity completes while failing retries are
    held; held-terminate, held-cancel: a raw poller holds a transient task when the run
    is terminated, or a cancel is requested."""
    h = await _start(r, BreaksLater.run, id="hh3-breaks-later", task_timeout=timedelta(seconds=3))
    await asyncio.sleep(0.5)
    await h.signal(BreaksLater.brk)
    await asyncio.sleep(6)
    await h.signal(BreaksLater.fix)
    await _run(r, "breaks-later", h)
    await r.dump("breaks-later", h.id)
    for name in ("held-terminate", "held-cancel"):
        queue = f"hh3-{name}"
        h = await r.client.start_workflow(
            Broken.run, "plain", id=f"hh3-{name}", task_queue=queue,
            task_timeout=timedelta(seconds=2),
        )  # fmt: skip
        await _raw_fail(r, queue)
        await _raw_poll(r, queue)  # attempt 2, held
        await asyncio.sleep(0.3)
        if name == "held-terminate":
            await h.terminate("while a transient task was held")
            await asyncio.sleep(0.5)
        else:
            await h.cancel()
            await asyncio.sleep(2.5)
            async with Worker(
                r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
                activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
            ):  # fmt: skip
                await _run(r, name, h)
        await r.dump(name, h.id)


_KILLED_WORKER = """
import asyncio, sys
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from unseen_workflows_hunt3 import HUNT3_ACTIVITIES, HUNT3_WORKFLOWS
async def main():
    client = await Client.connect(sys.argv[1])
    async with Worker(client, task_queue=sys.argv[2], workflows=HUNT3_WORKFLOWS,
                      activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner()):
        print("polling", flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def held2(r: Recorder) -> None:
    """held-update: an update while a raw poller holds a transient task (no event: the
    next attempt stays transient); sticky-spec-killed: an update's speculative task goes
    to the sticky queue of a worker killed by SIGKILL; held-reset: a run reset while a
    raw poller holds its transient task."""
    queue = "hh3-held-update"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    h = await r.client.start_workflow(
        Broken.run, "plain", id="hh3-held-update", task_queue=queue,
        task_timeout=timedelta(seconds=2),
    )  # fmt: skip
    await _raw_fail(r, queue)
    await _raw_poll(r, queue)  # attempt 2, held
    _FAILED.add("held-update")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "held-update"))
    await asyncio.sleep(3)
    async with worker():
        with contextlib.suppress(Exception):
            print(f"  held-update: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "held-update", h)
    await r.dump("held-update", h.id)
    # the sticky queue's worker dies; an update's speculative task goes there
    queue = "hh3-sticky-spec"
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, r.address, queue], cwd=here,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        await asyncio.to_thread(child.stdout.readline)
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-sticky-spec-killed", task_queue=queue
        )
        await asyncio.sleep(2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    _FAILED.add("sticky-spec")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "sticky-spec"))
    await asyncio.sleep(12)  # past the sticky schedule-to-start timeout
    async with worker(task_queue=queue):
        with contextlib.suppress(Exception):
            print(f"  sticky-spec: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "sticky-spec-killed", h)
    await r.dump("sticky-spec-killed", h.id)
    # a reset while a raw poller holds the transient task
    queue = "hh3-held-reset"
    h = await r.client.start_workflow(
        Broken.run, "plain", id="hh3-held-reset", task_queue=queue,
        task_timeout=timedelta(seconds=2),
    )  # fmt: skip
    await _raw_fail(r, queue)
    await _raw_poll(r, queue)
    await asyncio.sleep(0.3)
    base = (await h.describe()).run_id
    r.cli(
        "workflow", "reset", "-w", h.id, "-r", base, "--type", "FirstWorkflowTask",
        "--reason", "while held",
    )  # fmt: skip
    await asyncio.sleep(0.5)
    async with worker(task_queue=queue):
        again = r.client.get_workflow_handle(h.id)
        await again.signal(Broken.finish)
        await _run(r, "held-reset", again)
    await r.dump("held-reset.base", h.id, base)
    await r.dump("held-reset", h.id, (await again.describe()).run_id)


async def rejected(r: Recorder) -> None:
    """spec-rejected-signal: a raw poller takes an update's speculative task, a signal
    arrives while it holds it, and it answers with nothing but the update's rejection."""
    queue = "hh3-spec-rejected"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    async with worker():
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-spec-rejected-signal", task_queue=queue
        )
        await asyncio.sleep(1)
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "rejected"))
    task = await _raw_poll(r, queue)
    await h.signal(Broken.fix)
    await asyncio.sleep(0.3)
    request = task.messages[0]
    rejection = Rejection(
        rejected_request_message_id=request.id,
        rejected_request_sequencing_event_id=task.history.events[-1].event_id,
        failure=Failure(message="rejected by a raw poller"),
    )
    body = AnyProto()
    body.Pack(rejection)
    reply = Message(
        id=f"{request.protocol_instance_id}/reject",
        protocol_instance_id=request.protocol_instance_id,
        body=body,
    )
    await r.client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, identity="raw-poller",
            messages=[reply],
        )
    )  # fmt: skip
    with contextlib.suppress(Exception):
        print(f"  the update: {await asyncio.wait_for(update, 10)}", flush=True)
    async with worker():
        await h.signal(Broken.finish)
        await _run(r, "spec-rejected-signal", h)
    await r.dump("spec-rejected-signal", h.id)


async def beats(r: Recorder) -> None:
    """spec-heartbeats: an update's speculative task waits unpolled while an activity
    on another queue heartbeats (mutable state written, no events)."""
    queue = "hh3-beats-wf"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    acts = Worker(r.client, task_queue="hh3-beats-acts", activities=HUNT3_ACTIVITIES)
    async with acts:
        async with worker():
            h = await r.client.start_workflow(
                BeatsElsewhere.run, id="hh3-spec-heartbeats", task_queue=queue
            )
            await asyncio.sleep(1)
        update = asyncio.ensure_future(h.execute_update(BeatsElsewhere.poke))
        await asyncio.sleep(3)  # heartbeats meanwhile
        async with worker():
            with contextlib.suppress(Exception):
                print(f"  the update: {await asyncio.wait_for(update, 20)}", flush=True)
            await asyncio.sleep(4)
            await h.signal(BeatsElsewhere.finish)
            await _run(r, "spec-heartbeats", h)
    await r.dump("spec-heartbeats", h.id)


async def spec_wait(r: Recorder) -> None:
    """spec-unpolled: an update's speculative task on a normal queue nobody polls for
    8 s (past its 5 s schedule-to-start timeout)."""
    queue = "hh3-spec-unpolled"
    worker = partial(
        Worker, r.client, task_queue=queue, workflows=HUNT3_WORKFLOWS,
        activities=HUNT3_ACTIVITIES, workflow_runner=UnsandboxedWorkflowRunner(),
    )  # fmt: skip
    async with worker():
        h = await r.client.start_workflow(
            Broken.run, "plain", id="hh3-spec-unpolled", task_queue=queue
        )
        await asyncio.sleep(1)
    _FAILED.add("unpolled")
    update = asyncio.ensure_future(h.execute_update(Broken.flaky, "unpolled"))
    await asyncio.sleep(8)
    async with worker():
        with contextlib.suppress(Exception):
            print(f"  the update: {await asyncio.wait_for(update, 20)}", flush=True)
        await h.signal(Broken.finish)
        await _run(r, "spec-unpolled", h)
    await r.dump("spec-unpolled", h.id)


RAW_PARTS = (spec_wait, beats, rejected, held2, held, raw, speculative, transient)
