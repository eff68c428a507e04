"""Eager activity execution through `tmodel serve` against the dev server's, recorded by
the same drive (eager_activity_drive.py) in tests/fixtures/serve/eager_activities_dev.json:
a completion asking for an eager activity gets it back in `activity_tasks`, with the
fields a poll's answer has; Describe shows it started by the completer, in the
completion's own transaction (three state transitions); the queue never sees it; the
history, once the activity is completed with that task's token, is the dev server's.
Not asked for, cancelled or its run completed by a later command, no activity comes
back. A temporalio worker gets its activity eagerly too. The slow test checks the
record against a fresh dev server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from adapters.history_compare import compare
from tests.adapters.serve import eager_activity_drive
from tests.adapters.serve.sdk import bounded, connected

DEV = json.loads(eager_activity_drive.RECORDED.read_text(encoding="utf-8"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(address: str) -> AsyncIterator[dict[str, Any]]:
    client = await Client.connect(address)
    yield await bounded(eager_activity_drive.observe)(client)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_completion_hands_the_activity_back(served: dict[str, Any]) -> None:
    tasks = served["eager"]["activity_tasks"]
    assert len(tasks) == 1 and tasks[0]["activityId"] == "a1"
    assert tasks == DEV["eager"]["activity_tasks"]


@pytest.mark.asyncio(loop_scope="module")
async def test_describe_shows_it_started_in_the_same_transaction(served: dict[str, Any]) -> None:
    assert served["eager"]["pending"][0]["state"] == "PENDING_ACTIVITY_STATE_STARTED"
    assert served["eager"]["pending"] == DEV["eager"]["pending"]
    assert served["eager"]["state_transitions"] == DEV["eager"]["state_transitions"] == 3


@pytest.mark.asyncio(loop_scope="module")
async def test_the_queue_never_sees_it(served: dict[str, Any]) -> None:
    assert served["eager"]["queue"] == DEV["eager"]["queue"]
    assert served["sdk"] == DEV["sdk"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_history_is_the_dev_servers(served: dict[str, Any]) -> None:
    difference = compare(DEV["eager"]["history"], served["eager"]["history"])
    assert difference is None, str(difference)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", sorted(DEV["declined"]))
async def test_no_activity_comes_back_when_a_rule_withholds_it(
    served: dict[str, Any], case: str
) -> None:
    assert served["declined"][case]["activity_tasks"] == 0
    assert served["declined"][case] == DEV["declined"][case]


@pytest.mark.slow
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def run() -> dict[str, Any]:
        return await eager_activity_drive.observe(await connected(dev_address))

    seen = asyncio.run(run())
    difference = compare(DEV["eager"].pop("history"), seen["eager"].pop("history"))
    assert difference is None, str(difference)
    assert seen == DEV
