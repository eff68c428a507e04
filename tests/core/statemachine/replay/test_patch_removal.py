"""Removing patch calls, judged against the official SDK on the same real history.

patched.json was written by code that called ``deprecate_patch("retired-change")`` and
``patched("new-greeting")``; each call left a marker and a TemporalChangeVersion upsert.
Three later versions of that code are replayed by our engine and by temporalio's
Replayer; both must agree on which are nondeterministic, and where.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import workflow
from core.workflow import Context, Nondeterminism
from tests.conftest import HISTORIES, corpus_events


@workflow.defn(name="PatchedWorkflow")
class DeprecatedCallRemoved:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        name = "patched path" if wf.patched("new-greeting") else "original path"
        return await wf.execute_activity("greet", name, start_to_close_timeout=10)


@workflow.defn(name="PatchedWorkflow")
class BothDeprecated:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        wf.deprecate_patch("retired-change")
        wf.deprecate_patch("new-greeting")
        return await wf.execute_activity("greet", "patched path", start_to_close_timeout=10)


@workflow.defn(name="PatchedWorkflow")
class AllPatchCallsRemoved:
    @workflow.run
    async def run(self, wf: Context) -> Any:
        return await wf.execute_activity("greet", "patched path", start_to_close_timeout=10)


# (our twin, does it replay, the event where it stops)
CASES = [
    (DeprecatedCallRemoved, True, None),
    (BothDeprecated, True, None),
    # The live patch's marker (event 7) is what fails, not the deprecated one's upsert.
    (AllPatchCallsRemoved, False, 7),
]


@pytest.mark.parametrize(("twin", "replays", "event_id"), CASES)
def test_our_replay(twin: type, replays: bool, event_id: int | None) -> None:
    events = corpus_events("patched.json")
    if replays:
        workflow.replay(twin, events)
        return
    with pytest.raises(Nondeterminism) as caught:
        workflow.replay(twin, events)
    assert caught.value.event_id == event_id
    assert "new-greeting" in caught.value.expected


@pytest.mark.parametrize(("twin", "replays", "event_id"), CASES)
def test_the_official_replayer_agrees(twin: type, replays: bool, event_id: int | None) -> None:
    # temporalio is a dev dependency: a missing SDK fails here rather than skipping.
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

    from tests.core.statemachine.replay import sdk_patch_versions

    original = getattr(sdk_patch_versions, twin.__name__)
    history = WorkflowHistory.from_json(
        "patched", (HISTORIES / "patched.json").read_text(encoding="utf-8")
    )
    replayer = Replayer(workflows=[original], workflow_runner=UnsandboxedWorkflowRunner())
    result = asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=False))
    if replays:
        assert result.replay_failure is None
    else:
        assert result.replay_failure is not None
        assert "new-greeting" in str(result.replay_failure)
