"""What the TypeScript SDK's own tests (sdk-typescript's packages/test, run by
scripts/ts_sdk_tests/run_tests.py) found `tmodel serve` doing differently from the dev
server, each reproduced here with temporalio's raw service calls against a served
model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.serving import serve


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve() as address:
        yield address


def _text(number: int, value: str) -> bytes:
    data = value.encode()
    return bytes([number << 3 | 2, len(data)]) + data


def _server_token(namespace_id: str, workflow_id: str, run_id: str) -> bytes:
    """A `token.v1.Task` as the real server encodes one: namespace id, workflow id, run
    id, scheduled event id 5, attempt 1, activity id "1", activity type."""
    return (
        _text(1, namespace_id)
        + _text(2, workflow_id)
        + _text(3, run_id)
        + bytes([4 << 3, 5, 5 << 3, 1])
        + _text(6, "1")
        + _text(8, "completeAsync")
    )


def test_a_server_encoded_token_of_a_missing_run_is_not_found(address: str) -> None:
    """sdk-typescript test-async-completion.ts ("Non existing activity async completion
    throws meaningful message" and its fail, cancel and heartbeat forms) builds a task
    token in the server's own encoding (`token.v1.Task`) with the namespace's id and a
    run that does not exist, and expects NOT_FOUND (ActivityNotFoundError). The dev
    server answers the persistence layer's "workflow execution not found for workflow ID
    ... and run ID ..." (and NamespaceNotFound for an unknown namespace id). Served
    before: INVALID_ARGUMENT "Error deserializing task token." for every one."""

    async def main() -> None:
        service = (await Client.connect(address)).workflow_service
        describe = ws.DescribeNamespaceRequest(namespace="default")
        namespace_id = (await service.describe_namespace(describe)).namespace_info.id
        workflow_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
        token = _server_token(namespace_id, workflow_id, run_id)
        expected = (
            f'workflow execution not found for workflow ID "{workflow_id}" and run ID "{run_id}"'
        )
        calls = [
            service.respond_activity_task_completed(
                ws.RespondActivityTaskCompletedRequest(namespace="default", task_token=token)
            ),
            service.respond_activity_task_failed(
                ws.RespondActivityTaskFailedRequest(namespace="default", task_token=token)
            ),
            service.respond_activity_task_canceled(
                ws.RespondActivityTaskCanceledRequest(namespace="default", task_token=token)
            ),
            service.record_activity_task_heartbeat(
                ws.RecordActivityTaskHeartbeatRequest(namespace="default", task_token=token)
            ),
        ]
        for call in calls:
            with pytest.raises(RPCError) as refused:
                await call
            assert refused.value.status == RPCStatusCode.NOT_FOUND
            assert refused.value.message == expected
        unknown = str(uuid.uuid4())
        with pytest.raises(RPCError) as refused:
            await service.respond_activity_task_completed(
                ws.RespondActivityTaskCompletedRequest(
                    namespace="default", task_token=_server_token(unknown, workflow_id, run_id)
                )
            )
        assert refused.value.status == RPCStatusCode.NOT_FOUND
        assert refused.value.message == f"Namespace {unknown} is not found."
        for garbage in (b"\x0a\x05ab", b"\xff\xff"):  # truncated, bad wire type
            with pytest.raises(RPCError) as refused:
                await service.respond_activity_task_completed(
                    ws.RespondActivityTaskCompletedRequest(namespace="default", task_token=garbage)
                )
            assert refused.value.status == RPCStatusCode.INVALID_ARGUMENT
            assert refused.value.message == "Error deserializing task token."

    asyncio.run(main())
