"""One scenario of the operator RPCs PauseActivityExecution, UnpauseActivityExecution,
ResetActivityExecution and UpdateActivityExecutionOptions (what `temporal activity
pause|unpause|reset|update-options` call), on a workflow's activities (the request
names the workflow) and on a standalone activity (it does not), driven with raw calls,
and what a server answers: the replies and error messages, and the activities' states
as DescribeWorkflowExecution and DescribeActivityExecution show them.

`python -m tests.adapters.serve.activity_exec_scenario HOST:PORT` prints the transcript
as JSON; tests/fixtures/serve/activity_exec_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from google.protobuf import duration_pb2, field_mask_pb2
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import activity_pb2 as act_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

from tests.adapters.serve.activity_ops_scenario import NS, Scenario


def _seconds(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n)


class Operated(Scenario):
    """The workflow scenario's set-up (a1 and a2 of type Act, b1 of type Other), and a
    standalone activity `self.standalone`."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.standalone = f"standalone-{uuid.uuid4()}"

    async def reply(self, step: str, rpc: Any, request: Any) -> Any:
        """Record `step` as `call` does; the reply, or None after an error."""
        try:
            answer = await rpc(request)
        except RPCError as error:
            self.log.append([step, error.status.name, error.message])
            return None
        self.log.append([step, "ok"])
        return answer

    async def options(self, step: str, request: Any) -> None:
        """UpdateActivityExecutionOptions: the options it answers with (timeouts and the
        queue; the retry policy's defaults are the server's)."""
        rpc = self.service.update_activity_execution_options
        answer = await self.reply(step, rpc, request)
        if answer is not None:
            o = answer.activity_options
            self.log.append(
                [
                    f"{step}: options",
                    o.task_queue.name.replace(self.workflow_id, "W").replace(self.standalone, "S"),
                    o.task_queue.kind,
                    o.schedule_to_close_timeout.seconds,
                    o.start_to_close_timeout.seconds,
                    o.heartbeat_timeout.seconds,
                    o.retry_policy.maximum_attempts,
                ]
            )

    async def describe_standalone(self, step: str) -> None:
        request = ws.DescribeActivityExecutionRequest(namespace=NS, activity_id=self.standalone)
        i = (await self.service.describe_activity_execution(request)).info
        self.log.append(
            [
                step,
                act_enums.ActivityExecutionStatus.Name(i.status),
                wf_enums.PendingActivityState.Name(i.run_state),
                i.attempt,
                i.start_to_close_timeout.seconds,
            ]
        )

    async def start_standalone(self) -> None:
        await self.service.start_activity_execution(
            ws.StartActivityExecutionRequest(
                namespace=NS,
                activity_id=self.standalone,
                activity_type=common_pb.ActivityType(name="Act"),
                task_queue=tq_pb.TaskQueue(name=f"{self.standalone}-q"),
                start_to_close_timeout=_seconds(60),
                request_id=str(uuid.uuid4()),
            )
        )


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def _workflow_part(s: Operated) -> None:
    svc, wid = s.service, s.workflow_id

    def pause(**f: Any) -> Any:
        return ws.PauseActivityExecutionRequest(namespace=NS, workflow_id=wid, **f)

    def unpause(**f: Any) -> Any:
        return ws.UnpauseActivityExecutionRequest(namespace=NS, workflow_id=wid, **f)

    def reset(**f: Any) -> Any:
        return ws.ResetActivityExecutionRequest(namespace=NS, workflow_id=wid, **f)

    def update(**f: Any) -> Any:
        return ws.UpdateActivityExecutionOptionsRequest(namespace=NS, workflow_id=wid, **f)

    await s.start()
    await s.call("wf: pause without an activity id", svc.pause_activity_execution, pause())
    await s.call("wf: unpause without an activity id", svc.unpause_activity_execution, unpause())
    await s.call("wf: reset without an activity id", svc.reset_activity_execution, reset())
    await s.call(
        "wf: pause with a bad run id",
        svc.pause_activity_execution,
        pause(activity_id="a1", run_id="x"),
    )
    await s.call("wf: pause an unknown id", svc.pause_activity_execution, pause(activity_id="nope"))
    nobody = ws.PauseActivityExecutionRequest(namespace=NS, workflow_id="nope", activity_id="a1")
    await s.call("wf: pause in an unknown workflow", svc.pause_activity_execution, nobody)
    await s.call(
        "wf: pause a1",
        svc.pause_activity_execution,
        pause(activity_id="a1", identity="op", reason="why"),
    )
    await s.describe("wf: a1 paused")
    await s.call("wf: pause a1 again", svc.pause_activity_execution, pause(activity_id="a1"))
    await s.call("wf: unpause a1", svc.unpause_activity_execution, unpause(activity_id="a1"))
    await s.call(
        "wf: unpause b1, not paused", svc.unpause_activity_execution, unpause(activity_id="b1")
    )
    await s.describe("wf: a1 unpaused")
    await s.poll("wf: poll a task")
    await s.call("wf: pause a running", svc.pause_activity_execution, pause(activity_id="a1"))
    await s.call("wf: pause a2", svc.pause_activity_execution, pause(activity_id="a2"))
    await s.describe("wf: paused again")
    await s.call(
        "wf: reset a2 keeping it paused",
        svc.reset_activity_execution,
        reset(activity_id="a2", keep_paused=True),
    )
    await s.call("wf: reset b1", svc.reset_activity_execution, reset(activity_id="b1"))
    await s.describe("wf: after the resets")
    await s.options("wf: update without options", update(activity_id="b1"))
    await s.options(
        "wf: update without a mask",
        update(activity_id="b1", activity_options=activity_pb.ActivityOptions()),
    )
    await s.options(
        "wf: update an unsupported path",
        update(
            activity_id="b1",
            activity_options=activity_pb.ActivityOptions(),
            update_mask=_mask("nope"),
        ),
    )
    await s.options(
        "wf: update b1's start-to-close",
        update(
            activity_id="b1",
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(30)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )
    await s.options(
        "wf: update an unknown id",
        update(
            activity_id="nope",
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(30)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )
    await s.options("wf: restore b1's options", update(activity_id="b1", restore_original=True))
    await svc.terminate_workflow_execution(
        ws.TerminateWorkflowExecutionRequest(namespace=NS, workflow_execution=s.execution())
    )
    await s.call(
        "wf: pause after the run closed", svc.pause_activity_execution, pause(activity_id="a1")
    )
    await s.call(
        "wf: unpause after the run closed",
        svc.unpause_activity_execution,
        unpause(activity_id="a1"),
    )
    await s.call(
        "wf: reset after the run closed", svc.reset_activity_execution, reset(activity_id="a1")
    )


async def _standalone_part(s: Operated) -> None:
    svc, aid = s.service, s.standalone

    def pause(**f: Any) -> Any:
        return ws.PauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def unpause(**f: Any) -> Any:
        return ws.UnpauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def reset(**f: Any) -> Any:
        return ws.ResetActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def update(**f: Any) -> Any:
        return ws.UpdateActivityExecutionOptionsRequest(namespace=NS, activity_id=aid, **f)

    nobody = ws.PauseActivityExecutionRequest(namespace=NS, activity_id="nope")
    await s.call("sa: pause an unknown activity", svc.pause_activity_execution, nobody)
    elsewhere = ws.PauseActivityExecutionRequest(namespace="nope", activity_id=aid)
    await s.call("sa: pause in an unknown namespace", svc.pause_activity_execution, elsewhere)
    await s.call(
        "sa: unpause with a negative jitter",
        svc.unpause_activity_execution,
        unpause(jitter=duration_pb2.Duration(seconds=-1)),
    )
    await s.call(
        "sa: reset with a negative jitter",
        svc.reset_activity_execution,
        reset(jitter=duration_pb2.Duration(seconds=-1)),
    )
    await s.options(
        "sa: update with a mask and a restore",
        update(restore_original=True, update_mask=_mask("start_to_close_timeout")),
    )
    await s.options(
        "sa: update with an empty mask",
        update(activity_options=activity_pb.ActivityOptions(), update_mask=_mask()),
    )
    await s.start_standalone()
    await s.describe_standalone("sa: started")
    await s.call("sa: unpause a running one", svc.unpause_activity_execution, unpause())
    await s.call("sa: pause", svc.pause_activity_execution, pause(identity="op", reason="why"))
    await s.describe_standalone("sa: paused")
    await s.call("sa: pause again", svc.pause_activity_execution, pause())
    await s.options(
        "sa: update while paused",
        update(
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(30)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )
    await s.describe_standalone("sa: updated")
    await s.call("sa: unpause", svc.unpause_activity_execution, unpause())
    await s.describe_standalone("sa: unpaused")
    await s.call("sa: reset", svc.reset_activity_execution, reset())
    await s.describe_standalone("sa: reset")
    await s.options("sa: update without options", update())
    await s.options("sa: restore the options", update(restore_original=True))
    await s.describe_standalone("sa: restored")
    await s.call("sa: pause, request r1", svc.pause_activity_execution, pause(request_id="r1"))
    await s.call(
        "sa: reset keeping it paused", svc.reset_activity_execution, reset(keep_paused=True)
    )
    await s.describe_standalone("sa: reset and kept paused")
    await s.call("sa: reset without keeping it paused", svc.reset_activity_execution, reset())
    await s.describe_standalone("sa: reset and unpaused")
    await s.call(
        "sa: pause, request r1 again", svc.pause_activity_execution, pause(request_id="r1")
    )
    await s.describe_standalone("sa: after the repeated request")
    await svc.terminate_activity_execution(
        ws.TerminateActivityExecutionRequest(namespace=NS, activity_id=aid, reason="done")
    )
    await s.call("sa: pause after terminate", svc.pause_activity_execution, pause())
    await s.call("sa: unpause after terminate", svc.unpause_activity_execution, unpause())
    await s.call("sa: reset after terminate", svc.reset_activity_execution, reset())
    await s.options(
        "sa: update after terminate",
        update(
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(30)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )


async def _running_part(s: Operated) -> None:
    """A standalone activity paused while a worker runs its attempt (PAUSE_REQUESTED)."""
    svc = s.service
    s.standalone = f"standalone-{uuid.uuid4()}"
    s.queue = f"{s.standalone}-q"
    aid = s.standalone

    def pause(**f: Any) -> Any:
        return ws.PauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def unpause(**f: Any) -> Any:
        return ws.UnpauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    await s.start_standalone()
    await s.poll("run: poll the attempt")
    s.log[-1][1] = s.log[-1][1] == aid  # the task is this activity's
    await s.call("run: pause it running", svc.pause_activity_execution, pause(reason="r"))
    await s.describe_standalone("run: pause requested")
    await s.heartbeat("run: heartbeat while pause requested", aid)
    await s.call("run: pause it again", svc.pause_activity_execution, pause())
    await s.call("run: unpause it running", svc.unpause_activity_execution, unpause())
    await s.describe_standalone("run: unpaused while running")
    await s.heartbeat("run: heartbeat after the unpause", aid)
    await s.call("run: pause it once more", svc.pause_activity_execution, pause())
    await s.fail("run: fail while pause requested", aid)
    await s.describe_standalone("run: paused after the failure")
    await s.call("run: unpause the paused retry", svc.unpause_activity_execution, unpause())
    await s.describe_standalone("run: retry scheduled")
    await s.poll("run: poll the retry")
    s.log[-1][1] = s.log[-1][1] == aid
    await s.call("run: pause the second attempt", svc.pause_activity_execution, pause())
    await s.complete("run: complete while pause requested", aid)
    await s.describe_standalone("run: completed")


async def _reset_running_part(s: Operated) -> None:
    """A standalone activity reset while a worker runs its attempt (RESET_REQUESTED),
    and its options updated meanwhile."""
    svc = s.service
    s.standalone = f"standalone-{uuid.uuid4()}"
    s.queue = f"{s.standalone}-q"
    aid = s.standalone

    def pause(**f: Any) -> Any:
        return ws.PauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def reset(**f: Any) -> Any:
        return ws.ResetActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    def unpause(**f: Any) -> Any:
        return ws.UnpauseActivityExecutionRequest(namespace=NS, activity_id=aid, **f)

    await s.start_standalone()
    await s.poll("reset: poll the attempt")
    s.log[-1][1] = s.log[-1][1] == aid
    await s.options(
        "reset: update it running",
        ws.UpdateActivityExecutionOptionsRequest(
            namespace=NS,
            activity_id=aid,
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(45)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )
    await s.heartbeat("reset: heartbeat", aid)
    await s.fail("reset: fail the first attempt", aid)
    await s.poll("reset: poll the retry")
    s.log[-1][1] = s.log[-1][1] == aid
    await s.describe_standalone("reset: second attempt running")
    await s.call("reset: reset it running", svc.reset_activity_execution, reset())
    await s.describe_standalone("reset: reset requested")
    await s.heartbeat("reset: heartbeat while reset requested", aid)
    await s.call("reset: reset it again", svc.reset_activity_execution, reset())
    await s.call("reset: pause it", svc.pause_activity_execution, pause())
    await s.call("reset: unpause it", svc.unpause_activity_execution, unpause())
    await s.options(
        "reset: update it",
        ws.UpdateActivityExecutionOptionsRequest(
            namespace=NS,
            activity_id=aid,
            activity_options=activity_pb.ActivityOptions(start_to_close_timeout=_seconds(30)),
            update_mask=_mask("start_to_close_timeout"),
        ),
    )
    await s.fail("reset: fail while reset requested", aid)
    await s.describe_standalone("reset: scheduled at attempt 1")
    await s.poll("reset: poll after the reset")
    s.log[-1][1] = s.log[-1][1] == aid
    await s.call("reset: pause it running", svc.pause_activity_execution, pause())
    await s.call(
        "reset: reset it keeping it paused",
        svc.reset_activity_execution,
        reset(keep_paused=True, reset_heartbeat=True),
    )
    await s.describe_standalone("reset: reset requested, kept paused")
    await s.heartbeat("reset: heartbeat, kept paused", aid)
    await s.fail("reset: fail, kept paused", aid)
    await s.describe_standalone("reset: paused at attempt 1")
    await s.call("reset: unpause", svc.unpause_activity_execution, unpause())
    await s.poll("reset: poll after the unpause")
    s.log[-1][1] = s.log[-1][1] == aid
    await s.call("reset: reset it once more", svc.reset_activity_execution, reset())
    await s.complete("reset: complete while reset requested", aid)
    await s.describe_standalone("reset: completed")


async def transcript(client: Client) -> list[Any]:
    s = Operated(client)
    await _workflow_part(s)
    await _standalone_part(s)
    await _running_part(s)
    await _reset_running_part(s)
    return s.log


async def _main(address: str) -> None:
    client = await Client.connect(address)
    print(json.dumps(await transcript(client), indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
