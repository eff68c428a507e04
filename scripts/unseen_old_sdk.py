#!/usr/bin/env python3
"""Record the old-sdk and old1-sdk histories of tests/fixtures/unseen-histories with old
Python SDKs.

Dev tool. Run it in a virtual environment of its own with temporalio 1.7.0 (which sends
no priority) for old-sdk, or 1.1.0 (which also sends its build id as the binary
checksum) for old1-sdk, against `temporal server start-dev` on 127.0.0.1:17233; then
`python scripts/record_unseen.py old` saves the histories.

    python -m venv old && old/bin/pip install temporalio==1.7.0
    old/bin/python scripts/unseen_old_sdk.py            # hh-old-sdk, on queue hh-old
    python -m venv old1 && old1/bin/pip install temporalio==1.1.0
    old1/bin/python scripts/unseen_old_sdk.py old1      # hh-old1-sdk, on queue hh-old1
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker


@activity.defn
async def hello(x: str) -> str:
    if activity.info().attempt < 2:
        raise RuntimeError("first attempt fails")
    return "hello " + x


@workflow.defn
class OldChild:
    @workflow.run
    async def run(self, x: str) -> str:
        await asyncio.sleep(0.2)
        return x.upper()


@workflow.defn
class OldParent:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def release(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> list[str]:
        ten = timedelta(seconds=10)
        policy = RetryPolicy(initial_interval=timedelta(milliseconds=200))
        out = [
            await workflow.execute_activity(
                hello, "old", start_to_close_timeout=ten, retry_policy=policy
            )
        ]
        out.append(
            await workflow.execute_local_activity(
                hello, "local", start_to_close_timeout=ten, retry_policy=policy
            )
        )
        child_id = workflow.info().workflow_id + "-c"
        out.append(await workflow.execute_child_workflow(OldChild.run, "child", id=child_id))
        if workflow.patched("old-patch"):
            out.append("patched")
        await workflow.wait_condition(lambda: self.go)
        return out


async def main(name: str) -> None:
    client = await Client.connect("127.0.0.1:17233")
    queue = f"hh-{name}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OldParent, OldChild],
        activities=[hello],
        build_id="old-build-1",
    ):
        handle = await client.start_workflow(OldParent.run, id=f"{queue}-sdk", task_queue=queue)
        await asyncio.sleep(2)
        await handle.signal(OldParent.release)
        print(await handle.result())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "old"))
