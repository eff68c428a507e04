"""DescribeWorkflowExecution and ListWorkflowExecutions replies through `tmodel serve`
against the real dev server's, recorded by the same scenario (describe_scenario.py) in
tests/fixtures/serve/describe_dev.json: which fields each reply carries (Describe's empty
`memo` and `priority`, `historySizeBytes`; a List row of a running run has no history
length, size or transition count, none has `firstRunId`), the state transition counts,
and the history sizes. Sizes depend on ids and identities, which differ between the two
servers, so each server's size is compared with its own history, encoded: the dev
server's record shows the rule holds there. The slow test checks the record's shape
against a fresh dev server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from tests.adapters.serve import describe_scenario
from tests.adapters.serve.sdk import bounded, connected

DEV = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "serve" / "describe_dev.json").read_text()
)
GO_ZERO = "0001-01-01T00:00:00Z"  # Go's zero time.Time, in protojson


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(address: str) -> AsyncIterator[dict[str, Any]]:
    client = await Client.connect(address)
    yield await bounded(describe_scenario.record)(client)


def _info(record: dict[str, Any], wid: str) -> dict[str, Any]:
    info: dict[str, Any] = record["describe"][wid]["workflowExecutionInfo"]
    return info


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["describe"]))
async def test_describe_carries_the_dev_servers_fields(served: dict[str, Any], wid: str) -> None:
    assert sorted(_info(served, wid)) == sorted(_info(DEV, wid))
    assert _info(served, wid)["priority"] == _info(DEV, wid)["priority"]
    assert _info(served, wid)["memo"] == _info(DEV, wid)["memo"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["list"]))
async def test_list_row_carries_the_dev_servers_fields(served: dict[str, Any], wid: str) -> None:
    assert sorted(served["list"][wid]) == sorted(DEV["list"][wid])
    assert served["list"][wid]["memo"] == DEV["list"][wid]["memo"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["describe"]))
async def test_state_transition_count_counts_the_runs_writes(
    served: dict[str, Any], wid: str
) -> None:
    # desc-act-timer's activity is started eagerly, in the completion's transaction, on
    # both servers (eager_activity.py)
    expected = int(_info(DEV, wid)["stateTransitionCount"])
    assert int(_info(served, wid)["stateTransitionCount"]) == expected
    if wid in served["list"] and "stateTransitionCount" in DEV["list"][wid]:  # closed runs
        assert int(served["list"][wid]["stateTransitionCount"]) == expected


@pytest.mark.parametrize("wid", sorted(DEV["describe"]))
def test_dev_history_size_is_the_encoded_history(wid: str) -> None:
    """The rule the model follows, as the dev server shows it."""
    sizes = DEV["sizes"][wid]
    assert int(_info(DEV, wid)["historySizeBytes"]) == sizes["history_bytes"]
    assert all(said == encoded for said, encoded in sizes["wft_started"])


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["describe"]))
async def test_history_size_is_the_encoded_history(served: dict[str, Any], wid: str) -> None:
    sizes = served["sizes"][wid]
    assert int(_info(served, wid)["historySizeBytes"]) == sizes["history_bytes"]
    assert len(sizes["wft_started"]) == len(DEV["sizes"][wid]["wft_started"])
    for said, encoded in sizes["wft_started"]:  # WorkflowTaskStarted's historySizeBytes
        assert said == encoded
    if "historySizeBytes" in served["list"].get(wid, {}):
        assert served["list"][wid]["historySizeBytes"] == _info(served, wid)["historySizeBytes"]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["list"]))
async def test_list_times_are_to_the_microsecond(served: dict[str, Any], wid: str) -> None:
    """SQL visibility keeps times to the microsecond; Describe has them to the ns."""
    for name in ("startTime", "executionTime", "closeTime"):
        for record in (DEV, served):
            if name in record["list"][wid]:
                described = _info(record, wid)[name]
                listed = record["list"][wid][name]
                assert listed == _truncated(described), (name, listed, described)


def _truncated(stamp: str) -> str:
    """An RFC 3339 time in protojson, cut to microseconds as protojson prints them."""
    head, _, rest = stamp.rstrip("Z").partition(".")
    digits = rest[:6].rstrip("0")
    if not digits:
        return head + "Z"
    return f"{head}.{rest[:6] if len(digits) > 3 else rest[:3]}Z"


def _ns(stamp: str) -> int:
    """An RFC 3339 time in protojson, as ns since the epoch."""
    head, _, rest = stamp.rstrip("Z").partition(".")
    whole = datetime.fromisoformat(head).replace(tzinfo=UTC)
    seconds = int((whole - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    return seconds * 1_000_000_000 + int((rest or "0").ljust(9, "0"))


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("wid", sorted(DEV["describe"]))
async def test_extended_info_as_the_dev_server_gives_it(served: dict[str, Any], wid: str) -> None:
    """The start's time, the run's expiration (Go's zero time without a run timeout),
    the execution's expiration, the start request's id."""
    mine, dev = served["describe"][wid], DEV["describe"][wid]
    extended, dev_extended = mine["workflowExtendedInfo"], dev["workflowExtendedInfo"]
    assert sorted(extended) == sorted(dev_extended)
    start = mine["workflowExecutionInfo"]["startTime"]
    dev_start = dev["workflowExecutionInfo"]["startTime"]
    assert extended["originalStartTime"] == start
    assert dev_extended["originalStartTime"] == dev_start
    if dev_extended["runExpirationTime"] == GO_ZERO:
        assert extended["runExpirationTime"] == GO_ZERO
    else:
        expected = _ns(dev_extended["runExpirationTime"]) - _ns(dev_start)
        assert _ns(extended["runExpirationTime"]) - _ns(start) == expected
    if "executionExpirationTime" in dev_extended:
        # Taken when the start request arrives, a moment before the start's time, and
        # rounded to the millisecond (common/util.go): within a second of each other.
        dev_after = _ns(dev_extended["executionExpirationTime"]) - _ns(dev_start)
        after = _ns(extended["executionExpirationTime"]) - _ns(start)
        assert abs(after - dev_after) < 1_000_000_000
    assert list(extended["requestIdInfos"].values()) == list(
        dev_extended["requestIdInfos"].values()
    )


def _shape(record: dict[str, Any]) -> dict[str, Any]:
    """What of a record does not change between recordings on one server: which fields
    each reply has, the transition counts, the WorkflowTaskStarted count of each run."""
    return {
        "describe": {
            wid: {part: sorted(reply[part]) for part in sorted(reply)}
            for wid, reply in record["describe"].items()
        },
        "list": {wid: sorted(row) for wid, row in record["list"].items()},
        "counts": {wid: _info(record, wid)["stateTransitionCount"] for wid in record["describe"]},
        "tasks": {wid: len(sizes["wft_started"]) for wid, sizes in record["sizes"].items()},
    }


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_record_is_what_the_dev_server_answers(dev_address: str) -> None:
    async def record() -> dict[str, Any]:
        return await describe_scenario.record(await connected(dev_address))

    assert _shape(asyncio.run(record())) == _shape(DEV)
