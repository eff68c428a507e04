"""ListTaskQueuePartitions, PauseWorkflowExecution and UnpauseWorkflowExecution answer as
a dev server with its default config answers them (`temporal task-queue
list-partition`, `temporal workflow pause` and `unpause`); the slow twin asks the dev
server the same questions and expects the same answers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected, execution, start_request

Answer = tuple[str, str]  # (status code's name, message) or ("OK", what came back)
NORMAL = ["q", "/_sys/q/1", "/_sys/q/2", "/_sys/q/3"]

EXPECTED: dict[str, Answer] = {
    "partitions": ("OK", f"{NORMAL} {NORMAL}"),
    "partitions of a sticky kind": ("OK", f"{NORMAL} {NORMAL}"),
    "partitions, no queue": ("INVALID_ARGUMENT", "taskQueue is not set"),
    "partitions, empty name": ("INVALID_ARGUMENT", "missing task queue name"),
    "partitions, reserved name": (
        "INVALID_ARGUMENT",
        "task queue name cannot start with reserved prefix /_sys/",
    ),
    "partitions, long name": ("INVALID_ARGUMENT", "taskQueue length exceeds limit"),
    "partitions, unknown namespace": ("NOT_FOUND", "Namespace nope is not found."),
    "pause": ("UNIMPLEMENTED", "workflow pause is not enabled for namespace: default"),
    "pause, unknown namespace": ("NOT_FOUND", "Namespace nope is not found."),
    "unpause a running run": ("FAILED_PRECONDITION", "workflow is not paused."),
    "unpause a closed run": ("NOT_FOUND", "workflow execution already completed"),
    "unpause an unknown id": ("NOT_FOUND", "workflow not found for ID: WID-none"),
    "unpause, no id": ("INVALID_ARGUMENT", "Can't load workflow execution.  WorkflowId not set."),
    "unpause, bad run id": ("INVALID_ARGUMENT", "RunId is not valid UUID."),
    "unpause, long reason": ("INVALID_ARGUMENT", "reason is too long."),
    "unpause, long request id": ("INVALID_ARGUMENT", "request id is too long."),
    "unpause, long identity": ("INVALID_ARGUMENT", "identity is too long."),
}


def _partitions(
    name: str, kind: int = 0, namespace: str = "default"
) -> ws.ListTaskQueuePartitionsRequest:
    queue = tq_pb.TaskQueue(name=name, kind=kind)  # type: ignore[arg-type]
    return ws.ListTaskQueuePartitionsRequest(namespace=namespace, task_queue=queue)


async def answers(address: str) -> tuple[dict[str, Answer], set[str]]:
    """Each case's answer (workflow ids written WID), and the partitions' owners."""
    service = (await connected(address)).workflow_service
    wid = f"pause-{uuid.uuid4().hex[:8]}"
    await service.start_workflow_execution(start_request(wid))
    await service.start_workflow_execution(start_request(f"{wid}-closed"))
    await service.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(
            namespace="default", workflow_execution=execution(f"{wid}-closed")
        )
    )
    long = "x" * 1001
    partitions = service.list_task_queue_partitions
    pause, unpause = service.pause_workflow_execution, service.unpause_workflow_execution
    U, P = ws.UnpauseWorkflowExecutionRequest, ws.ListTaskQueuePartitionsRequest
    calls = {
        "partitions": (partitions, _partitions("q")),
        "partitions of a sticky kind": (partitions, _partitions("q", kind=2)),
        "partitions, no queue": (partitions, P(namespace="default")),
        "partitions, empty name": (partitions, _partitions("")),
        "partitions, reserved name": (partitions, _partitions("/_sys/q/1")),
        "partitions, long name": (partitions, _partitions(long)),
        "partitions, unknown namespace": (partitions, _partitions("q", namespace="nope")),
        "pause": (pause, ws.PauseWorkflowExecutionRequest(namespace="default", workflow_id=wid)),
        "pause, unknown namespace": (
            pause,
            ws.PauseWorkflowExecutionRequest(namespace="nope", workflow_id=wid),
        ),
        "unpause a running run": (unpause, U(namespace="default", workflow_id=wid)),
        "unpause a closed run": (unpause, U(namespace="default", workflow_id=f"{wid}-closed")),
        "unpause an unknown id": (unpause, U(namespace="default", workflow_id=f"{wid}-none")),
        "unpause, no id": (unpause, U(namespace="default")),
        "unpause, bad run id": (unpause, U(namespace="default", workflow_id=wid, run_id="r")),
        "unpause, long reason": (unpause, U(namespace="default", workflow_id=wid, reason=long)),
        "unpause, long request id": (
            unpause,
            U(namespace="default", workflow_id=wid, request_id=long),
        ),
        "unpause, long identity": (unpause, U(namespace="default", workflow_id=wid, identity=long)),
    }
    out: dict[str, Answer] = {}
    owners: set[str] = set()
    for case, (call, request) in calls.items():
        try:
            reply = await call(request)  # type: ignore[operator]
        except RPCError as error:
            out[case] = (error.status.name, error.message.replace(wid, "WID"))
            continue
        if isinstance(reply, ws.ListTaskQueuePartitionsResponse):
            lists = (reply.workflow_task_queue_partitions, reply.activity_task_queue_partitions)
            out[case] = ("OK", " ".join(str([p.key for p in listed]) for listed in lists))
            owners |= {p.owner_host_name for listed in lists for p in listed}
        else:
            out[case] = ("OK", str(reply))
    return out, owners


@pytest.mark.asyncio
@bounded
async def test_served_as_the_dev_server_answers(address: str) -> None:
    got, owners = await answers(address)
    assert got == EXPECTED
    assert owners == {address}  # the one host that owns every partition: this server


@pytest.mark.slow
def test_the_dev_server_answers_alike(dev_address: str) -> None:
    got, owners = asyncio.run(answers(dev_address))
    assert got == EXPECTED
    assert len(owners) == 1 and "" not in owners
