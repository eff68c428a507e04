"""What a child's Initiated event and its start take of the parent and the command
beyond the verbatim fields (test_carried_fields.py):

- the Initiated event keeps the command's versioning override in its v0.32 form
  (`CreateStartChildWorkflowExecutionInitiatedEvent` in historybuilder/event_factory.go,
  `ConvertOverrideToV32` in common/worker_versioning; recorded: `v6-kid.json`,
  `v7-kid.json` of the unseen histories);
- the child's start carries that override, the command's user metadata (summary,
  details), and the command's priority merged over the parent's, field by field
  (`startChildWorkflow` in transfer_queue_active_task_executor.go, `priorities.Merge`;
  recorded: `meta.kid1.json`, whose parent's fairness weight fills the child's);
- with no override of its own, a child on the parent's task queue inherits the pinned
  parent's version, the parent's override naming a version, or the auto-upgrading
  parent's version and revision (`processStartChildExecution`; recorded:
  `v-pinned-chain.child.json`);
- a child under a cron schedule starts as the frontend starts a cron workflow: the
  schedule as its initiator, its first task waiting for the schedule's next time
  (`CreateHistoryStartWorkflowRequest`, common/util.go, which the transfer task calls).
"""

from __future__ import annotations

import dataclasses

from adapters.temporal_json import decode_history
from core import requests as rq
from core.commands import Command, StartChildWorkflowExecutionCommandAttributes
from core.enums import CommandType, ContinueAsNewInitiator, EventType, VersioningBehavior
from core.events import (
    StartChildWorkflowExecutionInitiatedEventAttributes,
    TaskQueue,
    WorkflowExecutionStartedEventAttributes,
    WorkflowType,
)
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import versioning
from core.statemachine.history.service.outbound import merged_priority
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.service.versioning import override_v32
from core.statemachine.history.service.versioning_state import VersioningInfo
from core.statemachine.matching.versioning import DeploymentVersion
from sim.service_run import ServiceRun
from tests.conftest import FIXTURES

UNSEEN = FIXTURES / "unseen-histories"

SUMMARY = Opaque.of({"summary": {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImsiIg=="}})
PINNED_B1: dict[str, JsonValue] = {
    "behavior": "PINNED_OVERRIDE_BEHAVIOR_PINNED",
    "version": {"buildId": "b1", "deploymentName": "dep"},
}


def _start_child(
    parent_priority: Opaque | None = None,
    pinned_on: str = "",
    parent_versioning: rq.StartVersioning | None = None,
    **fields: object,
) -> tuple[StartChildWorkflowExecutionInitiatedEventAttributes, rq.StartWorkflowExecution]:
    """A parent on queue `q` whose first task starts a child with the command's
    `fields` (completed by a worker of dep.`pinned_on` reporting PINNED, when given)."""
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start", priority=parent_priority,
        versioning=parent_versioning,
    )  # fmt: skip
    run = ServiceRun(start)
    options = rq.WorkerDeploymentOptions("dep", pinned_on, versioned=True) if pinned_on else None
    pinned = VersioningBehavior.PINNED if pinned_on else VersioningBehavior.UNSPECIFIED
    user_metadata = fields.pop("user_metadata", None)
    assert user_metadata is None or isinstance(user_metadata, Opaque)
    command = Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid",
            workflow_type=WorkflowType("Kid"),
            **fields,  # type: ignore[arg-type]
        ),
        user_metadata=user_metadata,
    )
    token = run.poll()
    done = rq.RespondWorkflowTaskCompleted(
        token, (command,), deployment_options=options, versioning_behavior=pinned
    )
    outcome: Outcome = service.handle(run.state, done, run.now + 5)
    initiated = next(
        e
        for e in outcome.events
        if e.event_type is EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
    assert isinstance(initiated.attributes, StartChildWorkflowExecutionInitiatedEventAttributes)
    assert initiated.user_metadata == user_metadata
    transfer = next(t for t in outcome.tasks if isinstance(t, rq.StartChildTransfer))
    return initiated.attributes, transfer.request


def test_a_child_s_override_is_kept_on_its_initiated_event_and_its_start() -> None:
    auto = Opaque.of({"autoUpgrade": True})
    initiated, start = _start_child(versioning_override=auto)
    assert initiated.versioning_override == auto
    assert start.versioning is not None and start.versioning.versioning_override == auto


def test_a_deprecated_override_is_written_in_its_v32_form() -> None:
    old = Opaque.of({"behavior": "VERSIONING_BEHAVIOR_PINNED", "pinnedVersion": "dep.b1"})
    initiated, start = _start_child(versioning_override=old)
    assert initiated.versioning_override == Opaque.of({"pinned": PINNED_B1})
    assert start.versioning is not None
    assert start.versioning.versioning_override == Opaque.of({"pinned": PINNED_B1})


def test_override_v32_keeps_the_oneof_and_reads_the_deprecated_fields() -> None:
    new: dict[str, JsonValue] = {"pinned": PINNED_B1, "behavior": "VERSIONING_BEHAVIOR_PINNED"}
    assert override_v32(Opaque.of(new)) == Opaque.of({"pinned": PINNED_B1})
    one_time: dict[str, JsonValue] = {"oneTime": {"targetDeploymentVersion": {"buildId": "b2"}}}
    assert override_v32(Opaque.of(one_time)) == Opaque.of(one_time)
    auto = Opaque.of({"behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE"})
    assert override_v32(auto) == Opaque.of({"autoUpgrade": True})
    by_deployment: dict[str, JsonValue] = {"seriesName": "dep", "buildId": "b1"}
    old: dict[str, JsonValue] = {
        "behavior": "VERSIONING_BEHAVIOR_PINNED",
        "deployment": by_deployment,
    }
    assert override_v32(Opaque.of(old)) == Opaque.of({"pinned": PINNED_B1})
    assert override_v32(Opaque.of({"behavior": "VERSIONING_BEHAVIOR_UNSPECIFIED"})) is None
    assert override_v32(None) is None


def test_a_child_s_start_carries_the_command_s_user_metadata() -> None:
    _, start = _start_child(user_metadata=SUMMARY)
    assert start.user_metadata == SUMMARY


def test_a_child_s_priority_is_the_command_s_merged_over_the_parent_s() -> None:
    parent = Opaque.of({"priorityKey": 3, "fairnessKey": "tenant-a", "fairnessWeight": 2.0})
    own = Opaque.of({"priorityKey": 4, "fairnessKey": "fk"})
    initiated, start = _start_child(parent, priority=own)
    assert initiated.priority == own  # the event keeps the command's
    merged: dict[str, JsonValue] = {"priorityKey": 4, "fairnessKey": "fk", "fairnessWeight": 2.0}
    assert start.priority == Opaque.of(merged)
    _, inherited = _start_child(parent)
    assert inherited.priority == parent
    _, alone = _start_child(None, priority=own)
    assert alone.priority == own


def test_merged_priority_takes_each_field_the_override_sets() -> None:
    base = Opaque.of({"priorityKey": 1, "fairnessWeight": 0.5})
    assert merged_priority(base, Opaque.of({})) == base
    assert merged_priority(None, None) is None
    assert merged_priority(Opaque.of({}), None) == Opaque.of({})


def test_a_child_on_the_pinned_parent_s_queue_inherits_its_version() -> None:
    _, start = _start_child(pinned_on="b1")
    assert start.versioning is not None
    assert start.versioning.inherited_pinned_version == Opaque.of(PINNED_B1["version"])
    _, elsewhere = _start_child(pinned_on="b1", task_queue=TaskQueue(name="other"))
    assert elsewhere.versioning is None  # (the server would ask matching)
    auto = Opaque.of({"autoUpgrade": True})
    _, own = _start_child(pinned_on="b1", versioning_override=auto)
    assert own.versioning == rq.StartVersioning(versioning_override=auto)


def test_a_child_inherits_a_parent_s_override_that_names_a_version() -> None:
    one_time = Opaque.of({"oneTime": {"targetDeploymentVersion": PINNED_B1["version"]}})
    _, start = _start_child(parent_versioning=rq.StartVersioning(versioning_override=one_time))
    assert start.versioning == rq.StartVersioning(versioning_override=one_time)
    auto = Opaque.of({"autoUpgrade": True})
    _, free = _start_child(parent_versioning=rq.StartVersioning(versioning_override=auto))
    assert free.versioning is None  # an auto-upgrade override names no version


def test_a_child_of_an_auto_upgrading_parent_inherits_its_version_and_revision() -> None:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start"))
    info = VersioningInfo(
        behavior=VersioningBehavior.AUTO_UPGRADE, version=DeploymentVersion("dep", "b1"), revision=7
    )
    state = dataclasses.replace(run.state, versioning=info)
    inherited = versioning.child(state, None, "q")
    assert inherited is not None and inherited.inherited_auto_upgrade_info == Opaque.of(
        {"sourceDeploymentVersion": PINNED_B1["version"], "sourceDeploymentRevisionNumber": "7"}
    )
    unrevised = dataclasses.replace(state, versioning=dataclasses.replace(info, revision=0))
    assert versioning.child(unrevised, None, "q") is None


def test_the_child_of_a_parent_with_a_pinned_override_matches_the_recorded_one() -> None:
    """v8-pinned: a parent started with a pinned override, on a worker reporting
    AUTO_UPGRADE, starts a child on its own queue; the recorded child's Started event
    has the parent's override and its pinned version."""
    parent = decode_history((UNSEEN / "v8-pinned.json").read_text(encoding="utf-8")).events
    child = decode_history((UNSEEN / "v8-pinned.child.json").read_text(encoding="utf-8")).events
    parent_started = parent[0].attributes
    child_started = child[0].attributes
    assert isinstance(parent_started, WorkflowExecutionStartedEventAttributes)
    assert isinstance(child_started, WorkflowExecutionStartedEventAttributes)
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start",
        versioning=rq.StartVersioning(versioning_override=parent_started.versioning_override),
    )  # fmt: skip
    run = ServiceRun(start)
    command = Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid", workflow_type=WorkflowType("Kid")
        ),
    )
    options = rq.WorkerDeploymentOptions("hh6dep3", "b1", versioned=True)
    done = rq.RespondWorkflowTaskCompleted(
        run.poll(), (command,), deployment_options=options,
        versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )  # fmt: skip
    outcome = service.handle(run.state, done, run.now + 5)
    transfer = next(t for t in outcome.tasks if isinstance(t, rq.StartChildTransfer))
    assert transfer.request.versioning == rq.StartVersioning(
        versioning_override=child_started.versioning_override,
        inherited_pinned_version=child_started.inherited_pinned_version,
    )


def test_a_cron_child_starts_waiting_for_its_schedule() -> None:
    """Recorded: `kids.cron.run1.json`, a child under "@every 2s": its Started event
    names the schedule, the initiator CRON_SCHEDULE and a 2 s first task backoff."""
    _, start = _start_child(cron_schedule="@every 2s")
    assert start.cron_schedule == "@every 2s"
    first = service.start(start, 7 * 10**9).events[0].attributes
    assert isinstance(first, WorkflowExecutionStartedEventAttributes)
    assert (first.cron_schedule, first.initiator, first.first_workflow_task_backoff) == (
        "@every 2s",
        ContinueAsNewInitiator.CRON_SCHEDULE,
        2 * 10**9,
    )
    _, plain = _start_child()
    first = service.start(plain, 7 * 10**9).events[0].attributes
    assert isinstance(first, WorkflowExecutionStartedEventAttributes)
    assert first.initiator is ContinueAsNewInitiator.UNSPECIFIED
