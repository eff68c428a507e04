"""A history read of a running run whose workflow task is transient (it failed and is
being retried): the server ends the last page with that task's Scheduled and, once a
worker took it, Started events, which it has not written, for an SDK's client but not
for the CLI or the UI (service/history/api/getworkflowexecutionhistory/api.go
appendTransientTasks, get_workflow_util.go, get_history_util.go
ClientSupportsTranOrSpecEvents). tests/fixtures/unseen-histories/stuck-task.json and
stuck-task.cli.json are the dev server's two answers for one such run. The rule on the
pure history service first, then through `tmodel serve`."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import event_type_pb2 as ev
from temporalio.api.history.v1 import message_pb2 as history_pb
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client

from core import requests as rq
from core.enums import EventType as E
from core.events import WorkflowTaskScheduledEventAttributes, WorkflowTaskStartedEventAttributes
from core.statemachine.history.service.unwritten_task import transient_events
from sim.service_run import ServiceRun
from tests.adapters.serve.sdk import bounded, execution, first_workflow_task
from tests.conftest import FIXTURES

UNSEEN = FIXTURES / "unseen-histories"


def _poll(run: ServiceRun, identity: str) -> rq.WorkflowTaskToken:
    wft = run.state.wft
    assert wft is not None
    started = rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, identity, identity)
    assert isinstance(run.send(started), rq.WorkflowTaskStarted)
    wft = run.state.wft
    assert wft is not None
    return rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)


def _failed_once() -> ServiceRun:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    run.send(rq.RespondWorkflowTaskFailed(_poll(run, "worker-1")))
    assert run.state.wft is not None and run.state.wft.attempt == 2
    return run


def test_a_read_shows_a_pending_transient_task_as_its_scheduled_event() -> None:
    run = _failed_once()
    assert transient_events(run.state) == ()  # a worker is shown nothing before its poll
    (scheduled,) = transient_events(run.state, read=True)
    assert scheduled.event_type is E.WORKFLOW_TASK_SCHEDULED
    assert scheduled.event_id == run.state.next_event_id
    attributes = scheduled.attributes
    assert isinstance(attributes, WorkflowTaskScheduledEventAttributes)
    assert attributes.attempt == 2


def test_a_read_shows_a_started_transient_task_without_the_workers_identity() -> None:
    run = _failed_once()
    _poll(run, "worker-2")
    polled, read = transient_events(run.state), transient_events(run.state, read=True)
    assert [e.event_type for e in read] == [E.WORKFLOW_TASK_SCHEDULED, E.WORKFLOW_TASK_STARTED]
    assert read[0] == polled[0]
    seen, shown = polled[1].attributes, read[1].attributes
    assert isinstance(seen, WorkflowTaskStartedEventAttributes)
    assert isinstance(shown, WorkflowTaskStartedEventAttributes)
    assert (seen.identity, shown.identity) == ("worker-2", "")


def test_a_written_task_adds_nothing_to_a_read() -> None:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    run.poll()
    assert transient_events(run.state, read=True) == ()


def _recorded_types(name: str) -> list[str]:
    events = json.loads((UNSEEN / name).read_text(encoding="utf-8"))["events"]
    return [str(e["eventType"]) for e in events]


async def _history(
    client: Client, workflow_id: str, cli: bool = False
) -> list[history_pb.HistoryEvent]:
    request = ws.GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=execution(workflow_id)
    )
    metadata = {"client-name": "temporal-cli"} if cli else {}
    response = await client.workflow_service.get_workflow_execution_history(
        request, metadata=metadata
    )
    return list(response.history.events)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_serve_ends_an_sdk_clients_read_with_the_transient_task(client: Client) -> None:
    workflow_id = f"stuck-{uuid.uuid4()}"
    first = await first_workflow_task(client, "default", workflow_id)
    service = client.workflow_service
    await service.respond_workflow_task_failed(
        ws.RespondWorkflowTaskFailedRequest(namespace="default", task_token=first.task_token)
    )
    # waiting for a worker: the Scheduled event of attempt 2 ends an SDK client's read
    pending = await _history(client, workflow_id)
    assert pending[-2].event_type == ev.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert pending[-1].event_type == ev.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    assert pending[-1].workflow_task_scheduled_event_attributes.attempt == 2
    assert pending[-1].task_id == 0  # not stored
    poll = ws.PollWorkflowTaskQueueRequest(
        namespace="default", task_queue=tq_pb.TaskQueue(name=workflow_id), identity="raw"
    )
    await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=20))
    started = await _history(client, workflow_id)
    cli = await _history(client, workflow_id, cli=True)
    # the shapes of the dev server's two answers for such a run (recorded at attempt 3)
    sdk_shape, cli_shape = (
        _recorded_types("stuck-task.json"),
        _recorded_types("stuck-task.cli.json"),
    )
    assert [ev.EventType.Name(e.event_type) for e in started] == sdk_shape
    assert [ev.EventType.Name(e.event_type) for e in cli] == cli_shape
    assert started[: len(cli)] == cli
    assert started[-1].workflow_task_started_event_attributes.identity == ""
    assert started[-1].workflow_task_started_event_attributes.scheduled_event_id == len(cli) + 1
