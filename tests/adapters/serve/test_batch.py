"""Batch operations against `tmodel serve` through temporalio's raw WorkflowService
calls: terminate, cancel, signal and reset every workflow a visibility query (or a list
of executions) selects, run as the batcher's system workflow on the internal worker;
Describe/List/Stop; the checks of `service/frontend/workflow_handler.go`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.batch.v1 import message_pb2 as batch_pb
from temporalio.api.common.v1 import message_pb2 as common_pb
from temporalio.api.enums.v1 import batch_operation_pb2 as batch_enums
from temporalio.api.enums.v1 import event_type_pb2 as event_enums
from temporalio.api.enums.v1 import reset_pb2 as reset_enums
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import CancelledError
from temporalio.service import RPCStatusCode

from adapters.serve.server import Server
from tests.adapters.serve.sdk import QUEUE, Waiter, bounded, eventually, execution, rpc_error
from tests.adapters.serve.serving import ROOT
from tests.adapters.serve.test_cli import cli

# the type a describe reports, as the dev server (1.32) reports it
TERMINATE = batch_enums.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVE_ARGS = ("--search-attribute", "Team=Keyword")


async def _start(client: Client, prefix: str, count: int, team: str) -> list[str]:
    key = SearchAttributeKey.for_keyword("Team")
    ids = [f"{prefix}-{i}" for i in range(count)]
    for wid in ids:
        await client.start_workflow(
            Waiter.run,
            "x",
            id=wid,
            task_queue=QUEUE,
            search_attributes=TypedSearchAttributes([SearchAttributePair(key, team)]),
        )
    return ids


async def _finished(client: Client, job: str) -> ws.DescribeBatchOperationResponse:
    """Describe the job until it is no longer running."""
    req = ws.DescribeBatchOperationRequest(namespace="default", job_id=job)
    out: list[ws.DescribeBatchOperationResponse] = []

    async def done() -> bool:
        out.append(await client.workflow_service.describe_batch_operation(req))
        return out[-1].state != batch_enums.BATCH_OPERATION_STATE_RUNNING

    await eventually(done)
    return out[-1]


async def _status(client: Client, wid: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(wid).describe()).status


@bounded
async def test_terminate_by_query(client: Client) -> None:
    ids = await _start(client, "term", 3, "red")
    spared = await _start(client, "spare", 1, "blue")
    req = ws.StartBatchOperationRequest(
        namespace="default",
        job_id="job-terminate",
        reason="clean up red",
        visibility_query="Team = 'red'",
        termination_operation=batch_pb.BatchOperationTermination(identity="ops"),
    )
    await client.workflow_service.start_batch_operation(req)
    done = await _finished(client, "job-terminate")
    assert done.state == batch_enums.BATCH_OPERATION_STATE_COMPLETED
    assert done.operation_type == TERMINATE
    assert (done.total_operation_count, done.complete_operation_count) == (3, 3)
    assert done.failure_operation_count == 0
    assert (done.identity, done.reason, done.query) == ("ops", "clean up red", "Team = 'red'")
    for wid in ids:
        assert await _status(client, wid) == WorkflowExecutionStatus.TERMINATED
        history = await client.get_workflow_handle(wid).fetch_history()
        last = history.events[-1].workflow_execution_terminated_event_attributes
        assert last.reason == "clean up red"
    assert await _status(client, spared[0]) == WorkflowExecutionStatus.RUNNING
    # The batch job is a system workflow: hidden from plain listings, found by division.
    plain = await client.workflow_service.list_workflow_executions(
        ws.ListWorkflowExecutionsRequest(namespace="default", query="")
    )
    assert "job-terminate" not in {e.execution.workflow_id for e in plain.executions}
    system = await client.workflow_service.list_workflow_executions(
        ws.ListWorkflowExecutionsRequest(
            namespace="default", query="TemporalNamespaceDivision = 'TemporalBatcher'"
        )
    )
    assert "job-terminate" in {e.execution.workflow_id for e in system.executions}
    listed = await client.workflow_service.list_batch_operations(
        ws.ListBatchOperationsRequest(namespace="default")
    )
    infos = {i.job_id: i for i in listed.operation_info}
    assert infos["job-terminate"].state == batch_enums.BATCH_OPERATION_STATE_COMPLETED
    assert infos["job-terminate"].operation_type == TERMINATE
    await client.get_workflow_handle(spared[0]).terminate("test over")


@bounded
async def test_signal_and_cancel_named_executions(client: Client) -> None:
    ids = await _start(client, "sig", 2, "green")
    payload = common_pb.Payload(metadata={"encoding": b"json/plain"}, data=b'"batched"')
    signal = batch_pb.BatchOperationSignal(signal="finish", identity="ops")
    signal.input.payloads.append(payload)
    await client.workflow_service.start_batch_operation(
        ws.StartBatchOperationRequest(
            namespace="default",
            job_id="job-signal",
            reason="finish them",
            executions=[execution(w) for w in ids],
            signal_operation=signal,
        )
    )
    done = await _finished(client, "job-signal")
    assert (done.total_operation_count, done.complete_operation_count) == (2, 2)
    for wid in ids:
        assert await client.get_workflow_handle(wid).result() == "batched after 0 pokes"
    # Cancel: a run that closed already counts as done ("NotFound means wf is not running").
    waiting = await _start(client, "can", 1, "green")
    await client.workflow_service.start_batch_operation(
        ws.StartBatchOperationRequest(
            namespace="default",
            job_id="job-cancel",
            reason="cancel",
            executions=[execution(w) for w in [*waiting, ids[0]]],
            cancellation_operation=batch_pb.BatchOperationCancellation(identity="ops"),
        )
    )
    done = await _finished(client, "job-cancel")
    assert (done.complete_operation_count, done.failure_operation_count) == (2, 0)
    # The batch only records the cancel request; the run closes as canceled once its
    # worker has taken the next workflow task, which may be after the job finished.
    with pytest.raises(WorkflowFailureError) as failure:
        await client.get_workflow_handle(waiting[0]).result()
    assert isinstance(failure.value.cause, CancelledError)
    assert await _status(client, waiting[0]) == WorkflowExecutionStatus.CANCELED
    # the batcher's SDK client cancels without a reason: the event has no cause
    history = await client.get_workflow_handle(waiting[0]).fetch_history()
    requested = [
        e.workflow_execution_cancel_requested_event_attributes
        for e in history.events
        if e.HasField("workflow_execution_cancel_requested_event_attributes")
    ]
    assert [r.cause for r in requested] == [""]


@bounded
async def test_reset_to_first_workflow_task(client: Client, tmp_path: Path) -> None:
    ids = await _start(client, "reset", 1, "white")
    handle = client.get_workflow_handle(ids[0])
    await handle.signal(Waiter.poke)
    await eventually(lambda: _has_signal(client, ids[0]))
    before = (await handle.describe()).run_id
    await client.workflow_service.start_batch_operation(
        ws.StartBatchOperationRequest(
            namespace="default",
            job_id="job-reset",
            reason="reset",
            visibility_query="Team = 'white'",
            reset_operation=batch_pb.BatchOperationReset(
                reset_type=reset_enums.RESET_TYPE_FIRST_WORKFLOW_TASK
            ),
        )
    )
    done = await _finished(client, "job-reset")
    assert done.complete_operation_count == 1
    after = await handle.describe()
    assert after.run_id != before
    await handle.signal(Waiter.finish, "y")
    assert await handle.result() == "y after 1 pokes"  # the poke was reapplied
    # The batch job's history is valid and replays against the batch workflow.
    history = await client.get_workflow_handle("job-reset").fetch_history()
    path = tmp_path / "job.json"
    path.write_text(history.to_json())
    for args in (
        ("validate", str(path)),
        ("replay", str(path), "--workflow", "adapters.serve.batcher:BatchWorkflow"),
    ):
        done_cli = subprocess.run(
            [sys.executable, "-m", "adapters.cli", *args], cwd=ROOT, capture_output=True, timeout=60
        )
        assert done_cli.returncode == 0, done_cli.stderr


async def _has_signal(client: Client, wid: str) -> bool:
    history = await client.get_workflow_handle(wid).fetch_history()
    signaled = event_enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return any(e.event_type == signaled for e in history.events)


@bounded
async def test_checks_and_stop(client: Client) -> None:
    service = client.workflow_service
    base = ws.StartBatchOperationRequest(namespace="default", job_id="bad", visibility_query="")
    base.termination_operation.SetInParent()
    error = await rpc_error(service.start_batch_operation(base))
    assert error.status == RPCStatusCode.INVALID_ARGUMENT
    assert error.message.startswith("must provide required parameters")
    both = ws.StartBatchOperationRequest()
    both.CopyFrom(base)
    both.reason, both.visibility_query = "r", "Team = 'x'"
    both.executions.append(execution("w"))
    error = await rpc_error(service.start_batch_operation(both))
    assert "mutually exclusive" in error.message
    unsigned = ws.StartBatchOperationRequest(
        namespace="default", job_id="s", reason="r", visibility_query="Team = 'x'"
    )
    unsigned.signal_operation.SetInParent()
    error = await rpc_error(service.start_batch_operation(unsigned))
    assert error.message == "must provide signal name"
    bad_query = ws.StartBatchOperationRequest()
    bad_query.CopyFrom(base)
    bad_query.reason, bad_query.visibility_query = "r", "Nope = 1"
    error = await rpc_error(service.start_batch_operation(bad_query))
    assert error.status == RPCStatusCode.INVALID_ARGUMENT and "Nope" in error.message
    stop = ws.StopBatchOperationRequest(namespace="default", job_id="nothing", reason="r")
    error = await rpc_error(service.stop_batch_operation(stop))
    assert error.status == RPCStatusCode.NOT_FOUND
    error = await rpc_error(
        service.describe_batch_operation(ws.DescribeBatchOperationRequest(namespace="default"))
    )
    assert error.message == "JobId is not set on request."


@bounded
async def test_stop_and_job_id_reuse(client: Client) -> None:
    """A stopped job is FAILED; its job id may not be used again (REJECT_DUPLICATE)."""
    await _start(client, "stop", 1, "black")
    service = client.workflow_service
    req = ws.StartBatchOperationRequest(
        namespace="default",
        job_id="job-stop",
        reason="r",
        visibility_query="Team = 'black'",
        termination_operation=batch_pb.BatchOperationTermination(),
    )
    await service.start_batch_operation(req)
    await _finished(client, "job-stop")
    error = await rpc_error(service.start_batch_operation(req))
    assert error.status == RPCStatusCode.ALREADY_EXISTS
    stopped = await rpc_error(
        service.stop_batch_operation(
            ws.StopBatchOperationRequest(namespace="default", job_id="job-stop", reason="r")
        )
    )
    assert stopped.message == "workflow execution already completed"
    info = json.loads((await client.get_workflow_handle("job-stop").fetch_history()).to_json())
    assert info["events"][0]["workflowExecutionStartedEventAttributes"]["taskQueue"]["name"] == (
        "temporal-sys-per-ns-tq"
    )


@bounded
async def test_the_temporal_cli_terminates_by_query(client: Client, address: str) -> None:
    """`temporal workflow terminate --query` starts a batch job; `temporal batch list`
    and `describe` show it completed (the CLI's own requests, unchanged)."""
    ids = await _start(client, "cli", 2, "cli")
    code, out, err = await cli(
        address,
        "workflow",
        "terminate",
        "--query",
        "Team = 'cli'",
        "--reason",
        "from the CLI",
        "--yes",
    )
    assert code == 0, err
    job = out.rsplit("job ID:", 1)[1].strip()
    await _finished(client, job)
    code, out, err = await cli(address, "batch", "describe", "--job-id", job, "-o", "json")
    assert code == 0, err
    described = json.loads(out)
    assert described["state"] == "BATCH_OPERATION_STATE_COMPLETED"
    assert described["completeOperationCount"] == "2"
    for wid in ids:
        assert await _status(client, wid) == WorkflowExecutionStatus.TERMINATED


@pytest.mark.asyncio(loop_scope="function")
async def test_one_job_at_a_time_and_stop_fails_a_running_job() -> None:
    """In-process, with the internal worker stopped so a job stays running: a second
    job is RESOURCE_EXHAUSTED (frontend.MaxConcurrentBatchOperationPerNamespace is 1);
    Describe shows the first RUNNING; Stop terminates it, which Describe shows FAILED."""
    server = Server("127.0.0.1:0")
    port = await server.start()
    await server.internal.stop()
    try:
        client = await Client.connect(f"127.0.0.1:{port}")
        service = client.workflow_service

        def job(job_id: str) -> ws.StartBatchOperationRequest:
            return ws.StartBatchOperationRequest(
                namespace="default",
                job_id=job_id,
                reason="r",
                visibility_query="WorkflowType = 'Nothing'",
                termination_operation=batch_pb.BatchOperationTermination(),
            )

        await service.start_batch_operation(job("first"))
        error = await rpc_error(service.start_batch_operation(job("second")))
        assert error.status == RPCStatusCode.RESOURCE_EXHAUSTED
        assert error.message == "Max concurrent batch operations is reached"
        running = await service.describe_batch_operation(
            ws.DescribeBatchOperationRequest(namespace="default", job_id="first")
        )
        assert running.state == batch_enums.BATCH_OPERATION_STATE_RUNNING
        await service.stop_batch_operation(
            ws.StopBatchOperationRequest(namespace="default", job_id="first", reason="enough")
        )
        stopped = await service.describe_batch_operation(
            ws.DescribeBatchOperationRequest(namespace="default", job_id="first")
        )
        assert stopped.state == batch_enums.BATCH_OPERATION_STATE_FAILED
        await service.start_batch_operation(job("second"))  # the slot is free again
    finally:
        await server.stop()
