"""ResetWorkflowExecution on a history host: the core's reset (core reset.py) over the
run's stored history and the runs it continued as new into, committed as one write.

Split out of sim/nodes/history.py, which calls `reset_run` for a reset request.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from core import requests as rq
from core.events import HistoryEvent, WorkflowExecutionContinuedAsNewEventAttributes
from core.statemachine.history.service import reset as resetlib
from core.statemachine.history.service.state import MutableState
from sim.nodes.base import Payload
from sim.persistence import Mutation, Persistence

if TYPE_CHECKING:
    from sim.nodes.history import HistoryHost, Shard


def reset_run(
    host: HistoryHost,
    sh: Shard,
    namespace: str,
    workflow_id: str,
    run_id: str,
    loaded: tuple[MutableState, int],
    req: rq.ResetWorkflowExecution,
    now: int,
) -> Payload:
    """Reset run `run_id` (core reset.py) and commit the base run, the current run
    (when it is another) and the new run in one transaction; the new run becomes
    the workflow's current run (`persistToDB` in ndc/workflow_resetter.go)."""
    current_id = host.persistence.current.get((namespace, workflow_id), run_id)
    current = host._load(sh, current_id) if current_id != run_id else None
    events = tuple(host.persistence.runs[run_id].events)
    if host.prefix_size is not None:  # the rebuilt run: the events before the point
        size = host.prefix_size(run_id, req.workflow_task_finish_event_id)
        req = dataclasses.replace(req, history_size_bytes=size)
    result = resetlib.reset(
        loaded[0],
        events,
        req,
        resetlib.reset_run_id(current_id, req.request_id),
        now,
        current[0] if current is not None else None,
        continued(host.persistence, events),
    )
    if result.new_run is None:
        return result.reply
    parts = [(loaded, result.base)]
    if current is not None and result.current is not None:
        parts.append((current, result.current))
    mutations: list[Mutation] = []
    owned: list[tuple[str, rq.Task]] = []
    for (_, version), outcome in parts:
        state = outcome.state
        mutations.append(Mutation(state.run_id, workflow_id, version, state, outcome.events))
        owned.extend((state.run_id, task) for task in outcome.tasks)
    new = result.new_run.state
    mutations.append(Mutation(new.run_id, workflow_id, 0, new, result.new_run.events))
    owned.extend((new.run_id, task) for task in result.new_run.tasks)
    return host._write(sh, mutations, owned, namespace, result.reply)[0]


def continued(
    persistence: Persistence, events: tuple[HistoryEvent, ...]
) -> tuple[tuple[HistoryEvent, ...], ...]:
    """The histories of the runs a run continued as new into, in chain order, as far
    as they exist (the chain `reapplyContinueAsNewWorkflowEvents` follows)."""
    chain: list[tuple[HistoryEvent, ...]] = []
    while events:
        closing = events[-1].attributes
        if not isinstance(closing, WorkflowExecutionContinuedAsNewEventAttributes):
            break
        record = persistence.runs.get(closing.new_execution_run_id)
        if record is None:
            break
        events = tuple(record.events)
        chain.append(events)
    return tuple(chain)
