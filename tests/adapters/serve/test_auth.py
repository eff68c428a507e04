"""`tmodel serve --auth FILE`: tenants kept apart, through official temporalio clients.

One server holds two namespaces, ns-a and ns-b. Caller A holds every role on ns-a
(admin, writer, worker) and nothing on ns-b; B is ns-b's admin; W is only a worker on
ns-a. The isolation matrix sends every RPC the server implements, filled with real ids
and task tokens of ns-b, as caller A: each is PERMISSION_DENIED "Request unauthorized."
with nothing in the error that names what ns-b holds, and ns-b's runs are left as they
were. The same requests from B are not refused, so the refusals come from the
authorization, not from malformed requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.errordetails.v1 import message_pb2 as details_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.operatorservice.v1 import service_pb2 as op_service
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.api.workflowservice.v1 import service_pb2 as wf_service
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from adapters.serve import auth
from adapters.serve.server import WORKFLOW_HANDLERS, implemented, snake
from adapters.serve.tokens import TaskToken
from tests.adapters.serve.sdk import (
    TOKENS,
    CallsOutside,
    Sleeper,
    Waiter,
    bounded,
    complete_outside,
    eventually,
    first_workflow_task,
    rpc_error,
)
from tests.adapters.serve.serving import serve

pytestmark = pytest.mark.asyncio(loop_scope="module")
GRANTS = {
    "tokens": {
        "token-a": {"subject": "a", "namespaces": {"ns-a": ["admin", "writer", "worker"]}},
        "token-b": {"subject": "b", "namespaces": {"ns-b": "admin"}},
        "token-w": {"subject": "w", "namespaces": {"ns-a": "worker"}},
        "token-r": {"subject": "r", "namespaces": {"ns-a": "reader"}},
        "token-root": {"subject": "root", "system": "admin"},
    }
}
CALL = timedelta(seconds=4)  # polls answer empty 1 s before this deadline
DENIED = "temporal.api.errordetails.v1.PermissionDeniedFailure"


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    grants = tmp_path_factory.mktemp("auth") / "grants.json"
    grants.write_text(json.dumps(GRANTS), encoding="utf-8")
    with serve("--namespace", "ns-a", "--namespace", "ns-b", "--auth", str(grants)) as served:
        yield served


async def connect(address: str, namespace: str, token: str | None) -> Client:
    # tls=False: temporalio turns TLS on whenever an api_key is given
    return await Client.connect(address, namespace=namespace, api_key=token, tls=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def clients(address: str) -> dict[str, Client]:
    return {
        "a": await connect(address, "ns-a", "token-a"),
        "b": await connect(address, "ns-b", "token-b"),
        "w": await connect(address, "ns-a", "token-w"),
        "r": await connect(address, "ns-a", "token-r"),
        "root": await connect(address, "ns-a", "token-root"),
        "anonymous": await connect(address, "ns-a", None),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tenant_b(clients: dict[str, Client]) -> AsyncIterator[dict[str, Any]]:
    """What ns-b holds: a waiting run, a run whose activity waits for outside completion
    (its task token), and a workflow task token taken by a raw poll."""
    b = clients["b"]
    async with Worker(
        b, task_queue="b-queue", workflows=[Waiter, CallsOutside], activities=[complete_outside]
    ):
        waiter = await b.start_workflow(Waiter.run, "b-secret", id="b-waiter", task_queue="b-queue")
        outside = await b.start_workflow(CallsOutside.run, id="b-outside", task_queue="b-queue")
        await eventually(lambda: asyncio.sleep(0, "b-outside" in TOKENS))
        task = await first_workflow_task(b, "ns-b", "b-raw")
        history = [e async for e in waiter.fetch_history_events()]
        yield {
            "waiter": waiter,
            "outside": outside,
            "activity_token": TOKENS["b-outside"],
            "workflow_token": task.task_token,
            "history": history,
        }


def _request(service: Any, rpc: str, namespace: str, b: dict[str, Any]) -> Any:
    """`rpc`'s request on `namespace`, filled with ns-b's ids and tokens where it has
    such fields (a query token is forged: the model's tokens are plain JSON)."""
    module = ws if service is wf_service else ops
    request = getattr(module, f"{rpc}Request")()
    fields = {f.name for f in request.DESCRIPTOR.fields}
    if "namespace" in fields:
        request.namespace = namespace
    for name in ("workflow_id", "activity_id", "query", "reason", "identity"):
        if name in fields and request.DESCRIPTOR.fields_by_name[name].type == 9:  # string
            setattr(
                request,
                name,
                {"workflow_id": "b-waiter", "activity_id": "outside"}.get(name, "probe"),
            )
    for name in ("execution", "workflow_execution"):
        if name in fields:
            getattr(request, name).workflow_id = "b-waiter"
    if "task_queue" in fields and request.DESCRIPTOR.fields_by_name["task_queue"].type == 11:
        request.task_queue.name = "b-queue"
    if "task_token" in fields:
        if rpc == "RespondQueryTaskCompleted":
            request.task_token = TaskToken("query", "ns-b", "b-waiter", query_id=1).encode()
        elif "Activity" in rpc:
            request.task_token = b["activity_token"]
        else:
            request.task_token = b["workflow_token"]
    if "signal_name" in fields:
        request.signal_name = "finish"
    if rpc == "ExecuteMultiOperation":
        op = request.operations.add()
        op.start_workflow.namespace = namespace
        op.start_workflow.workflow_id = "b-waiter"
        request.operations.add().update_workflow.namespace = namespace
    if rpc in ("AddSearchAttributes",):
        request.search_attributes["Probe"] = 2
    return request


def every_rpc() -> list[tuple[Any, str]]:
    """Every RPC the server implements, WorkflowService and OperatorService."""
    rpcs = [
        (wf_service, name)
        for name in implemented(
            wf_service.DESCRIPTOR.services_by_name["WorkflowService"], WORKFLOW_HANDLERS
        )
    ]
    operator = op_service.DESCRIPTOR.services_by_name["OperatorService"]
    from adapters.serve.server import OPERATOR_RPCS

    rpcs += [(op_service, m.name) for m in operator.methods if m.name in OPERATOR_RPCS]
    return rpcs


async def _call(client: Client, service: Any, rpc: str, request: Any) -> RPCError | None:
    stub = client.workflow_service if service is wf_service else client.operator_service
    try:
        await getattr(stub, snake(rpc))(request, timeout=CALL)
    except RPCError as error:
        return error
    return None


def assert_refused_without_a_trace(error: RPCError | None, what: str) -> None:
    assert error is not None, f"{what} was allowed"
    assert (error.status, error.message) == (RPCStatusCode.PERMISSION_DENIED, auth.UNAUTHORIZED), (
        what,
        error.status,
        error.message,
    )
    names = [d.type_url.rsplit("/", 1)[-1] for d in error.grpc_status.details]
    assert names == [DENIED], what
    reason = details_pb.PermissionDeniedFailure()
    error.grpc_status.details[0].Unpack(reason)
    assert reason.reason == "", what
    leaked = error.grpc_status.SerializeToString() + error.message.encode()
    for secret in (b"ns-b", b"b-waiter", b"b-secret", b"b-queue", b"outside"):
        assert secret not in leaked, (what, secret)


@bounded
async def test_a_worker_token_runs_the_workflows_a_writer_starts(
    clients: dict[str, Client],
) -> None:
    async with Worker(clients["w"], task_queue="a-queue", workflows=[Sleeper]):
        handle = await clients["a"].start_workflow(
            Sleeper.run, 0.1, id="a-sleeper", task_queue="a-queue"
        )
        assert await handle.result() >= 0.1


@bounded
async def test_every_rpc_on_another_namespace_is_refused_and_leaks_nothing(
    clients: dict[str, Client], tenant_b: dict[str, Any]
) -> None:
    rpcs = every_rpc()
    assert len(rpcs) > 40  # the whole served API, not a sample
    for service, rpc in rpcs:
        if rpc == "GetSystemInfo":  # a health check: open to everyone, as in Temporal
            assert await _call(clients["a"], service, rpc, ws.GetSystemInfoRequest()) is None
            continue
        request = _request(service, rpc, "ns-b", tenant_b)
        for caller in ("a", "w", "anonymous"):
            error = await _call(clients[caller], service, rpc, request)
            assert_refused_without_a_trace(error, f"{caller}: {rpc} on ns-b")
        if "task_token" in {f.name for f in request.DESCRIPTOR.fields}:  # B's token, A's name
            own = _request(service, rpc, "ns-a", tenant_b)
            assert_refused_without_a_trace(
                await _call(clients["a"], service, rpc, own), f"{rpc}: ns-b token on ns-a"
            )
    # ns-b is as it was: no signal, no cancel, no termination reached its runs
    waiter: Any = tenant_b["waiter"]
    assert [e async for e in waiter.fetch_history_events()] == tenant_b["history"]
    # and ns-b's admin (the system admin for cluster-wide RPCs) is not refused them
    for service, rpc in rpcs:
        allowed = clients["root" if rpc in auth.CLUSTER_RPCS else "b"]
        error = await _call(allowed, service, rpc, _request(service, rpc, "ns-b", tenant_b))
        assert error is None or error.status != RPCStatusCode.PERMISSION_DENIED, (rpc, error)


@bounded
async def test_listing_shows_only_the_callers_namespace(
    clients: dict[str, Client], tenant_b: dict[str, Any]
) -> None:
    ids = [w.id async for w in clients["a"].list_workflows()]
    assert "a-sleeper" in ids and not any(i.startswith("b-") for i in ids)
    for client in (clients["a"], clients["b"]):  # ListNamespaces is cluster-wide: system role
        error = await rpc_error(client.workflow_service.list_namespaces(ws.ListNamespacesRequest()))
        assert error.status == RPCStatusCode.PERMISSION_DENIED
    listed = await clients["root"].workflow_service.list_namespaces(ws.ListNamespacesRequest())
    assert {"ns-a", "ns-b"} <= {n.namespace_info.name for n in listed.namespaces}


@bounded
async def test_a_command_reaching_into_another_namespace_is_refused(
    clients: dict[str, Client],
) -> None:
    raw = clients["a"].workflow_service
    task = await first_workflow_task(clients["a"], "ns-a", "a-raw")

    def child(namespace: str) -> ws.RespondWorkflowTaskCompletedRequest:
        command = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION
        )
        attrs = command.start_child_workflow_execution_command_attributes
        attrs.namespace, attrs.workflow_id = namespace, "a-child"
        attrs.workflow_type.name, attrs.task_queue.name = "Raw", "a-raw"
        return ws.RespondWorkflowTaskCompletedRequest(
            namespace="ns-a", task_token=task.task_token, identity="a", commands=[command]
        )

    assert_refused_without_a_trace(
        await _call(clients["a"], wf_service, "RespondWorkflowTaskCompleted", child("ns-b")),
        "a child in ns-b",
    )
    await raw.respond_workflow_task_completed(child("ns-a"))  # its own namespace: allowed


@bounded
async def test_roles_follow_the_default_authorizer(clients: dict[str, Client]) -> None:
    reader, writer = clients["r"], clients["a"]
    described = await reader.workflow_service.describe_namespace(
        ws.DescribeNamespaceRequest(namespace="ns-a")
    )
    assert described.namespace_info.name == "ns-a"
    start = rpc_error(reader.start_workflow(Waiter.run, "r", id="r-1", task_queue="a-queue"))
    assert (await start).status == RPCStatusCode.PERMISSION_DENIED  # reader < writer
    update = ws.UpdateNamespaceRequest(namespace="ns-a")
    update.update_info.description = "changed"
    refused = await rpc_error(clients["w"].workflow_service.update_namespace(update))
    assert refused.status == RPCStatusCode.PERMISSION_DENIED  # admin only
    done = await writer.workflow_service.update_namespace(update)  # A is ns-a's admin
    assert done.namespace_info.description == "changed"
    mismatch = ws.RespondActivityTaskCompletedRequest(
        namespace="ns-a", task_token=TaskToken("activity", "ns-b", "x").encode()
    )
    error = await rpc_error(
        clients["root"].workflow_service.respond_activity_task_completed(mismatch)
    )  # root may act on both, but a token answers for its own namespace only
    assert (error.status, error.message) == (
        RPCStatusCode.INVALID_ARGUMENT,
        "Operation requested with a token from a different namespace.",
    )
