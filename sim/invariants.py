"""The invariants, checked during and at the end of a run; each names its ID.

IDs are those of spec/README.md. During the run, on every commit (the monitor sees
what persistence saw): INV-SINGLE-SHARD-WRITER (the write's range id is the shard
row's), INV-RUN-CLOSES-ONCE (nothing is committed to a closed run, one close event),
and, when a run closes, the history rules (the validator's own rule ids, H1..H19),
INV-RESULT-AT-MOST-ONCE (one result per activity, one fire per timer) and the replay
hook (THM-3.1: a cold replay of every completed workflow task produces the commands
the history holds; a worker's own replay never meets a nondeterminism either, since
the code never changes); and on every request, INV-TABLE-ROW (a driving row's handler
that strays from its row raises `fsm.RowBroken`, which the history host reports under
`transition_rule`). On every delivery of a task to a worker:
INV-NO-UNCAUSED-REDELIVERY (sim/accounting.py: a task delivered again has a recorded
cause). At the end: INV-DURABLE-HISTORY (what persistence holds is, event for event,
what was committed; a run deleted at the end of its retention, after the deletion's
checks passed, counts as kept: sim/retention.py), INV-ACTIVITY-AT-LEAST-ONCE (every
activity attempt whose answer history accepted or recorded was executed by a worker,
sim/accounting.py), INV-WORKFLOW-EXACTLY-ONCE (each workflow chain has one final
close; a run a reset terminated has none, the reset's new run goes on), INV-NO-LOST-TASK (matching's
ledger; every pending task of an open run is in matching or the outbox) and
INV-EVENTUALLY-CLOSED (every chain closed within a bound of virtual time after the
faults stopped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from core.enums import EventType
from core.errors import InvalidTransition
from core.event_sets import CLOSE_EVENT_TYPES, COMMAND_EVENT_TYPES
from core.events import (
    HistoryEvent,
    TimerFiredEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
)
from core.statemachine.fsm import ROW_RULE, RowBroken, Table
from core.statemachine.history.service import (
    activity,
    child,
    execution,
    external,
    timer,
    update,
)
from core.statemachine.history.service import workflow_task as wft
from core.statemachine.history.service.reset import RESETTER
from core.statemachine.history.validator import validate
from core.statemachine.replay.matching import recorded_as
from sim.accounting import Ledger
from sim.persistence import Commit, Mutation
from sim.run import Violation
from sim.scripted_workflow import ACTIVITY_CLOSES
from sim.workflow_code import WorkflowCode

E = EventType
SERVICE_MACHINES = (activity, child, execution, external, timer, update, wft)  # their tables
EVENTUALLY_BOUND = 120 * 1_000_000_000  # virtual ns after the last fault heals
ReplayCheck = Callable[[str, Sequence[HistoryEvent]], list[str]]


class Monitor:
    """Collects violations as the run goes; `finish` adds the end-of-run checks."""

    def __init__(self, kernel: Any, replay: ReplayCheck | None) -> None:
        self.kernel = kernel
        self.replay = replay  # THM-3.1 hook; the replay engine plugs in here
        self.violations: list[Violation] = []
        self.ghost: dict[str, list[HistoryEvent]] = {}
        self.workflow_of: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.closed: dict[str, EventType] = {}  # run id -> close event type
        self.final_closes: Counter[str] = Counter()  # workflow id -> final closes
        # The client's workflows (children and other chains are not counted to finish).
        self.watched: frozenset[str] = frozenset()
        self.watched_closed = 0
        self.events = 0
        # Deliveries, executions and their causes (sim/accounting.py); the cluster
        # tells it how many disturbing faults were injected so far.
        self.ledger = Ledger(self.violate, lambda: 0)
        # Runs deleted at the end of their retention after the deletion's checks passed
        # (sim/retention.py): gone from persistence, and accounted for.
        self.deleted: set[str] = set()

    def violate(self, id_: str, message: str, run_id: str | None = None) -> None:
        self.violations.append(Violation(id_, message, self.kernel.now, run_id))
        self.kernel.log("monitor", f"VIOLATION {id_} {run_id or '-'} {message}")

    def adopt(
        self, run_id: str, workflow_id: str, workflow_type: str, events: Sequence[HistoryEvent]
    ) -> None:
        """A run committed before this monitor began (a live server reopening its
        store): its history so far counts as seen, and a close in it as made."""
        self.ghost[run_id] = list(events)
        self.workflow_of[run_id] = workflow_id
        self.types[run_id] = workflow_type
        self.events += len(events)
        for event in events:
            if event.event_type in CLOSE_EVENT_TYPES:
                self.closed.setdefault(run_id, event.event_type)

    # -- during the run ---------------------------------------------------------------
    def on_commit(self, commit: Commit, mutations: tuple[Mutation, ...]) -> None:
        if commit.range_id != commit.row_range_id:
            self.violate(
                "INV-SINGLE-SHARD-WRITER",
                f"shard-{commit.shard} written with range id {commit.range_id} while the "
                f"row holds {commit.row_range_id}",
            )
        for m in mutations:
            if not m.events:
                continue
            run_id = m.run_id
            ghost = self.ghost.get(run_id)
            if ghost is None:
                ghost = self.ghost[run_id] = []
                self.workflow_of[run_id] = m.workflow_id
                self.types[run_id] = m.state.workflow_type
            if run_id in self.closed:
                self.violate(
                    "INV-RUN-CLOSES-ONCE", f"{len(m.events)} events after the close", run_id
                )
            ghost.extend(m.events)
            self.events += len(m.events)
            for event in m.events:
                if event.event_type in CLOSE_EVENT_TYPES:
                    self._closed(run_id, event)

    def _closed(self, run_id: str, event: HistoryEvent) -> None:
        close = event.event_type
        if run_id in self.closed:
            self.violate("INV-RUN-CLOSES-ONCE", f"a second close {close.name}", run_id)
            return
        self.closed[run_id] = close
        if close is not E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW and not _reset_away(event):
            workflow_id = self.workflow_of[run_id]
            self.final_closes[workflow_id] += 1
            if workflow_id in self.watched and self.final_closes[workflow_id] == 1:
                self.watched_closed += 1
        self.kernel.after(0, self.check_history, run_id)  # after the whole commit

    def check_history(self, run_id: str) -> None:
        history = self.ghost[run_id]
        for v in validate(history).violations:
            self.violate(v.rule, f"event {v.event_id}: {v.message}", run_id)
        for message in results_at_most_once(history):
            self.violate("INV-RESULT-AT-MOST-ONCE", message, run_id)
        if self.replay is not None and run_id in self.closed:
            for message in self.replay(self.types[run_id], history):
                self.violate("THM-3.1", message, run_id)

    # -- at the end -------------------------------------------------------------------
    def finish(
        self,
        persisted: dict[str, list[HistoryEvent]],
        workflows: Sequence[str],
        matching_problems: Sequence[str],
        lost_tasks: Sequence[tuple[str, str]],
        heal_time: int,
    ) -> None:
        self.finish_histories(persisted)
        for run_id, message in self.ledger.unexecuted(self.ghost):
            self.violate("INV-ACTIVITY-AT-LEAST-ONCE", message, run_id)
        self.finish_workflows(workflows, heal_time)
        self.finish_tasks(matching_problems, lost_tasks)

    def finish_histories(self, persisted: dict[str, list[HistoryEvent]]) -> None:
        """The history rules on runs still open, and INV-DURABLE-HISTORY on all."""
        for run_id in sorted(self.ghost):
            if run_id not in self.closed:
                self.check_history(run_id)
            if persisted.get(run_id) != self.ghost[run_id] and not self.accounted(
                run_id, persisted
            ):
                self.violate(
                    "INV-DURABLE-HISTORY", "persisted history differs from commits", run_id
                )

    def accounted(self, run_id: str, persisted: dict[str, list[HistoryEvent]]) -> bool:
        """A run missing from persistence is accounted for if a deletion that passed
        its checks removed it; any other missing run is a lost history."""
        return run_id in self.deleted and run_id not in persisted

    def finish_workflows(self, workflows: Sequence[str], heal_time: int) -> None:
        """INV-WORKFLOW-EXACTLY-ONCE and INV-EVENTUALLY-CLOSED over the client's workflows."""
        for workflow_id in workflows:
            closes = self.final_closes[workflow_id]
            if closes > 1:
                self.violate("INV-WORKFLOW-EXACTLY-ONCE", f"{workflow_id} closed {closes} times")
            elif closes == 0:
                late = self.kernel.now - heal_time
                self.violate(
                    "INV-EVENTUALLY-CLOSED", f"{workflow_id} open {late} ns after faults healed"
                )

    def finish_tasks(
        self, matching_problems: Sequence[str], lost_tasks: Sequence[tuple[str, str]]
    ) -> None:
        """INV-NO-LOST-TASK: matching's ledger, and every waiting task held somewhere."""
        for problem in matching_problems:
            self.violate("INV-NO-LOST-TASK", problem)
        for run_id, what in lost_tasks:
            self.violate(
                "INV-NO-LOST-TASK", f"{what} is in neither matching nor the outbox", run_id
            )


def service_rule(machine: str) -> str:
    """The rule ID of the service machine named `machine` (its table's `rule`)."""
    for module in SERVICE_MACHINES:
        for value in vars(module).values():
            if isinstance(value, Table) and value.name == machine:
                return value.rule
    return machine


def transition_rule(error: InvalidTransition) -> str:
    """The rule an invalid transition inside the service breaks: ``INV-TABLE-ROW`` when a
    driving row's handler did not do what the row says (`fsm.RowBroken`), else the rule of
    the machine that had no row for the input."""
    return ROW_RULE if isinstance(error, RowBroken) else service_rule(error.machine)


def _reset_away(close: HistoryEvent) -> bool:
    """A run terminated by a reset: its workflow goes on in the reset's new run, which
    makes the final close (`IsTerminatedByResetter` in ndc/workflow_resetter.go)."""
    attrs = close.attributes
    return isinstance(attrs, WorkflowExecutionTerminatedEventAttributes) and (
        attrs.identity == RESETTER
    )


def results_at_most_once(history: Sequence[HistoryEvent]) -> list[str]:
    results: Counter[int] = Counter()
    fires: Counter[str] = Counter()
    for event in history:
        a = event.attributes
        if isinstance(a, ACTIVITY_CLOSES):
            results[a.scheduled_event_id] += 1
        elif isinstance(a, TimerFiredEventAttributes):
            fires[f"{a.timer_id}/{a.started_event_id}"] += 1
    out = [f"activity {sid} has {n} results" for sid, n in sorted(results.items()) if n > 1]
    out += [f"timer {tid} fired {n} times" for tid, n in sorted(fires.items()) if n > 1]
    return out


def replay_check(code: WorkflowCode) -> ReplayCheck:
    """THM-3.1 over the `WorkflowCode` door: replay each completed workflow task cold.

    Code that can replay a whole history itself (the replay engine, sim/replay_code.py)
    does so: every command event is then matched, not just the command types.
    """
    whole = getattr(code, "replay_check", None)
    if callable(whole):
        return lambda workflow_type, history: list(whole(workflow_type, history))

    def check(workflow_type: str, history: Sequence[HistoryEvent]) -> list[str]:
        out: list[str] = []
        for i, event in enumerate(history):
            if event.event_type is not E.WORKFLOW_TASK_COMPLETED:
                continue
            _, answer = code.answer_task(workflow_type, None, history[:i], ())
            produced = [recorded_as(c.command_type) for c in answer.commands]
            recorded = []
            for later in history[i + 1 :]:
                if later.event_type is E.WORKFLOW_TASK_SCHEDULED:
                    break
                if later.event_type in COMMAND_EVENT_TYPES:
                    recorded.append(later.event_type)
            if produced != recorded:
                names = [p.name if p else "?" for p in produced]
                out.append(
                    f"replay of task {event.event_id} gives {names}, history has "
                    f"{[r.name for r in recorded]}"
                )
                break
        return out

    return check
