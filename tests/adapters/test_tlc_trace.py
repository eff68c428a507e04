"""Trace validation: recorded histories against WorkflowExecution with TLC (tlc_trace.py).

- Real histories are accepted: one per feature of the specification here, the whole
  corpus in a slow test (where each history is accepted or declared not modelled: the
  model's scope in spec/README.md, the spec's own in spec/tla/README.md).
- Histories of 8 and 16 concurrent activities, written by the pure history service,
  are accepted (the trace spec's log-guided pruning; `tmodel bench trace` times them).
- Each class of invalid history is rejected, at or before the event that makes it
  invalid.
- Reset: the recorded reset and resets that reapply nothing are accepted, and the
  validator agrees; a spec whose reset counts the failure as an attempt rejects them.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from adapters import bench_trace, tlc, tlc_trace
from adapters.conform.derive import Driver
from core import requests as rq
from core.enums import EventType, WorkflowTaskFailedCause
from core.events import HistoryEvent
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.reset import reset
from core.statemachine.history.validator import validate
from sim.concurrent_history import concurrent_activities_history
from tests.adapters.test_tlc import HISTORIES, _toolchain_or_skip
from tests.conftest import corpus_events, corpus_files
from tests.core.statemachine.history.service.test_conformance import base_of

E = EventType
SPEC_README = tlc.SPEC_DIR / "README.md"

# Histories the fast suite trace-validates: one per feature of the specification.
FAST_TRACES = (
    "activity-single.json",
    "activity-retry.json",
    "activity-cancel-try-cancel.json",
    "activity-schedule-to-start-timeout.json",
    "fan-out.json",
    "signals-before-worker.json",
    "signal-with-start.json",
    "sticky-restart.json",
    "wft-failure-fixed.json",
    "worker-killed.json",
    "timer-cancelled.json",
    "workflow-cancel.json",
    "terminate.json",
    "child-success.json",
    "local-activity-long.json",  # workflow-task heartbeats
    "reset.json",
    "faults/server-restart.json",  # a worker without a workflow cache: no sticky queue
)


@pytest.fixture(scope="module")
def toolchain() -> tlc.Toolchain:
    return _toolchain_or_skip()


def _validate_many(
    toolchain: tlc.Toolchain, histories: Sequence[tuple[str, Sequence[HistoryEvent]]]
) -> list[tlc_trace.TraceReport]:
    def one(item: tuple[str, Sequence[HistoryEvent]]) -> tlc_trace.TraceReport:
        return tlc_trace.validate_events(toolchain, item[1], item[0])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, histories))


def _named(names: Sequence[str]) -> list[tuple[str, Sequence[HistoryEvent]]]:
    return [(name, corpus_events(name)) for name in names]


def test_real_histories_pass_trace_validation(toolchain: tlc.Toolchain) -> None:
    results = _validate_many(toolchain, _named(FAST_TRACES))
    rejected = [(r.path, r.reason) for r in results if not r.accepted]
    assert not rejected
    assert all(r.matched == r.events for r in results)


@pytest.mark.slow
def test_whole_corpus_is_accepted_or_declared_not_modelled(toolchain: tlc.Toolchain) -> None:
    names = [str(p.relative_to(HISTORIES)) for p in sorted(HISTORIES.rglob("*.json"))]
    names = [name for name in names if Path(name).name != "manifest.json"]
    assert set(names) >= {p.name for p in corpus_files()} and len(names) > 60
    results = {r.path: r for r in _validate_many(toolchain, _named(names))}
    rejected = {name: r.reason for name, r in results.items() if not (r.accepted or r.not_modelled)}
    assert rejected == {}
    not_modelled = {name: r.reason for name, r in results.items() if r.not_modelled}
    declared = {
        "updates.json": tlc_trace.TLA_UPDATES,
        "update-with-start.json": tlc_trace.TLA_UPDATES,
        "update-async.json": tlc_trace.TLA_UPDATES,
        "update-failed.json": tlc_trace.TLA_UPDATES,
        "options-updated.json": tlc_trace.TLA_OPTIONS_UPDATED,
        "nexus.json": tlc_trace.TLA_NEXUS,
        "cron.run3.json": tlc_trace.TLA_BACKOFF_CLOSE,
    }
    assert set(not_modelled) == set(declared)
    assert all(f"({declared[name]}: " in reason for name, reason in not_modelled.items())


def test_every_event_type_is_modelled_abstracted_or_declared() -> None:
    """Each event type has a record, an abstraction, or a declaration of the spec/ docs:
    the model's scope (spec/README.md, "Not modelled") or the spec's own (spec/tla)."""
    known = set(tlc_trace.MODELLED) | tlc_trace.OTHER_COMMAND_EVENTS | tlc_trace.OTHER_INPUT_EVENTS
    assert known.isdisjoint(tlc_trace.NOT_MODELLED)
    assert known | set(tlc_trace.NOT_MODELLED) == set(EventType) - {E.UNSPECIFIED}
    model_scope = (tlc.SPEC_DIR.parent / "README.md").read_text(encoding="utf-8")
    tla_scope = SPEC_README.read_text(encoding="utf-8")
    for scope in set(tlc_trace.NOT_MODELLED.values()):
        declared = tla_scope if scope in tlc_trace.TLA_SCOPE else model_scope
        assert f"| {scope} |" in declared, scope


def test_unmodelled_event_is_reported_not_rejected(toolchain: tlc.Toolchain) -> None:
    report = tlc_trace.validate_trace(toolchain, str(HISTORIES / "updates.json"))
    assert report.not_modelled and not report.accepted
    assert "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in report.reason
    assert "(TLA-UPDATES: workflow updates are not in WorkflowExecution.tla)" in report.reason


def test_a_run_closed_during_its_backoff_is_declared_not_modelled() -> None:
    # cron.run3.json: terminated while it waited for its first task; TLC rejects it
    # (WorkflowExecution's start schedules that task), so it is declared, not sent
    with pytest.raises(tlc_trace.NotModelled, match=f"\\({tlc_trace.TLA_BACKOFF_CLOSE}: "):
        tlc_trace.trace_records(corpus_events("cron.run3.json"))
    # a run that was only delayed (its task scheduled after the backoff) is sent on
    assert tlc_trace.trace_records(corpus_events("cron.run2.json"))[1]["type"] == (
        "WorkflowTaskScheduled"
    )


def test_trace_records_use_spec_field_names() -> None:
    records = tlc_trace.trace_records(corpus_events("activity-single.json"))
    completed = records[6]
    assert completed["type"] == "ActivityTaskCompleted"
    assert (completed["sched"], completed["started"]) == (5, 6)
    assert records[4]["wtc"] == 4 and records[4]["eid"]
    module = tlc_trace.log_module(records)
    assert module.startswith("---- MODULE TraceLog ----") and "Log == <<" in module


# ------------------------------------------------------------ concurrent activities


def _most_open_activities(events: Sequence[HistoryEvent]) -> int:
    closes = {
        E.ACTIVITY_TASK_COMPLETED, E.ACTIVITY_TASK_FAILED, E.ACTIVITY_TASK_TIMED_OUT,
        E.ACTIVITY_TASK_CANCELED,
    }  # fmt: skip
    open_now = most = 0
    for event in events:
        if event.event_type is E.ACTIVITY_TASK_SCHEDULED:
            open_now += 1
        elif event.event_type in closes:
            open_now -= 1
        most = max(most, open_now)
    return most


@pytest.mark.parametrize("width", [8, 16])
def test_concurrent_activities_history_is_what_it_claims(width: int) -> None:
    events = concurrent_activities_history(width)
    assert validate(events).valid
    assert _most_open_activities(events) == width
    records = tlc_trace.trace_records(events)
    assert any(r["type"] == "ActivityTaskStarted" and r["attempt"] == 2 for r in records)
    assert any(r["info"] == "Sticky" for r in records)  # tasks went to the sticky queue
    # some results were buffered: a flush writes a Started, then another one's Started
    assert any(a["type"] == b["type"] == "ActivityTaskStarted" for a, b in pairwise(records))


def test_many_concurrent_activities_pass_trace_validation(toolchain: tlc.Toolchain) -> None:
    histories = [(f"{w} activities", concurrent_activities_history(w)) for w in (8, 16)]
    results = _validate_many(toolchain, histories)
    assert [(r.path, r.accepted, r.matched) for r in results] == [
        (name, True, len(events)) for name, events in histories
    ]


# ---------------------------------------------------------------- rejection classes


def _renumbered(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    return [dataclasses.replace(e, event_id=i) for i, e in enumerate(events, start=1)]


def _with(event: HistoryEvent, **changes: object) -> HistoryEvent:
    attributes: Any = event.attributes
    return dataclasses.replace(event, attributes=dataclasses.replace(attributes, **changes))


# Each mutation returns the mutated history and the id of the event that makes it
# invalid: no behaviour of the specification writes the history up to that event.
Mutation = Callable[[], tuple[list[HistoryEvent], int]]


def _signal_in_flight() -> tuple[list[HistoryEvent], int]:
    """H6: a signal written while a workflow task is in flight (not buffered)."""
    e = list(corpus_events("signals.json"))
    e[3], e[4] = e[4], e[3]
    return _renumbered(e), 4


def _completed_twice() -> tuple[list[HistoryEvent], int]:
    """INV_RESULT_AT_MOST_ONCE: an activity's completion recorded twice."""
    e = list(corpus_events("activity-single.json"))
    return _renumbered([*e[:7], e[6], *e[7:]]), 8


def _wrong_reference() -> tuple[list[HistoryEvent], int]:
    """H9/H16: a completion that names the workflow task's event as its activity."""
    e = list(corpus_events("activity-single.json"))
    e[6] = _with(e[6], scheduled_event_id=4)
    return e, 7


def _command_outside_batch() -> tuple[list[HistoryEvent], int]:
    """H7: a command event that does not name the completion that carried it."""
    e = list(corpus_events("activity-single.json"))
    e[4] = _with(e[4], workflow_task_completed_event_id=3)
    return e, 5


def _event_after_close() -> tuple[list[HistoryEvent], int]:
    """H3: an event after the run closed."""
    e = list(corpus_events("activity-single.json"))
    signal = next(
        x for x in corpus_events("signals.json") if x.event_type is E.WORKFLOW_EXECUTION_SIGNALED
    )
    return _renumbered([*e, signal]), len(e) + 1


def _flush_out_of_order() -> tuple[list[HistoryEvent], int]:
    """Buffering: two results of one flush swapped (a flush keeps the buffer's order)."""
    e = concurrent_activities_history(16)
    i = next(
        k for k in range(len(e) - 1)
        if e[k].event_type is e[k + 1].event_type is E.ACTIVITY_TASK_COMPLETED
    )  # fmt: skip
    e[i], e[i + 1] = e[i + 1], e[i]
    return _renumbered(e), i + 1


def _attempt_one_after_worker_failure() -> tuple[list[HistoryEvent], int]:
    """Attempts: after a worker's WorkflowTaskFailed with nothing new, the next attempt is
    2 and not written; the recorded reset with its cause changed and its reapplied
    signal dropped shows attempt 1 right away (only a reset does that)."""
    e = list(corpus_events("reset.json"))
    e[3] = _with(e[3], cause=WorkflowTaskFailedCause.WORKFLOW_WORKER_UNHANDLED_FAILURE)
    return _renumbered([*e[:4], *e[5:]]), 5


MUTATIONS: dict[str, Mutation] = {
    "signal_in_flight": _signal_in_flight,
    "completed_twice": _completed_twice,
    "wrong_reference": _wrong_reference,
    "command_outside_batch": _command_outside_batch,
    "event_after_close": _event_after_close,
    "flush_out_of_order": _flush_out_of_order,
    "attempt_one_after_worker_failure": _attempt_one_after_worker_failure,
}


def test_invalid_histories_are_rejected_where_they_go_wrong(toolchain: tlc.Toolchain) -> None:
    cases = {name: mutate() for name, mutate in MUTATIONS.items()}
    results = _validate_many(toolchain, [(name, events) for name, (events, _) in cases.items()])
    for report in results:
        bad = cases[report.path][1]
        assert not report.accepted and not report.not_modelled, report.path
        assert report.matched < bad, (report.path, report.matched, bad)
        assert "no behaviour of WorkflowExecution writes" in report.reason


# ---------------------------------------------------------------------------- reset


def _reset_reapplying_nothing(finish: int) -> list[HistoryEvent]:
    """The recorded base run reset to `finish` by the model's service, with signals not
    reapplied: the reset's failure is followed at once by the new task."""
    base = list(corpus_events("reset.base.json")[:14])  # before the reset's termination
    assert base[-1].event_type is E.WORKFLOW_TASK_COMPLETED
    now = base[-1].event_time or 0
    state = rebuild(base, "default", "rec-reset", "base", "start", base[0].event_time or 0).state
    request = rq.ResetWorkflowExecution("test", finish, "reset-request", reapply_signals=False)
    outcome = reset(state, base, request, "new-run", now)
    assert outcome.new_run is not None, outcome.reply
    return list(outcome.new_run.events)


def test_resets_reapplying_nothing_are_valid_and_accepted(toolchain: tlc.Toolchain) -> None:
    # 4: a started task is failed; 9: a scheduled one is first started by the service
    histories = [(f"reset to {f}", _reset_reapplying_nothing(f)) for f in (4, 9)]
    for _, events in histories:
        assert validate(events).valid
        failed, scheduled = events[-2:]
        assert failed.event_type is E.WORKFLOW_TASK_FAILED
        assert scheduled.event_type is E.WORKFLOW_TASK_SCHEDULED
    assert validate(corpus_events("reset.json")).valid
    results = _validate_many(toolchain, histories)
    assert [(r.path, r.accepted) for r in results] == [(n, True) for n, _ in histories]


# Resets the model's service makes of recorded runs, one per shape the spec distinguishes.
RESET_SHAPES = {
    "fan-out.json@16": "activities in flight at the cut: rebuilt as scheduled, attempt 1",
    "wft-failure-fixed.json@16": "the cut after a transient attempt's Scheduled and Started",
    "child-success.json@9": "a child's result reapplied (an OtherInput)",
    "reset.json@24": "a reset run reset again, 20 events reapplied",
}


def _reset_of_recorded(point: str) -> list[HistoryEvent]:
    name, finish = point.split("@")
    driver = Driver(corpus_events(name), base_of(name))
    driver.run()
    assert driver.state is not None
    request = rq.ResetWorkflowExecution("test", int(finish), "reset-request")
    now = driver.written[-1].event_time or 0
    outcome = reset(driver.state, driver.written, request, "new-run", now)
    assert outcome.new_run is not None, outcome.reply
    return list(outcome.new_run.events)


def test_resets_of_recorded_runs_are_accepted(toolchain: tlc.Toolchain) -> None:
    histories = [(point, _reset_of_recorded(point)) for point in RESET_SHAPES]
    for point, events in histories:
        assert validate(events).valid, point
    results = _validate_many(toolchain, histories)
    assert [(r.path, r.accepted) for r in results] == [(p, True) for p in RESET_SHAPES]


def test_a_reset_that_counts_its_failure_as_an_attempt_is_caught(
    toolchain: tlc.Toolchain,
) -> None:
    """With BUG_RESET_COUNTS_ATTEMPT the spec writes no task after the reset's failure
    (attempt 2 is transient), so a reset that reapplies nothing is no behaviour of it.
    (The recorded reset cannot tell: its reapplied signal could as well be a new signal,
    which turns the transient attempt into a written attempt 1.)"""
    events = _reset_reapplying_nothing(4)
    failed = tlc_trace.trace_records(events)[3]
    assert (failed["type"], failed["info"]) == ("WorkflowTaskFailed", "ResetWorkflow")
    bugs = ["BUG_RESET_COUNTS_ATTEMPT"]
    broken = tlc_trace.validate_events(toolchain, events, "reset to 4", bugs=bugs)
    assert not broken.accepted
    assert broken.matched < 5  # the reset's new task (event 5) is never written


def test_trace_config_refuses_an_unknown_bug() -> None:
    records = tlc_trace.trace_records(corpus_events("activity-single.json"))
    with pytest.raises(ValueError, match="BUG_NONE"):
        tlc_trace.trace_config(records, ["BUG_NONE"])


# ---------------------------------------------------------------------------- bench


def test_bench_trace_times_each_width(
    toolchain: tlc.Toolchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_trace, "WIDTHS", (2,))
    figures = {f.metric: f for f in bench_trace.bench_trace(argparse.Namespace(repeat=1))}
    assert set(figures) == {"2_concurrent_activities_events", "2_concurrent_activities_tlc_seconds"}
    assert figures["2_concurrent_activities_events"].value == len(concurrent_activities_history(2))
    assert figures["2_concurrent_activities_tlc_seconds"].value > 0


def test_bench_trace_refuses_a_rejected_history(
    toolchain: tlc.Toolchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_trace, "WIDTHS", (2,))
    monkeypatch.setattr(
        bench_trace, "concurrent_activities_history", lambda width: _signal_in_flight()[0]
    )
    with pytest.raises(RuntimeError, match="rejected 2 concurrent activities"):
        bench_trace.bench_trace(argparse.Namespace(repeat=1))


def test_bench_trace_without_tlc_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLA2TOOLS_JAR", "/nonexistent/tla2tools.jar")
    assert bench_trace.bench_trace(argparse.Namespace(repeat=1)) == []
    assert "bench trace: skipped" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "scope"),
    [
        ("nexus.json", tlc_trace.TLA_NEXUS),
        ("options-updated.json", tlc_trace.TLA_OPTIONS_UPDATED),
    ],
)
def test_nexus_and_options_histories_are_declared_not_modelled(name: str, scope: str) -> None:
    # the model reproduces them (conform), but WorkflowExecution.tla has neither feature:
    # the trace check declares them rather than sending TLC what it cannot take
    with pytest.raises(tlc_trace.NotModelled, match=f"\\({scope}: "):
        tlc_trace.trace_records(corpus_events(name))
