"""One scenario of standalone activities (StartActivityExecution and the rest of the
standalone activity API), driven with raw calls (the test is the activity worker), and
what a server answers to it, normalised so that it can be compared across servers:
replies and error messages, the activity task a poll hands out, descriptions' status,
run state and attempt, and outcomes (run ids only as "same" or "new").

`python -m tests.adapters.serve.standalone_scenario HOST:PORT` prints the transcript as
JSON; tests/fixtures/serve/standalone_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0) started with the
dynamic config `DEV_CONFIG` (the SDK's own conftest turns the same flags on).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from google.protobuf import duration_pb2
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import activity_pb2 as act_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.failure.v1 import message_pb2 as failure_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"
DEV_CONFIG = (
    "frontend.activityAPIsEnabled=true",
    "activity.enableStandalone=true",
    "activity.startDelayEnabled=true",
    "history.enableChasm=true",
    "history.enableTransitionHistory=true",
)


def dev_args() -> list[str]:
    return [arg for value in DEV_CONFIG for arg in ("--dynamic-config-value", value)]


def _seconds(n: float) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromNanoseconds(int(n * 1e9))
    return out


def _failure_summary(failure: failure_pb.Failure) -> dict[str, Any]:
    out: dict[str, Any] = {"message": failure.message, "info": failure.WhichOneof("failure_info")}
    if failure.HasField("canceled_failure_info"):
        details = failure.canceled_failure_info.details.payloads
        out["details"] = [p.data.decode() for p in details]
        out["identity"] = failure.canceled_failure_info.identity
    if failure.HasField("timeout_failure_info"):
        out["timeout"] = wf_enums.TimeoutType.Name(failure.timeout_failure_info.timeout_type)
    if failure.HasField("cause"):
        out["cause"] = _failure_summary(failure.cause)
    return out


class Scenario:
    def __init__(self, client: Client) -> None:
        self.service = client.workflow_service
        self.prefix = f"standalone-{uuid.uuid4()}"
        self.queue = f"{self.prefix}-queue"
        self.log: list[Any] = []
        self.runs: dict[str, str] = {}

    def note(self, *entry: Any) -> None:
        self.log.append(list(entry))

    async def call(self, step: str, rpc: Any, request: Any) -> Any:
        """Record `step`: "ok", or the error's status name and message."""
        try:
            reply = await rpc(request)
        except RPCError as error:
            self.note(step, error.status.name, error.message)
            return None
        self.note(step, "ok")
        return reply

    def run_of(self, name: str, run_id: str) -> str:
        """A run id as "first" for a name's first run, "same" or "new" afterwards."""
        known = self.runs.get(name)
        if known is None:
            self.runs[name] = run_id
            return "first"
        if known == run_id:
            return "same"
        self.runs[name] = run_id
        return "new"

    def start_request(self, name: str, **fields: Any) -> ws.StartActivityExecutionRequest:
        request = ws.StartActivityExecutionRequest(
            namespace=NS,
            identity="scenario",
            request_id=str(uuid.uuid4()),
            activity_id=f"{self.prefix}-{name}",
            activity_type=common_pb.ActivityType(name="increment"),
            task_queue=tq_pb.TaskQueue(name=self.queue),
            start_to_close_timeout=_seconds(30),
            input=common_pb.Payloads(
                payloads=[common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b"1")]
            ),
        )
        for key, value in fields.items():
            if isinstance(value, duration_pb2.Duration | common_pb.RetryPolicy | tq_pb.TaskQueue):
                getattr(request, key).CopyFrom(value)
            else:
                setattr(request, key, value)
        return request

    async def start(self, step: str, name: str, **fields: Any) -> None:
        reply = await self.call(
            step, self.service.start_activity_execution, self.start_request(name, **fields)
        )
        if reply is not None:
            self.note(f"{step}: reply", reply.started, self.run_of(name, reply.run_id))

    async def describe(self, step: str, name: str, **flags: Any) -> None:
        request = ws.DescribeActivityExecutionRequest(
            namespace=NS, activity_id=f"{self.prefix}-{name}", **flags
        )
        reply = await self.call(step, self.service.describe_activity_execution, request)
        if reply is None:
            return
        info = reply.info
        summary: dict[str, Any] = {
            "status": act_enums.ActivityExecutionStatus.Name(info.status),
            "run_state": wf_enums.PendingActivityState.Name(info.run_state),
            "attempt": info.attempt,
            "activity_type": info.activity_type.name,
            "task_queue": info.task_queue.removeprefix(self.prefix),
            "canceled_reason": info.canceled_reason,
            "has_close_time": info.HasField("close_time"),
            "has_last_started_time": info.HasField("last_started_time"),
            "has_retry_interval": info.HasField("current_retry_interval"),
            "has_expiration_time": info.HasField("expiration_time"),
            "last_worker_identity": info.last_worker_identity,
            "long_poll_token": bool(reply.long_poll_token),
            "retry_policy": [
                info.retry_policy.initial_interval.ToNanoseconds(),
                info.retry_policy.backoff_coefficient,
                info.retry_policy.maximum_interval.ToNanoseconds(),
                info.retry_policy.maximum_attempts,
            ],
            "timeouts": [
                info.schedule_to_close_timeout.ToNanoseconds(),
                info.schedule_to_start_timeout.ToNanoseconds(),
                info.start_to_close_timeout.ToNanoseconds(),
                info.heartbeat_timeout.ToNanoseconds(),
            ],
        }
        if info.HasField("last_failure"):
            summary["last_failure"] = _failure_summary(info.last_failure)
        if reply.HasField("outcome"):
            summary["outcome"] = self.outcome(reply.outcome)
        self.note(f"{step}: info", summary)

    @staticmethod
    def outcome(outcome: Any) -> dict[str, Any]:
        if outcome.HasField("result"):
            return {"result": [p.data.decode() for p in outcome.result.payloads]}
        if outcome.HasField("failure"):
            return {
                "failure": _failure_summary(outcome.failure),
                "retry_state": wf_enums.RetryState.Name(outcome.retry_state),
            }
        return {}

    async def poll_outcome(self, step: str, name: str) -> None:
        request = ws.PollActivityExecutionRequest(namespace=NS, activity_id=f"{self.prefix}-{name}")
        reply = await self.call(step, self.service.poll_activity_execution, request)
        if reply is not None:
            self.note(f"{step}: outcome", self.outcome(reply.outcome))

    async def poll_task(self, step: str) -> bytes:
        request = ws.PollActivityTaskQueueRequest(
            namespace=NS, task_queue=tq_pb.TaskQueue(name=self.queue), identity="worker"
        )
        reply = await self.service.poll_activity_task_queue(request)
        self.note(
            step,
            {
                "activity_id": reply.activity_id.removeprefix(self.prefix),
                "activity_type": reply.activity_type.name,
                "attempt": reply.attempt,
                "workflow_id": reply.workflow_execution.workflow_id,
                "workflow_type": reply.workflow_type.name,
                "workflow_namespace": reply.workflow_namespace,
                "input": [p.data.decode() for p in reply.input.payloads],
                "start_to_close": reply.start_to_close_timeout.ToNanoseconds(),
                "token": bool(reply.task_token),
            },
        )
        return bytes(reply.task_token)

    def cancel_request(
        self, name: str, request_id: str
    ) -> ws.RequestCancelActivityExecutionRequest:
        return ws.RequestCancelActivityExecutionRequest(
            namespace=NS,
            activity_id=f"{self.prefix}-{name}",
            identity="canceller",
            request_id=request_id,
            reason="no longer needed",
        )

    def terminate_request(self, name: str, request_id: str) -> ws.TerminateActivityExecutionRequest:
        return ws.TerminateActivityExecutionRequest(
            namespace=NS,
            activity_id=f"{self.prefix}-{name}",
            identity="terminator",
            request_id=request_id,
            reason="enough",
        )

    async def heartbeat(self, step: str, token: bytes) -> None:
        request = ws.RecordActivityTaskHeartbeatRequest(namespace=NS, task_token=token)
        reply = await self.call(step, self.service.record_activity_task_heartbeat, request)
        if reply is not None:
            self.note(f"{step}: cancel requested", reply.cancel_requested)


async def _cancellation(s: Scenario) -> None:
    svc = s.service
    await s.start("start a", "a", schedule_to_close_timeout=_seconds(60))
    await s.start("start a again", "a")
    await s.start(
        "start a, use existing",
        "a",
        id_conflict_policy=act_enums.ACTIVITY_ID_CONFLICT_POLICY_USE_EXISTING,
    )
    await s.describe("describe a", "a")
    token = await s.poll_task("poll a")
    await s.describe("describe a started", "a")
    cancel = ws.RespondActivityTaskCanceledRequest(namespace=NS, task_token=token)
    await s.call("a canceled unasked", svc.respond_activity_task_canceled, cancel)
    await s.heartbeat("a heartbeat", token)
    await s.call("cancel a", svc.request_cancel_activity_execution, s.cancel_request("a", "c1"))
    await s.call(
        "cancel a, same", svc.request_cancel_activity_execution, s.cancel_request("a", "c1")
    )
    await s.call(
        "cancel a again", svc.request_cancel_activity_execution, s.cancel_request("a", "c2")
    )
    await s.heartbeat("a heartbeat after cancel", token)
    await s.describe("describe a cancel requested", "a")
    cancel.details.payloads.add(metadata={"encoding": b"json/plain"}, data=b'"bye"')
    cancel.identity = "worker"
    await s.call("a canceled", svc.respond_activity_task_canceled, cancel)
    await s.poll_outcome("a outcome", "a")
    await s.describe("describe a canceled", "a", include_outcome=True)
    await s.call(
        "cancel a closed", svc.request_cancel_activity_execution, s.cancel_request("a", "c3")
    )
    await s.call(
        "terminate a closed", svc.terminate_activity_execution, s.terminate_request("a", "t1")
    )
    done = ws.RespondActivityTaskCompletedRequest(namespace=NS, task_token=token)
    await s.call("complete a closed", svc.respond_activity_task_completed, done)
    by_id = ws.RecordActivityTaskHeartbeatByIdRequest(
        namespace=NS, activity_id=f"{s.prefix}-a", identity="worker"
    )
    await s.call("heartbeat a closed by id", svc.record_activity_task_heartbeat_by_id, by_id)


async def _retry(s: Scenario) -> None:
    svc = s.service
    policy = common_pb.RetryPolicy(
        initial_interval=_seconds(1), backoff_coefficient=2.0, maximum_attempts=3
    )
    await s.start("start b", "b", retry_policy=policy, schedule_to_close_timeout=_seconds(60))
    token = await s.poll_task("poll b")
    failed = ws.RespondActivityTaskFailedRequest(
        namespace=NS,
        task_token=token,
        identity="worker",
        failure=failure_pb.Failure(
            message="try again", application_failure_info=failure_pb.ApplicationFailureInfo()
        ),
    )
    await s.call("fail b", svc.respond_activity_task_failed, failed)
    await s.call("fail b again", svc.respond_activity_task_failed, failed)
    await s.describe("describe b retrying", "b", include_last_failure=True)
    await s.poll_task("poll b again")
    run_id = s.runs["b"]
    done = ws.RespondActivityTaskCompletedByIdRequest(
        namespace=NS, activity_id=f"{s.prefix}-b", run_id=run_id, identity="worker"
    )
    done.result.payloads.add(metadata={"encoding": b"json/plain"}, data=b"2")
    await s.call("complete b by id", svc.respond_activity_task_completed_by_id, done)
    await s.poll_outcome("b outcome", "b")
    await s.describe("describe b completed", "b")
    reuse = act_enums.ACTIVITY_ID_REUSE_POLICY_REJECT_DUPLICATE
    await s.start("start b, reject duplicate", "b", id_reuse_policy=reuse)
    reuse = act_enums.ACTIVITY_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
    await s.start("start b, failed only", "b", id_reuse_policy=reuse)
    elsewhere = tq_pb.TaskQueue(name=f"{s.prefix}-elsewhere")
    await s.start("start b, allow duplicate", "b", task_queue=elsewhere)
    await s.describe("describe b new run", "b")
    await s.call("terminate b", svc.terminate_activity_execution, s.terminate_request("b", ""))


async def _terminate_and_fail(s: Scenario) -> None:
    svc = s.service
    await s.start("start c", "c")
    await s.call("terminate c", svc.terminate_activity_execution, s.terminate_request("c", "t1"))
    await s.call(
        "terminate c, same", svc.terminate_activity_execution, s.terminate_request("c", "t1")
    )
    await s.call(
        "terminate c again", svc.terminate_activity_execution, s.terminate_request("c", "t2")
    )
    await s.poll_outcome("c outcome", "c")
    await s.describe("describe c", "c")
    await s.start("start d", "d")
    await s.call(
        "cancel d scheduled", svc.request_cancel_activity_execution, s.cancel_request("d", "c1")
    )
    await s.poll_outcome("d outcome", "d")
    policy = common_pb.RetryPolicy(maximum_attempts=1)
    await s.start("start e", "e", retry_policy=policy, heartbeat_timeout=_seconds(1))
    await s.poll_task("poll e")
    await s.poll_outcome("e outcome (heartbeat timeout)", "e")
    await s.start(
        "start f",
        "f",
        schedule_to_start_timeout=_seconds(1),
        task_queue=tq_pb.TaskQueue(name=f"{s.prefix}-nobody"),
    )
    await s.poll_outcome("f outcome (schedule-to-start timeout)", "f")
    await s.start("start g", "g")
    token = await s.poll_task("poll g")
    failed = ws.RespondActivityTaskFailedRequest(
        namespace=NS,
        task_token=token,
        failure=failure_pb.Failure(
            message="no",
            application_failure_info=failure_pb.ApplicationFailureInfo(non_retryable=True),
        ),
    )
    await s.call("fail g", svc.respond_activity_task_failed, failed)
    await s.poll_outcome("g outcome", "g")


async def _errors(s: Scenario) -> None:
    svc = s.service
    missing = ws.DescribeActivityExecutionRequest(namespace=NS, activity_id=f"{s.prefix}-none")
    await s.call("describe missing", svc.describe_activity_execution, missing)
    poll = ws.PollActivityExecutionRequest(namespace=NS, activity_id=f"{s.prefix}-none")
    await s.call("poll missing", svc.poll_activity_execution, poll)
    cancel = s.cancel_request("none", "x")
    await s.call("cancel missing", svc.request_cancel_activity_execution, cancel)
    bad = s.start_request("h")
    bad.ClearField("start_to_close_timeout")
    await s.call("start without timeouts", svc.start_activity_execution, bad)
    bad = s.start_request("h")
    bad.ClearField("task_queue")
    await s.call("start without a task queue", svc.start_activity_execution, bad)
    bad = s.start_request("h")
    bad.ClearField("activity_type")
    await s.call("start without a type", svc.start_activity_execution, bad)
    bad = s.start_request("h")
    bad.activity_id = ""
    await s.call("start without an id", svc.start_activity_execution, bad)


async def _visibility(s: Scenario) -> None:
    ids = " OR ".join(f'ActivityId = "{s.prefix}-{n}"' for n in ("c", "d", "g"))
    for _ in range(50):  # visibility may lag
        count = await s.service.count_activity_executions(
            ws.CountActivityExecutionsRequest(
                namespace=NS, query=f"({ids}) GROUP BY ExecutionStatus"
            )
        )
        if count.count == 3:
            break
        await asyncio.sleep(0.2)
    groups = sorted((json.loads(g.group_values[0].data), g.count) for g in count.groups)
    s.note("count c, d, g by status", count.count, groups)
    listed = await s.service.list_activity_executions(
        ws.ListActivityExecutionsRequest(namespace=NS, query=f'ActivityId = "{s.prefix}-c"')
    )
    s.note(
        "list c",
        [
            [
                e.activity_type.name,
                act_enums.ActivityExecutionStatus.Name(e.status),
                e.task_queue == s.queue,
                e.HasField("close_time"),
            ]
            for e in listed.executions
        ],
    )


async def _delete(s: Scenario) -> None:
    svc = s.service
    await s.start("start i", "i")
    for name in ("c", "i"):  # closed, running
        request = ws.DeleteActivityExecutionRequest(namespace=NS, activity_id=f"{s.prefix}-{name}")
        await s.call(f"delete {name}", svc.delete_activity_execution, request)
        for _ in range(50):  # the deletion may lag: describe until it is gone
            kept = len(s.log)
            await s.describe(f"describe {name} deleted", name)
            if s.log[kept][1] != "ok":  # the describe call's own note, not its summary
                break
            del s.log[kept:]
            await asyncio.sleep(0.2)
        await s.call(f"delete {name} again", svc.delete_activity_execution, request)


async def transcript(client: Client) -> list[Any]:
    s = Scenario(client)
    await _cancellation(s)
    await _retry(s)
    await _terminate_and_fail(s)
    await _errors(s)
    await _visibility(s)
    await _delete(s)
    return [_anonymous(entry, s.prefix) for entry in s.log]


def _anonymous(entry: Any, prefix: str) -> Any:
    """The scenario's own ids out of messages."""
    return json.loads(json.dumps(entry).replace(prefix, "<id>"))


async def _main(address: str) -> None:
    client = await Client.connect(address)
    print(json.dumps(await transcript(client), indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
