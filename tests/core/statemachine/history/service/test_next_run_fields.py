"""What the run after this one takes of its priority and versioning override:

- a retry or a cron run starts with the priority of this run's Started event, even
  when UpdateWorkflowExecutionOptions changed it since, and with a pinned versioning
  override (`SetupNewWorkflowForRetryOrCron` in service/history/workflow/retry.go reads
  `startAttr.Priority` and `OverrideIsPinned`); recorded: `prio-fail.run2.json` of the
  unseen histories;
- a retry also carries a pinned version the run inherited, or an auto-upgrade run's
  version and revision, and names a run timeout when the run's start did
  (`SetupNewWorkflowForRetryOrCron`; recorded: `v10-kid.child.run2.json`,
  `v10-up.run2.json`);
- a continue-as-new starts with the run's priority as it is now
  (`addWorkflowExecutionStartedEventForContinueAsNew` copies ExecutionInfo.Priority);
  recorded: `prio-can.run2.json`.
"""

from __future__ import annotations

from core import requests as rq
from core.commands import (
    Command,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType as C
from core.enums import VersioningBehavior
from core.events import WorkflowType
from core.opaque import JsonValue, Opaque
from core.options_request import UpdateWorkflowExecutionOptions
from core.statemachine.history.service import handle as service
from sim.service_run import ServiceRun

FIRST: dict[str, JsonValue] = {"priorityKey": 3, "fairnessKey": "tenant-a", "fairnessWeight": 2.0}
UPDATED: dict[str, JsonValue] = {"priorityKey": 5, "fairnessKey": "b", "fairnessWeight": 2.0}
POLICY = Opaque.of({"initialInterval": "1s", "maximumAttempts": 3})
PINNED: dict[str, JsonValue] = {
    "pinned": {
        "behavior": "PINNED_OVERRIDE_BEHAVIOR_PINNED",
        "version": {"buildId": "b1", "deploymentName": "dep"},
    }
}
FAIL = Command(
    C.FAIL_WORKFLOW_EXECUTION,
    FailWorkflowExecutionCommandAttributes(failure=Opaque.of({"message": "boom"})),
)
CONTINUE = Command(
    C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
    ContinueAsNewWorkflowExecutionCommandAttributes(workflow_type=WorkflowType("Flow")),
)


def _next(
    command: Command, cron: str = "", override: dict[str, JsonValue] | None = None
) -> rq.StartWorkflowExecution:
    """The start of the run after one started with FIRST (and `override`), whose
    priority an options update set to UPDATED, and whose task sent `command`."""
    versioning = rq.StartVersioning(versioning_override=Opaque.of(override)) if override else None
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start", retry_policy=None if cron else POLICY,
        priority=Opaque.of(FIRST), cron_schedule=cron, versioning=versioning,
    )  # fmt: skip
    run = ServiceRun(start)
    run.send(UpdateWorkflowExecutionOptions(Opaque.of({"priority": UPDATED}), ("priority",)))
    assert run.state.priority == Opaque.of(UPDATED)
    done = rq.RespondWorkflowTaskCompleted(run.poll(), (command,))
    outcome = service.handle(run.state, done, run.now + 1)
    assert outcome.new_run is not None
    return outcome.new_run


def test_a_retry_keeps_the_start_s_priority() -> None:
    assert _next(FAIL).priority == Opaque.of(FIRST)


def test_a_cron_run_keeps_the_start_s_priority() -> None:
    assert _next(FAIL, cron="@every 1m").priority == Opaque.of(FIRST)


def test_a_continue_as_new_takes_the_priority_as_updated() -> None:
    assert _next(CONTINUE).priority == Opaque.of(UPDATED)


def test_a_retry_and_a_cron_run_keep_a_pinned_override_only() -> None:
    for cron in ("", "@every 1m"):
        pinned = _next(FAIL, cron, PINNED)
        assert pinned.versioning == rq.StartVersioning(versioning_override=Opaque.of(PINNED))
        assert _next(FAIL, cron, {"autoUpgrade": True}).versioning is None


def _retried(
    start_versioning: rq.StartVersioning | None,
    explicit_run_timeout: bool = False,
    reported: tuple[str, VersioningBehavior] | None = None,
) -> tuple[ServiceRun, rq.StartWorkflowExecution]:
    """The retry of a run whose first task fails it, completed by a worker of dep at
    build `reported[0]` that reports behavior `reported[1]` (when given)."""
    options = rq.WorkerDeploymentOptions("dep", reported[0], versioned=True) if reported else None
    behavior = reported[1] if reported else VersioningBehavior.UNSPECIFIED
    start = rq.StartWorkflowExecution(
        "default", "wf", "run-1", "Flow", "q", "start", retry_policy=POLICY,
        versioning=start_versioning, explicit_run_timeout=explicit_run_timeout,
    )  # fmt: skip
    run = ServiceRun(start)
    done = rq.RespondWorkflowTaskCompleted(
        run.poll(), (FAIL,), deployment_options=options, versioning_behavior=behavior
    )
    outcome = service.handle(run.state, done, run.now + 1)
    assert outcome.new_run is not None
    return run, outcome.new_run


def test_a_retry_of_a_run_that_inherited_a_pinned_version_inherits_it_again() -> None:
    """Recorded: `v10-kid.child.run2.json`, the retry of a pinned parent's child."""
    version = Opaque.of({"buildId": "b1", "deploymentName": "dep"})
    inherited = rq.StartVersioning(inherited_pinned_version=version)
    _, again = _retried(inherited, reported=("b1", VersioningBehavior.PINNED))
    assert again.versioning == inherited
    _, plain = _retried(None, reported=("b1", VersioningBehavior.PINNED))
    assert plain.versioning is None  # pinned by its worker, not by inheritance


def test_a_retry_of_an_auto_upgrade_run_at_a_revision_inherits_its_version() -> None:
    """Recorded: `v10-up.run2.json`, the retry of a run moved to b2 at revision 2."""
    source: dict[str, JsonValue] = {"buildId": "b2", "deploymentName": "dep"}
    initial = "CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE"
    info = Opaque.of(
        {
            "sourceDeploymentVersion": source,
            "sourceDeploymentRevisionNumber": "2",
            "continueAsNewInitialVersioningBehavior": initial,
        }
    )
    start = rq.StartVersioning(inherited_auto_upgrade_info=info)
    _, again = _retried(start, reported=("b2", VersioningBehavior.AUTO_UPGRADE))
    assert again.versioning == start
    _, unrevised = _retried(None, reported=("b2", VersioningBehavior.AUTO_UPGRADE))
    assert unrevised.versioning is None  # a run that never moved has no revision


def test_a_retry_names_a_run_timeout_when_the_start_did() -> None:
    """Recorded: `v10-kid.child.run2.json`, whose Started names the 0s of its first
    run's (a child's start always names one)."""
    run, again = _retried(None, explicit_run_timeout=True)
    assert again.explicit_run_timeout and run.state.explicit_run_timeout
    first = service.start(again, run.now + 2).events[0].attributes
    assert getattr(first, "workflow_run_timeout", None) == 0
    _, plain = _retried(None)
    assert service.start(plain, 5).events[0].attributes.workflow_run_timeout is None  # type: ignore[union-attr]
