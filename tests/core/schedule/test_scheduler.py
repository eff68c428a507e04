"""Overlap policies (buffer.go) and the scheduler's rules (workflow.go), one test per
SCHED-* ID of spec/README.md, each expectation worked out by hand in the test."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from core.schedule.api import FullUpdateRequest, StartScheduleArgs
from core.schedule.buffer import BufferedStart, process_buffer
from core.schedule.messages import (
    BackfillRequest,
    IntervalSpec,
    OverlapPolicy,
    Schedule,
    SchedulePatch,
    SchedulePolicies,
    ScheduleSpec,
    ScheduleState,
    StartWorkflowAction,
    TriggerImmediatelyRequest,
)
from core.schedule.scheduler import FAILED, Scheduler
from core.schedule.spec import SECOND

P = OverlapPolicy
T0 = 1_767_225_600 * SECOND  # 2026-01-01T00:00:00Z
H = 3600 * SECOND


def starts(*policies: OverlapPolicy) -> list[BufferedStart]:
    return [BufferedStart(T0 + i * H, T0 + i * H, p) for i, p in enumerate(policies)]


def same(p: OverlapPolicy) -> OverlapPolicy:
    return P.SKIP if p == P.UNSPECIFIED else p


def test_overlap_skip() -> None:  # SCHED-OVERLAP-SKIP, SCHED-OVERLAP-FIRST-FREE
    b = starts(P.SKIP, P.SKIP, P.SKIP)
    r = process_buffer(b, False, same)
    assert r.non_overlapping_start == b[0] and r.new_buffer == () and r.overlap_skipped == 2
    r = process_buffer(b, True, same)
    assert r.non_overlapping_start is None and r.overlap_skipped == 3


def test_overlap_buffer_one() -> None:  # SCHED-OVERLAP-BUFFER-ONE
    b = starts(P.BUFFER_ONE, P.BUFFER_ONE, P.BUFFER_ONE)
    r = process_buffer(b, True, same)
    assert r.new_buffer == (b[0],) and r.overlap_skipped == 2


def test_overlap_buffer_all() -> None:  # SCHED-OVERLAP-BUFFER-ALL
    b = starts(P.BUFFER_ALL, P.BUFFER_ALL, P.BUFFER_ALL)
    r = process_buffer(b, False, same)
    assert r.non_overlapping_start == b[0] and r.new_buffer == tuple(b[1:])
    assert r.overlap_skipped == 0


def test_overlap_cancel_and_terminate_other() -> None:
    # SCHED-OVERLAP-CANCEL-OTHER, SCHED-OVERLAP-TERMINATE-OTHER
    b = starts(P.CANCEL_OTHER, P.CANCEL_OTHER)
    r = process_buffer(b, True, same)
    assert r.need_cancel and not r.need_terminate and r.new_buffer == tuple(b)
    r = process_buffer(b, False, same)  # nothing runs: the later start replaces the first
    assert r.non_overlapping_start == b[1] and r.new_buffer == () and not r.need_cancel
    t = starts(P.TERMINATE_OTHER)
    r = process_buffer(t, True, same)
    assert r.need_terminate and r.new_buffer == tuple(t)


def test_overlap_allow_all() -> None:  # SCHED-OVERLAP-ALLOW-ALL
    b = starts(P.ALLOW_ALL, P.ALLOW_ALL, P.ALLOW_ALL)
    r = process_buffer(b, True, same)
    assert r.overlapping_starts == tuple(b) and r.non_overlapping_start is None
    # ... but not beside a cancel: those would be cancelled at once.
    r = process_buffer([*b, *starts(P.CANCEL_OTHER)], True, same)
    assert r.overlapping_starts == () and r.need_cancel


def test_unspecified_resolves_to_the_schedules_policy_now() -> None:
    b = starts(P.UNSPECIFIED, P.UNSPECIFIED)
    r = process_buffer(b, True, lambda p: P.BUFFER_ALL if p == P.UNSPECIFIED else p)
    assert r.new_buffer == tuple(b)


@given(st.lists(st.sampled_from(list(P)[1:]), max_size=12), st.booleans())
def test_every_start_is_accounted_for(policies: list[OverlapPolicy], running: bool) -> None:
    """Each buffered start is taken, kept, counted skipped, or (only beside a cancel or
    terminate) an allow-all start dropped, or a cancel/terminate start replaced."""
    b = starts(*policies)
    r = process_buffer(b, running, same)
    taken = len(r.overlapping_starts) + (r.non_overlapping_start is not None)
    accounted = taken + len(r.new_buffer) + r.overlap_skipped
    dropped_allow = policies.count(P.ALLOW_ALL) if (r.need_cancel or r.need_terminate) else 0
    replaced = len(b) - accounted - dropped_allow
    assert replaced >= 0
    if not running:
        assert r.non_overlapping_start is not None or all(p == P.ALLOW_ALL for p in policies)
    assert replaced == 0 or any(p in (P.CANCEL_OTHER, P.TERMINATE_OTHER) for p in policies)


# -- the scheduler -------------------------------------------------------------------------


def hourly(**changes: object) -> Scheduler:
    schedule = Schedule(
        ScheduleSpec(interval=(IntervalSpec(H),)),
        StartWorkflowAction("job", "Job", "queue"),
        SchedulePolicies(),
        ScheduleState(),
    )
    s = Scheduler(StartScheduleArgs(schedule, "default", "ns-id", "sched"))
    s.last_processed = s.create_time = T0
    for key, value in changes.items():
        setattr(s, key, value)
    return s


def test_nominal_times_are_taken_in_order() -> None:  # SCHED-NOMINAL-TIMES
    s = hourly()
    wake, last = s.process_time_range(T0, T0 + 3 * H, P.UNSPECIFIED, False)
    assert [b.nominal_time for b in s.buffer] == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    assert (wake, last) == (T0 + 4 * H, T0 + 3 * H)


def test_catchup_window() -> None:  # SCHED-CATCHUP-WINDOW
    s = hourly()
    s.schedule = replace(s.schedule, policies=SchedulePolicies(catchup_window=90 * 60 * SECOND))
    s.process_time_range(T0, T0 + 5 * H, P.UNSPECIFIED, False)  # woke 5 hours late
    assert [b.nominal_time for b in s.buffer] == [T0 + 4 * H, T0 + 5 * H]
    assert s.missed_catchup_window == 3
    tiny = hourly()
    tiny.schedule = replace(tiny.schedule, policies=SchedulePolicies(catchup_window=SECOND))
    assert tiny.catchup_window() == 10 * SECOND  # MinCatchupWindow


def test_remaining_actions() -> None:  # SCHED-REMAINING-ACTIONS
    s = hourly()
    s.schedule = replace(s.schedule, state=ScheduleState(limited_actions=True, remaining_actions=1))
    assert s.can_take_scheduled_action(False, True)
    assert s.schedule.state.remaining_actions == 0
    assert not s.can_take_scheduled_action(False, False)
    assert s.can_take_scheduled_action(True, False)  # manual starts ignore the limit
    assert s.future_action_times(10) == []


def test_paused_schedules_skip_their_times() -> None:  # SCHED-NOMINAL-TIMES
    s = hourly()
    s.process_patch(SchedulePatch(pause="maintenance"), T0)
    assert s.schedule.state.paused and s.schedule.state.notes == "maintenance"
    wake, last = s.process_time_range(T0, T0 + 3 * H, P.UNSPECIFIED, False)
    assert s.buffer == [] and last == T0 + 3 * H and wake == T0 + 4 * H
    assert s.wakeup(wake, T0 + 3 * H) is None  # sleeps until a signal


def test_trigger_and_backfill() -> None:  # SCHED-TRIGGER-BACKFILL
    s = hourly()
    s.process_patch(SchedulePatch(pause="p"), T0)
    at = T0 + 90 * SECOND
    s.process_patch(
        SchedulePatch(
            trigger_immediately=TriggerImmediatelyRequest(P.ALLOW_ALL),
            backfill_request=(BackfillRequest(T0 + H, T0 + 3 * H),),
        ),
        at,
    )
    assert s.buffer == [BufferedStart(at, at, P.ALLOW_ALL, True)]
    s.process_backfills()  # paused, yet backfill runs; its start time is inclusive
    assert [b.nominal_time for b in s.buffer[1:]] == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    assert all(b.manual for b in s.buffer) and s.backfills == []


def test_backfill_goes_ten_per_iteration() -> None:
    s = hourly()
    s.process_patch(SchedulePatch(backfill_request=(BackfillRequest(T0 + H, T0 + 25 * H),)), T0)
    s.process_backfills()
    assert len(s.buffer) == 10 and s.backfills[0].start_time == T0 + 10 * H


def test_update_conflict_token() -> None:  # SCHED-UPDATE-CONFLICT
    s = hourly(conflict_token=1)
    other = replace(s.schedule, state=ScheduleState(notes="new"))
    assert not s.process_update(other, 7, T0 + H)
    assert s.schedule.state.notes == "" and s.conflict_token == 1
    assert s.process_update(other, 1, T0 + H)
    assert s.schedule.state.notes == "new" and s.conflict_token == 2 and s.update_time == T0 + H
    assert FullUpdateRequest.from_json(FullUpdateRequest(other, 2).to_json()).conflict_token == 2


def test_pause_on_failure() -> None:  # SCHED-PAUSE-ON-FAILURE
    s = hourly()
    s.schedule = replace(s.schedule, policies=SchedulePolicies(pause_on_failure=True))
    start = BufferedStart(T0 + H, T0 + H)
    s.record_action(start, True, s.workflow_id_for(start), "run-1", T0 + H)
    s.workflow_closed(s.workflow_id_for(start), "Completed")
    assert not s.schedule.state.paused
    s.record_action(start, True, "job-b", "run-2", T0 + H)
    s.workflow_closed("job-b", FAILED, "boom")
    assert s.schedule.state.paused
    assert s.schedule.state.notes == "paused due to workflow failure: job-b: boom"
    assert s.running == []


def test_recent_actions_and_future_times() -> None:  # SCHED-RECENT-ACTIONS
    s = hourly()
    for i in range(12):
        start = BufferedStart(T0 + i * H, T0 + i * H)
        s.record_action(start, False, f"w{i}", f"r{i}", T0 + i * H)
    d = s.describe()
    info = d["info"]
    assert isinstance(info, dict)
    recent = info["recentActions"]
    assert isinstance(recent, list) and len(recent) == 10
    assert info["futureActionTimes"] == [f"2026-01-01T{h:02d}:00:00Z" for h in range(1, 11)]
    assert info["actionCount"] == "12" and s.running == []  # overlapping: not tracked


def test_workflow_id_has_the_nominal_time() -> None:  # SCHED-WORKFLOW-ID
    s = hourly()
    start = BufferedStart(T0 + H + 123_456_789, T0 + H + 5 * SECOND)
    assert s.workflow_id_for(start) == "job-2026-01-01T01:00:00Z"


def test_retention_after_the_last_time() -> None:
    s = hourly()
    s.schedule = replace(
        s.schedule, spec=ScheduleSpec(interval=(IntervalSpec(H),), end_time=T0 + H)
    )
    s.compile()
    wake, _ = s.process_time_range(T0, T0 + 2 * H, P.UNSPECIFIED, False)
    assert wake is None
    assert s.retention_expiration(wake) == T0 + 7 * 86_400 * SECOND  # from creation


def test_state_survives_continue_as_new() -> None:
    s = hourly(conflict_token=3)
    s.process_time_range(T0, T0 + 2 * H, P.UNSPECIFIED, False)
    s.record_action(s.buffer[0], True, "w", "r", T0 + H)
    again = Scheduler(StartScheduleArgs.from_json(s.to_args().to_json()))
    assert again.describe() == s.describe()
    assert again.buffer == s.buffer and again.running == s.running


def test_start_options_survive_the_json_round_trip() -> None:  # SCHED-START-OPTIONS
    from core.opaque import Opaque
    from core.schedule.api import scheduled_search_attributes

    given = Opaque.of({"indexedFields": {"Team": {"data": "ImJsdWUi"}}})
    action = StartWorkflowAction(
        "w",
        "T",
        "q",
        (1,),
        5 * SECOND,
        2 * SECOND,
        SECOND,
        Opaque.of({"maximumAttempts": 3}),
        Opaque.of({"fields": {}}),
        given,
        None,
    )
    assert StartWorkflowAction.from_json(action.to_json()) == action
    assert action.options()["workflowRunTimeout"] == "2s"
    fields = scheduled_search_attributes(given, 60 * SECOND, "s")["indexedFields"]
    assert isinstance(fields, dict) and set(fields) == {
        "Team",
        "TemporalScheduledStartTime",
        "TemporalScheduledById",
    }
