"""THM-RESULT-AT-MOST-ONCE: from every reachable state, at most one result (close) event
is ever written per scheduled activity and per started timer, whatever the number of
activities and timers, attempts, retries, heartbeats and late worker replies.

What is proved, and over what. The transition tables are *read from core at run time*
(`core.statemachine.history.service.activity.TABLE`, `...service.timer.TABLE`, and the
history-side validator machines `core.statemachine.history.activity.TABLE` (H9) and
`...history.timer.TABLE` (H11)); every row, guarded or not, is in one z3 action (rows with
the same source, target and result effect share one), so a row added to core is in
the proof the next time it runs. The service activity table
is the one that drives the server (`fsm.decide` picks a row, the handler it names runs,
the stored state is the row's target): its rows for stale and duplicate requests (a
completion of a closed activity is ``Closed --RespondActivityTaskCompleted /
reject_not_found--> Closed``) are in the proof like any other. A guard is an input the
environment chooses (a guarded row may fire whenever its source and input match),
which over-approximates the server, so what is proved holds for it.

The state is a z3 array from entity id (unbounded) to the machine state, plus an array
counting the result events written for each entity. A step either schedules a fresh id
or applies one table row to one id, leaving the others alone.

Which rows write a result:

- the service tables (activity, timer): read from each row's declaration. A driving row
  says which events its handler appends (`writes`) and which buffered events it deletes
  (`retracts`), and `fsm.check_effect` compares that with what the handler did after
  every step the server takes, so a declaration cannot drift from the code
  (`tests/proofs/test_result_at_most_once.py` breaks one). A row's result count is the
  result events it writes minus those it retracts: cancelling a timer whose TimerFired
  is still buffered writes TimerCanceled in its place, so it adds no result. Result
  events are ActivityTaskCompleted/Failed/TimedOut/Canceled and TimerFired/Canceled
  (`service/history/workflow/mutable_state_impl.go`, `AddActivityTaskCompletedEvent`
  and friends). Each service table must have a row that writes a result, so a table
  whose declarations were emptied cannot make the proof vacuous;
- history tables: the input *is* the event, so a row writes a result iff its input is
  a result event type.

And a table that drives must decide every input in every state (`Subject.total`): a
worker's late reply or a timer task may arrive at any time, so a (state, input) pair
with no unguarded row is a request the server cannot answer; such a pair is reported
as NOT PROVED with the state and input that no row decides.

Proof: the invariant "each entity has written exactly one result if it is closed, none
otherwise" holds initially, is preserved by every row, and implies "at most one".

Negative variants: (1) the service activity table whose row for a completion of a
closed activity runs the completing handler (the duplicate-completion guard dropped):
z3 reports the behaviour that writes a second ActivityTaskCompleted; (2) the same table
with that row removed: the late completion is undecided (`prove_without_guard_row`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from core.enums import EventType
from core.statemachine import fsm
from core.statemachine.history import activity as history_activity
from core.statemachine.history import timer as history_timer
from core.statemachine.history.service import activity as service_activity
from core.statemachine.history.service import timer as service_timer
from proofs.models.workflow_run import RESULT_EVENTS
from proofs.theorems.base import (
    Action,
    Evaluate,
    Result,
    System,
    Vars,
    Verdict,
    prove_inductive,
    timed,
)

ID = "THM-RESULT-AT-MOST-ONCE"
STATEMENT = (
    "From every reachable state, at most one result (close) event is ever written per "
    "scheduled activity and per started timer, for any number of activities, timers, "
    "attempts and late replies (inductive over the core transition tables)."
)
DROPPED = "drop the guard rejecting a completion of a closed activity"
PROPERTY = "at most one result per activity/timer"

ACTIVITY_CLOSED = frozenset({"Completed", "Failed", "TimedOut", "Canceled"})
SERVICE_ACTIVITY_CLOSED = frozenset({"Closed"})
TIMER_CLOSED = frozenset({"Fired", "Canceled"})
UNSCHEDULED = "Unscheduled"
SERVICE_TIMER_CLOSED = frozenset({"Closed"})

AnyTable = fsm.Table[Any, Any]
AnyRow = fsm.Row[Any, Any]


def _event_named(value: str) -> EventType | None:
    """``"ActivityTaskCompleted"`` -> EventType.ACTIVITY_TASK_COMPLETED (None if no such)."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", value).upper()
    return EventType.__members__.get(name)


def enters_closed(closed: frozenset[str]) -> Callable[[AnyRow], bool]:
    return lambda row: row.target.value in closed


def declared_results(row: AnyRow) -> int:
    """The result events a driving row declares it writes, less those it retracts."""
    written = sum(1 for e in row.writes if e in RESULT_EVENTS)
    return written - sum(1 for e in row.retracts if e in RESULT_EVENTS)


def input_results(row: AnyRow) -> int:
    """A history-table row: 1 if its input (the event) is a result event."""
    return 1 if _event_named(row.input.value) in RESULT_EVENTS else 0


@dataclass(frozen=True, slots=True)
class Subject:
    """One machine to prove the theorem for: its table, closed states, result rows."""

    table: AnyTable
    closed: frozenset[str]
    results: Callable[[AnyRow], int]  # result events a row writes
    total: bool = False  # a driving table: every (state, input) needs an unguarded row,
    # and some row must write a result


def core_subjects() -> tuple[Subject, ...]:
    """The four tables as core defines them right now."""
    return (
        Subject(service_activity.TABLE, SERVICE_ACTIVITY_CLOSED, declared_results, total=True),
        Subject(service_timer.TABLE, SERVICE_TIMER_CLOSED, declared_results, total=True),
        Subject(history_activity.TABLE, ACTIVITY_CLOSED, input_results),
        Subject(history_timer.TABLE, TIMER_CLOSED, input_results),
    )


def with_row(subject: Subject, row: AnyRow) -> Subject:
    """A copy of `subject` whose table has one more row (validated by `fsm.make_table`)."""
    table = subject.table
    return with_rows(subject, [*table.rows, row])


def with_rows(subject: Subject, rows: Sequence[AnyRow]) -> Subject:
    """A copy of `subject` whose table has exactly `rows` (validated by `make_table`)."""
    table = subject.table
    copy = fsm.make_table(
        table.name + " (modified)",
        table.rule,
        type(table.initial),
        type(table.inputs[0]),
        table.initial,
        rows,
    )
    return dataclasses.replace(subject, table=copy)


def undecided(table: AnyTable) -> list[str]:
    """The (state, input) pairs of `table` that no unguarded row decides."""
    return [
        f"{state.value} on {input_.value}"
        for state in table.states
        for input_ in table.inputs
        if (state, input_) not in table.next
    ]


def system(subject: Subject) -> System:
    table = subject.table
    values = [s.value for s in table.states]
    missing = subject.closed - set(values)
    if missing:  # a renamed state must not make the property vacuous
        raise ValueError(f"{table.name}: no state named {', '.join(sorted(missing))}")
    if subject.total and not any(subject.results(row) > 0 for row in table.rows):
        raise ValueError(f"{table.name}: no row declares a result event")  # nor empty writes
    # States are numbered (0 is "not yet scheduled"): plain integers need no sort
    # declaration, so the same table can be proved any number of times in one process.
    unscheduled = z3.IntVal(0)
    of = {state: z3.IntVal(n) for n, state in enumerate(table.states, 1)}
    closed_consts = [of[s] for s in table.states if s.value in subject.closed]

    def closed(x: Any) -> Any:
        return z3.Or([x == c for c in closed_consts])

    def variables(tag: str) -> Vars:
        return {
            "state": z3.Array(f"state_{tag}", z3.IntSort(), z3.IntSort()),
            "results": z3.Array(f"results_{tag}", z3.IntSort(), z3.IntSort()),
        }

    def entity(tag: str) -> Vars:
        return {"id": z3.Int(f"id_{tag}")}

    def schedule(s: Vars, p: Vars, t: Vars) -> Any:
        e = p["id"]
        return z3.And(
            s["state"][e] == unscheduled,
            t["state"] == z3.Store(s["state"], e, of[table.initial]),
            t["results"] == s["results"],
        )

    def row_action(rows: list[AnyRow]) -> Action:
        row = rows[0]
        written = subject.results(row)

        def relation(s: Vars, p: Vars, t: Vars) -> Any:
            e = p["id"]
            return z3.And(
                s["state"][e] == of[row.source],
                t["state"] == z3.Store(s["state"], e, of[row.target]),
                t["results"] == z3.Store(s["results"], e, s["results"][e] + written),
            )

        label = f"{row.source.value} --{row.label()}--> {row.target.value}"
        if len(rows) > 1:
            label += f" (or {len(rows) - 1} more rows of the same effect)"
        return Action(label, entity, relation, _describe(label))

    def invariant(s: Vars) -> Any:
        e = z3.Int("e")
        return z3.ForAll(e, s["results"][e] == z3.If(closed(s["state"][e]), 1, 0))

    def safety(s: Vars) -> Any:
        e = z3.Int("e")
        return z3.ForAll(e, s["results"][e] <= 1)

    def describe_state(ev: Evaluate, s: Vars) -> str:
        return (
            "no entity has written more than one result"
            if ev(safety(s))
            else ("an entity has written more than one result")
        )

    return System(
        name=table.name,
        variables=variables,
        init=lambda s: z3.And(
            s["state"] == z3.K(z3.IntSort(), unscheduled),
            s["results"] == z3.K(z3.IntSort(), z3.IntVal(0)),
        ),
        actions=(
            Action("schedule", entity, schedule, _describe(f"schedule ({table.initial.value})")),
            *(row_action(rows) for rows in effects(subject)),
        ),
        invariant=invariant,
        safety=safety,
        safety_name=PROPERTY,
        describe_state=describe_state,
    )


def effects(subject: Subject) -> list[list[AnyRow]]:
    """The table's rows grouped by effect (source, target, results written): rows that
    differ only by input, guard or a handler writing no result are one z3 action."""
    groups: dict[tuple[Any, Any, int], list[AnyRow]] = {}
    for row in subject.table.rows:
        groups.setdefault((row.source, row.target, subject.results(row)), []).append(row)
    return list(groups.values())


def _describe(label: str) -> Callable[[Evaluate, Vars, Vars, Vars], str]:
    def describe(ev: Evaluate, s: Vars, p: Vars, t: Vars) -> str:
        e = p["id"]
        return f"entity {ev(e)}: {label} (results written: {ev(t['results'][e])})"

    return describe


def _prove_all(subjects: Sequence[Subject]) -> Verdict:
    obligations = 0
    for subject in subjects:
        gaps = undecided(subject.table) if subject.total else []
        if gaps:
            return Verdict(False, f"{subject.table.name}: no row decides {gaps[0]}", obligations)
        verdict = prove_inductive(system(subject))
        obligations += verdict.obligations
        if not verdict.proved:
            return Verdict(False, f"{subject.table.name}: {verdict.counterexample}", obligations)
    return Verdict(True, None, obligations)


def prove(subjects: Sequence[Subject] | None = None) -> Result:
    """Prove the theorem for `subjects` (default: the tables core defines)."""
    chosen = core_subjects() if subjects is None else tuple(subjects)
    return timed(ID, STATEMENT, "theorem", lambda: _prove_all(chosen))


def late_completion_row() -> AnyRow:
    """The bad row of the negative variant: a closed activity accepts a completion
    (the row that rejects it, with its guard, replaced by the completing handler)."""
    s, i = service_activity.PendingActivityState, service_activity.ActivityInput
    completing = fsm.decide(service_activity.TABLE, s.STARTED, i.RESPOND_COMPLETED, _unguarded)
    return dataclasses.replace(completing, source=s.CLOSED, target=s.CLOSED)


def _unguarded(guard: str) -> bool:
    return False


def _guard_row(row: AnyRow) -> bool:
    late = late_completion_row()
    return (row.source, row.input) == (late.source, late.input)


def without_guard_row() -> Subject:
    """The service activity table without its row for a completion of a closed one."""
    subject = core_subjects()[0]
    return with_rows(subject, [r for r in subject.table.rows if not _guard_row(r)])


def prove_negative() -> Result:
    """The service activity table completing a closed activity: must not be proved."""
    subjects = list(core_subjects())
    rows = [r for r in subjects[0].table.rows if not _guard_row(r)]
    subjects[0] = with_rows(subjects[0], [*rows, late_completion_row()])
    return timed(ID, STATEMENT, f"negative: {DROPPED}", lambda: _prove_all(subjects))


def prove_without_guard_row() -> Result:
    """The service activity table with the duplicate-completion row removed."""
    subjects = [without_guard_row(), *core_subjects()[1:]]
    return timed(ID, STATEMENT, "negative: guard row removed", lambda: _prove_all(subjects))
