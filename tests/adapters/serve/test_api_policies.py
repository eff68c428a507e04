"""`tmodel serve` through temporalio's client: how a start meets an existing run (request
id dedup, the id conflict and reuse policies), namespaces, the capabilities GetSystemInfo
declares and an RPC it does not implement, each as the real server answers (measured on
`temporal server start-dev` 1.32.0 unless a comment names the Temporal source file).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf import duration_pb2
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.namespace.v1 import message_pb2 as ns_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.sdk import (
    IDLE,
    QUEUE,
    Waiter,
    bounded,
    details,
    rpc_error,
    start_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@bounded
async def test_the_same_request_id_starts_once(client: Client) -> None:
    first = await client.workflow_service.start_workflow_execution(start_request("dedup", "same"))
    again = await client.workflow_service.start_workflow_execution(start_request("dedup", "same"))
    assert (again.run_id, again.started) == (first.run_id, True)
    assert again.first_execution_run_id == first.first_execution_run_id == first.run_id


@bounded
async def test_id_conflict_policies(client: Client) -> None:
    running = await client.start_workflow(Waiter.run, "x", id="conflict", task_queue=IDLE)
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(
            Waiter.run, "x", id="conflict", task_queue=IDLE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )  # fmt: skip
    existing = await client.workflow_service.start_workflow_execution(
        start_request(
            "conflict",
            workflow_id_conflict_policy=wf_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        )
    )
    assert (existing.run_id, existing.started) == (running.result_run_id, False)
    assert existing.first_execution_run_id == running.result_run_id
    replacing = await client.start_workflow(
        Waiter.run, "x", id="conflict", task_queue=IDLE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )  # fmt: skip
    assert replacing.result_run_id != running.result_run_id
    # the old run is terminated as create_workflow_util.go terminateWorkflowAction does it
    old = await client.get_workflow_handle("conflict", run_id=running.result_run_id).fetch_history()
    terminated = old.events[-1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == (
        "TerminateIfRunning WorkflowIdReusePolicy",
        "history-service",
    )
    why = terminated.details.payloads[0].data.decode()
    assert why == f'"terminated by new runID: {replacing.result_run_id}"'
    assert (await replacing.describe()).status == WorkflowExecutionStatus.RUNNING


@bounded
async def test_id_reuse_policies_after_a_run_closed(client: Client) -> None:
    first = await client.start_workflow(Waiter.run, "x", id="reuse", task_queue=QUEUE)
    await first.signal(Waiter.finish, "done")
    assert await first.result() == "done after 0 pokes"
    refused = await rpc_error(
        client.workflow_service.start_workflow_execution(
            start_request(
                "reuse",
                workflow_id_reuse_policy=wf_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
            )
        )
    )
    assert (refused.status, refused.message) == (
        RPCStatusCode.ALREADY_EXISTS,
        f"Workflow execution already finished. WorkflowId: reuse, RunId: "
        f"{first.result_run_id}. Workflow Id reuse policy: reject duplicate workflow Id.",
    )
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await client.start_workflow(
            Waiter.run, "x", id="reuse", task_queue=IDLE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )  # fmt: skip
    assert info.value.run_id == first.result_run_id
    second = await client.start_workflow(
        Waiter.run, "x", id="reuse", task_queue=IDLE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )  # fmt: skip
    assert second.result_run_id != first.result_run_id
    await second.terminate()
    # a terminated run counts as failed: ALLOW_DUPLICATE_FAILED_ONLY starts again
    third = await client.start_workflow(
        Waiter.run, "x", id="reuse", task_queue=IDLE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )  # fmt: skip
    assert third.result_run_id not in (first.result_run_id, second.result_run_id)


@bounded
async def test_allow_duplicate_failed_only_refuses_after_a_success(client: Client) -> None:
    run = await client.start_workflow(Waiter.run, "x", id="succeeded", task_queue=QUEUE)
    await run.signal(Waiter.finish, "ok")
    await run.result()
    error = await rpc_error(
        client.workflow_service.start_workflow_execution(
            start_request(
                "succeeded",
                workflow_id_reuse_policy=(
                    wf_enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
                ),
            )
        )
    )
    assert error.message == (
        f"Workflow execution already finished successfully. WorkflowId: succeeded, RunId: "
        f"{run.result_run_id}. Workflow Id reuse policy: allow duplicate workflow Id if last "
        "run failed."
    )
    assert details(error) == ["temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"]


@bounded
async def test_an_unimplemented_rpc_names_itself(client: Client) -> None:
    error = await rpc_error(
        client.workflow_service.get_worker_versioning_rules(
            ws.GetWorkerVersioningRulesRequest(namespace="default", task_queue="q")
        )
    )
    assert error.status == RPCStatusCode.UNIMPLEMENTED
    assert "unknown method" in error.message
    assert "GetWorkerVersioningRules" in error.message


# What GetSystemInfo declares; each must be something this server does.
DECLARED = {
    "signal_and_query_header",
    "internal_error_differentiation",
    "activity_failure_include_heartbeat",
    "supports_schedules",  # the schedule RPCs (adapters/serve/rpc_schedules.py)
    "encoded_failure_attributes",
    # test_build_ids.py: build ids are recorded as the dev server records them (the
    # versioning rules, checked absent below, are not served)
    "build_id_based_versioning",
    "upsert_memo",
    "eager_workflow_start",  # test_eager_start.py
    "sdk_metadata",
    "count_group_by_execution_status",
}


@bounded
async def test_system_info_declares_only_what_is_implemented(client: Client) -> None:
    info = await client.workflow_service.get_system_info(ws.GetSystemInfoRequest())
    assert info.server_version == "1.32.0"
    declared = {field.name for field, value in info.capabilities.ListFields() if value is True}
    assert declared == DECLARED
    # and what it leaves out really is absent
    versioning = await rpc_error(
        client.workflow_service.get_worker_versioning_rules(
            ws.GetWorkerVersioningRulesRequest(namespace="default", task_queue="q")
        )
    )
    assert versioning.status == RPCStatusCode.UNIMPLEMENTED
    # (nexus is not claimed either: only synchronous Nexus operations are served)
    # count_group_by_execution_status is declared: a grouped count is answered
    await client.start_workflow(Waiter.run, "x", id="counted", task_queue=IDLE)
    grouped = await client.workflow_service.count_workflow_executions(
        ws.CountWorkflowExecutionsRequest(namespace="default", query="GROUP BY ExecutionStatus")
    )
    assert grouped.count == sum(group.count for group in grouped.groups) > 0


@bounded
async def test_namespaces_register_describe_list_and_update(client: Client, address: str) -> None:
    service = client.workflow_service
    await service.register_namespace(
        ws.RegisterNamespaceRequest(
            namespace="ns-api",
            description="for the test",
            owner_email="owner@example.com",
            workflow_execution_retention_period=duration_pb2.Duration(seconds=3 * 86400),
            data={"k": "v"},
        )
    )
    described = await service.describe_namespace(ws.DescribeNamespaceRequest(namespace="ns-api"))
    info = described.namespace_info
    assert (info.name, info.description, info.owner_email, dict(info.data)) == (
        "ns-api",
        "for the test",
        "owner@example.com",
        {"k": "v"},
    )
    assert info.state == 1  # NAMESPACE_STATE_REGISTERED
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=3)
    by_id = await service.describe_namespace(ws.DescribeNamespaceRequest(id=info.id))
    assert by_id.namespace_info.name == "ns-api"
    updated = await service.update_namespace(
        ws.UpdateNamespaceRequest(
            namespace="ns-api",
            update_info=ns_pb.UpdateNamespaceInfo(description="changed", data={"k2": "v2"}),
        )
    )
    assert updated.namespace_info.description == "changed"
    assert dict(updated.namespace_info.data) == {"k": "v", "k2": "v2"}
    names: list[str] = []
    token = b""
    while True:  # one namespace per page
        page = await service.list_namespaces(
            ws.ListNamespacesRequest(page_size=1, next_page_token=token)
        )
        names += [n.namespace_info.name for n in page.namespaces]
        token = page.next_page_token
        if not token:
            break
    assert "default" in names and "ns-api" in names
    assert len(names) == len(set(names))
    # the new namespace is usable
    ns_client = await Client.connect(address, namespace="ns-api")
    handle = await ns_client.start_workflow(Waiter.run, "x", id="in-ns-api", task_queue=IDLE)
    assert (await handle.describe()).namespace == "ns-api"
    with pytest.raises(RPCError):
        await client.get_workflow_handle("in-ns-api").describe()  # not in default
