"""Replay a history, or answer a workflow task live: the two ways to drive an Execution.

A history is cut into workflow tasks at each WorkflowTaskStarted that a
WorkflowTaskCompleted follows (tasks that failed or timed out are skipped: their events
reach the next task, as in the SDKs). Each slice - the events since the previous task,
up to and including its WorkflowTaskStarted - is one `Execution.activate`; the task's
command events (right after its WorkflowTaskCompleted) are handed over as `lookahead`,
which is where replay finds local-activity results, patch markers and accepted updates.
A final WorkflowTaskStarted with nothing after it is the task a live worker must answer.

`answer_task` is a worker's step: with a cached Execution whose last answer the history
shows completed, only the new events are applied (a sticky cache hit); otherwise the
whole history is replayed cold. THM-3.1's property tests check that both give the same
commands at every task.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter

from core.enums import EventType
from core.errors import BadPayload, Nondeterminism, PotentialDeadlock
from core.events import HistoryEvent, WorkflowTaskCompletedEventAttributes
from core.fastinit import fast_init_all
from core.requests import UpdateWorkflowExecution
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.engine import Execution, Guard, LocalActivityRunner
from core.statemachine.replay.entity import Activation
from core.statemachine.replay.matching import RECORDED_EVENTS, in_batch

E = EventType
# Members read once: reading one off its enum class runs through EnumType's attribute
# hook, several times slower than reading a module global, and these are read per event.
_WFT_STARTED = E.WORKFLOW_TASK_STARTED
_WFT_COMPLETED = E.WORKFLOW_TASK_COMPLETED
_CANCELED = E.ACTIVITY_TASK_CANCELED  # the one type in_batch can hold for
_TYPE = attrgetter("event_type")


@dataclass(frozen=True, slots=True)
class Slice:
    end: int  # index of the task's WorkflowTaskStarted in the history
    lookahead: tuple[HistoryEvent, ...]  # its command events (empty for a live task)
    live: bool  # the history ends with this task: it is to be answered


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What replaying a whole history gave: each task's answer and the run's end state."""

    tasks: tuple[tuple[int, Activation], ...]  # (WorkflowTaskStarted id, answer)
    state: tuple[str, ...]  # a snapshot of the workflow object and how the run ended
    execution: Execution


def slices(history: Sequence[HistoryEvent]) -> list[Slice]:
    out: list[Slice] = []
    # Every cold replay scans the whole history: the types are read, and each
    # WorkflowTaskStarted found, by C loops (map, list.count, list.index) rather than a
    # Python loop. Counting first means the search never runs off the end: a failed
    # `index` raises a ValueError whose message formats the member's repr, which
    # cost more than the whole search.
    types = list(map(_TYPE, history))
    end = len(types)
    i = -1
    for _ in range(types.count(_WFT_STARTED)):
        i = types.index(_WFT_STARTED, i + 1)
        if types[i] is not _WFT_STARTED:  # equal but not the member: as the loop did
            continue
        if i + 1 == end:
            out.append(Slice(i, (), True))
        elif types[i + 1] is _WFT_COMPLETED:
            j = i + 2
            while j < end and (
                types[j] in RECORDED_EVENTS
                or (types[j] is _CANCELED and in_batch(history[j], history[j - 1]))
            ):
                j += 1
            out.append(Slice(i, tuple(history[i + 2 : j]), False))
    return out


def replay(
    definition: Definition,
    history: Sequence[HistoryEvent],
    *,
    workflow_id: str = "",
    run_local: LocalActivityRunner | None = None,
    guard: Guard | None = None,
) -> ReplayResult:
    """Replay a whole history; raises `Nondeterminism` where code and history part
    (`BadPayload` and `PotentialDeadlock` as `Execution.activate` does)."""
    ex = Execution(definition, workflow_id, guard)
    tasks = _replay_into(ex, history, run_local)
    return ReplayResult(tuple(tasks), snapshot(ex), ex)


def check_replay(
    definition: Definition,
    history: Sequence[HistoryEvent],
    *,
    run_local: LocalActivityRunner | None = None,
    guard: Guard | None = None,
) -> None:
    """Replay a whole history only to learn that it replays: raises as `replay` does,
    else releases the run. A replay check reads neither the answers nor the end state,
    so neither is kept or described (the simulator checks every closed history so)."""
    ex = Execution(definition, "", guard)
    _replay_into(ex, history, run_local)
    ex.release()


def _replay_into(
    ex: Execution, history: Sequence[HistoryEvent], run_local: LocalActivityRunner | None
) -> list[tuple[int, Activation]]:
    """`replay`'s work on `ex`: every task of `history`, then its tail; the answers."""
    tasks: list[tuple[int, Activation]] = []
    position = 0
    for piece, answer in _activations(ex, history, (), run_local):
        position = piece.end + 1
        if answer.failure is not None and not piece.live:
            completed = history[position]
            raise Nondeterminism(
                completed.event_id,
                f"{completed.event_type.name} (event {completed.event_id})",
                f"a failed workflow task ({answer.failure})",
            )
        tasks.append((history[piece.end].event_id, answer))
    ex.apply_all(history[position:])
    ex.finish()
    return tasks


def _activations(
    ex: Execution,
    history: Sequence[HistoryEvent],
    updates: Sequence[UpdateWorkflowExecution],
    run_local: LocalActivityRunner | None,
) -> Iterator[tuple[Slice, Activation]]:
    """Feed `history` to `ex` one workflow task at a time (the module docstring)."""
    position = 0
    for piece in slices(history):
        answer = ex.activate(
            history[position : piece.end + 1],
            replaying=not piece.live,
            lookahead=piece.lookahead,
            update_requests=updates if piece.live else (),
            run_local=run_local if piece.live else None,
        )
        position = piece.end + 1
        yield piece, answer


def answer_task(
    definition: Definition,
    cached: Execution | None,
    history: Sequence[HistoryEvent],
    *,
    updates: Sequence[UpdateWorkflowExecution] = (),
    run_local: LocalActivityRunner | None = None,
    workflow_id: str = "",
    guard: Guard | None = None,
) -> tuple[Execution | None, Activation]:
    """Answer the task whose WorkflowTaskStarted ends `history`.

    Returns the Execution to cache (None after nondeterminism, an undecodable payload
    or a potential deadlock: the SDKs evict the run then) and the answer; an answer
    with `failure` set must be sent as RespondWorkflowTaskFailed.
    """
    try:
        if cached is not None and continues(cached, history):
            answer = cached.activate(
                history[cached.consumed :], update_requests=updates, run_local=run_local
            )
            return cached, answer
        ex = Execution(definition, workflow_id, guard)
        # Earlier tasks replay; the last one is the task being answered.
        answers = [answer for _, answer in _activations(ex, history, updates, run_local)]
        return ex, answers[-1] if answers else Activation((), ())
    except Nondeterminism as error:
        return None, Activation((), (), failure=f"nondeterminism: {error}")
    except BadPayload as error:
        return None, Activation((), (), failure=f"cannot decode a payload: {error}")
    except PotentialDeadlock as error:
        return None, Activation((), (), failure=str(error))


def continues(cached: Execution, history: Sequence[HistoryEvent]) -> bool:
    """Does `history` extend what `cached` has seen, with its last answer accepted?"""
    if cached.bug is not None or len(history) <= cached.consumed:
        return False
    nxt = history[cached.consumed]
    a = nxt.attributes
    return (
        nxt.event_id == cached.consumed + 1
        and isinstance(a, WorkflowTaskCompletedEventAttributes)
        and a.started_event_id == cached.answered
    )


def query(
    definition: Definition,
    history: Sequence[HistoryEvent],
    name: str,
    args: Sequence[object] = (),
    guard: Guard | None = None,
) -> object:
    """Answer a query by replaying the history (read-only: nothing is produced)."""
    result = replay(definition, history, guard=guard)
    try:
        return result.execution.query(name, list(args))
    finally:
        result.execution.release()


def snapshot(ex: Execution) -> tuple[str, ...]:
    """The run's observable end state: its fields and its close, as text."""
    fields = (
        vars(ex.instance) if ex.instance is not None and hasattr(ex.instance, "__dict__") else {}
    )
    closing = ex.run_entity.state.name
    return (closing, *(f"{k}={fields[k]!r}" for k in sorted(fields)))


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
