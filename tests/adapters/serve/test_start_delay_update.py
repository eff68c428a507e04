"""UpdateActivityExecutionOptions of a standalone activity's start delay through `tmodel
serve` (it answered UNIMPLEMENTED): the replies, errors and described times equal the
real dev server's, recorded in tests/fixtures/serve/start_delay_dev.json by the same
scenario (start_delay_scenario.py; the slow test records it again). The rules are
chasm/lib/activity/activity.go's `UpdateActivityExecutionOptions` (the window check,
validateStartDelay) and `nextAttemptDispatchTime` (a first attempt waiting out its
delay shows when it goes)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.adapters.serve.sdk import bounded, connected
from tests.adapters.serve.start_delay_scenario import transcript

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "start_delay_dev.json"
SLACK = 0.5  # s: the loaded machine's delay in handing the task to the poller


@pytest.mark.asyncio
@bounded
async def test_the_served_answers_are_the_dev_servers(address: str) -> None:
    log, polled_after = await transcript(await Client.connect(address))
    assert log == json.loads(FIXTURE.read_text())
    # the delay shortened to 2 s: dispatched 2 s after the schedule, not 10 s
    assert 1.0 < polled_after < 2.0 + SLACK


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> object:
        log, _ = await transcript(await connected(dev_address))
        return log

    assert asyncio.run(record()) == json.loads(FIXTURE.read_text())
