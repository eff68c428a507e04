"""Workflow code behind the `WorkflowCode` door: the replay engine over core.workflow.

Every workflow task a simulated worker answers is real workflow code (sim/patterns.py)
re-run by the replay engine (core/statemachine/replay/): with the worker's sticky cache
entry when it has one, by a cold replay of the whole history when it does not. A
nondeterminism, a bug in the code, or code that does not yield within the deadlock
bound (sim/deadlock.py) fails the task (RespondWorkflowTaskFailed), as an SDK worker
does; a nondeterminism is marked as such, since the simulator never changes the code a
history was written by (the workers report it as THM-3.1). `replay_check` is THM-3.1
over each final history: replaying it against the same code must match every command
event it holds. A run the worker is done with (the replayed one, a cache entry a cold
replay replaced) is released (`Execution.release`), so it is freed at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.errors import BadPayload, Nondeterminism, PotentialDeadlock
from core.events import HistoryEvent
from core.requests import UpdateWorkflowExecution
from core.statemachine.replay import driver
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.engine import Execution, Guard
from sim.deadlock import DeadlockGuard
from sim.workflow_code import TaskAnswer

NONDETERMINISM = "nondeterminism: "  # how driver.answer_task starts such a failure


def run_local_activity(activity_type: str, args: list[object], attempt: int) -> object:
    """Local activities in the simulator succeed at once with a value of their inputs."""
    return f"{activity_type}{args}"


class ReplayCode:
    """`WorkflowCode` backed by the replay engine and a set of workflow definitions."""

    def __init__(self, definitions: Mapping[str, Definition], guard: Guard | None = None) -> None:
        self.definitions = definitions
        self.guard = guard if guard is not None else DeadlockGuard()

    def answer_task(
        self,
        workflow_type: str,
        cached: object | None,
        history: Sequence[HistoryEvent],
        updates: Sequence[UpdateWorkflowExecution],
    ) -> tuple[object, TaskAnswer]:
        definition = self.definitions.get(workflow_type)
        if definition is None:
            return None, TaskAnswer(failure=f"no workflow type {workflow_type!r} registered")
        given = cached if isinstance(cached, Execution) else None
        execution, answer = driver.answer_task(
            definition,
            given,
            history,
            updates=updates,
            run_local=run_local_activity,
            guard=self.guard,
        )
        if given is not None and execution is not given:
            given.release()  # replaced (a cold replay) or dropped (a failure): done with
        failure = answer.failure
        nondeterministic = failure is not None and failure.startswith(NONDETERMINISM)
        return execution, TaskAnswer(
            answer.commands, answer.messages, False, failure, nondeterministic
        )

    def query(self, workflow_type: str, history: Sequence[HistoryEvent], name: str) -> object:
        definition = self.definitions.get(workflow_type)
        if definition is None or name not in definition.queries:
            return None
        try:
            return driver.query(definition, history, name, guard=self.guard)
        except (Nondeterminism, BadPayload, PotentialDeadlock) as error:
            return f"query failed: {error}"

    def replay_check(self, workflow_type: str, history: Sequence[HistoryEvent]) -> list[str]:
        """THM-3.1: the final history replays against the code that wrote it."""
        definition = self.definitions.get(workflow_type)
        if definition is None:
            return [f"no workflow type {workflow_type!r} registered"]
        try:  # the replayed run is released: nothing reads it
            driver.check_replay(definition, history, run_local=run_local_activity, guard=self.guard)
        except (Nondeterminism, BadPayload, PotentialDeadlock) as error:
            return [str(error)]
        return []
