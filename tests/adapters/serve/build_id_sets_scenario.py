"""The deprecated worker-versioning (v1) calls, raw: UpdateWorkerBuildIdCompatibility,
GetWorkerBuildIdCompatibility and GetWorkerTaskReachability, their answers and their
errors for bad requests, normalised as api_errors_base.py does.

`python -m tests.adapters.serve.build_id_sets_scenario HOST:PORT` prints the transcript
as JSON; tests/fixtures/serve/build_id_sets_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0) started with
`frontend.workerVersioningDataAPIs=true`, as the SDK's conftest starts it (without it
the dev server refuses the three calls with PERMISSION_DENIED). The server must be
fresh: the scenario uses fixed task queue names.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from tests.adapters.serve.api_errors_base import LONG, NS, Base

DEV_CONFIG = ("frontend.workerVersioningDataAPIs=true",)
Q = "bs-main"
KINDS = {
    tq_enums.TASK_REACHABILITY_UNSPECIFIED: "unspecified",
    tq_enums.TASK_REACHABILITY_NEW_WORKFLOWS: "new",
    tq_enums.TASK_REACHABILITY_EXISTING_WORKFLOWS: "existing",
    tq_enums.TASK_REACHABILITY_OPEN_WORKFLOWS: "open",
    tq_enums.TASK_REACHABILITY_CLOSED_WORKFLOWS: "closed",
}


def dev_args() -> list[str]:
    return [arg for value in DEV_CONFIG for arg in ("--dynamic-config-value", value)]


def update(
    queue: str = Q, namespace: str = NS, **operation: Any
) -> ws.UpdateWorkerBuildIdCompatibilityRequest:
    return ws.UpdateWorkerBuildIdCompatibilityRequest(
        namespace=namespace, task_queue=queue, **operation
    )


def compatible(new: str, existing: str, make_default: bool = False) -> dict[str, Any]:
    op = ws.UpdateWorkerBuildIdCompatibilityRequest.AddNewCompatibleVersion(
        new_build_id=new, existing_compatible_build_id=existing, make_set_default=make_default
    )
    return {"add_new_compatible_build_id": op}


def merge(primary: str, secondary: str) -> dict[str, Any]:
    op = ws.UpdateWorkerBuildIdCompatibilityRequest.MergeSets(
        primary_set_build_id=primary, secondary_set_build_id=secondary
    )
    return {"merge_sets": op}


def get(queue: str = Q, max_sets: int = 0, namespace: str = NS) -> Message:
    return ws.GetWorkerBuildIdCompatibilityRequest(
        namespace=namespace, task_queue=queue, max_sets=max_sets
    )


def reach(build_ids: list[str], queues: list[str] | None = None, kind: Any = 0) -> Message:
    return ws.GetWorkerTaskReachabilityRequest(
        namespace=NS, build_ids=build_ids, task_queues=queues or [], reachability=kind
    )


class Scenario(Base):
    async def step(self, name: str, rpc: Any, request: Message) -> None:
        """Record `name`: the reply's fields (or the error, as Base.call records it)."""
        reply = await self.call(name, rpc, request)
        if reply is not None:
            self.log[name] = json_format.MessageToDict(reply)

    async def updates(self) -> None:
        s = self.service
        up, get_ = s.update_worker_build_id_compatibility, s.get_worker_build_id_compatibility
        await self.step("get-unknown-queue", get_, get("bs-never"))
        await self.step("add-default-1.0", up, update(add_new_build_id_in_new_default_set="1.0"))
        await self.step(
            "add-default-1.0-again", up, update(add_new_build_id_in_new_default_set="1.0")
        )
        await self.step("add-compatible-1.1", up, update(**compatible("1.1", "1.0")))
        await self.step("get-after-1.1", get_, get())
        await self.step("add-compatible-1.1-again", up, update(**compatible("1.1", "1.0")))
        await self.step(
            "add-default-1.1-exists", up, update(add_new_build_id_in_new_default_set="1.1")
        )
        await self.step(
            "add-default-1.0-exists", up, update(add_new_build_id_in_new_default_set="1.0")
        )
        await self.step("promote-within-1.0", up, update(promote_build_id_within_set="1.0"))
        await self.step("promote-within-1.0-again", up, update(promote_build_id_within_set="1.0"))
        await self.step("get-after-promote-within", get_, get())
        await self.step("add-compatible-1.1-not-default", up, update(**compatible("1.1", "1.0")))
        await self.step("add-default-2.0", up, update(add_new_build_id_in_new_default_set="2.0"))
        await self.step("add-compatible-1.2-default", up, update(**compatible("1.2", "1.0", True)))
        await self.step("get-after-1.2", get_, get())
        await self.step("add-default-3.0", up, update(add_new_build_id_in_new_default_set="3.0"))
        await self.step(
            "add-compatible-1.2-set-not-default", up, update(**compatible("1.2", "1.1", True))
        )
        await self.step("add-compatible-2.0-to-1.0", up, update(**compatible("2.0", "1.0")))
        await self.step("add-compatible-unknown-existing", up, update(**compatible("4.0", "9.9")))
        await self.step("promote-set-2.0", up, update(promote_set_by_build_id="2.0"))
        await self.step("promote-set-2.0-again", up, update(promote_set_by_build_id="2.0"))
        await self.step("get-after-promote-set", get_, get())
        await self.step("get-max-sets-2", get_, get(max_sets=2))
        await self.step("promote-set-unknown", up, update(promote_set_by_build_id="9.9"))
        await self.step("promote-within-unknown", up, update(promote_build_id_within_set="9.9"))
        await self.step("merge-unknown-primary", up, update(**merge("9.9", "1.0")))
        await self.step("merge-unknown-secondary", up, update(**merge("1.0", "9.9")))
        await self.step("merge-same-set", up, update(**merge("1.0", "1.1")))
        await self.step("merge-3.0-into-1.0", up, update(**merge("3.0", "1.0")))
        await self.step("get-after-merge", get_, get())
        await self.step("merge-2.0-with-3.0", up, update(**merge("1.2", "2.0")))
        await self.step("get-after-second-merge", get_, get())

    async def bad_updates(self) -> None:
        up = self.service.update_worker_build_id_compatibility
        await self.step("update-no-operation", up, update())
        await self.step(
            "update-no-queue", up, update(queue="", add_new_build_id_in_new_default_set="x")
        )
        await self.step(
            "update-no-namespace", up, update(namespace="", add_new_build_id_in_new_default_set="x")
        )
        await self.step(
            "update-unknown-namespace",
            up,
            update(namespace="bs-nowhere", add_new_build_id_in_new_default_set="x"),
        )
        await self.step("update-empty-default", up, update(add_new_build_id_in_new_default_set=""))
        await self.step("update-empty-compatible", up, update(**compatible("", "")))
        await self.step("update-empty-promote-set", up, update(promote_set_by_build_id=""))
        await self.step("update-empty-promote-within", up, update(promote_build_id_within_set=""))
        await self.step("update-empty-merge", up, update(**merge("", "")))
        await self.step(
            "update-long-build-id", up, update(add_new_build_id_in_new_default_set="b" * 256)
        )
        await self.step("update-long-compatible", up, update(**compatible("b" * 256, "1.0")))
        await self.step(
            "update-long-queue", up, update(queue=LONG, add_new_build_id_in_new_default_set="x")
        )
        await self.step(
            "update-reserved-queue",
            up,
            update(queue="/_sys/bs", add_new_build_id_in_new_default_set="x"),
        )
        get_ = self.service.get_worker_build_id_compatibility
        await self.step("get-no-queue", get_, get(""))
        await self.step("get-long-queue", get_, get(LONG))
        await self.step("get-reserved-queue", get_, get("/_sys/bs"))
        await self.step("get-unknown-namespace", get_, get(namespace="bs-nowhere"))

    async def limits(self) -> None:
        up = self.service.update_worker_build_id_compatibility
        for i in range(10):
            await up(update("bs-sets", add_new_build_id_in_new_default_set=f"s{i}"))
        await self.step(
            "sets-over-limit", up, update("bs-sets", add_new_build_id_in_new_default_set="s10")
        )
        await up(update("bs-ids", add_new_build_id_in_new_default_set="i0"))
        for i in range(1, 100):
            await up(update("bs-ids", **compatible(f"i{i}", "i0")))
        await self.step("ids-over-limit", up, update("bs-ids", **compatible("i100", "i0")))
        await self.step(
            "ids-over-limit-new-set",
            up,
            update("bs-ids", add_new_build_id_in_new_default_set="i100"),
        )
        for i in range(20):
            await up(update(f"bs-q{i}", add_new_build_id_in_new_default_set="shared"))
        await self.step(
            "queues-over-limit", up, update("bs-q20", add_new_build_id_in_new_default_set="shared")
        )

    async def reachability(self) -> None:
        r = self.service.get_worker_task_reachability
        await self.step("reach-sdk-test", r, reach(["3.0", "1.0", "1.1"]))
        await self.step("reach-queue", r, reach(["3.0", "1.2", "2.0"], [Q]))
        await self.step("reach-unknown-build", r, reach(["9.9"]))
        await self.step("reach-unknown-build-queue", r, reach(["9.9"], [Q, "bs-never"]))
        await self.step("reach-shared", r, reach(["shared"]))
        await self.step("reach-unversioned-queue", r, reach([""], ["bs-plain", Q]))
        start = ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id="bs-waiting",
            workflow_type=common_pb.WorkflowType(name="Waiter"),
            task_queue=tq_pb.TaskQueue(name="bs-plain"),
            request_id="bs-waiting-request",
        )
        await self.call("start-waiting", self.service.start_workflow_execution, start)
        await self.step("reach-unversioned-started", r, reach([""], ["bs-plain"]))
        for kind, name in KINDS.items():
            await self.step(f"reach-unversioned-{name}", r, reach([""], ["bs-plain"], kind))
        await self.step("reach-unversioned-bad-kind", r, reach([""], ["bs-plain"], 99))
        await self.step(
            "reach-default-open", r, reach(["3.0"], [Q], tq_enums.TASK_REACHABILITY_OPEN_WORKFLOWS)
        )
        await self.finished_run()
        for kind, name in KINDS.items():
            await self.step(f"reach-finished-{name}", r, reach([""], ["bs-done"], kind))
        up = self.service.update_worker_build_id_compatibility
        await up(update("bs-demote", add_new_build_id_in_new_default_set="d1"))
        await up(update("bs-demote", add_new_build_id_in_new_default_set="d2"))
        await self.step("reach-demoted", r, reach(["d1", "d2", ""], ["bs-demote"]))
        await self.step("reach-many-queues", r, reach(["3.0"], [f"bs-m{i}" for i in range(21)]))
        await self.step("reach-none", r, reach([]))
        await self.step("reach-too-many", r, reach(["a", "b", "c", "d", "e", "f"]))
        await self.step("reach-unversioned-no-queue", r, reach([""]))
        await self.step("reach-long-build-id", r, reach(["b" * 256]))
        await self.step("reach-long-queue", r, reach(["1.0"], [LONG]))
        await self.step("reach-empty-queue", r, reach(["1.0"], [""]))
        await self.step("reach-reserved-queue", r, reach(["1.0"], ["/_sys/bs"]))

    async def finished_run(self) -> None:
        """A run on `bs-done` whose one workflow task an unversioned worker of build
        "raw" completed (its BuildIds: "unversioned", "unversioned:raw")."""
        start = ws.StartWorkflowExecutionRequest(
            namespace=NS,
            workflow_id="bs-finished",
            workflow_type=common_pb.WorkflowType(name="Waiter"),
            task_queue=tq_pb.TaskQueue(name="bs-done"),
            request_id="bs-finished-request",
        )
        await self.service.start_workflow_execution(start)
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name="bs-done"), identity="scenario"
        )
        task = await self.service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=30))
        done = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                command_pb.CompleteWorkflowExecutionCommandAttributes()
            ),
        )
        completion = ws.RespondWorkflowTaskCompletedRequest(
            namespace=NS,
            task_token=task.task_token,
            commands=[done],
            identity="scenario",
            worker_version_stamp=common_pb.WorkerVersionStamp(build_id="raw"),
        )
        await self.service.respond_workflow_task_completed(completion)


async def record(client: Client) -> dict[str, Any]:
    """Run the scenario on `client`'s server (which must not know its queues yet)."""
    scenario = Scenario(client)
    await scenario.updates()
    await scenario.bad_updates()
    await scenario.limits()
    await scenario.reachability()
    return scenario.log


async def _main(address: str) -> None:
    print(json.dumps(await record(await Client.connect(address)), indent=1, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
