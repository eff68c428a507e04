"""The validator's LIMIT-* rules (limit_rules.py): one hand-written history per rule.

Each history is valid under the server's default limits and breaks exactly one rule
under the small limits below, reported with that rule's ID at the event that breaks it;
so removing a rule's check fails its test. Without limits, no LIMIT rule is checked.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.enums import EventType as E
from core.enums import SuggestContinueAsNewReason
from core.opaque import Opaque
from core.payloads import payload, to_payloads
from core.statemachine.history import limits as lim
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.validator import validate
from tests.core.statemachine.history.builder import History

SMALL = Limits(
    history_count_error=12,
    history_size_error=1000,
    blob_size_error=200,
    memo_size_error=100,
    pending_activities=2,
    pending_child_executions=2,
    pending_signals=2,
    pending_cancel_requests=2,
    search_attribute_value_size=20,
    search_attributes_total_size=60,
)
# The suggest levels low (and no other limit in reach) for the suggest-continue-as-new rule.
SUGGEST = Limits(history_count_suggest_continue_as_new=6, history_size_suggest_continue_as_new=400)
BIG = to_payloads(["x" * 300])


def _found(h: History, limits: Limits = SMALL) -> list[tuple[str, int]]:
    return [(v.rule, v.event_id) for v in validate(h.events, limits).violations]


def _memo(size: int, key: str = "note") -> Opaque:
    return Opaque.of({"fields": {key: payload("m" * size)}})


def _search_attributes(**values: str) -> Opaque:
    return Opaque.of({"indexedFields": {k: payload(v) for k, v in values.items()}})


def _pending(event_type: E, **attrs: object) -> Callable[[], History]:
    def build() -> History:
        h = History().start()
        wtc = h.workflow_task()
        for i in range(3):
            extra = {"activity_id": f"a{i}"} if event_type is E.ACTIVITY_TASK_SCHEDULED else {}
            h.add(event_type, workflow_task_completed_event_id=wtc, **extra, **attrs)
        return h

    return build


def _blob_input() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(
        E.ACTIVITY_TASK_SCHEDULED, activity_id="a", input=BIG, workflow_task_completed_event_id=wtc
    )
    return h


def _blob_result() -> History:
    h = History().start()
    wtc = h.workflow_task()
    h.add(E.WORKFLOW_EXECUTION_COMPLETED, result=BIG, workflow_task_completed_event_id=wtc)
    return h


def _memo_merged() -> History:
    h = History()
    h.add(E.WORKFLOW_EXECUTION_STARTED, attempt=1, memo=_memo(60))
    wtc = h.workflow_task()
    h.add(
        E.WORKFLOW_PROPERTIES_MODIFIED,
        upserted_memo=_memo(60, "more"),
        workflow_task_completed_event_id=wtc,
    )
    return h


def _search_attribute_value() -> History:
    h = History()
    h.add(E.WORKFLOW_EXECUTION_STARTED, attempt=1, search_attributes=_search_attributes(S="s" * 30))
    return h


def _search_attributes_total() -> History:
    h = History().start()
    wtc = h.workflow_task()
    for key in "AB":
        h.add(
            E.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            search_attributes=_search_attributes(**{key: "v" * 15}),
            workflow_task_completed_event_id=wtc,
        )
    return h


def _timers(h: History, n: int) -> History:
    """n rounds of: a task that starts a timer, the timer's fire."""
    for i in range(n):
        wtc = h.workflow_task()
        t = h.add(E.TIMER_STARTED, timer_id=f"t{i}", workflow_task_completed_event_id=wtc)
        h.add(E.TIMER_FIRED, timer_id=f"t{i}", started_event_id=t)
    return h


def _count_went_on() -> History:
    h = _timers(History().start(), 3)  # 16 events, the last task scheduled at 12
    h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)  # 17: a new task, and the run never closes
    return h


def _size() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(E.WORKFLOW_TASK_STARTED, scheduled_event_id=s, history_size_bytes=1001)
    return h


def _suggest_missing() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(E.WORKFLOW_TASK_STARTED, scheduled_event_id=s, history_size_bytes=450)
    return h


def _suggest_unfounded() -> History:
    h = History().start()
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    h.add(
        E.WORKFLOW_TASK_STARTED,
        scheduled_event_id=s,
        suggest_continue_as_new=True,
        suggest_continue_as_new_reasons=(SuggestContinueAsNewReason.TOO_MANY_HISTORY_EVENTS,),
    )
    return h


BROKEN: dict[str, tuple[Callable[[], History], list[tuple[str, int]]]] = {  # under SMALL
    "pending activities": (
        _pending(E.ACTIVITY_TASK_SCHEDULED),
        [(lim.PENDING_ACTIVITIES, 7)],
    ),
    "pending children": (
        _pending(E.START_CHILD_WORKFLOW_EXECUTION_INITIATED, workflow_id="c"),
        [(lim.PENDING_CHILDREN, 7)],
    ),
    "pending signals": (
        _pending(E.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        [(lim.PENDING_SIGNALS, 7)],
    ),
    "pending cancel requests": (
        _pending(E.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        [(lim.PENDING_CANCEL_REQUESTS, 7)],
    ),
    "blob input": (_blob_input, [(lim.BLOB_SIZE, 5)]),
    "blob result": (_blob_result, [(lim.BLOB_SIZE, 5)]),
    "memo merged": (_memo_merged, [(lim.MEMO_SIZE, 5)]),
    "search attribute value": (_search_attribute_value, [(lim.SEARCH_ATTRIBUTES_SIZE, 1)]),
    "search attributes total": (_search_attributes_total, [(lim.SEARCH_ATTRIBUTES_SIZE, 6)]),
    "history count": (_count_went_on, [(lim.HISTORY_COUNT, 17), (lim.HISTORY_COUNT, 17)]),
    "history size": (_size, [(lim.HISTORY_SIZE, 3)]),
}
BROKEN_SUGGESTIONS: dict[str, tuple[Callable[[], History], list[tuple[str, int]]]] = {
    "missing": (_suggest_missing, [(lim.SUGGEST_CONTINUE_AS_NEW, 3)]),
    "unfounded": (_suggest_unfounded, [(lim.SUGGEST_CONTINUE_AS_NEW, 3)]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_rule_check_is_load_bearing(name: str) -> None:
    build, expected = BROKEN[name]
    history = build()
    assert _found(history) == expected
    assert validate(history.events).violations == ()  # no limits given: none checked
    assert validate(history.events, DEFAULT_LIMITS).violations == ()


@pytest.mark.parametrize("name", sorted(BROKEN_SUGGESTIONS))
def test_suggestion_check_is_load_bearing(name: str) -> None:
    build, expected = BROKEN_SUGGESTIONS[name]
    history = build()
    assert _found(history, SUGGEST) == expected
    assert validate(history.events).violations == ()


def test_every_limit_rule_has_a_broken_history() -> None:
    cases = [*BROKEN.values(), *BROKEN_SUGGESTIONS.values()]
    rules = {rule for _, expected in cases for rule, _ in expected}
    ids = {
        lim.HISTORY_COUNT,
        lim.HISTORY_SIZE,
        lim.SUGGEST_CONTINUE_AS_NEW,
        lim.BLOB_SIZE,
        lim.MEMO_SIZE,
        lim.SEARCH_ATTRIBUTES_SIZE,
        *(kind.rule for kind in lim.PENDING_KINDS),
    }
    assert rules == ids


def test_the_transaction_that_closes_the_run_may_pass_the_count_limit() -> None:
    h = _timers(History().start(), 2)  # 9 events
    wtc = h.workflow_task()  # 10-12
    h.add(E.TIMER_STARTED, timer_id="late", workflow_task_completed_event_id=wtc)  # 13
    h.complete(wtc)  # 14: the same batch closes the run
    assert _found(h) == []


def test_a_suggestion_the_count_calls_for_is_accepted() -> None:
    h = _timers(History().start(), 1)  # 6 events; the next task's Started is event 8
    s = h.add(E.WORKFLOW_TASK_SCHEDULED, attempt=1)
    reasons = (SuggestContinueAsNewReason.TOO_MANY_HISTORY_EVENTS,)
    h.add(
        E.WORKFLOW_TASK_STARTED,
        scheduled_event_id=s,
        suggest_continue_as_new=True,
        suggest_continue_as_new_reasons=reasons,
    )
    assert _found(h, SUGGEST) == []
