"""What the TypeScript SDK's own tests (sdk-typescript's packages/test, run by
scripts/ts_sdk_tests/run_tests.py) found `tmodel serve` doing differently from the dev
server, each reproduced here with temporalio's raw service calls against a served
model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.protobuf import any_pb2
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import failed_cause_pb2 as resource_enums
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.errordetails.v1 import message_pb2 as failure_details_pb
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.protocol.v1 import message_pb2 as protocol_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.adapters.serve.serving import serve


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with serve(
        "--search-attribute",
        "CustomDatetimeField=Datetime",
        "--search-attribute",
        "CustomIntField=Int",
        "--search-attribute",
        "CustomKeywordField=Keyword",
    ) as address:
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


def _update_request(workflow_id: str) -> ws.UpdateWorkflowExecutionRequest:
    stage = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
    return ws.UpdateWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
        wait_policy=update_pb.WaitPolicy(lifecycle_stage=stage),
        request=update_pb.Request(
            meta=update_pb.Meta(update_id="u1"), input=update_pb.Input(name="U")
        ),
    )


def test_an_update_ends_a_start_delay_and_a_rejection_restores_it(address: str) -> None:
    """sdk-typescript test-integration-update.ts ("Update is always delivered", "Two
    Updates in first WFT", ...) starts a workflow with a start delay of 10000 days and
    sends an update: the dev server hands out a (speculative) workflow task at once, as
    updateworkflow/api.go adds one whenever none is pending, with no
    IsWorkflowPendingOnWorkflowTaskBackoff check (a signal has one). A task that only
    rejects the update leaves no trace, and the run waits out its delay again: a signal
    then schedules no task. Served before: no task until the delay was over."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        queue, workflow_id = f"q-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
        handle = await client.start_workflow(
            "W", id=workflow_id, task_queue=queue, start_delay=timedelta(days=10000)
        )
        updating = asyncio.ensure_future(
            service.update_workflow_execution(
                _update_request(workflow_id), timeout=timedelta(seconds=10)
            )
        )
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=queue), identity="w"
        )
        task = await asyncio.wait_for(service.poll_workflow_task_queue(poll), 5)
        kinds = [e.event_type for e in task.history.events]
        assert kinds == [
            event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            event_enums.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ]
        assert [m.protocol_instance_id for m in task.messages] == ["u1"]
        body = any_pb2.Any()
        body.Pack(
            update_pb.Rejection(
                rejected_request_message_id=task.messages[0].id,
                rejected_request_sequencing_event_id=task.messages[0].event_id,
                failure=failure_pb.Failure(message="no"),
            )
        )
        rejection = protocol_pb.Message(id="u1/reject", protocol_instance_id="u1", body=body)
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=task.task_token, messages=[rejection]
            )
        )
        assert (await updating).outcome.failure.message == "no"
        await handle.signal("S")
        with pytest.raises(asyncio.TimeoutError):  # still waiting out the delay
            await asyncio.wait_for(service.poll_workflow_task_queue(poll), 3)
        history = await handle.fetch_history()
        assert [e.event_type for e in history.events] == [
            event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        ]
        await handle.terminate()

    asyncio.run(main())


def test_a_count_grouped_by_status_lists_the_groups_in_enum_order(address: str) -> None:
    """sdk-typescript test-integration-workflow-info.ts ("Count workflow executions")
    expects `GROUP BY ExecutionStatus` to list Running before Completed. The dev server's
    SQLite visibility groups on its integer status column: measured with 3 running, 1
    completed and 2 terminated runs, it lists Running, Completed, Terminated (the enum's
    order; neither the names' nor the counts'). Served before: in name order."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        queue = f"q-{uuid.uuid4()}"
        handles = [
            await client.start_workflow("W", id=f"wf-{uuid.uuid4()}", task_queue=queue)
            for _ in range(6)
        ]
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=queue), identity="w"
        )
        task = await asyncio.wait_for(service.poll_workflow_task_queue(poll), 5)
        complete = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                command_pb.CompleteWorkflowExecutionCommandAttributes()
            ),
        )
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=task.task_token, commands=[complete]
            )
        )
        rest = [h for h in handles if h.id != task.workflow_execution.workflow_id]
        for handle in rest[:2]:
            await handle.terminate()
        counted = await service.count_workflow_executions(
            ws.CountWorkflowExecutionsRequest(
                namespace="default", query=f"TaskQueue = '{queue}' GROUP BY ExecutionStatus"
            )
        )
        groups = [(g.group_values[0].data.decode(), g.count) for g in counted.groups]
        assert groups == [('"Running"', 3), ('"Completed"', 1), ('"Terminated"', 2)]
        for handle in rest[2:]:
            await handle.terminate()

    asyncio.run(main())


def test_an_eleventh_update_in_flight_is_resource_exhausted(address: str) -> None:
    """sdk-typescript test-integration-update.ts ("updateWithStart failure: update fails
    early due to limit on number of updates"): a run holds at most 10 updates admitted
    and not yet completed (history.maxInFlightUpdates, checkInFlightLimit in
    service/history/workflow/update/registry.go); the 11th is RESOURCE_EXHAUSTED, cause
    CONCURRENT_LIMIT, as the dev server answers (measured); a known update id is not a
    new one. Served before: admitted."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        workflow_id = f"wf-{uuid.uuid4()}"
        handle = await client.start_workflow("W", id=workflow_id, task_queue=f"q-{uuid.uuid4()}")

        def request(update_id: str) -> ws.UpdateWorkflowExecutionRequest:
            req = _update_request(workflow_id)
            req.wait_policy.lifecycle_stage = (
                update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
            )
            req.request.meta.update_id = update_id
            return req

        waiting = [
            asyncio.ensure_future(
                service.update_workflow_execution(request(f"u{i}"), timeout=timedelta(seconds=10))
            )
            for i in range(10)
        ]
        await asyncio.sleep(1.5)  # all ten admitted
        with pytest.raises(RPCError) as refused:
            await service.update_workflow_execution(
                request("u10"), retry=False, timeout=timedelta(seconds=5)
            )
        assert refused.value.status == RPCStatusCode.RESOURCE_EXHAUSTED
        assert refused.value.message == (
            "limit on number of concurrent in-flight updates has been reached (10)"
        )
        detail = failure_details_pb.ResourceExhaustedFailure()
        refused.value.grpc_status.details[0].Unpack(detail)
        assert detail.cause == resource_enums.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT
        try:  # u3 again: admitted already, so no new update: it waits (till the deadline)
            await service.update_workflow_execution(
                request("u3"), retry=False, timeout=timedelta(seconds=1)
            )
        except RPCError as exc:
            assert exc.status != RPCStatusCode.RESOURCE_EXHAUSTED
        for future in waiting:
            future.cancel()
        await handle.terminate()

    asyncio.run(main())


def test_an_upserted_datetime_in_a_list_of_one_is_kept(address: str) -> None:
    """sdk-typescript test-integration-split-one.ts ("Workflow can upsert Search
    Attributes"): the TypeScript SDK sends every search attribute as a JSON list, a
    Datetime too (`["2026-12-07T04:25:49.200Z"]`); the dev server decodes a list of one
    as its item (DecodeValue, common/searchattribute/sadefs/encode_value.go) and
    Describe shows the attribute. Served before: a Datetime list read as no value, so
    the upsert removed the attribute."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        queue, workflow_id = f"q-{uuid.uuid4()}", f"wf-{uuid.uuid4()}"
        handle = await client.start_workflow("W", id=workflow_id, task_queue=queue)
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace="default", task_queue=tq_pb.TaskQueue(name=queue), identity="w"
        )
        task = await asyncio.wait_for(service.poll_workflow_task_queue(poll), 5)
        moment = common_pb.Payload(
            metadata={"encoding": b"json/plain", "type": b"Datetime"},
            data=b'["2026-12-07T04:25:49.200Z"]',
        )
        number = common_pb.Payload(
            metadata={"encoding": b"json/plain", "type": b"Int"}, data=b"[7]"
        )
        upsert = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            upsert_workflow_search_attributes_command_attributes=(
                command_pb.UpsertWorkflowSearchAttributesCommandAttributes(
                    search_attributes=common_pb.SearchAttributes(
                        indexed_fields={"CustomDatetimeField": moment, "CustomIntField": number}
                    )
                )
            ),
        )
        await service.respond_workflow_task_completed(
            ws.RespondWorkflowTaskCompletedRequest(
                namespace="default", task_token=task.task_token, commands=[upsert]
            )
        )
        described = await service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(
                namespace="default",
                execution=common_pb.WorkflowExecution(workflow_id=workflow_id),
            )
        )
        fields = described.workflow_execution_info.search_attributes.indexed_fields
        assert fields["CustomDatetimeField"].data == b'["2026-12-07T04:25:49.200Z"]'
        await handle.terminate()

    asyncio.run(main())


def test_a_list_of_one_matches_a_query_on_its_item(address: str) -> None:
    """sdk-typescript test-schedules.ts ("Can list Schedules with a query string") and
    test-typed-search-attributes.ts: the TypeScript SDK sends a Keyword or an Int as a
    JSON list of one (`["some-value"]`, `[42]`); the dev server decodes it as its item,
    so `CustomKeywordField = "some-value"` and `CustomIntField = 42` match the run
    (measured: a count of 1 each). Served before: 0, the list compared as a whole."""

    async def main() -> None:
        client = await Client.connect(address)
        service = client.workflow_service
        workflow_id = f"wf-{uuid.uuid4()}"
        keyword = common_pb.Payload(
            metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=b'["some-value"]'
        )
        number = common_pb.Payload(
            metadata={"encoding": b"json/plain", "type": b"Int"}, data=b"[42]"
        )
        attributes = common_pb.SearchAttributes(
            indexed_fields={"CustomKeywordField": keyword, "CustomIntField": number}
        )
        await service.start_workflow_execution(
            ws.StartWorkflowExecutionRequest(
                namespace="default",
                workflow_id=workflow_id,
                workflow_type=common_pb.WorkflowType(name="W"),
                task_queue=tq_pb.TaskQueue(name=f"q-{uuid.uuid4()}"),
                search_attributes=attributes,
                request_id=str(uuid.uuid4()),
            )
        )
        for condition in ('CustomKeywordField = "some-value"', "CustomIntField = 42"):
            query = f"WorkflowId = '{workflow_id}' AND {condition}"
            counted = await service.count_workflow_executions(
                ws.CountWorkflowExecutionsRequest(namespace="default", query=query)
            )
            assert counted.count == 1, condition
        await client.get_workflow_handle(workflow_id).terminate()

    asyncio.run(main())
