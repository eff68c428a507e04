"""The bad-request scenario's reads and the rest: describe, history, list and count,
namespaces, task queues and polls, task responses, search attributes (see
api_errors_scenario.py)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1 import workflow_pb2 as workflow_enums
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from tests.adapters.serve.api_errors_base import (
    CLOSED,
    GARBAGE,
    LONG,
    NOT_UUID,
    NS,
    QUEUE,
    RUNNING,
    Base,
    execution_of,
    keyword_payload,
)


class Reads(Base):
    async def reads(self) -> None:
        describe = self.service.describe_workflow_execution

        def desc(execution: common_pb.WorkflowExecution, namespace: str = NS) -> Message:
            return ws.DescribeWorkflowExecutionRequest(namespace=namespace, execution=execution)

        cases = {
            "describe-no-namespace": desc(execution_of(RUNNING), ""),
            "describe-unknown-namespace": desc(execution_of(RUNNING), "nope"),
            "describe-empty-id": desc(execution_of("")),
            "describe-long-id": desc(execution_of(LONG)),
            "describe-unknown-workflow": desc(execution_of("ae-unknown")),
            "describe-run-not-uuid": desc(execution_of(RUNNING, NOT_UUID)),
            "describe-unknown-run": desc(execution_of(RUNNING, str(uuid.uuid4()))),
            "describe-no-execution": ws.DescribeWorkflowExecutionRequest(namespace=NS),
        }
        for step, request in cases.items():
            await self.call(step, describe, request)
        history = self.service.get_workflow_execution_history
        reverse = self.service.get_workflow_execution_history_reverse
        for name, rpc, kind in (
            ("history", history, ws.GetWorkflowExecutionHistoryRequest),
            ("history-reverse", reverse, ws.GetWorkflowExecutionHistoryReverseRequest),
        ):
            variants: dict[str, Message] = {
                "no-namespace": kind(namespace="", execution=execution_of(RUNNING)),
                "unknown-namespace": kind(namespace="nope", execution=execution_of(RUNNING)),
                "no-execution": kind(namespace=NS),
                "empty-id": kind(namespace=NS, execution=execution_of("")),
                "unknown-workflow": kind(namespace=NS, execution=execution_of("ae-unknown")),
                "run-not-uuid": kind(namespace=NS, execution=execution_of(RUNNING, NOT_UUID)),
                "unknown-run": kind(
                    namespace=NS, execution=execution_of(RUNNING, str(uuid.uuid4()))
                ),
                "bad-page-token": kind(
                    namespace=NS, execution=execution_of(RUNNING), next_page_token=GARBAGE
                ),
                "negative-page-size": kind(
                    namespace=NS, execution=execution_of(RUNNING), maximum_page_size=-1
                ),
            }
            variants["closed-run"] = kind(
                namespace=NS, execution=execution_of(CLOSED, self.names_of("<closed-run>"))
            )
            for step, request in variants.items():
                await self.call(f"{name}-{step}", rpc, request)
        close_only = workflow_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        for step, request in {
            "history-closed-wait-new-event": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=execution_of(CLOSED), wait_new_event=True
            ),
            "history-closed-close-event": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=execution_of(CLOSED), history_event_filter_type=close_only
            ),
            "history-bad-filter-type": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS,
                execution=execution_of(CLOSED),
                history_event_filter_type=workflow_enums.HistoryEventFilterType.ValueType(99),
            ),
        }.items():
            await self.call(step, history, request)

    async def visibility(self) -> None:
        listing = self.service.list_workflow_executions
        count = self.service.count_workflow_executions
        queries = {
            "malformed": "WorkflowId = ",
            "unknown-attribute": "NoSuchAttribute = 'x'",
            "bad-operator": "WorkflowId ~ 'x'",
            "wrong-typed-value": "StartTime = 'yesterday'",
            "unclosed-quote": "WorkflowId = 'x",
            "order-by": "WorkflowId = 'x' ORDER BY StartTime",
            "like": "WorkflowId LIKE 'x%'",
            "unexpected-name": "WorkflowId = 'a' WorkflowType = 'b'",
            "dangling-and": "WorkflowId = 'a' AND",
            "unclosed-parenthesis": "(WorkflowId = 'a'",
            "extra-parenthesis": "WorkflowId = 'a')",
            "name-alone": "WorkflowId",
            "and-and": "WorkflowId = 'a' AND AND",
            "empty-in": "WorkflowId IN ()",
            "unknown-character": "WorkflowId = 'a' $",
            "comment": "WorkflowId = 'a' # a note",
            "number-run-into-name": "WorkflowId = 12abc",
            "doubled-quote-unclosed": "WorkflowId = 'it''s",
            "double-equals": "WorkflowId == 'a'",
            "limit": "WorkflowId = 'a' LIMIT 1",
            "semicolon": "WorkflowId = 'a';",
            "ok": "WorkflowId = 'ae-running'",
        }
        for step, query in queries.items():
            await self.call(
                f"list-{step}", listing, ws.ListWorkflowExecutionsRequest(namespace=NS, query=query)
            )
            await self.call(
                f"count-{step}", count, ws.CountWorkflowExecutionsRequest(namespace=NS, query=query)
            )
        await self.call(
            "list-bad-page-token",
            listing,
            ws.ListWorkflowExecutionsRequest(namespace=NS, next_page_token=GARBAGE),
        )
        await self.call(
            "list-unknown-namespace", listing, ws.ListWorkflowExecutionsRequest(namespace="nope")
        )
        await self.call("list-no-namespace", listing, ws.ListWorkflowExecutionsRequest())
        await self.call(
            "list-negative-page-size",
            listing,
            ws.ListWorkflowExecutionsRequest(namespace=NS, page_size=-1),
        )
        await self.call(
            "count-group-by-other",
            count,
            ws.CountWorkflowExecutionsRequest(namespace=NS, query="GROUP BY WorkflowType"),
        )
        await self.call(
            "count-group-by-status",
            count,
            ws.CountWorkflowExecutionsRequest(namespace=NS, query="GROUP BY ExecutionStatus"),
        )
        await self.call(
            "count-unknown-namespace", count, ws.CountWorkflowExecutionsRequest(namespace="nope")
        )

    async def namespaces_and_queues(self) -> None:
        describe = self.service.describe_namespace
        await self.call(
            "namespace-unknown", describe, ws.DescribeNamespaceRequest(namespace="nope")
        )
        await self.call("namespace-empty", describe, ws.DescribeNamespaceRequest())
        await self.call("namespace-id-not-uuid", describe, ws.DescribeNamespaceRequest(id=NOT_UUID))
        await self.call(
            "namespace-unknown-id", describe, ws.DescribeNamespaceRequest(id=str(uuid.uuid4()))
        )
        queue = self.service.describe_task_queue
        for step, request in {
            "task-queue-no-namespace": ws.DescribeTaskQueueRequest(
                task_queue=tq_pb.TaskQueue(name=QUEUE)
            ),
            "task-queue-unknown-namespace": ws.DescribeTaskQueueRequest(
                namespace="nope", task_queue=tq_pb.TaskQueue(name=QUEUE)
            ),
            "task-queue-no-name": ws.DescribeTaskQueueRequest(namespace=NS),
            "task-queue-long-name": ws.DescribeTaskQueueRequest(
                namespace=NS, task_queue=tq_pb.TaskQueue(name=LONG)
            ),
            "task-queue-reserved-prefix": ws.DescribeTaskQueueRequest(
                namespace=NS, task_queue=tq_pb.TaskQueue(name="/_sys/ae/1")
            ),
        }.items():
            await self.call(step, queue, request)
        # worker polls, each refused before it would wait for a task
        polls: dict[str, tuple[Callable[..., Awaitable[Any]], Any]] = {
            "poll-workflow-task": (
                self.service.poll_workflow_task_queue,
                ws.PollWorkflowTaskQueueRequest,
            ),
            "poll-activity-task": (
                self.service.poll_activity_task_queue,
                ws.PollActivityTaskQueueRequest,
            ),
        }
        sticky = tq_enums.TASK_QUEUE_KIND_STICKY
        for name, (rpc, kind) in polls.items():
            for step, request in {
                "no-namespace": kind(task_queue=tq_pb.TaskQueue(name=QUEUE)),
                "unknown-namespace": kind(namespace="nope", task_queue=tq_pb.TaskQueue(name=QUEUE)),
                "no-queue": kind(namespace=NS),
                "empty-queue-name": kind(namespace=NS, task_queue=tq_pb.TaskQueue()),
                "long-queue-name": kind(namespace=NS, task_queue=tq_pb.TaskQueue(name=LONG)),
                "long-identity": kind(
                    namespace=NS, task_queue=tq_pb.TaskQueue(name=QUEUE), identity=LONG
                ),
                "sticky-long-normal-name": kind(
                    namespace=NS,
                    task_queue=tq_pb.TaskQueue(name="ae-sticky", kind=sticky, normal_name=LONG),
                ),
            }.items():
                await self.call(f"{name}-{step}", rpc, request)

    async def tasks(self) -> None:
        svc = self.service
        token_rpcs: dict[str, tuple[Callable[..., Awaitable[Any]], Any]] = {
            "activity-completed": (
                svc.respond_activity_task_completed,
                ws.RespondActivityTaskCompletedRequest,
            ),
            "activity-failed": (
                svc.respond_activity_task_failed,
                ws.RespondActivityTaskFailedRequest,
            ),
            "activity-canceled": (
                svc.respond_activity_task_canceled,
                ws.RespondActivityTaskCanceledRequest,
            ),
            "heartbeat": (
                svc.record_activity_task_heartbeat,
                ws.RecordActivityTaskHeartbeatRequest,
            ),
            "workflow-task-completed": (
                svc.respond_workflow_task_completed,
                ws.RespondWorkflowTaskCompletedRequest,
            ),
            "workflow-task-failed": (
                svc.respond_workflow_task_failed,
                ws.RespondWorkflowTaskFailedRequest,
            ),
        }
        for name, (rpc, kind) in token_rpcs.items():
            await self.call(f"{name}-garbage-token", rpc, kind(namespace=NS, task_token=GARBAGE))
            await self.call(f"{name}-no-token", rpc, kind(namespace=NS))
            await self.call(f"{name}-no-namespace", rpc, kind(task_token=self.stale_workflow_token))
        for name in ("workflow-task-completed", "workflow-task-failed"):
            rpc, kind = token_rpcs[name]
            await self.call(
                f"{name}-stale-token",
                rpc,
                kind(namespace=NS, task_token=self.stale_workflow_token, identity="scenario"),
            )
        await self.call(
            "workflow-task-completed-long-identity",
            svc.respond_workflow_task_completed,
            ws.RespondWorkflowTaskCompletedRequest(
                namespace=NS, task_token=self.stale_workflow_token, identity=LONG
            ),
        )
        by_id: dict[str, tuple[Callable[..., Awaitable[Any]], Any]] = {
            "activity-completed-by-id": (
                svc.respond_activity_task_completed_by_id,
                ws.RespondActivityTaskCompletedByIdRequest,
            ),
            "activity-failed-by-id": (
                svc.respond_activity_task_failed_by_id,
                ws.RespondActivityTaskFailedByIdRequest,
            ),
            "activity-canceled-by-id": (
                svc.respond_activity_task_canceled_by_id,
                ws.RespondActivityTaskCanceledByIdRequest,
            ),
            "heartbeat-by-id": (
                svc.record_activity_task_heartbeat_by_id,
                ws.RecordActivityTaskHeartbeatByIdRequest,
            ),
        }
        for name, (rpc, kind) in by_id.items():
            for step, request in {
                "no-namespace": kind(workflow_id=RUNNING, activity_id="a1"),
                "unknown-namespace": kind(namespace="nope", workflow_id=RUNNING, activity_id="a1"),
                "empty-workflow-id": kind(namespace=NS, activity_id="a1"),
                "empty-activity-id": kind(namespace=NS, workflow_id=RUNNING),
                "unknown-workflow": kind(namespace=NS, workflow_id="ae-unknown", activity_id="a1"),
                "run-not-uuid": kind(
                    namespace=NS, workflow_id=RUNNING, run_id=NOT_UUID, activity_id="a1"
                ),
                "unknown-activity": kind(namespace=NS, workflow_id=RUNNING, activity_id="a1"),
                "closed": kind(namespace=NS, workflow_id=CLOSED, activity_id="a1"),
            }.items():
                await self.call(f"{name}-{step}", rpc, request)

    async def search_attributes(self) -> None:
        await self.call(
            "get-search-attributes",
            self.service.get_search_attributes,
            ws.GetSearchAttributesRequest(),
        )
        add = self.operator.add_search_attributes
        remove = self.operator.remove_search_attributes
        listing = self.operator.list_search_attributes
        keyword = common_enums.INDEXED_VALUE_TYPE_KEYWORD

        def adding(namespace: str = NS, /, **attributes: Any) -> Message:
            request = ops.AddSearchAttributesRequest(namespace=namespace)
            request.search_attributes.update(attributes)
            return request

        await self.call("sa-add-no-namespace", add, adding("", AeKeyword=keyword))
        await self.call("sa-add-unknown-namespace", add, adding("nope", AeKeyword=keyword))
        await self.call("sa-add-none", add, adding())
        await self.call("sa-add-reserved", add, adding(WorkflowId=keyword))
        await self.call(
            "sa-add-unspecified-type",
            add,
            adding(AeBadType=common_enums.INDEXED_VALUE_TYPE_UNSPECIFIED),
        )
        await self.call("sa-add-bad-name", add, adding(**{"has space": keyword}))
        await self.call("sa-add-ok", add, adding(AeKeyword=keyword))
        await self.call("sa-add-again-same-type", add, adding(AeKeyword=keyword))
        await self.call(
            "sa-add-again-other-type", add, adding(AeKeyword=common_enums.INDEXED_VALUE_TYPE_INT)
        )

        def removing(namespace: str = NS, *names: str) -> Message:
            return ops.RemoveSearchAttributesRequest(
                namespace=namespace, search_attributes=list(names)
            )

        await self.call("sa-remove-no-namespace", remove, removing("", "AeKeyword"))
        await self.call("sa-remove-unknown", remove, removing(NS, "NoSuchAttribute"))
        await self.call("sa-remove-system", remove, removing(NS, "WorkflowId"))
        await self.call("sa-remove-none", remove, removing(NS))
        await self.call("sa-remove-ok", remove, removing(NS, "AeKeyword"))
        await self.call("sa-add-int", add, adding(AeInt=common_enums.INDEXED_VALUE_TYPE_INT))
        await self.call(
            "start-wrong-typed-search-attribute",
            self.service.start_workflow_execution,
            self.start(
                "ae-s",
                search_attributes=common_pb.SearchAttributes(
                    indexed_fields={"AeInt": keyword_payload("abc")}
                ),
            ),
        )
        await self.call("sa-list-no-namespace", listing, ops.ListSearchAttributesRequest())
        await self.call(
            "sa-list-unknown-namespace", listing, ops.ListSearchAttributesRequest(namespace="nope")
        )
