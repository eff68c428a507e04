"""The one door through which workers run workflow code.

Workers call workflow logic only through `WorkflowCode.answer_task` (and `query`):

    answer_task(workflow_type, cached, history, updates) -> (new_cached, TaskAnswer)

`history` is the run's full history up to and including the WorkflowTaskStarted being
answered; `cached` is the worker's sticky-cache entry for the run (None after a crash
or eviction, or when the task did not come through the sticky queue). Two
implementations: `ScriptedCode` runs the scripted workflow of `sim.scripted_workflow`
(a pure function of the history), and `sim/replay_code.py` runs workflow code through
the replay engine (`core/statemachine/replay/`, authoring API `core/workflow.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.commands import Command
from core.events import HistoryEvent, WorkflowExecutionSignaledEventAttributes
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.requests import (
    UpdateMessage,
    UpdateMessageKind,
    UpdateWorkflowExecution,
)
from sim.scripted_workflow import Spec, decide


@dataclass(frozen=True, slots=True)
class TaskAnswer:
    """A worker's answer to one workflow task; `failure` set -> RespondWorkflowTaskFailed."""

    commands: tuple[Command, ...] = ()
    messages: tuple[UpdateMessage, ...] = ()
    force_new_task: bool = False
    failure: str | None = None
    # The failure is a nondeterminism: replaying the history did not match the code.
    nondeterministic: bool = False


class WorkflowCode(Protocol):
    def answer_task(
        self,
        workflow_type: str,
        cached: object | None,
        history: Sequence[HistoryEvent],
        updates: Sequence[UpdateWorkflowExecution],
    ) -> tuple[object, TaskAnswer]: ...

    def query(self, workflow_type: str, history: Sequence[HistoryEvent], name: str) -> object:
        """A read-only answer computed from the history (a replay-based query)."""
        ...


class ScriptedCode:
    """The adapter over the scripted workflow of `sim.scripted_workflow`.

    The cache holds the decoded `Spec` (the workflow's input), as an SDK keeps its
    workflow instance; commands come from the history alone, so a cold replay and a
    live worker agree. Updates are accepted and answered in the same task.
    """

    def answer_task(
        self,
        workflow_type: str,
        cached: object | None,
        history: Sequence[HistoryEvent],
        updates: Sequence[UpdateWorkflowExecution],
    ) -> tuple[object, TaskAnswer]:
        spec = cached if isinstance(cached, Spec) else Spec.from_history(history)
        commands = decide(spec, history)
        messages: list[UpdateMessage] = []
        for update in updates:
            messages.append(
                UpdateMessage(
                    f"{update.update_id}/accept", update.update_id, UpdateMessageKind.ACCEPT
                )
            )
            messages.append(
                UpdateMessage(
                    f"{update.update_id}/respond",
                    update.update_id,
                    UpdateMessageKind.RESPOND,
                    Opaque.of("updated"),
                )
            )
        return spec, TaskAnswer(commands=commands, messages=tuple(messages))

    def query(self, workflow_type: str, history: Sequence[HistoryEvent], name: str) -> object:
        if name == "signals":
            return sum(
                isinstance(e.attributes, WorkflowExecutionSignaledEventAttributes) for e in history
            )
        return len(history)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
