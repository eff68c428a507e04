"""UpdateWorkflowExecutionOptions's event (options_update.py): the priority it records is
the merged one, left out when the update cleared it (`MergeAndApply` in
service/history/api/updateworkflowoptions/api.go passes `mergedOpts.GetPriority()`,
nil once cleared). The real server's events are in
tests/fixtures/unseen-histories/options-override.json."""

from __future__ import annotations

from typing import Any

from core import requests as rq
from core.enums import EventType
from core.events import OpaqueAttributes
from core.opaque import JsonValue, Opaque
from core.options_request import OptionsUpdated, UpdateWorkflowExecutionOptions
from sim.service_run import ServiceRun


def _run(priority: dict[str, JsonValue] | None) -> ServiceRun:
    given = Opaque.of(priority) if priority is not None else None
    return ServiceRun(
        rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start", priority=given)
    )


def _update(run: ServiceRun, options: dict[str, JsonValue], *paths: str) -> dict[str, Any]:
    """Send the update; the attributes of the WorkflowExecutionOptionsUpdated it wrote."""
    before = len(run.events)
    assert isinstance(
        run.send(UpdateWorkflowExecutionOptions(Opaque.of(options), paths)), OptionsUpdated
    )
    (event,) = run.events[before:]
    assert event.event_type is EventType.WORKFLOW_EXECUTION_OPTIONS_UPDATED
    assert isinstance(event.attributes, OpaqueAttributes)
    value = event.attributes.value.value()
    assert isinstance(value, dict)
    return value


def test_a_cleared_priority_is_left_out_of_the_event() -> None:
    run = _run({})  # the SDK starts a run with an empty priority
    assert _update(run, {"priority": {"priorityKey": 3}}, "priority")["priority"] == {
        "priorityKey": 3
    }
    cleared = _update(
        run, {"versioningOverride": {"autoUpgrade": True}}, "versioningOverride", "priority"
    )
    assert "priority" not in cleared and cleared["versioningOverride"] == {"autoUpgrade": True}


def test_an_update_that_leaves_the_priority_records_the_runs() -> None:
    # a run started with an empty priority keeps it, and the event shows it
    assert (
        _update(_run({}), {"versioningOverride": {"autoUpgrade": True}}, "versioningOverride")[
            "priority"
        ]
        == {}
    )
    # a run started without one has none to show
    assert "priority" not in _update(
        _run(None), {"versioningOverride": {"autoUpgrade": True}}, "versioningOverride"
    )


def test_the_reply_is_the_merged_options_without_a_cleared_priority() -> None:
    """`Invoke` answers with `mergedOpts`: the dev server's reply to an update clearing the
    priority has none (an empty one only while the run's is empty)."""
    run = _run({})
    first = run.send(UpdateWorkflowExecutionOptions(Opaque.of({}), ("versioningOverride",)))
    assert isinstance(first, OptionsUpdated) and first.options.value() == {"priority": {}}
    run.send(
        UpdateWorkflowExecutionOptions(Opaque.of({"priority": {"priorityKey": 2}}), ("priority",))
    )
    for _ in range(2):  # the clearing update, then one that changes nothing
        reply = run.send(UpdateWorkflowExecutionOptions(Opaque.of({}), ("priority",)))
        assert isinstance(reply, OptionsUpdated) and reply.options.value() == {}


def test_a_cleared_priority_stays_in_the_runs_state() -> None:
    """The event of an update that clears the priority has none, and applying it leaves
    the run's priority as it was (`ApplyWorkflowExecutionOptionsUpdatedEvent` sets it
    only from an event that has one, mutable_state_impl.go): so the next update that
    does not name the priority records the old one again (`getOptionsFromMutableState`)."""
    run = _run(None)
    _update(run, {"priority": {"priorityKey": 3}}, "priority")
    cleared = _update(
        run, {"versioningOverride": {"autoUpgrade": True}}, "versioningOverride", "priority"
    )
    assert "priority" not in cleared
    assert run.state.priority == Opaque.of({"priorityKey": 3})
    assert _update(run, {}, "versioningOverride")["priority"] == {"priorityKey": 3}


def test_the_event_keeps_the_override_in_its_v32_form_only() -> None:
    """`temporal workflow update-options --versioning-override-behavior auto_upgrade`
    sends the deprecated `behavior` beside `autoUpgrade`; the dev server's event
    (tests/fixtures/histories/options-updated.json) has `autoUpgrade` alone
    (`ConvertOverrideToV32`, service/history/historybuilder/history_builder.go)."""
    both: dict[str, JsonValue] = {
        "behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE",
        "autoUpgrade": True,
    }
    run = _run(None)
    assert _update(run, {"versioningOverride": both}, "versioningOverride")[
        "versioningOverride"
    ] == {"autoUpgrade": True}
    # the deprecated field alone is read into its oneof
    deprecated: dict[str, JsonValue] = {"behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE"}
    run = _run(None)
    assert _update(run, {"versioningOverride": deprecated}, "versioningOverride")[
        "versioningOverride"
    ] == {"autoUpgrade": True}


def test_a_start_keeps_the_override_in_its_v32_form_only() -> None:
    both = Opaque.of({"behavior": "VERSIONING_BEHAVIOR_AUTO_UPGRADE", "autoUpgrade": True})
    run = ServiceRun(
        rq.StartWorkflowExecution(
            "default",
            "wf",
            "run-1",
            "Flow",
            "q",
            "start",
            versioning=rq.StartVersioning(versioning_override=both),
        )
    )
    started = run.events[0].attributes
    override = getattr(started, "versioning_override", None)
    assert override is not None and override.value() == {"autoUpgrade": True}
    assert run.state.versioning is not None
    assert run.state.versioning.override == Opaque.of({"autoUpgrade": True})


def _sticky_run() -> ServiceRun:
    run = _run(None)
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (), sticky_queue="worker-1"))
    assert run.state.sticky_queue == "worker-1"
    return run


def _next_task_queue_kind(run: ServiceRun) -> str:
    run.send(rq.SignalWorkflowExecution("wake"))
    scheduled = run.events[-1]
    assert scheduled.event_type is EventType.WORKFLOW_TASK_SCHEDULED
    queue = getattr(scheduled.attributes, "task_queue", None)
    assert queue is not None
    return str(queue.kind.name)


def test_a_new_effective_behavior_sends_the_next_task_to_the_normal_queue() -> None:
    """`updateVersioningOverride` (mutable_state_impl.go) clears the sticky queue when
    the effective behavior or version changes: the dev server's next task after
    `temporal workflow update-options` went to the normal queue
    (tests/fixtures/histories/options-updated.json, event 9)."""
    run = _sticky_run()
    _update(run, {"versioningOverride": {"autoUpgrade": True}}, "versioningOverride")
    assert run.state.sticky_queue == ""
    assert _next_task_queue_kind(run) == "NORMAL"
    # an update that changes only the priority keeps the sticky queue
    run = _sticky_run()
    _update(run, {"priority": {"priorityKey": 2}}, "priority")
    assert _next_task_queue_kind(run) == "STICKY"
