"""What the frontend answers to bad and edge-case requests of the everyday RPCs: for
each request, "ok" or the gRPC status code, the message and the error details (their
message type and fields), normalised so that two servers can be compared (run ids and
other UUIDs become placeholders).

`python -m tests.adapters.serve.api_errors_scenario HOST:PORT` prints the transcript as
JSON; tests/fixtures/serve/api_errors_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0). The server must be
fresh: the scenario uses fixed workflow ids. Left out are requests a server holds until
the caller's deadline (a query of a run no worker serves, a valid poll): their answer
would be the client's own timeout.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from google.protobuf import duration_pb2, json_format
from google.protobuf.message import Message
from temporalio.api.command.v1 import message_pb2 as command_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import command_type_pb2 as command_enums
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import query_pb2 as query_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.enums.v1 import workflow_pb2 as workflow_enums
from temporalio.api.errordetails.v1 import message_pb2 as _errordetails  # noqa: F401
from temporalio.api.failure.v1 import message_pb2 as _failure  # noqa: F401
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.query.v1 import message_pb2 as query_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"
# The dev server's dynamic config the record needs: a search attribute just added is
# usable at once (tests/fixtures/serve/api_errors_dev.json was recorded with it).
DEV_CONFIG = ("system.forceSearchAttributesCacheRefreshOnRead=true",)
RUNNING = "ae-running"  # started on a queue no worker polls: never gets a first task done
CLOSED = "ae-closed"  # completed by the scenario's own workflow task
QUEUE = "ae-idle"
LONG = "x" * 1001  # one more than the frontend's default id length limit (1000)
NOT_UUID = "not-a-uuid"
GARBAGE = b"\x01\x02garbage"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LONG_RUN = re.compile("x{100,}")
# the id the server gives an internal error in its message, to find it in its log
ERROR_ID = re.compile(r"\([0-9a-f]{8}\)")
TIMEOUT = timedelta(seconds=5)


def dev_args() -> list[str]:
    return [arg for value in DEV_CONFIG for arg in ("--dynamic-config-value", value)]


def _seconds(n: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(n * 1e9))
    return out


def _keyword(value: str) -> common_pb.Payload:
    return common_pb.Payload(
        metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=json.dumps(value).encode()
    )


def _execution(workflow_id: str, run_id: str = "") -> common_pb.WorkflowExecution:
    return common_pb.WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


class Scenario:
    def __init__(self, client: Client) -> None:
        self.service = client.workflow_service
        self.operator = client.operator_service
        self.log: dict[str, Any] = {}
        self.names: dict[str, str] = {}  # run id -> its name in the transcript

    def _normal(self, text: str) -> str:
        text = UUID.sub(lambda m: self.names.get(m.group(0), "<uuid>"), text)
        text = LONG_RUN.sub(lambda m: f"<{len(m.group(0))} x>", text)
        return ERROR_ID.sub("(<error id>)", text)

    def _details(self, error: RPCError) -> list[Any]:
        out = []
        for detail in error.grpc_status.details:
            try:
                fields = json_format.MessageToDict(detail)
            except (TypeError, KeyError):  # a type this SDK does not know
                fields = {"@type": detail.type_url}
            out.append(json.loads(self._normal(json.dumps(fields, sort_keys=True))))
        return out

    async def call(self, step: str, rpc: Callable[..., Awaitable[Any]], request: Message) -> Any:
        """Record `step`: "ok", or the error's status, message and details."""
        assert step not in self.log, step
        try:
            reply = await rpc(request, timeout=TIMEOUT)
        except RPCError as error:
            self.log[step] = {
                "code": error.status.name,
                "message": self._normal(error.message),
                "details": self._details(error),
            }
            return None
        self.log[step] = "ok"
        return reply

    # -- requests -------------------------------------------------------------------

    def start(self, workflow_id: str, **fields: Any) -> ws.StartWorkflowExecutionRequest:
        values: dict[str, Any] = {
            "namespace": NS,
            "workflow_id": workflow_id,
            "workflow_type": common_pb.WorkflowType(name="Waiter"),
            "task_queue": tq_pb.TaskQueue(name=QUEUE),
            "request_id": str(uuid.uuid4()),
            "identity": "scenario",
        }
        return ws.StartWorkflowExecutionRequest(**{**values, **fields})

    def signal(self, workflow_id: str, run_id: str = "", **fields: Any) -> Message:
        values: dict[str, Any] = {
            "namespace": NS,
            "workflow_execution": _execution(workflow_id, run_id),
            "signal_name": "poke",
            "request_id": str(uuid.uuid4()),
        }
        return ws.SignalWorkflowExecutionRequest(**{**values, **fields})

    # -- the scenario -----------------------------------------------------------------

    async def setup(self) -> None:
        started = await self.call(
            "setup-start-running", self.service.start_workflow_execution, self.start(RUNNING)
        )
        self.names[started.run_id] = "<running-run>"
        closed = await self.call(
            "setup-start-closed",
            self.service.start_workflow_execution,
            self.start(CLOSED, task_queue=tq_pb.TaskQueue(name="ae-closing")),
        )
        self.names[closed.run_id] = "<closed-run>"
        poll = ws.PollWorkflowTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name="ae-closing"), identity="scenario"
        )
        task = await self.service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=30))
        self.stale_workflow_token = task.task_token
        done = command_pb.Command(
            command_type=command_enums.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=(
                command_pb.CompleteWorkflowExecutionCommandAttributes()
            ),
        )
        await self.call(
            "setup-complete-closed",
            self.service.respond_workflow_task_completed,
            ws.RespondWorkflowTaskCompletedRequest(
                namespace=NS, task_token=task.task_token, commands=[done], identity="scenario"
            ),
        )

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
                "ae-s", workflow_execution_timeout=_seconds(-1)
            ),
            "start-negative-run-timeout": self.start("ae-s", workflow_run_timeout=_seconds(-1)),
            "start-negative-task-timeout": self.start("ae-s", workflow_task_timeout=_seconds(-1)),
            "start-huge-task-timeout": self.start(
                "ae-s", workflow_task_timeout=_seconds(10 * 365 * 86400)
            ),
            "start-retry-max-below-initial": self.start(
                "ae-s",
                retry_policy=retry(initial_interval=_seconds(10), maximum_interval=_seconds(5)),
            ),
            "start-retry-coefficient-below-one": self.start(
                "ae-s", retry_policy=retry(backoff_coefficient=0.5)
            ),
            "start-retry-negative-attempts": self.start(
                "ae-s", retry_policy=retry(maximum_attempts=-1)
            ),
            "start-retry-negative-initial": self.start(
                "ae-s", retry_policy=retry(initial_interval=_seconds(-1))
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
            "start-negative-delay": self.start("ae-s", workflow_start_delay=_seconds(-1)),
            "start-delay-with-cron": self.start(
                "ae-s", cron_schedule="* * * * *", workflow_start_delay=_seconds(5)
            ),
            "start-reserved-search-attribute": self.start(
                "ae-s",
                search_attributes=common_pb.SearchAttributes(
                    indexed_fields={"WorkflowId": _keyword("x")}
                ),
            ),
            "start-unknown-search-attribute": self.start(
                "ae-s",
                search_attributes=common_pb.SearchAttributes(
                    indexed_fields={"NoSuchAttribute": _keyword("x")}
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

    def names_of(self, name: str) -> str:
        return next(run for run, known in self.names.items() if known == name)

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
            "sws-negative-run-timeout": sws("ae-sws", workflow_run_timeout=_seconds(-1)),
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
            "query-no-namespace": query(_execution(RUNNING), namespace=""),
            "query-empty-id": query(_execution("")),
            "query-unknown-workflow": query(_execution("ae-unknown")),
            "query-run-not-uuid": query(_execution(RUNNING, NOT_UUID)),
            "query-unknown-run": query(_execution(RUNNING, str(uuid.uuid4()))),
            "query-no-query": query(_execution(RUNNING), query=None),
            "query-no-query-type": query(_execution(RUNNING), query=query_pb.WorkflowQuery()),
            "query-closed-reject-not-open": query(
                _execution(CLOSED),
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
            "update-no-namespace": update(_execution(RUNNING), namespace=""),
            "update-empty-id": update(_execution("")),
            "update-unknown-workflow": update(_execution("ae-unknown")),
            "update-run-not-uuid": update(_execution(RUNNING, NOT_UUID)),
            "update-no-request": update(_execution(RUNNING), request=None),
            "update-closed": update(_execution(CLOSED)),
            "update-no-name": update(
                _execution(RUNNING),
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
                    workflow_execution=_execution(workflow_id, run_id), update_id=update_id
                ),
            )

        await self.call(
            "poll-update-no-ref", poll, ws.PollWorkflowExecutionUpdateRequest(namespace=NS)
        )
        await self.call("poll-update-unknown-workflow", poll, ref("ae-unknown", "u1"))
        await self.call("poll-update-unknown-update", poll, ref(RUNNING, "nope"))
        await self.call("poll-update-closed", poll, ref(CLOSED, "nope"))
        await self.call("poll-update-no-update-id", poll, ref(RUNNING, ""))

    async def reads(self) -> None:
        describe = self.service.describe_workflow_execution

        def desc(execution: common_pb.WorkflowExecution, namespace: str = NS) -> Message:
            return ws.DescribeWorkflowExecutionRequest(namespace=namespace, execution=execution)

        cases = {
            "describe-no-namespace": desc(_execution(RUNNING), ""),
            "describe-unknown-namespace": desc(_execution(RUNNING), "nope"),
            "describe-empty-id": desc(_execution("")),
            "describe-long-id": desc(_execution(LONG)),
            "describe-unknown-workflow": desc(_execution("ae-unknown")),
            "describe-run-not-uuid": desc(_execution(RUNNING, NOT_UUID)),
            "describe-unknown-run": desc(_execution(RUNNING, str(uuid.uuid4()))),
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
                "no-namespace": kind(namespace="", execution=_execution(RUNNING)),
                "unknown-namespace": kind(namespace="nope", execution=_execution(RUNNING)),
                "no-execution": kind(namespace=NS),
                "empty-id": kind(namespace=NS, execution=_execution("")),
                "unknown-workflow": kind(namespace=NS, execution=_execution("ae-unknown")),
                "run-not-uuid": kind(namespace=NS, execution=_execution(RUNNING, NOT_UUID)),
                "unknown-run": kind(namespace=NS, execution=_execution(RUNNING, str(uuid.uuid4()))),
                "bad-page-token": kind(
                    namespace=NS, execution=_execution(RUNNING), next_page_token=GARBAGE
                ),
                "negative-page-size": kind(
                    namespace=NS, execution=_execution(RUNNING), maximum_page_size=-1
                ),
            }
            variants["closed-run"] = kind(
                namespace=NS, execution=_execution(CLOSED, self.names_of("<closed-run>"))
            )
            for step, request in variants.items():
                await self.call(f"{name}-{step}", rpc, request)
        close_only = workflow_enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        for step, request in {
            "history-closed-wait-new-event": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=_execution(CLOSED), wait_new_event=True
            ),
            "history-closed-close-event": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS, execution=_execution(CLOSED), history_event_filter_type=close_only
            ),
            "history-bad-filter-type": ws.GetWorkflowExecutionHistoryRequest(
                namespace=NS,
                execution=_execution(CLOSED),
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

    async def lifecycle(self) -> None:
        cancel = self.service.request_cancel_workflow_execution
        terminate = self.service.terminate_workflow_execution
        delete = self.service.delete_workflow_execution
        reset = self.service.reset_workflow_execution

        def cancel_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.RequestCancelWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "cancel-no-namespace": cancel_req(_execution(RUNNING), namespace=""),
            "cancel-empty-id": cancel_req(_execution("")),
            "cancel-unknown-workflow": cancel_req(_execution("ae-unknown")),
            "cancel-run-not-uuid": cancel_req(_execution(RUNNING, NOT_UUID)),
            "cancel-unknown-run": cancel_req(_execution(RUNNING, str(uuid.uuid4()))),
            "cancel-closed": cancel_req(_execution(CLOSED)),
            "cancel-wrong-first-run": cancel_req(
                _execution(RUNNING), first_execution_run_id=str(uuid.uuid4())
            ),
            "cancel-long-request-id": cancel_req(_execution(RUNNING), request_id=LONG),
            "cancel-running": cancel_req(_execution(RUNNING), request_id="cancel-1"),
            "cancel-running-same-request": cancel_req(_execution(RUNNING), request_id="cancel-1"),
            "cancel-running-again": cancel_req(_execution(RUNNING), request_id="cancel-2"),
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
            "reset-no-namespace": reset_req(_execution(CLOSED), namespace=""),
            "reset-empty-id": reset_req(_execution("")),
            "reset-unknown-workflow": reset_req(_execution("ae-unknown")),
            "reset-run-not-uuid": reset_req(_execution(CLOSED, NOT_UUID)),
            "reset-event-id-zero": reset_req(_execution(CLOSED), workflow_task_finish_event_id=0),
            "reset-event-id-not-a-task": reset_req(
                _execution(CLOSED), workflow_task_finish_event_id=2
            ),
            "reset-event-id-beyond": reset_req(
                _execution(CLOSED), workflow_task_finish_event_id=99
            ),
            "reset-no-task-completed": reset_req(_execution(RUNNING)),
            "reset-no-request-id": reset_req(_execution(CLOSED), request_id=""),
            "reset-long-request-id": reset_req(_execution(CLOSED), request_id=LONG),
            "reset-bad-reapply-type": reset_req(_execution(CLOSED), reset_reapply_type=99),
        }.items():
            await self.call(step, reset, request)

        def terminate_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.TerminateWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "terminate-no-namespace": terminate_req(_execution(RUNNING), namespace=""),
            "terminate-empty-id": terminate_req(_execution("")),
            "terminate-unknown-workflow": terminate_req(_execution("ae-unknown")),
            "terminate-run-not-uuid": terminate_req(_execution(RUNNING, NOT_UUID)),
            "terminate-unknown-run": terminate_req(_execution(RUNNING, str(uuid.uuid4()))),
            "terminate-closed": terminate_req(_execution(CLOSED)),
            "terminate-closed-run": terminate_req(
                _execution(CLOSED, self.names_of("<closed-run>"))
            ),
            "terminate-wrong-first-run": terminate_req(
                _execution(RUNNING), first_execution_run_id=str(uuid.uuid4())
            ),
        }.items():
            await self.call(step, terminate, request)

        def delete_req(execution: common_pb.WorkflowExecution, **fields: Any) -> Message:
            values: dict[str, Any] = {"namespace": NS, "workflow_execution": execution}
            return ws.DeleteWorkflowExecutionRequest(**{**values, **fields})

        for step, request in {
            "delete-no-namespace": delete_req(_execution(RUNNING), namespace=""),
            "delete-empty-id": delete_req(_execution("")),
            "delete-unknown-workflow": delete_req(_execution("ae-unknown")),
            "delete-run-not-uuid": delete_req(_execution(RUNNING, NOT_UUID)),
            "delete-unknown-run": delete_req(_execution(RUNNING, str(uuid.uuid4()))),
            # last: the server deletes in the background, so nothing reads them after
            "delete-closed": delete_req(_execution(CLOSED)),
            "delete-running": delete_req(_execution(RUNNING)),
        }.items():
            await self.call(step, delete, request)

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
                    indexed_fields={"AeInt": _keyword("abc")}
                ),
            ),
        )
        await self.call("sa-list-no-namespace", listing, ops.ListSearchAttributesRequest())
        await self.call(
            "sa-list-unknown-namespace", listing, ops.ListSearchAttributesRequest(namespace="nope")
        )


async def record(client: Client) -> dict[str, Any]:
    """Run the scenario on `client`'s server (which must not know its ids yet)."""
    scenario = Scenario(client)
    await scenario.setup()
    await scenario.starts()
    await scenario.signals()
    await scenario.signal_with_starts()
    await scenario.queries()
    await scenario.updates()
    await scenario.reads()
    await scenario.visibility()
    await scenario.tasks()
    await scenario.namespaces_and_queues()
    await scenario.lifecycle()
    await scenario.search_attributes()
    return scenario.log


async def _main(address: str) -> None:
    print(json.dumps(await record(await Client.connect(address)), indent=1, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
