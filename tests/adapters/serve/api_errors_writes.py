"""The bad-request scenario's writes: starts, signals, signal-with-starts, queries,
updates, cancels, resets, terminations, deletions (see api_errors_scenario.py)."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import query_pb2 as query_enums
from temporalio.api.enums.v1 import workflow_pb2 as workflow_enums
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
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
    seconds_of,
)


class Writes(Base):
    async def starts(self) -> None:
        svc = self.service.start_workflow_execution
        retry = common_pb.RetryPolicy
        cases: dict[str, ws.StartWorkflowExecutionRequest] = {
            "start-no-namespace": self.start("ae-s", namespace=""),
            "start-unknown-namespace": self.start("ae-s", namespace="nope"),
            "start-empty-id": self.start(""),
            "start-long-id": self.start(LONG),
            "start-no-type": self.start("ae-s", workflow_type=common_pb.WorkflowType()),
            "start-long-type": self.start("ae-s", workflow_type=common_pb.WorkflowType(name=LONG)),
            "start-no-queue": self.start("ae-s", task_queue=tq_pb.TaskQueue()),
            "start-long-queue": self.start("ae-s", task_queue=tq_pb.TaskQueue(name=LONG)),
            "start-reserved-queue": self.start(
                "ae-s", task_queue=tq_pb.TaskQueue(name="/_sys/ae/1")
            ),
            "start-long-request-id": self.start("ae-s", request_id=LONG),
            "start-long-identity": self.start("ae-s", identity=LONG),
            "start-negative-execution-timeout": self.start(
                "ae-s", workflow_execution_timeout=seconds_of(-1)
            ),
            "start-negative-run-timeout": self.start("ae-s", workflow_run_timeout=seconds_of(-1)),
            "start-negative-task-timeout": self.start("ae-s", workflow_task_timeout=seconds_of(-1)),
            "start-huge-task-timeout": self.start(
                "ae-s", workflow_task_timeout=seconds_of(10 * 365 * 86400)
            ),
            "start-retry-max-below-initial": self.start(
                "ae-s",
                retry_policy=retry(initial_interval=seconds_of(10), maximum_interval=seconds_of(5)),
            ),
            "start-retry-coefficient-below-one": self.start(
                "ae-s", retry_policy=retry(backoff_coefficient=0.5)
            ),
            "start-retry-negative-attempts": self.start(
                "ae-s", retry_policy=retry(maximum_attempts=-1)
            ),
            "start-retry-negative-initial": self.start(
                "ae-s", retry_policy=retry(initial_interval=seconds_of(-1))
            ),
            "start-bad-cron": self.start("ae-s", cron_schedule="every tuesday"),
            "start-negative-priority-key": self.start(
                "ae-s", priority=common_pb.Priority(priority_key=-1)
            ),
            "start-reject-duplicate-with-terminate-existing": self.start(
                "ae-s",
                workflow_id_reuse_policy=(workflow_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE),
                workflow_id_conflict_policy=(
                    workflow_enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
                ),
            ),
            "start-negative-delay": self.start("ae-s", workflow_start_delay=seconds_of(-1)),
            "start-delay-with-cron": self.start(
                "ae-s", cron_schedule="* * * * *", workflow_start_delay=seconds_of(5)
            ),
            "start-reserved-search-attribute": self.start(
                "ae-s",
                search_attributes=common_pb.SearchAttributes(
                    indexed_fields={"WorkflowId": keyword_payload("x")}
                ),
            ),
            "start-unknown-search-attribute": self.start(
                "ae-s",
                search_attributes=common_pb.SearchAttributes(
                    indexed_fields={"NoSuchAttribute": keyword_payload("x")}
                ),
            ),
            "start-conflict-policy-with-reuse-terminate": self.start(
                "ae-s",
                workflow_id_reuse_policy=(
                    workflow_enums.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
                ),
                workflow_id_conflict_policy=workflow_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            ),
        }
        for step, request in cases.items():
            if request.workflow_id == "ae-s":  # its own id: an accepted start is no conflict
                request.workflow_id = f"ae-{step}"
            await self.call(step, svc, request)
        again = self.start(RUNNING)
        await self.call("start-running-again", svc, again)
        use_existing = workflow_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
        await self.call(
            "start-running-use-existing",
            svc,
            self.start(RUNNING, workflow_id_conflict_policy=use_existing),
        )
        await self.call("start-running-again-same-request", svc, again)
        reject = workflow_enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
        await self.call(
            "start-closed-reject-duplicate",
            svc,
            self.start(CLOSED, workflow_id_reuse_policy=reject),
        )

    async def signals(self) -> None:
        svc = self.service.signal_workflow_execution
        running = self.names_of("<running-run>")
        cases = {
            "signal-no-namespace": self.signal(RUNNING, namespace=""),
            "signal-unknown-namespace": self.signal(RUNNING, namespace="nope"),
            "signal-empty-id": self.signal(""),
            "signal-long-id": self.signal(LONG),
            "signal-unknown-workflow": self.signal("ae-unknown"),
            "signal-run-not-uuid": self.signal(RUNNING, NOT_UUID),
            "signal-unknown-run": self.signal(RUNNING, str(uuid.uuid4())),
            "signal-closed": self.signal(CLOSED),
            "signal-closed-run": self.signal(CLOSED, self.names_of("<closed-run>")),
            "signal-no-name": self.signal(RUNNING, signal_name=""),
            "signal-long-name": self.signal(RUNNING, signal_name=LONG),
            "signal-long-request-id": self.signal(RUNNING, request_id=LONG),
        }
        for step, request in cases.items():
            await self.call(step, svc, request)
        same = self.signal(RUNNING, running)
        await self.call("signal-ok", svc, same)
        await self.call("signal-same-request-again", svc, same)

    async def signal_with_starts(self) -> None:
        svc = self.service.signal_with_start_workflow_execution

        def sws(workflow_id: str, **fields: Any) -> ws.SignalWithStartWorkflowExecutionRequest:
            values: dict[str, Any] = {
                "namespace": NS,
                "workflow_id": workflow_id,
                "workflow_type": common_pb.WorkflowType(name="Waiter"),
                "task_queue": tq_pb.TaskQueue(name=QUEUE),
                "signal_name": "poke",
                "request_id": str(uuid.uuid4()),
            }
            return ws.SignalWithStartWorkflowExecutionRequest(**{**values, **fields})

        cases = {
            "sws-no-namespace": sws("ae-sws", namespace=""),
            "sws-empty-id": sws(""),
            "sws-no-signal-name": sws("ae-sws", signal_name=""),
            "sws-no-type": sws("ae-sws", workflow_type=common_pb.WorkflowType()),
            "sws-no-queue": sws("ae-sws", task_queue=tq_pb.TaskQueue()),
            "sws-retry-coefficient-below-one": sws(
                "ae-sws", retry_policy=common_pb.RetryPolicy(backoff_coefficient=0.5)
            ),
            "sws-negative-run-timeout": sws("ae-sws", workflow_run_timeout=seconds_of(-1)),
            "sws-long-signal-name": sws("ae-sws", signal_name=LONG),
            "sws-long-request-id": sws("ae-sws", request_id=LONG),
            "sws-terminate-if-running-with-conflict": sws(
                "ae-sws",
                workflow_id_reuse_policy=(
                    workflow_enums.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
                ),
                workflow_id_conflict_policy=(
                    workflow_enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
                ),
            ),
            "sws-conflict-fail": sws(
                RUNNING,
                workflow_id_conflict_policy=workflow_enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            ),
            "sws-running-ok": sws(RUNNING),
        }
        for step, request in cases.items():
            if request.workflow_id == "ae-sws":
                request.workflow_id = f"ae-{step}"
            await self.call(step, svc, request)

    async def queries(self) -> None:
        svc = self.service.query_workflow

        def query(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {
                "namespace": NS,
                "execution": execution,
                "query": query_pb.WorkflowQuery(query_type="state"),
            }
            return ws.QueryWorkflowRequest(**{**values, **fields})

        cases = {
            "query-no-namespace": query(execution_of(RUNNING), namespace=""),
            "query-empty-id": query(execution_of("")),
            "query-unknown-workflow": query(execution_of("ae-unknown")),
            "query-run-not-uuid": query(execution_of(RUNNING, NOT_UUID)),
            "query-unknown-run": query(execution_of(RUNNING, str(uuid.uuid4()))),
            "query-no-query": query(execution_of(RUNNING), query=None),
            "query-no-query-type": query(execution_of(RUNNING), query=query_pb.WorkflowQuery()),
            "query-closed-reject-not-open": query(
                execution_of(CLOSED),
                query_reject_condition=query_enums.QUERY_REJECT_CONDITION_NOT_OPEN,
            ),
        }
        for step, request in cases.items():
            await self.call(step, svc, request)
        await self.call(
            "query-task-completed-garbage-token",
            self.service.respond_query_task_completed,
            ws.RespondQueryTaskCompletedRequest(namespace=NS, task_token=GARBAGE),
        )
        await self.call(
            "query-task-completed-no-token",
            self.service.respond_query_task_completed,
            ws.RespondQueryTaskCompletedRequest(namespace=NS),
        )

    async def updates(self) -> None:
        svc = self.service.update_workflow_execution

        def update(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            request = update_pb.Request(
                meta=update_pb.Meta(update_id="u1"), input=update_pb.Input(name="bump")
            )
            values: dict[str, Any] = {
                "namespace": NS,
                "workflow_execution": execution,
                "request": request,
            }
            return ws.UpdateWorkflowExecutionRequest(**{**values, **fields})

        cases = {
            "update-no-namespace": update(execution_of(RUNNING), namespace=""),
            "update-empty-id": update(execution_of("")),
            "update-unknown-workflow": update(execution_of("ae-unknown")),
            "update-run-not-uuid": update(execution_of(RUNNING, NOT_UUID)),
            "update-no-request": update(execution_of(RUNNING), request=None),
            "update-closed": update(execution_of(CLOSED)),
            "update-no-name": update(
                execution_of(RUNNING),
                request=update_pb.Request(meta=update_pb.Meta(update_id="u2")),
            ),
        }
        for step, request in cases.items():
            await self.call(step, svc, request)
        poll = self.service.poll_workflow_execution_update

        def ref(workflow_id: str, update_id: str, run_id: str = "") -> Message:
            return ws.PollWorkflowExecutionUpdateRequest(
                namespace=NS,
                update_ref=update_pb.UpdateRef(
                    workflow_execution=execution_of(workflow_id, run_id), update_id=update_id
                ),
            )

        await self.call(
            "poll-update-no-ref", poll, ws.PollWorkflowExecutionUpdateRequest(namespace=NS)
        )
        await self.call("poll-update-unknown-workflow", poll, ref("ae-unknown", "u1"))
        await self.call("poll-update-unknown-update", poll, ref(RUNNING, "nope"))
        await self.call("poll-update-closed", poll, ref(CLOSED, "nope"))
        await self.call("poll-update-no-update-id", poll, ref(RUNNING, ""))

    async def lifecycle(self) -> None:
        cancel = self.service.request_cancel_workflow_execution
        terminate = self.service.terminate_workflow_execution
        delete = self.service.delete_workflow_execution
        reset = self.service.reset_workflow_execution

        def cancel_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.RequestCancelWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "cancel-no-namespace": cancel_req(execution_of(RUNNING), namespace=""),
            "cancel-empty-id": cancel_req(execution_of("")),
            "cancel-unknown-workflow": cancel_req(execution_of("ae-unknown")),
            "cancel-run-not-uuid": cancel_req(execution_of(RUNNING, NOT_UUID)),
            "cancel-unknown-run": cancel_req(execution_of(RUNNING, str(uuid.uuid4()))),
            "cancel-closed": cancel_req(execution_of(CLOSED)),
            "cancel-wrong-first-run": cancel_req(
                execution_of(RUNNING), first_execution_run_id=str(uuid.uuid4())
            ),
            "cancel-long-request-id": cancel_req(execution_of(RUNNING), request_id=LONG),
            "cancel-running": cancel_req(execution_of(RUNNING), request_id="cancel-1"),
            "cancel-running-same-request": cancel_req(execution_of(RUNNING), request_id="cancel-1"),
            "cancel-running-again": cancel_req(execution_of(RUNNING), request_id="cancel-2"),
        }.items():
            await self.call(step, cancel, request)

        def reset_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {
                "namespace": NS,
                "workflow_execution": execution,
                "workflow_task_finish_event_id": 4,
                "request_id": str(uuid.uuid4()),
                "reason": "scenario",
            }
            return ws.ResetWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "reset-no-namespace": reset_req(execution_of(CLOSED), namespace=""),
            "reset-empty-id": reset_req(execution_of("")),
            "reset-unknown-workflow": reset_req(execution_of("ae-unknown")),
            "reset-run-not-uuid": reset_req(execution_of(CLOSED, NOT_UUID)),
            "reset-event-id-zero": reset_req(execution_of(CLOSED), workflow_task_finish_event_id=0),
            "reset-event-id-not-a-task": reset_req(
                execution_of(CLOSED), workflow_task_finish_event_id=2
            ),
            "reset-event-id-beyond": reset_req(
                execution_of(CLOSED), workflow_task_finish_event_id=99
            ),
            "reset-no-task-completed": reset_req(execution_of(RUNNING)),
            "reset-no-request-id": reset_req(execution_of(CLOSED), request_id=""),
            "reset-long-request-id": reset_req(execution_of(CLOSED), request_id=LONG),
            "reset-bad-reapply-type": reset_req(execution_of(CLOSED), reset_reapply_type=99),
        }.items():
            await self.call(step, reset, request)

        def terminate_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.TerminateWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "terminate-no-namespace": terminate_req(execution_of(RUNNING), namespace=""),
            "terminate-empty-id": terminate_req(execution_of("")),
            "terminate-unknown-workflow": terminate_req(execution_of("ae-unknown")),
            "terminate-run-not-uuid": terminate_req(execution_of(RUNNING, NOT_UUID)),
            "terminate-unknown-run": terminate_req(execution_of(RUNNING, str(uuid.uuid4()))),
            "terminate-closed": terminate_req(execution_of(CLOSED)),
            "terminate-closed-run": terminate_req(
                execution_of(CLOSED, self.names_of("<closed-run>"))
            ),
            "terminate-wrong-first-run": terminate_req(
                execution_of(RUNNING), first_execution_run_id=str(uuid.uuid4())
            ),
        }.items():
            await self.call(step, terminate, request)

        def delete_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.DeleteWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "delete-no-namespace": delete_req(execution_of(RUNNING), namespace=""),
            "delete-empty-id": delete_req(execution_of("")),
            "delete-unknown-workflow": delete_req(execution_of("ae-unknown")),
            "delete-run-not-uuid": delete_req(execution_of(RUNNING, NOT_UUID)),
            "delete-unknown-run": delete_req(execution_of(RUNNING, str(uuid.uuid4()))),
            # last: the server deletes in the background, so nothing reads them after
            "delete-closed": delete_req(execution_of(CLOSED)),
            "delete-running": delete_req(execution_of(RUNNING)),
        }.items():
            await self.call(step, delete, request)
