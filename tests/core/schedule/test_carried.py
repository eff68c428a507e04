"""What a schedule keeps beside its spec (workflow.go): the whole start action, the last
completion result and continued failure handed to the next start, and the schedule's
own custom search attributes, which an update replaces."""

from __future__ import annotations

from core import payloads
from core.opaque import JsonValue, Opaque
from core.schedule.api import FullUpdateRequest, StartScheduleArgs, custom_search_attribute_upsert
from core.schedule.buffer import BufferedStart
from core.schedule.messages import (
    OverlapPolicy,
    Schedule,
    ScheduleSpec,
    StartWorkflowAction,
)
from core.schedule.scheduler import Scheduler
from core.schedule.spec import SECOND

T0 = 1_767_225_600 * SECOND
RESULT = Opaque.of({"payloads": [payloads.payload("first")]})
LATER = Opaque.of({"payloads": [payloads.payload("second")]})
FAILURE = Opaque.of({"message": "it broke", "applicationFailureInfo": {"type": "Boom"}})


def _scheduler() -> Scheduler:
    action = StartWorkflowAction("w", "T", "q")
    return Scheduler(StartScheduleArgs(Schedule(ScheduleSpec(), action), "default", "ns", "s"))


def _start(policy: OverlapPolicy) -> BufferedStart:
    return BufferedStart(T0, T0, policy, True)


def test_a_start_gets_the_last_result_and_the_failure_after_it() -> None:
    s = _scheduler()
    assert s.carried_outcome(_start(OverlapPolicy.UNSPECIFIED)) == {}
    s.record_outcome(RESULT, None)
    assert s.carried_outcome(_start(OverlapPolicy.SKIP)) == {"lastCompletionResult": RESULT.value()}
    # a failure is kept beside the last result, which stays
    s.record_outcome(None, FAILURE)
    assert s.carried_outcome(_start(OverlapPolicy.BUFFER_ONE)) == {
        "lastCompletionResult": RESULT.value(),
        "continuedFailure": FAILURE.value(),
    }
    # and it survives continue-as-new
    again = Scheduler(StartScheduleArgs.from_json(s.to_args().to_json()))
    assert again.carried_outcome(_start(OverlapPolicy.SKIP)) == s.carried_outcome(
        _start(OverlapPolicy.SKIP)
    )
    # a later result replaces the result and clears the failure
    s.record_outcome(LATER, None)
    assert s.carried_outcome(_start(OverlapPolicy.SKIP)) == {"lastCompletionResult": LATER.value()}


def test_an_allow_all_start_takes_no_part_in_the_last_result() -> None:
    s = _scheduler()
    s.record_outcome(RESULT, None)
    s.record_outcome(None, FAILURE)
    assert s.carried_outcome(_start(OverlapPolicy.ALLOW_ALL)) == {}


def _attrs(**values: object) -> Opaque:
    return Opaque.of({"indexedFields": {k: payloads.payload(v) for k, v in values.items()}})


def test_an_update_sets_the_new_search_attributes_and_removes_the_others() -> None:
    current = _attrs(A="a", B="b", TemporalSchedulePaused=False, BuildIds=["x"])
    # unchanged A is left out, B is removed, C is added; reserved ones are kept
    assert custom_search_attribute_upsert(current, _attrs(A="a", C="c")) == {"B": None, "C": "c"}
    # an empty message removes every custom attribute
    assert custom_search_attribute_upsert(current, Opaque.of({})) == {"A": None, "B": None}
    # the same values: nothing to write
    assert custom_search_attribute_upsert(current, _attrs(A="a", B="b")) == {}
    assert custom_search_attribute_upsert(None, _attrs(A="new")) == {"A": "new"}


def test_an_update_with_empty_search_attributes_differs_from_one_with_none() -> None:
    schedule = Schedule(ScheduleSpec(), StartWorkflowAction("w", "T", "q"))
    cleared = FullUpdateRequest(schedule, 3, Opaque.of({}))
    kept = FullUpdateRequest(schedule, 3)
    assert FullUpdateRequest.from_json(cleared.to_json()) == cleared
    assert FullUpdateRequest.from_json(kept.to_json()) == kept
    assert cleared.search_attributes is not None and kept.search_attributes is None


def test_the_action_keeps_user_metadata_and_priority() -> None:
    summary: JsonValue = {"summary": payloads.payload("summary"), "details": payloads.payload("d")}
    action = StartWorkflowAction(
        "w", "T", "q", user_metadata=Opaque.of(summary), priority=Opaque.of({})
    )
    assert StartWorkflowAction.from_json(action.to_json()) == action
    # both reach the start request; an empty priority is a set message, so it stays
    assert action.options() == {"userMetadata": summary, "priority": {}}


def test_a_schedule_writes_no_zero_jitter_and_always_its_state() -> None:
    out = Schedule(ScheduleSpec()).to_json()
    assert out == {"spec": {}, "policies": {}, "state": {}}
