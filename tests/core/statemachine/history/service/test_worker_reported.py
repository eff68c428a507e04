"""What the events say of the worker behind a request, as it sent it: WorkflowTaskCompleted
its binary checksum and Worker Deployment (`AddWorkflowTaskCompletedEvent`,
service/history/workflow/workflow_task_state_machine.go), WorkflowExecutionStarted what
its start carried of versioning, UpdateAccepted the sequencing event the worker named.
The real server's events are in tests/fixtures/unseen-histories (versioned.json,
v-pinned-chain.*, reset-mid-all.json; tests/adapters/test_conform_unseen.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from core import requests as rq
from core.commands import ScheduleActivityTaskCommandAttributes
from core.enums import ContinueAsNewInitiator, EventType, VersioningBehavior
from core.events import (
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)
from core.opaque import Opaque
from core.statemachine.history.service.chain import next_run
from core.statemachine.history.service.rebuild import rebuild
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run, activity

PINNED = VersioningBehavior.PINNED


def _completed(run: Run, **fields: Any) -> WorkflowTaskCompletedEventAttributes:
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (), **fields))
    event = [e for e in run.events if e.event_type is EventType.WORKFLOW_TASK_COMPLETED][-1]
    assert isinstance(event.attributes, WorkflowTaskCompletedEventAttributes)
    return event.attributes


def test_a_versioned_worker_writes_its_deployment_version_and_behavior() -> None:
    options = rq.WorkerDeploymentOptions("dep", "b1", versioned=True)
    a = _completed(Run(), deployment_options=options, versioning_behavior=PINNED)
    assert a.worker_deployment_name == "dep"
    assert a.deployment_version == Opaque.of({"buildId": "b1", "deploymentName": "dep"})
    assert a.versioning_behavior is PINNED


def test_an_unversioned_worker_writes_its_deployment_name_only() -> None:
    """The server drops a behavior an unversioned worker reports and writes no version."""
    options = rq.WorkerDeploymentOptions("dep", "b1", versioned=False)
    a = _completed(Run(), deployment_options=options, versioning_behavior=PINNED)
    assert a.worker_deployment_name == "dep"
    assert a.deployment_version is None
    assert a.versioning_behavior is VersioningBehavior.UNSPECIFIED


def test_the_binary_checksum_is_written_and_keys_the_reset_points() -> None:
    """A new <binary checksum, build> pair makes a new auto-reset point
    (`addResetPointFromCompletion`, mutable_state_impl.go), in the run and its rebuild."""
    run = Run()
    a = _completed(run, binary_checksum="sum-1")
    assert a.binary_checksum == "sum-1"
    _completed(run, binary_checksum="sum-1")
    _completed(run, binary_checksum="sum-2")
    rebuilt = rebuild(run.events, "default", "wf", "run-1", "start", 0).state
    for state in (run.state, rebuilt):
        assert [p.binary_checksum for p in state.reset_points] == ["sum-1", "sum-2"]


def test_a_versioned_completions_reset_point_names_the_deployments_build() -> None:
    run = Run()
    options = rq.WorkerDeploymentOptions("dep", "b7", versioned=True)
    stamp = Opaque.of({"buildId": "other"})
    _completed(run, deployment_options=options, worker_version=stamp)
    rebuilt = rebuild(run.events, "default", "wf", "run-1", "start", 0).state
    for state in (run.state, rebuilt):
        assert [p.build_id for p in state.reset_points] == ["b7"]


def test_a_start_writes_what_it_carries_of_worker_versioning() -> None:
    """A child or continued run of a pinned run inherits its version (the server's start
    request carries it; event_factory.go copies it into WorkflowExecutionStarted)."""
    pinned = Opaque.of({"buildId": "b1", "deploymentName": "dep"})
    versioning = rq.StartVersioning(inherited_pinned_version=pinned, inherited_build_id="old")
    run = ServiceRun(
        rq.StartWorkflowExecution("default", "wf", "run-1", "T", "q", "r", versioning=versioning)
    )
    started = run.events[0].attributes
    assert isinstance(started, WorkflowExecutionStartedEventAttributes)
    assert started.inherited_pinned_version == pinned
    assert started.inherited_build_id == "old"
    assert started.versioning_override is None


def test_an_acceptance_writes_the_sequencing_event_its_worker_names() -> None:
    """UpdateAccepted's acceptedRequestSequencingEventId is the worker's (`onAcceptanceMsg`,
    service/history/workflow/update/update.go): a worker that got the update as an
    UpdateAdmitted event names that event; one that names none gets the request
    message's, the task's Scheduled event."""
    for named, expected in ((0, None), (3, 3)):
        run = Run()
        run.send(rq.UpdateWorkflowExecution("u1", Opaque.of({"meta": {"updateId": "u1"}})))
        token = run.poll()
        scheduled = run.state.wft.scheduled_event_id if run.state.wft else 0
        accept = rq.UpdateMessage(
            "m1", "u1", rq.UpdateMessageKind.ACCEPT, sequencing_event_id=named
        )
        run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(accept,)))
        (accepted,) = [
            e.attributes
            for e in run.events
            if e.event_type is EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        assert isinstance(accepted, WorkflowExecutionUpdateAcceptedEventAttributes)
        assert accepted.accepted_request_sequencing_event_id == (expected or scheduled) != 0


def _priorities(run: ServiceRun) -> list[Opaque | None]:
    return [
        getattr(e.attributes, "priority", None)
        for e in run.events
        if e.event_type in (EventType.WORKFLOW_EXECUTION_STARTED, EventType.ACTIVITY_TASK_SCHEDULED)
    ]


def test_a_priority_is_written_only_where_the_request_carried_one() -> None:
    """The server copies a start's and a command's Priority message, absent or empty
    (event_factory.go; an SDK that knows no priority sends none, the Python SDK an empty
    one), and a run that continues the chain keeps the start's (`ExecutionInfo.Priority`)."""
    for given in (None, Opaque.of({})):
        run = ServiceRun(
            rq.StartWorkflowExecution("default", "wf", "r", "T", "q", "s", priority=given)
        )
        command = activity("a1")
        assert isinstance(command.attributes, ScheduleActivityTaskCommandAttributes)
        attributes = dataclasses.replace(command.attributes, priority=given)
        run.send(
            rq.RespondWorkflowTaskCompleted(
                run.poll(), (dataclasses.replace(command, attributes=attributes),)
            )
        )
        assert _priorities(run) == [given, given]
        following = next_run(run.state, "r2", ContinueAsNewInitiator.WORKFLOW, 0, 0)
        assert following.priority == given
