"""UpdateActivityExecutionOptions of a standalone activity's start delay, driven with raw
calls, and what a server answers: the replies and errors, the options it answers with,
and DescribeActivityExecution's start delay, execution time, next attempt time and
expiration (each relative to the activity's schedule time).

Cases: a delay shortened and lengthened inside its window, set to zero, refused once
the first attempt was dispatched (with or without a delay), a negative one, one paused
in its window and one paused before any attempt, one with another option, one longer
than the schedule-to-close timeout.

`python -m tests.adapters.serve.start_delay_scenario HOST:PORT` prints the transcript as
JSON; tests/fixtures/serve/start_delay_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from temporalio.api.activity.v1 import message_pb2 as activity_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import activity_pb2 as act_enums
from temporalio.api.enums.v1 import workflow_pb2 as wf_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.service import RPCError

NS = "default"


def _seconds(n: float) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(n), nanos=round(n % 1 * 1e9))


class StartDelays:
    def __init__(self, client: Client) -> None:
        self.service = client.workflow_service
        self.log: list[Any] = []
        self.tag = str(uuid.uuid4())[:8]
        self.polled_after = 0.0  # s: how long the shortened one took to reach a poller

    def name(self, case: str) -> str:
        return f"{case}-{self.tag}"

    async def start(self, case: str, delay: float = 0) -> None:
        aid = self.name(case)
        request = ws.StartActivityExecutionRequest(
            namespace=NS,
            activity_id=aid,
            activity_type=common_pb.ActivityType(name="Act"),
            task_queue=tq_pb.TaskQueue(name=f"{aid}-q"),
            start_to_close_timeout=_seconds(60),
            schedule_to_close_timeout=_seconds(100),
            request_id=str(uuid.uuid4()),
        )
        if delay:
            request.start_delay.CopyFrom(_seconds(delay))
        await self.service.start_activity_execution(request)

    async def update(self, step: str, case: str, *paths: str, **options: Any) -> None:
        request = ws.UpdateActivityExecutionOptionsRequest(
            namespace=NS,
            activity_id=self.name(case),
            activity_options=activity_pb.ActivityOptions(**options),
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        )
        try:
            answer = await self.service.update_activity_execution_options(request)
        except RPCError as error:
            self.log.append([step, error.status.name, error.message])
            return
        o = answer.activity_options
        delay = o.start_delay.ToNanoseconds() if o.HasField("start_delay") else None
        self.log.append([step, "ok", delay, o.schedule_to_close_timeout.seconds])

    async def describe(self, step: str, case: str) -> None:
        request = ws.DescribeActivityExecutionRequest(namespace=NS, activity_id=self.name(case))
        i = (await self.service.describe_activity_execution(request)).info
        scheduled = i.schedule_time.ToNanoseconds()

        def since(at: timestamp_pb2.Timestamp, given: bool) -> float | None:
            return round((at.ToNanoseconds() - scheduled) / 1e9, 3) if given else None

        self.log.append(
            [
                step,
                act_enums.ActivityExecutionStatus.Name(i.status),
                wf_enums.PendingActivityState.Name(i.run_state),
                i.attempt,
                i.start_delay.ToNanoseconds() if i.HasField("start_delay") else None,
                since(i.execution_time, i.HasField("execution_time")),
                since(i.next_attempt_schedule_time, i.HasField("next_attempt_schedule_time")),
                since(i.expiration_time, i.HasField("expiration_time")),
            ]
        )

    async def poll(self, step: str, case: str, timeout: float) -> None:
        queue = tq_pb.TaskQueue(name=f"{self.name(case)}-q")
        request = ws.PollActivityTaskQueueRequest(namespace=NS, task_queue=queue, identity="p")
        try:
            task = await asyncio.wait_for(self.service.poll_activity_task_queue(request), timeout)
        except TimeoutError:
            self.log.append([step, "no task"])
            return
        self.log.append([step, "task", task.attempt])

    async def pause(self, case: str) -> None:
        request = ws.PauseActivityExecutionRequest(namespace=NS, activity_id=self.name(case))
        await self.service.pause_activity_execution(request)

    async def unpause(self, case: str) -> None:
        request = ws.UnpauseActivityExecutionRequest(namespace=NS, activity_id=self.name(case))
        await self.service.unpause_activity_execution(request)


async def transcript(client: Client) -> tuple[list[Any], float]:
    """The log, and how long (s) the delay shortened to 2 s took to reach a poller."""
    s = StartDelays(client)
    await s.start("A", 10)
    await s.describe("A described", "A")
    await s.update("A shortened to 2 s", "A", "start_delay", start_delay=_seconds(2))
    await s.describe("A after", "A")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await s.poll("A polled", "A", 8)
    polled_after = loop.time() - began
    await s.update("A after its dispatch", "A", "start_delay", start_delay=_seconds(5))
    await s.start("B")  # no delay: dispatched at once, never polled
    await s.update("B set to 5 s", "B", "start_delay", start_delay=_seconds(5))
    await s.update("B set to 0", "B", "start_delay", start_delay=_seconds(0))
    await s.update("B negative", "B", "start_delay", start_delay=duration_pb2.Duration(seconds=-1))
    await s.update("B camel case", "B", "startDelay", start_delay=_seconds(5))
    await s.start("C", 5)
    await s.update("C lengthened to 20 s", "C", "start_delay", start_delay=_seconds(20))
    await s.describe("C after", "C")
    await s.update("C to zero", "C", "start_delay", start_delay=_seconds(0))
    await s.describe("C after zero", "C")
    await s.poll("C polled", "C", 3)
    await s.start("D", 30)
    await s.pause("D")
    await s.update("D paused in its window", "D", "start_delay", start_delay=_seconds(1))
    await s.describe("D after", "D")
    await s.start("E")
    await s.pause("E")
    await s.update("E paused, no delay", "E", "start_delay", start_delay=_seconds(3))
    await s.describe("E after", "E")
    await s.unpause("E")
    await s.describe("E unpaused", "E")
    await s.start("F", 10)
    await s.update(
        "F with start-to-close", "F", "start_delay", "start_to_close_timeout",
        start_delay=_seconds(3), start_to_close_timeout=_seconds(7),
    )  # fmt: skip
    await s.describe("F after", "F")
    await s.update("F past schedule-to-close", "F", "start_delay", start_delay=_seconds(1000))
    await s.describe("F after that", "F")
    return s.log, polled_after


async def _main(address: str) -> None:
    log, _ = await transcript(await Client.connect(address))
    print(json.dumps(log, indent=1))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
