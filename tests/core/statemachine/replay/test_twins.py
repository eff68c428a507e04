"""Real histories replay against twins of the workflows that wrote them (THM-3.1 on
real data), and a deliberately changed twin fails at the event where it departs."""

from __future__ import annotations

import inspect
import json

import pytest

from adapters.conform import twins
from core import workflow
from core.events import WorkflowExecutionStartedEventAttributes
from core.statemachine.replay.driver import query, replay, snapshot
from core.workflow import Context, Nondeterminism
from tests.conftest import HISTORIES, corpus_events, corpus_files

TWINS = {
    workflow.definition(c).name: workflow.definition(c)
    for c in vars(twins).values()
    if inspect.isclass(c) and "__tmodel_definition__" in vars(c)
}
# Histories with no twin: they need a feature the API does not offer (memo upserts, a
# local activity's backoff timer, Nexus operations: twins.NO_TWIN); and
# the histories of the server's limits (adapters/conform/scenarios/library_limits.py),
# run under a small dynamic config (the manifest's `dynamic_config`), whose tasks the
# server mostly failed, so there is little for a replay to check.
NO_TWIN = {"search-attributes-memo.json", "local-activity-backoff.json", "nexus.json"} | {
    entry["file"]
    for entry in json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))["histories"]
    if "dynamic_config" in entry
}


def twin_of(name: str) -> str:
    """The workflow type that wrote a corpus history (its twin's name)."""
    attributes = corpus_events(name)[0].attributes
    assert isinstance(attributes, WorkflowExecutionStartedEventAttributes)
    assert attributes.workflow_type is not None
    return attributes.workflow_type.name


TWINNED = [f.name for f in corpus_files() if f.name not in NO_TWIN]


def test_at_least_twenty_real_histories_have_twins() -> None:
    assert len(TWINNED) >= 20
    assert all(twin_of(name) in TWINS for name in TWINNED)


@pytest.mark.parametrize("name", TWINNED)
def test_twin_replays_the_real_history(name: str) -> None:
    events = corpus_events(name)
    result = replay(TWINS[twin_of(name)], events)
    # Every completed workflow task was answered, and the run's close was matched.
    completed = sum(1 for e in events if e.event_type.name == "WORKFLOW_TASK_COMPLETED")
    assert len(result.tasks) == completed
    assert result.state[0] == "CLOSED"


@workflow.defn(name="TimersWorkflow")
class TimersMissingASleep:
    @workflow.run
    async def run(self, wf: Context, seconds: float) -> str:
        await wf.sleep(seconds)
        await wf.gather(wf.sleep(seconds), wf.sleep(2 * seconds))
        return "timers done"


@workflow.defn(name="FanOutWorkflow")
class FanOutOneShort:
    @workflow.run
    async def run(self, wf: Context, width: int) -> list[object]:
        calls = [
            wf.execute_activity("greet", i, start_to_close_timeout=10) for i in range(width - 1)
        ]
        return list(await wf.gather(*calls))


@workflow.defn(name="SagaWorkflow")
class SagaWithoutCompensation:
    @workflow.run
    async def run(self, wf: Context, failing_step: int) -> str:
        for step in (1, 2, 3):
            await wf.execute_activity("saga_step", step, start_to_close_timeout=10)
        return "done"


@workflow.defn(name="SingleActivityWorkflow")
class SingleActivityRenamed:
    @workflow.run
    async def run(self, wf: Context, name: str) -> object:
        return await wf.execute_activity("greet_v2", name, start_to_close_timeout=10)


@workflow.defn(name="PatchedWorkflow")
class PatchedWithoutPatch:
    @workflow.run
    async def run(self, wf: Context) -> object:
        wf.deprecate_patch("retired-change")
        return await wf.execute_activity("greet", "x", start_to_close_timeout=10)


CHANGED = [
    # (twin, history, event id where replay must stop, what the history has there)
    (TimersMissingASleep, "timers.json", 11, "TIMER_FIRED"),
    (FanOutOneShort, "fan-out.json", 9, "ACTIVITY_TASK_SCHEDULED"),
    (SagaWithoutCompensation, "saga.json", 23, "ACTIVITY_TASK_SCHEDULED"),
    (SingleActivityRenamed, "activity-single.json", 5, "ACTIVITY_TASK_SCHEDULED"),
    (PatchedWithoutPatch, "patched.json", 7, "MARKER_RECORDED"),
]


@pytest.mark.parametrize(("twin", "name", "event_id", "expected"), CHANGED)
def test_a_changed_twin_fails_at_the_expected_event(
    twin: type, name: str, event_id: int, expected: str
) -> None:
    with pytest.raises(Nondeterminism) as caught:
        workflow.replay(twin, corpus_events(name))
    assert caught.value.event_id == event_id
    assert caught.value.expected.startswith(expected)


def test_the_unchanged_twin_of_each_changed_one_replays() -> None:
    # The changed twins differ from twins that pass: the failure is the change's doing.
    for _, name, _, _ in CHANGED:
        replay(TWINS[twin_of(name)], corpus_events(name))


def test_queries_are_answered_by_replay_and_change_nothing() -> None:
    events = corpus_events("query.json")
    definition = TWINS["QueryWorkflow"]
    # After the activity completed and before the finish signal: the workflow waits.
    cut = next(e.event_id for e in events if e.event_type.name == "WORKFLOW_EXECUTION_SIGNALED")
    partial = events[: cut - 1]
    assert query(definition, partial, "current_stage") == "waiting"
    assert query(definition, events, "current_stage") == "done"
    result = replay(definition, events)
    before = result.state  # the snapshot replay took at the end
    result.execution.query("current_stage", [])
    assert snapshot(result.execution) == before


def test_a_query_that_starts_an_activity_is_refused() -> None:
    @workflow.defn(name="SingleActivityWorkflow")
    class Sneaky:
        @workflow.query
        def peek(self, wf: Context) -> object:
            return wf.start_activity("greet", start_to_close_timeout=1)

        @workflow.run
        async def run(self, wf: Context, name: str) -> object:
            return await wf.execute_activity("greet", name, start_to_close_timeout=10)

    result = workflow.replay(Sneaky, corpus_events("activity-single.json"))
    with pytest.raises(RuntimeError, match="query"):
        result.execution.query("peek", [])
