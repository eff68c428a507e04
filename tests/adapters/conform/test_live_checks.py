"""The checks of `tmodel conform --target`, one by one, on recorded histories (no
server): each passes on the real history and fails, naming what is wrong, when the
history is broken in the way it exists to catch; and the live mode's arguments."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import Client

from adapters.cli import main
from adapters.conform import checks, live
from adapters.conform.scenarios.registry import (
    EVERY_SCENARIO,
    FAULT_SCENARIOS,
    SCENARIOS,
    Scenario,
)
from adapters.conform.scenarios.runner import run_scenario
from adapters.tlc import TlcUnavailable, find_toolchain
from core.errors import BadInput
from core.events import ActivityTaskScheduledEventAttributes, HistoryEvent
from tests.conftest import HISTORIES, corpus_events, fault_files

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "conformance"


def _json(name: str) -> list[Any]:
    events: list[Any] = json.loads((HISTORIES / name).read_text(encoding="utf-8"))["events"]
    return events


def _renumbered(events: list[HistoryEvent]) -> list[HistoryEvent]:
    return [dataclasses.replace(e, event_id=i) for i, e in enumerate(events, start=1)]


def test_validate_passes_a_real_history_and_names_the_broken_rule() -> None:
    events = list(corpus_events("signals.json"))
    assert checks.check_validate(events) == checks.Cell(checks.PASS)
    # a signal written while a workflow task is in flight: the server never does that
    events[3], events[4] = events[4], events[3]
    cell = checks.check_validate(_renumbered(events))
    assert cell.status == checks.FAIL and "rule H" in cell.detail


def test_reproduce_names_the_field_the_model_writes_otherwise() -> None:
    real = corpus_events("activity-non-retryable.json")
    assert checks.check_reproduce("a", real, None).status == checks.PASS
    seeded = json.loads((EXAMPLE / "non-retryable-as-exhausted.json").read_text())
    from adapters.temporal_json import decode_history

    cell = checks.check_reproduce("b", decode_history(seeded).events, None)
    assert cell.status == checks.FAIL
    assert "event 7 ACTIVITY_TASK_FAILED: activityTaskFailedEventAttributes.retryState" in (
        cell.detail
    )
    assert "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED" in cell.detail
    ignored = frozenset({"retryState"})
    assert checks.check_reproduce("b", decode_history(seeded).events, None, ignored).status == (
        checks.PASS
    )


def test_recorded_compares_with_the_real_history_of_the_same_name() -> None:
    index = checks.recorded_index(HISTORIES)
    assert {"activity-single.json", "worker-restart.json", "server-restart.json"} <= set(index)
    produced = _json("activity-single.json")
    assert checks.check_recorded("activity-single.json", produced, index, True).status == "pass"
    changed = copy.deepcopy(produced)
    changed[4]["activityTaskScheduledEventAttributes"]["startToCloseTimeout"] = "99s"
    cell = checks.check_recorded("activity-single.json", changed, index, True)
    assert cell.status == checks.FAIL
    assert "activityTaskScheduledEventAttributes.startToCloseTimeout" in cell.detail
    assert "99s" in cell.detail
    missing = checks.check_recorded("nowhere.json", produced, index, True)
    assert missing.status == checks.NOT_APPLICABLE and "nowhere.json" in missing.detail


def test_a_race_is_compared_without_its_order_or_its_workflow_task_batching() -> None:
    index = checks.recorded_index(HISTORIES)
    recorded = _json("fan-out.json")
    # the same completions, in another order, batched into fewer workflow tasks
    batched = [e for e in recorded if e["eventId"] not in ("23", "24", "25")]
    batched = batched[:10] + list(reversed(batched[10:-1])) + batched[-1:]
    cell = checks.check_recorded("fan-out.json", batched, index, ordered=False)
    assert cell == checks.Cell(checks.PASS, checks.RACE)
    assert checks.check_recorded("fan-out.json", batched, index, True).status == checks.FAIL
    # but a changed activity result is still a difference
    wrong = copy.deepcopy(batched)
    completed = next(e for e in wrong if "activityTaskCompletedEventAttributes" in e)
    completed["activityTaskCompletedEventAttributes"]["result"] = {"payloads": []}
    assert checks.check_recorded("fan-out.json", wrong, index, False).status == checks.FAIL


def test_a_schedules_start_time_is_left_out_but_nothing_else() -> None:
    index = checks.recorded_index(HISTORIES)
    clock = SCENARIOS["schedule"].clock_fields
    later = copy.deepcopy(_json("schedule.json"))
    started = later[0]["workflowExecutionStartedEventAttributes"]
    fields = started["searchAttributes"]["indexedFields"]
    fields["TemporalScheduledStartTime"]["data"] = "IjIwMzAtMDEtMDFUMDA6MDA6MDBaIg=="
    assert checks.check_recorded("schedule.json", later, index, True, clock).status == "pass"
    assert checks.check_recorded("schedule.json", later, index, True).status == checks.FAIL
    fields["TemporalScheduledById"]["data"] = "Im90aGVyIg=="
    assert checks.check_recorded("schedule.json", later, index, True, clock).status == checks.FAIL


def test_nexus_ids_another_server_draws_are_not_differences() -> None:
    index = checks.recorded_index(HISTORIES)
    handler = copy.deepcopy(_json("nexus.handler.json"))
    started = handler[0]["workflowExecutionStartedEventAttributes"]
    header = started["completionCallbacks"][0]["nexus"]["header"]
    header["temporal-callback-token"] = "another server's token"
    assert checks.check_recorded("nexus.handler.json", handler, index, True).status == "pass"
    header["nexus-operation-token"] = "not the operation's token"
    assert checks.check_recorded("nexus.handler.json", handler, index, True).status == checks.FAIL
    caller = copy.deepcopy(_json("nexus.json"))
    scheduled = [e for e in caller if "nexusOperationScheduledEventAttributes" in e]
    for event in scheduled:  # another endpoint id, the same in both operations
        event["nexusOperationScheduledEventAttributes"]["endpointId"] = "another-endpoint"
    assert checks.check_recorded("nexus.json", caller, index, True).status == "pass"
    scheduled[1]["nexusOperationScheduledEventAttributes"]["endpointId"] = "a third endpoint"
    assert checks.check_recorded("nexus.json", caller, index, True).status == checks.FAIL


def test_replay_passes_with_the_twin_and_fails_where_the_code_departs() -> None:
    cell = checks.check_replay(corpus_events("timers.json"))
    assert cell.status == checks.PASS and "workflow tasks replayed" in cell.detail
    events = list(corpus_events("activity-single.json"))
    scheduled = events[4]
    attributes = scheduled.attributes
    assert isinstance(attributes, ActivityTaskScheduledEventAttributes)
    assert attributes.activity_type is not None
    renamed = dataclasses.replace(attributes.activity_type, name="renamed")
    events[4] = dataclasses.replace(
        scheduled, attributes=dataclasses.replace(attributes, activity_type=renamed)
    )
    cell = checks.check_replay(events)
    assert cell.status == checks.FAIL and "Nondeterminism" in cell.detail
    memo = checks.check_replay(corpus_events("search-attributes-memo.json"))
    assert memo.status == checks.NOT_APPLICABLE and "memo" in memo.detail


def test_replay_covers_both_runs_of_a_reset() -> None:
    for name in ("reset.base.json", "reset.json"):
        assert checks.check_replay(corpus_events(name)).status == checks.PASS


@pytest.fixture(scope="module")
def tla() -> Iterator[checks.Tla]:
    try:
        find_toolchain()
    except TlcUnavailable as exc:  # CI installs Java and the jar
        pytest.skip(str(exc))
    yield checks.Tla(60.0)


def test_tla_accepts_a_real_history_and_rejects_a_broken_one(tla: checks.Tla) -> None:
    events = list(corpus_events("activity-single.json"))
    assert tla.check("activity-single.json", events).status == checks.PASS
    twice = _renumbered([*events[:7], events[6], *events[7:]])  # completed twice
    cell = tla.check("twice", twice)
    assert cell.status == checks.FAIL and "no behaviour of WorkflowExecution writes" in cell.detail
    updates = tla.check("updates.json", list(corpus_events("updates.json")))
    assert updates.status == checks.NOT_APPLICABLE and "UPDATE_ACCEPTED" in updates.detail


def test_tla_beyond_its_budget_is_skipped_and_says_so(tla: checks.Tla) -> None:
    tight = checks.Tla(0.2)  # TLC cannot even start in 0.2 s
    cell = tight.check("activity-single.json", list(corpus_events("activity-single.json")))
    assert cell.status == checks.SKIPPED
    assert "too large" in cell.detail and "--tlc-budget" in cell.detail


def test_the_scenario_selection() -> None:
    worker_faults = frozenset({"worker-restart", "worker-kill-during-activity"})
    chosen = [s.name for s in live.select([], worker_faults)]
    assert "worker-killed" in chosen and "worker-restart" in chosen
    assert "server-restart" not in chosen and len(chosen) == len(EVERY_SCENARIO) - 1
    assert [s.name for s in live.select([], frozenset())] == [
        s.name for s in SCENARIOS.values() if s.fault is None
    ]
    with pytest.raises(BadInput, match="add it to --faults"):
        live.select(["server-restart"], worker_faults)
    with pytest.raises(BadInput, match="no scenario 'nope'"):
        live.select(["nope"], worker_faults)
    assert set(FAULT_SCENARIOS) == {"worker-restart", "server-restart"}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--target", "nowhere"], "expected HOST:PORT"),
        (["--target", "127.0.0.1:1", "--faults", "gremlins"], "unknown fault"),
        (["--target", "127.0.0.1:1", "--tlc-budget", "-3"], "between 0 and 86400"),
        (["--target", "127.0.0.1:1", "--scenarios", "nope"], "no scenario 'nope'"),
        (["--target", "127.0.0.1:1", "--recorded", "/no/such/dir"], "not a directory"),
        (["--target", "127.0.0.1:1", "--out", "/proc/no/such"], "--out /proc/no/such"),
        (["--target", "127.0.0.1:1", str(HISTORIES)], "not both"),
        ([], "or --target HOST:PORT"),
        ([str(HISTORIES), "--scenarios", "timers"], "--scenarios belongs to the live mode"),
        (["--faults", "none", str(HISTORIES)], "--faults belongs to the live mode"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["conform", *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_an_unreachable_target_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # port 1 on loopback: nothing listens there
    code = main(["conform", "--target", "127.0.0.1:1", "--scenarios", "activity-single"])
    err = capsys.readouterr().err
    assert code == 2 and "did not answer as a Temporal server" in err
    assert len(err.strip().splitlines()) == 1, err


def test_the_fault_histories_are_the_fault_scenarios_and_their_manifest() -> None:
    folder = HISTORIES / "faults"
    on_disk = sorted(p.name for p in folder.glob("*.json") if p.name != "manifest.json")
    assert on_disk == sorted(p.name for p in fault_files())
    assert sorted(p.stem for p in fault_files()) == sorted(FAULT_SCENARIOS)


async def _cancelled_by_the_sdk(ctx: Any) -> None:
    try:
        raise ConnectionError("tcp connect error")
    except ConnectionError:
        raise asyncio.CancelledError() from None


async def _sleeps(ctx: Any) -> None:
    await asyncio.sleep(60)


def test_a_scenario_the_sdk_cancels_fails_and_says_after_what() -> None:
    scenario = Scenario("cancelled", "raises CancelledError inside", _cancelled_by_the_sdk)
    run = asyncio.run(run_scenario(cast(Client, None), "nowhere", scenario))
    assert run.error == "cancelled after ConnectionError: tcp connect error"


def test_stopping_the_run_still_stops_it() -> None:
    scenario = Scenario("sleeps", "sleeps a minute", _sleeps)

    async def stopped() -> None:
        task = asyncio.create_task(run_scenario(cast(Client, None), "nowhere", scenario))
        await asyncio.sleep(0.1)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(stopped())
