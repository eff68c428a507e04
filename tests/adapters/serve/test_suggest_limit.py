"""`tmodel serve --dynamic-config-value limit.historyCount.suggestContinueAsNew=N` (or
`--limit`, the same) suggests continue-as-new
once a run's history reaches N events, as the dev server does when started with
`--dynamic-config-value limit.historyCount.suggestContinueAsNew=N` (the SDK's own
tests/conftest.py sets 50, and its test_workflow_history_info waits for the suggestion;
the rule is getHistorySizeInfo, read when a workflow task starts, in
service/history/workflow/workflow_task_state_machine.go). Found by running the SDK's
whole test suite in one run against serve and against the dev server: the only test
failing on serve alone. A key serve does not take is bad input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import refused

LIMIT = 12
# as the SDK's own tests/conftest.py starts the dev server: its own flag and key
SERVE_ARGS = (
    "--timer-shift",
    "0",
    "--dynamic-config-value",
    f"limit.historyCount.suggestContinueAsNew={LIMIT}",
)
QUEUE = "suggest-limit"


@workflow.defn(name="Sleeper", sandboxed=False)
class Sleeper:
    @workflow.run
    async def run(self, sleeps: int) -> list[tuple[int, bool]]:
        """(history length, continue-as-new suggested) at each workflow task."""
        seen = []
        for _ in range(sleeps):
            info = workflow.info()
            seen.append((info.get_current_history_length(), info.is_continue_as_new_suggested()))
            await workflow.sleep(0.01)
        return seen


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[Sleeper]):
        yield client


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_continue_as_new_is_suggested_at_the_limit_given(client: Client) -> None:
    seen = await client.execute_workflow(
        Sleeper.run, 5, id=f"suggest-{uuid.uuid4()}", task_queue=QUEUE
    )
    # the first task's history is short; later ones reach past the limit
    assert seen[0] == (3, False)
    assert any(length >= LIMIT for length, _ in seen)
    for length, suggested in seen:
        assert suggested == (length >= LIMIT), seen


def test_a_limit_serve_does_not_take_is_bad_input() -> None:
    line = refused("--limit", "limit.historyCount.error=3")
    assert "limit.historyCount.error" in line
    assert "limit.historyCount.suggestContinueAsNew" in line
