"""UpdateActivityOptions (and ResetActivity's restore_original_options) through
`tmodel serve`: the replies' `activity_options` and errors, Describe's pending
activities' `activity_options`, the queue a moved activity's next task goes to, a
running attempt timed out by its shortened start-to-close timeout, and a history with
no event for any of it equal the real dev server's, recorded in
tests/fixtures/serve/activity_options_dev.json by the same scenario
(activity_options_scenario.py); the slow test checks the record against a dev server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from tests.adapters.serve.activity_options_scenario import transcript
from tests.adapters.serve.sdk import bounded, connected

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "activity_options_dev.json"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


def _differences(seen: list[object], want: list[object]) -> list[object]:
    """The steps whose answers differ (the whole transcript is long)."""
    wrong: list[object] = [[s, w] for s, w in zip(seen, want, strict=False) if s != w]
    if len(seen) != len(want):
        wrong.append(["lengths", len(seen), len(want)])
    return wrong


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_answers_are_the_dev_servers(client: Client) -> None:
    seen = await transcript(client)
    assert _differences(seen, json.loads(FIXTURE.read_text())) == []


@pytest.mark.slow
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> list[object]:
        return await transcript(await connected(dev_address))

    assert _differences(asyncio.run(record()), json.loads(FIXTURE.read_text())) == []
