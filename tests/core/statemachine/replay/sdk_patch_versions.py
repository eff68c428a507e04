"""The three later versions of PatchedWorkflow of test_patch_removal.py, in the official
SDK's API (temporalio wants workflow classes at module level)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

SHORT = timedelta(seconds=10)


@workflow.defn(name="PatchedWorkflow")
class DeprecatedCallRemoved:
    @workflow.run
    async def run(self) -> str:
        name = "patched path" if workflow.patched("new-greeting") else "original path"
        return str(await workflow.execute_activity("greet", name, start_to_close_timeout=SHORT))


@workflow.defn(name="PatchedWorkflow")
class BothDeprecated:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("retired-change")
        workflow.deprecate_patch("new-greeting")
        name = "patched path"
        return str(await workflow.execute_activity("greet", name, start_to_close_timeout=SHORT))


@workflow.defn(name="PatchedWorkflow")
class AllPatchCallsRemoved:
    @workflow.run
    async def run(self) -> str:
        name = "patched path"
        return str(await workflow.execute_activity("greet", name, start_to_close_timeout=SHORT))
