"""How sim/schedule_client.py reads pauses from a scheduler's history, on hand-made
histories: the TemporalSchedulePaused upserts say when a pause took effect and ended;
the client's signals and the watch results say which pauses and unpauses must be
recorded (INV-SCHEDULE-PAUSE, INV-SCHEDULE-ACTIONS)."""

from __future__ import annotations

from core import payloads
from core.enums import EventType as E
from core.events import (
    ActivityTaskScheduledEventAttributes,
    ActivityType,
    EventAttributes,
    HistoryEvent,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.opaque import JsonValue, Opaque
from core.schedule import api
from core.schedule.messages import IntervalSpec, SchedulePatch, ScheduleSpec
from core.schedule.spec import SECOND, compile_spec
from core.timefmt import rfc3339
from sim.schedule_client import ClientView

T0 = 1_767_225_600 * SECOND  # 2026-01-01T00:00:00Z
HOUR = 3600 * SECOND
PREFIX = "job-"
HOURLY = compile_spec(ScheduleSpec(interval=(IntervalSpec(HOUR),)))


class History:
    """Events in order, each at a time given in hours after T0."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []

    def _add(self, kind: E, attributes: EventAttributes, hours: float) -> None:
        at = T0 + int(hours * HOUR)
        self.events.append(HistoryEvent(len(self.events) + 1, kind, attributes, event_time=at))

    def task(self, hours: float) -> None:
        self._add(E.WORKFLOW_TASK_STARTED, WorkflowTaskStartedEventAttributes(), hours)
        self._add(E.WORKFLOW_TASK_COMPLETED, WorkflowTaskCompletedEventAttributes(), hours)

    def patch(self, hours: float, patch: SchedulePatch) -> None:
        value = payloads.to_payloads([patch.to_json()])
        signal = WorkflowExecutionSignaledEventAttributes(signal_name=api.SIGNAL_PATCH, input=value)
        self._add(E.WORKFLOW_EXECUTION_SIGNALED, signal, hours)

    def paused(self, hours: float, value: bool) -> None:
        fields: JsonValue = {"indexedFields": {api.SCHEDULE_PAUSED: payloads.payload(value)}}
        upsert = UpsertWorkflowSearchAttributesEventAttributes(search_attributes=Opaque.of(fields))
        self._add(E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert, hours)

    def start(self, hours: float, nominal_hours: int) -> None:
        request = {"workflowId": PREFIX + rfc3339(T0 + nominal_hours * HOUR)}
        scheduled = ActivityTaskScheduledEventAttributes(
            activity_type=ActivityType(api.ACTIVITY_START), input=payloads.to_payloads([request])
        )
        self._add(E.ACTIVITY_TASK_SCHEDULED, scheduled, hours)

    def terminate(self, hours: float) -> None:
        self._add(
            E.WORKFLOW_EXECUTION_TERMINATED, WorkflowExecutionTerminatedEventAttributes(), hours
        )

    def view(self) -> ClientView:
        v = ClientView("seed", False, [(T0, HOURLY)])
        v.read("sched", [self.events], PREFIX)
        return v


PAUSE = SchedulePatch(pause="hold")
UNPAUSE = SchedulePatch(unpause="go")


def _paused_at_5() -> History:
    """Started at 1:00 and 2:00; a client pause at 4:30, recorded at once."""
    h = History()
    h.task(0)
    h.paused(0, False)
    for n in (1, 2):
        h.task(n)
        h.start(n, n)
    h.patch(4.5, PAUSE)
    h.task(4.5)
    h.paused(4.5, True)
    return h


def test_a_recorded_pause_reaches_back_to_the_last_start_and_lasts() -> None:
    v = _paused_at_5().view()
    assert v.problems == [] and v.paused_at_end
    # 3:00 and 4:00 were buffered or due when it paused: they may go untaken.
    assert v.paused_since == [(T0 + 2 * HOUR, 2**62)]


def test_a_start_while_recorded_paused_is_caught() -> None:
    h = _paused_at_5()
    h.task(6)
    h.start(6, 6)
    assert [p[0] for p in h.view().problems] == ["INV-SCHEDULE-PAUSE"]


def test_an_unpause_starts_before_it_is_recorded() -> None:
    """processBuffer runs before updateMemoAndSearchAttributes: the start the unpause
    lets through comes before the attribute says so."""
    h = _paused_at_5()
    h.patch(7.5, UNPAUSE)
    h.task(7.5)
    h.start(7.5, 7)
    h.task(7.6)
    h.paused(7.6, False)
    v = h.view()
    assert v.problems == [] and not v.paused_at_end
    assert v.paused_since == [(T0 + 2 * HOUR, T0 + int(7.6 * HOUR))]


def test_a_pause_never_recorded_is_caught() -> None:
    h = History()
    h.task(0)
    h.patch(1.5, PAUSE)
    h.task(1.5)
    h.task(2)
    h.start(2, 2)
    v = h.view()
    assert v.problems == [
        ("INV-SCHEDULE-PAUSE", f"sched: pause at {T0 + int(1.5 * HOUR)}, never paused")
    ]


def test_an_unpause_never_recorded_is_caught() -> None:
    h = _paused_at_5()
    h.patch(7.5, UNPAUSE)
    h.task(7.5)
    assert [p[0] for p in h.view().problems] == ["INV-SCHEDULE-ACTIONS"]


def test_a_pause_undone_before_it_was_written_is_not_expected() -> None:
    """A pause and an unpause the scheduler applied at one wake-up leave no record."""
    h = History()
    h.task(0)
    h.patch(1.5, PAUSE)
    h.patch(1.6, UNPAUSE)
    h.task(1.7)
    assert h.view().problems == []


def test_a_schedule_deleted_right_after_a_pause_need_not_record_it() -> None:
    h = History()
    h.task(0)
    h.patch(1.5, PAUSE)
    h.task(1.5)
    h.terminate(1.9)
    assert h.view().problems == []
    h.events.pop()
    h.terminate(2.6)  # more than an hour later: it should have written it
    assert [p[0] for p in h.view().problems] == ["INV-SCHEDULE-PAUSE"]


def _queued_behind_a_slow_call() -> History:
    """Started at 1:00; the next start waits on a slow call (a Terminate under
    TERMINATE_OTHER), and a pause and an unpause are signalled meanwhile (seed 84 of the
    schedules workload). The history shows both applied at 1:30 and 1:36; the scheduler
    takes them, one per wake-up, only when the call returns at 5:00, after a pause on
    failure: it records the pause, the unpause lets the waiting start through, and then it
    records the unpause."""
    h = History()
    h.task(0)
    h.paused(0, False)
    h.task(1)
    h.start(1, 1)
    h.patch(1.5, PAUSE)
    h.task(1.5)
    h.patch(1.6, UNPAUSE)
    h.task(1.6)
    h.task(5)
    h.paused(5, True)
    h.start(5, 2)
    h.task(5.1)
    h.paused(5.1, False)
    return h


def test_an_unpause_queued_before_a_pause_was_recorded_may_start_after_it() -> None:
    v = _queued_behind_a_slow_call().view()
    assert v.problems == [] and not v.paused_at_end


def test_a_recorded_pause_uses_up_the_queued_unpause() -> None:
    """Once the unpause is recorded it is used up: a later pause, recorded, with a start
    after it and no unpause queued, is caught."""
    h = _queued_behind_a_slow_call()
    h.patch(6.5, PAUSE)
    h.task(6.5)
    h.paused(6.5, True)
    h.task(8)
    h.start(8, 8)
    assert [p[0] for p in h.view().problems] == ["INV-SCHEDULE-PAUSE"]
