"""THM-EXACTLY-ONCE over the real service: the exploration is exhaustive within its
budget and exercises every action, each property fails on a history that breaks it, and
removing the service's duplicate-completion guard is caught with a replayable trace."""

from __future__ import annotations

import dataclasses

from core.enums import EventType
from core.events import HistoryEvent
from core.statemachine.history.service import activity as service_activity
from proofs import checker
from proofs.theorems import exactly_once as thm

E = EventType


def test_proved_over_every_behaviour_within_the_budget() -> None:
    result = thm.prove()
    assert result.proved and result.counterexample is None
    assert result.obligations > 100  # distinct states explored


HAPPY = [
    thm.Action("CompleteWorkflowTask"),
    thm.Action("Deliver", 0),
    thm.Action("RunAndComplete", 0),
    thm.Action("CompleteWorkflowTask"),
]


def _completed() -> thm.State:
    model = thm.ExactlyOnce()
    state: thm.State = checker.replay(model, next(iter(model.init_states())), HAPPY)[-1]
    return state


def test_every_action_is_taken_and_the_run_completes() -> None:
    found = checker.check(thm.ExactlyOnce(), fair=False)
    assert found.complete and found.ok
    resends = {"ResendWorkflowTaskReply", "ResendActivityReply"}
    assert set(found.coverage.taken) == set(thm._ACTIONS) - resends
    # A resent reply is tried, and the service refuses it: the guard under test.
    model = thm.ExactlyOnce()
    after = checker.replay(model, next(iter(model.init_states())), HAPPY[:3])[-1]
    for again in (thm.Action("ResendActivityReply", 0), thm.Action("ResendWorkflowTaskReply", 0)):
        assert again in model._candidates(after) and model.next_state(after, again) is None
    state = _completed()
    assert not state.run.running
    assert [e.event_type for e in state.history].count(E.WORKFLOW_EXECUTION_COMPLETED) == 1


def _without(history: tuple[HistoryEvent, ...], *types: EventType) -> tuple[HistoryEvent, ...]:
    return tuple(e for e in history if e.event_type not in types)


def _again(history: tuple[HistoryEvent, ...], event_type: EventType) -> tuple[HistoryEvent, ...]:
    (event,) = [e for e in history if e.event_type is event_type]
    return (*history, dataclasses.replace(event, event_id=len(history) + 1))


def test_each_property_holds_on_the_completed_run_and_fails_when_it_is_broken() -> None:
    good = _completed()
    props = [thm.scheduled_once, thm.result_at_most_once, thm.result_from_a_run]
    props.append(thm.exactly_once_when_completed)
    assert all(prop(good) for prop in props)
    h = good.history
    broken = {
        thm.scheduled_once: good._replace(history=_again(h, E.ACTIVITY_TASK_SCHEDULED)),
        thm.result_at_most_once: good._replace(history=_again(h, E.ACTIVITY_TASK_COMPLETED)),
        thm.exactly_once_when_completed: good._replace(
            history=_without(h, E.ACTIVITY_TASK_STARTED, E.ACTIVITY_TASK_COMPLETED)
        ),
    }
    for prop, state in broken.items():
        assert not prop(state), prop.__name__
    assert not thm.result_from_a_run(good._replace(ran=frozenset()))
    assert not thm.result_from_a_run(good._replace(history=_without(h, E.ACTIVITY_TASK_STARTED)))


def test_without_the_drop_guard_a_duplicate_reply_records_a_second_result() -> None:
    result = thm.prove_negative()
    assert not result.proved and result.counterexample is not None
    lines = result.counterexample.splitlines()
    assert lines[0] == "result-at-most-once violated, 4 steps from the start:"
    assert [line.split(". ")[1] for line in lines[1:5]] == [
        "CompleteWorkflowTask",
        "Deliver#0",
        "RunAndComplete#0",
        "RunAndComplete#0",
    ]
    assert lines[-1].endswith("result-at-most-once violated")
    # The guard is back afterwards, and the theorem reads it at run time.
    assert service_activity.drop is not None and thm.prove().proved
