"""What the run after this one takes of its priority and versioning override:

- a retry or a cron run starts with the priority of this run's Started event, even
  when UpdateWorkflowExecutionOptions changed it since, and with a pinned versioning
  override (`SetupNewWorkflowForRetryOrCron` in service/history/workflow/retry.go reads
  `startAttr.Priority` and `OverrideIsPinned`); recorded: `prio-fail.run2.json` of the
  unseen histories;
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
