"""Hypothesis strategies for the history service's requests: commands a workflow worker
might send, valid or not, and the small id pools that make collisions likely.

Ids come from deliberately tiny pools (three activity ids, three timer ids, three
request ids) so that duplicates, reuse after close and stale references are frequent.
Durations are whole seconds in nanoseconds, so that clock advances land on deadlines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import strategies as st

from core import requests as rq
from core.commands import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType, TimeoutType
from core.events import ActivityType, TaskQueue
from core.opaque import JsonValue, Opaque

C = CommandType
T = TypeVar("T")
SECOND = 1_000_000_000

ACTIVITY_IDS = ("a0", "a1", "a2")
TIMER_IDS = ("t0", "t1", "t2")
REQUEST_IDS = ("r0", "r1", "r2")
ERROR_TYPES = ("", "Transient", "Fatal")  # "Fatal" is non-retryable in some policies


def seconds(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi).map(lambda s: s * SECOND)


def optional_seconds(lo: int, hi: int) -> st.SearchStrategy[int | None]:
    return st.none() | seconds(lo, hi)


@st.composite
def _retry_policy(draw: st.DrawFn) -> Opaque:
    policy: dict[str, JsonValue] = {}
    if draw(st.booleans()):
        policy["initialInterval"] = f"{draw(st.integers(1, 5))}s"
    if draw(st.booleans()):
        policy["backoffCoefficient"] = draw(st.sampled_from((1.0, 1.5, 2.0)))
    if draw(st.booleans()):
        policy["maximumInterval"] = f"{draw(st.integers(1, 20))}s"
    if draw(st.booleans()):
        policy["maximumAttempts"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        policy["nonRetryableErrorTypes"] = ["Fatal"]
    return Opaque.of(policy)


@dataclass(frozen=True)
class Pending:
    """What the worker's workflow code knows is open, so that most commands are valid:
    ids of open activities and timers, and scheduled event ids of activities."""

    activity_ids: frozenset[str] = frozenset()
    timer_ids: frozenset[str] = frozenset()
    scheduled_ids: tuple[int, ...] = ()
    # Timers that fired while the task was in flight (TimerFired still buffered): a
    # CancelTimer for one races the fire (docs/temporal-semantics.md#cancel-racing-the-fire).
    fired_timer_ids: frozenset[str] = frozenset()


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """Draw from one of the strategies, chosen with the given weights. (`st.one_of`
    cannot weight: it drops repeated branches and picks among the rest evenly.)"""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(table).flatmap(lambda strategy: strategy)


def _mostly(good: Sequence[T], bad: Sequence[T]) -> st.SearchStrategy[T]:
    """A good value (any of `good`, if there is one) about nine times in ten."""
    if not good:
        return st.sampled_from(bad)
    return weighted((9, st.sampled_from(good)), (1, st.sampled_from(bad)))


def _bad_activity(
    attrs: ScheduleActivityTaskCommandAttributes,
) -> st.SearchStrategy[ScheduleActivityTaskCommandAttributes]:
    """The same command with one field the server rejects."""
    r = dataclasses.replace
    return st.sampled_from(
        (
            r(attrs, task_queue=None),
            r(attrs, task_queue=TaskQueue(name="")),
            r(attrs, activity_id=""),
            r(attrs, activity_type=ActivityType(name="")),
            r(attrs, activity_type=None),
            r(attrs, start_to_close_timeout=None, schedule_to_close_timeout=None),
            r(attrs, retry_policy=Opaque.of({"maximumAttempts": "three"})),
            r(attrs, retry_policy=Opaque.of({"initialInterval": 5})),
        )
    )


def schedule_activity(pending: Pending) -> st.SearchStrategy[Command]:
    """Mostly valid, with an id no open activity has; sometimes a duplicate id or one
    bad field."""
    free = [i for i in ACTIVITY_IDS if i not in pending.activity_ids]
    valid = st.builds(
        ScheduleActivityTaskCommandAttributes,
        activity_id=_mostly(free, sorted(pending.activity_ids) or ACTIVITY_IDS),
        activity_type=st.just(ActivityType(name="act")),
        # the run's own queue (run_checks.py) or another; the command always names one
        task_queue=st.sampled_from((TaskQueue(name="queue"), TaskQueue(name="activities"))),
        schedule_to_close_timeout=optional_seconds(1, 120),
        schedule_to_start_timeout=optional_seconds(1, 30),
        start_to_close_timeout=weighted((4, seconds(1, 60)), (1, st.none())),
        heartbeat_timeout=optional_seconds(1, 20),
        retry_policy=st.one_of(st.none(), _retry_policy()),
    ).filter(lambda a: bool(a.start_to_close_timeout or a.schedule_to_close_timeout))
    attrs = weighted((12, valid), (1, valid.flatmap(_bad_activity)))
    return attrs.map(lambda a: Command(C.SCHEDULE_ACTIVITY_TASK, a))


def start_timer(pending: Pending) -> st.SearchStrategy[Command]:
    free = [i for i in TIMER_IDS if i not in pending.timer_ids]
    attrs = st.builds(
        StartTimerCommandAttributes,
        timer_id=_mostly(free, (*sorted(pending.timer_ids), "")),  # taken, or empty
        start_to_fire_timeout=weighted(
            (15, seconds(1, 60)), (1, st.sampled_from((None, 0, -SECOND)))
        ),
    )
    return attrs.map(lambda a: Command(C.START_TIMER, a))


def cancel_timer(pending: Pending) -> st.SearchStrategy[Command]:
    ids = _mostly(sorted(pending.timer_ids | pending.fired_timer_ids), (*TIMER_IDS, "tx"))
    attrs = st.builds(CancelTimerCommandAttributes, timer_id=ids)
    return attrs.map(lambda a: Command(C.CANCEL_TIMER, a))


def request_cancel_activity(pending: Pending) -> st.SearchStrategy[Command]:
    """Cancel an open activity, a closed one, or one that never existed."""
    ids = _mostly(pending.scheduled_ids, (0, 999))
    attrs = st.builds(RequestCancelActivityTaskCommandAttributes, scheduled_event_id=ids)
    return attrs.map(lambda a: Command(C.REQUEST_CANCEL_ACTIVITY_TASK, a))


def record_marker() -> st.SearchStrategy[Command]:
    attrs = st.builds(
        RecordMarkerCommandAttributes,
        marker_name=_mostly(("version", "side-effect"), ("",)),
        details=st.sampled_from((None, Opaque.of({"data": 1}))),
    )
    return attrs.map(lambda a: Command(C.RECORD_MARKER, a))


def upsert_search_attributes() -> st.SearchStrategy[Command]:
    attrs = st.builds(
        UpsertWorkflowSearchAttributesCommandAttributes,
        search_attributes=st.sampled_from((None, Opaque.of({"indexedFields": {}}))),
    )
    return attrs.map(lambda a: Command(C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, a))


def close_command() -> st.SearchStrategy[Command]:
    """Complete, fail, cancel or continue-as-new (possibly with a first-task backoff)."""
    continue_as_new = st.builds(
        ContinueAsNewWorkflowExecutionCommandAttributes,
        workflow_run_timeout=optional_seconds(30, 600),
        workflow_task_timeout=optional_seconds(1, 10),
        backoff_start_interval=optional_seconds(1, 10),
    )
    return st.one_of(
        st.builds(CompleteWorkflowExecutionCommandAttributes).map(
            lambda a: Command(C.COMPLETE_WORKFLOW_EXECUTION, a)
        ),
        st.builds(FailWorkflowExecutionCommandAttributes).map(
            lambda a: Command(C.FAIL_WORKFLOW_EXECUTION, a)
        ),
        st.builds(CancelWorkflowExecutionCommandAttributes).map(
            lambda a: Command(C.CANCEL_WORKFLOW_EXECUTION, a)
        ),
        continue_as_new.map(lambda a: Command(C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION, a)),
    )


def plain_command(pending: Pending) -> st.SearchStrategy[Command]:
    """Any command that does not close the run (mostly valid: one in about fifteen
    names a timer that is not open)."""
    options = [(5, schedule_activity(pending)), (4, start_timer(pending))]
    if pending.timer_ids or pending.fired_timer_ids:
        options.append((2, cancel_timer(pending)))
    if pending.scheduled_ids:
        options.append((3, request_cancel_activity(pending)))
    options += [(1, record_marker()), (1, upsert_search_attributes())]
    options.append((1, cancel_timer(Pending())))
    return weighted(*options)


@st.composite
def command_lists(draw: st.DrawFn, pending: Pending) -> tuple[Command, ...]:
    """A workflow task's commands: mostly well-formed, sometimes a close command that is
    not last, or two close commands."""
    commands = draw(st.lists(plain_command(pending), max_size=4))
    shape = draw(st.sampled_from(("open",) * 14 + ("close-last",) * 3 + ("misplaced",)))
    if shape == "close-last":
        commands.append(draw(close_command()))
    elif shape == "misplaced":
        at = draw(st.integers(0, len(commands)))
        commands.insert(at, draw(close_command()))
        if at == len(commands) - 1:  # ended up last: add a second close after it
            commands.append(draw(close_command()))
    return tuple(commands)


# --- drawing among live, seen and made-up values (test_stateful.py) -------------------


def pick(
    data: st.DataObject, live: Sequence[T], every: Sequence[T], made_up: st.SearchStrategy[T]
) -> T:
    """Mostly something live (it matches the run's current state), sometimes anything
    ever seen (likely stale), sometimes something made up."""
    options: list[tuple[int, st.SearchStrategy[T]]] = []
    if live:
        options.append((4, st.sampled_from(live)))
    if every:
        options.append((1, st.sampled_from(every)))
    options.append((1, made_up))
    return data.draw(weighted(*options))


def made_up_wft_token() -> st.SearchStrategy[rq.WorkflowTaskToken]:
    return st.builds(
        rq.WorkflowTaskToken, st.integers(0, 30), st.integers(0, 30), st.integers(1, 3)
    )


@st.composite
def made_up_timer_task(draw: st.DrawFn, now: int) -> rq.TimerTask:
    """A timer task the service did not emit (or emitted for another run)."""
    kind = draw(st.sampled_from(("user", "activity", "workflow-task")))
    key, attempt, stamp = draw(st.integers(0, 30)), draw(st.integers(1, 3)), draw(st.integers(0, 3))
    if kind == "user":
        return rq.UserTimerTask(draw(st.sampled_from(TIMER_IDS)), key, now)
    if kind == "activity":
        timeout = draw(st.sampled_from(list(TimeoutType)[1:]))
        return rq.ActivityTimeoutTask(key, timeout, attempt, stamp, now)
    # Only the kinds the service emits for a workflow task. (A SCHEDULE_TO_CLOSE or
    # HEARTBEAT one for a scheduled task makes on_timeout raise InvalidTransition:
    # reported, and left out here so that the machine gets past it.)
    timeout = draw(st.sampled_from((TimeoutType.START_TO_CLOSE, TimeoutType.SCHEDULE_TO_START)))
    return rq.WorkflowTaskTimeoutTask(key, timeout, attempt, stamp, now)
