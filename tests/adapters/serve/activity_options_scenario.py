"""One scenario of UpdateActivityOptions (and ResetActivity's restore_original_options),
driven with raw calls like activity_ops_scenario.py, and what a server answers to it:
the replies' `activity_options` and error messages, the pending activities'
`activity_options` as DescribeWorkflowExecution shows them, which queue an activity's
next task goes to after its queue was changed, a running attempt timed out by a
shortened start-to-close timeout, and the history's event types (no event is written).

`python -m tests.adapters.serve.activity_options_scenario HOST:PORT` prints the
transcript as JSON; tests/fixtures/serve/activity_options_dev.json is its output against
the real dev server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from google.protobuf import field_mask_pb2
from google.protobuf.json_format import MessageToDict
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

from tests.adapters.serve.activity_ops_scenario import NS, Scenario, _seconds


class OptionsScenario(Scenario):
    async def update(self, step: str, keep: str = "", **fields: Any) -> None:
        """UpdateActivityOptions; record its reply's activity_options (only its field
        `keep` if given: a reply for several activities shows the last one the server
        updated, in its map's random order) or its error."""
        paths = fields.pop("paths", None)
        if paths is not None:
            fields["update_mask"] = field_mask_pb2.FieldMask(paths=paths)
        request = ws.UpdateActivityOptionsRequest(
            namespace=NS, execution=self.execution(), identity="op", **fields
        )
        try:
            reply = await self.service.update_activity_options(request)
        except RPCError as error:
            self.log.append([step, error.status.name, error.message])
            return
        options = MessageToDict(reply.activity_options)
        self.log.append([step, {keep: options[keep]} if keep else options])

    async def describe_options(self, step: str) -> None:
        reply = await self.service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(namespace=NS, execution=self.execution())
        )
        seen = [
            {
                "id": a.activity_id,
                "state": wf_enums.PendingActivityState.Name(a.state),
                "attempt": a.attempt,
                "last_failure": a.last_failure.message,
                "options": MessageToDict(a.activity_options),
            }
            for a in sorted(reply.pending_activities, key=lambda a: a.activity_id)
        ]
        self.log.append([step, seen])

    async def poll_queue(self, step: str, queue: str) -> None:
        """Take an activity task from `queue` (or none within POLL)."""
        saved = self.queue
        self.queue = queue
        try:
            await self.poll(step)
        finally:
            self.queue = saved


def _options(**fields: Any) -> activity_pb.ActivityOptions:
    return activity_pb.ActivityOptions(**fields)


async def transcript(client: Client) -> list[Any]:
    s = OptionsScenario(client)
    svc = s.service
    await s.start()
    a1 = {"id": "a1"}
    some = _options(start_to_close_timeout=_seconds(30))
    await s.update("update without a selector", activity_options=some, paths=[])
    nobody = ws.UpdateActivityOptionsRequest(namespace=NS, id="a1", activity_options=some)
    await s.call("update without a workflow id", svc.update_activity_options, nobody)
    await s.update("update a1 without options", **a1, paths=["start_to_close_timeout"])
    await s.update("update a1 without a mask", **a1, activity_options=some)
    await s.update(
        "update an unknown id", id="nope", activity_options=some, paths=["start_to_close_timeout"]
    )
    await s.update(
        "update an unknown type",
        type="Nope",
        activity_options=some,
        paths=["start_to_close_timeout"],
    )
    await s.update(
        "update a1 with a mask and restore_original",
        **a1,
        activity_options=some,
        paths=["start_to_close_timeout"],
        restore_original=True,
    )
    await s.update("update a1 with an empty mask", **a1, activity_options=some, paths=[])
    await s.update(
        "update a1 start_to_close", **a1, activity_options=some, paths=["start_to_close_timeout"]
    )
    await s.update(
        "update a1 schedule_to_close below start_to_close",
        **a1,
        activity_options=_options(schedule_to_close_timeout=_seconds(20)),
        paths=["scheduleToCloseTimeout"],
    )
    await s.update(
        "update a1 heartbeat above start_to_close",
        **a1,
        activity_options=_options(heartbeat_timeout=_seconds(50)),
        paths=["heartbeat_timeout"],
    )
    await s.update(
        "update a1 without any timeout",
        **a1,
        activity_options=_options(),
        paths=["schedule_to_close_timeout", "start_to_close_timeout"],
    )
    await s.update(
        "update a1 retry maximum attempts",
        **a1,
        activity_options=_options(retry_policy=common_pb.RetryPolicy(maximum_attempts=7)),
        paths=["retry_policy.maximum_attempts"],
    )
    await s.update(
        "update a1 retry backoff below 1",
        **a1,
        activity_options=_options(retry_policy=common_pb.RetryPolicy(backoff_coefficient=0.5)),
        paths=["retry_policy.backoff_coefficient"],
    )
    await s.update(
        "update a1 retry sub-field without a policy",
        **a1,
        activity_options=some,
        paths=["retry_policy.initial_interval"],
    )
    await s.update(
        "update a1 retry policy whole, invalid",
        **a1,
        activity_options=_options(
            retry_policy=common_pb.RetryPolicy(backoff_coefficient=0.5, maximum_attempts=4)
        ),
        paths=["retry_policy"],
    )
    await s.update(
        "update a1 task queue without one",
        **a1,
        activity_options=some,
        paths=["task_queue.name"],
    )
    await s.update(
        "update a1 task queue",
        **a1,
        activity_options=_options(task_queue=tq_pb.TaskQueue(name=f"{s.queue}-moved")),
        paths=["task_queue.name"],
    )
    await s.update(
        "update type Act heartbeat",
        keep="heartbeatTimeout",
        type="Act",
        activity_options=_options(heartbeat_timeout=_seconds(5)),
        paths=["heartbeat_timeout"],
    )
    await s.update(
        "update all schedule_to_start",
        keep="scheduleToStartTimeout",
        match_all=True,
        activity_options=_options(schedule_to_start_timeout=_seconds(10)),
        paths=["schedule_to_start_timeout"],
    )
    await s.describe_options("after the updates")
    await s.poll_queue("poll the moved queue", f"{s.queue}-moved")
    await s.poll("poll the first queue")
    await s.update(
        "shorten a2's start_to_close while it runs",
        id="a2",
        activity_options=_options(start_to_close_timeout=_seconds(2)),
        paths=["start_to_close_timeout"],
    )
    await s.describe_options("a2 running with the short timeout")
    await asyncio.sleep(4)
    await s.describe_options("a2 timed out and retried")
    await s.update("restore a1's original options", **a1, restore_original=True)
    await s.update(
        "update b1 start_to_close",
        id="b1",
        activity_options=some,
        paths=["start_to_close_timeout"],
    )
    reset = ws.ResetActivityRequest(
        namespace=NS, execution=s.execution(), id="b1", restore_original_options=True
    )
    await s.call("reset b1 restoring its options", svc.reset_activity, reset)
    await s.describe_options("after the restores")
    await s.update(
        "lengthen a1's retry interval while it runs",
        **a1,
        activity_options=_options(
            retry_policy=common_pb.RetryPolicy(initial_interval=_seconds(30))
        ),
        paths=["retry_policy.initial_interval"],
    )
    await s.fail("fail a1", "a1")
    await s.describe_options("a1 backing off for 30s")
    await s.update(
        "shorten a1's retry interval and move it while it backs off",
        **a1,
        activity_options=_options(
            retry_policy=common_pb.RetryPolicy(initial_interval=_seconds(1)),
            task_queue=tq_pb.TaskQueue(name=f"{s.queue}-a1"),
        ),
        paths=["retry_policy.initial_interval", "task_queue.name"],
    )
    await s.describe_options("a1 updated while it backs off")
    # due at the failure + 1s x 2 (GetNextScheduledTime), well within the poll
    await s.poll_queue("poll a1's new queue", f"{s.queue}-a1")
    await s.call("pause b1", svc.pause_activity, s.pause(id="b1"))
    await s.update(
        "move paused b1 to another queue",
        id="b1",
        activity_options=_options(task_queue=tq_pb.TaskQueue(name=f"{s.queue}-b2")),
        paths=["task_queue.name"],
    )
    await s.describe_options("b1 moved while paused")
    await s.poll_queue("poll b1's new queue while it is paused", f"{s.queue}-b2")
    await s.call("unpause b1", svc.unpause_activity, s.unpause(id="b1"))
    await s.poll_queue("poll b1's new queue once unpaused", f"{s.queue}-b2")
    await s.history("history")
    await svc.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(namespace=NS, workflow_execution=s.execution())
    )
    await s.update(
        "update after the run closed", **a1, activity_options=some, paths=["heartbeat_timeout"]
    )
    await s.update("restore after the run closed", **a1, restore_original=True)
    await s.update("restore an unknown id after the run closed", id="nope", restore_original=True)
    # the queues' names hold the workflow id, which is new each time
    renamed: list[Any] = json.loads(json.dumps(s.log).replace(s.workflow_id, "WF"))
    return renamed


async def _main(address: str) -> None:
    client = await Client.connect(address)
    print(json.dumps(await transcript(client), indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
