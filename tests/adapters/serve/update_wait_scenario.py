"""How long an update call waits for a stage the update has not reached (sdk-features'
update/async_accepted): an update accepted and never completed, asked for COMPLETED.
With a deadline shorter than history's soft timeout (20 s) the call runs out its
deadline and the SDK raises its update RPC timeout error; with a longer one the server
answers at the soft timeout with the stage reached and no outcome
(service/history/workflow/update/update.go, WaitLifecycleStage)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import update_pb2 as update_enums
from temporalio.api.update.v1 import message_pb2 as update_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.adapters.serve.sdk import connected

COMPLETED = update_enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED


@workflow.defn(name="UpdateNeverCompletes", sandboxed=False)
class UpdateNeverCompletes:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.go)

    @workflow.update
    async def stay(self) -> int:
        await workflow.wait_condition(lambda: self.go)
        return 1


async def drive(address: str) -> tuple[str, bool, str, float, str, bool]:
    """The short poll's status and whether it ran out its second; the SDK's error on
    result(rpc_timeout=1 s); when the long poll answered (seconds) with what stage and
    whether an outcome."""
    client = await connected(address)
    queue = f"uw-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[UpdateNeverCompletes]):
        handle = await client.start_workflow(
            UpdateNeverCompletes.run, id=f"uw-{uuid.uuid4()}", task_queue=queue
        )
        update = await handle.start_update(
            UpdateNeverCompletes.stay, id="stay", wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        request = ws.PollWorkflowExecutionUpdateRequest(
            namespace="default",
            update_ref=update_pb.UpdateRef(
                workflow_execution=common_pb.WorkflowExecution(workflow_id=handle.id),
                update_id="stay",
            ),
            wait_policy=update_pb.WaitPolicy(lifecycle_stage=COMPLETED),
        )
        poll = client.workflow_service.poll_workflow_execution_update
        began = time.monotonic()
        try:
            await poll(request, retry=False, timeout=timedelta(seconds=1))
            short = "answered"
        except RPCError as exc:
            # The caller's own deadline ends the call. Which status the SDK raises is a
            # race between its own timer (CANCELLED) and the server's answer to the
            # expired deadline (DEADLINE_EXCEEDED), on either server; anything else fails.
            short = exc.status.name
            if short in ("CANCELLED", "DEADLINE_EXCEEDED"):
                short = "the caller's deadline"
        ran_out = time.monotonic() - began >= 0.95
        try:
            await asyncio.wait_for(update.result(rpc_timeout=timedelta(seconds=1)), 10)
            sdk = "a result"
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            sdk = "WorkflowUpdateRPCTimeoutOrCancelledError"
        except TimeoutError:
            sdk = "still polling after 10 s"
        began = time.monotonic()
        answer = await poll(request, retry=False, timeout=timedelta(seconds=30))
        waited = round(time.monotonic() - began)
        await handle.terminate(reason="done")
    stage = update_enums.UpdateWorkflowExecutionLifecycleStage.Name(answer.stage)
    return short, ran_out, sdk, waited, stage, answer.HasField("outcome")
