"""Matching's handlers: add a task, poll, history's Record*Started reply, poll expiry.

Each handler is a pure function ``(state, ...) -> (state, outcome)``. Matching is greedy:
after every handler no Waiting poller whose deadline is still ahead can see a live
backlog task, so a task meets a poller the moment both exist (sync match) and waits in
the backlog only while no poller can take it.
"""

from __future__ import annotations

from core.errors import BadInput, InvalidTransition
from core.statemachine.fsm import step
from core.statemachine.matching.poller import TABLE as POLLER_TABLE
from core.statemachine.matching.poller import PollerInput, PollerState
from core.statemachine.matching.task import (
    DROP_REASON,
    REPLY_INPUT,
    RULE,
    DropReason,
    RecordStartedReply,
    TaskInput,
    TaskState,
)
from core.statemachine.matching.task import TABLE as TASK_TABLE
from core.statemachine.matching.values import (
    AddOutcome,
    Backlogged,
    Dispatch,
    Dropped,
    MatchingConfig,
    MatchingState,
    MatchingTask,
    Poller,
    PollExpired,
    PollOutcome,
    QueueKind,
    ReplyOutcome,
    StickyWorkerUnavailable,
    TaskEntry,
    TaskKey,
    TaskQueue,
    Waiting,
)
from core.statemachine.shard import fingerprint32

# --- partitions ----------------------------------------------------------------------------


def pick_partition(key: str, partitions: int) -> int:
    """A pinned partition index in ``0..partitions-1`` for `key` (SHA-256 based)."""
    if partitions == 1:
        return 0  # `x % 1`: no hash to compute (every sticky queue)
    # Task identities and poller ids are each hashed once: the memo would only churn.
    return _fingerprint32(key) % partitions


_fingerprint32 = fingerprint32.__wrapped__  # `fingerprint32` without its lru_cache


def partition_count(config: MatchingConfig, queue: TaskQueue, *, write: bool) -> int:
    """How many partitions an add (`write`) or a poll may use; a sticky queue has one."""
    if queue.kind is QueueKind.STICKY:
        return 1
    return config.write_partitions if write else config.read_partitions


def _partition(count: int, queue: TaskQueue, key: str, partition: int | None) -> int:
    """The partition of `count` (`partition_count`'s answer) that `partition` names,
    else the one `key` pins."""
    if partition is None:
        return pick_partition(key, count)
    if not 0 <= partition < count:
        raise BadInput(f"partition {partition} outside 0..{count - 1} of {queue.name!r}")
    return partition


# --- queries -------------------------------------------------------------------------------


def has_recent_poller(state: MatchingState, queue: TaskQueue, now: int) -> bool:
    """`HasPollerAfter(now - 10 s)`: a poll is outstanding, or one arrived in the window."""
    for p in state.pollers:
        if (p.queue is queue or p.queue == queue) and (
            p.state is PollerState.OFFERED or p.deadline > now
        ):
            return True
    for q, last in state.last_poll:
        if q is queue or q == queue:
            return last > now - state.config.sticky_window
    return False


def find_task(state: MatchingState, key: TaskKey) -> TaskEntry | None:
    """The entry of task `key`, wherever it is, or None if it was never added."""
    for entries in (state.dispatching, state.backlog, state.finished):
        for e in entries:
            if e.key == key:
                return e
    return None


def violations(state: MatchingState) -> tuple[str, ...]:
    """Every way `state` breaks ``INV-NO-LOST-TASK``; empty when it holds.

    Each task ever added is in exactly one place, in a state that fits it; a dropped task
    has a reason; each Dispatching task is held by exactly one Offered poller.
    """
    out: list[str] = []
    keys = sorted(e.key for e in (*state.backlog, *state.dispatching, *state.finished))
    if keys != list(range(1, state.next_key)):
        out.append(f"{RULE}: task keys {keys} are not exactly 1..{state.next_key - 1}")
    places = (
        ("backlog", state.backlog, {TaskState.BACKLOG}),
        ("dispatching", state.dispatching, {TaskState.DISPATCHING}),
        ("finished", state.finished, {TaskState.DELIVERED, TaskState.DROPPED}),
    )
    for where, entries, allowed in places:
        for e in entries:
            if e.state not in allowed:
                out.append(f"{RULE}: task {e.key} in {where} is {e.state.value}")
            if (e.state is TaskState.DROPPED) != (e.reason is not None):
                out.append(f"{RULE}: task {e.key} is {e.state.value} with reason {e.reason}")
            if e.state is TaskState.DELIVERED and e.poller_id is None:
                out.append(f"{RULE}: task {e.key} delivered to no poller")
    held = {e.key: e.poller_id for e in state.dispatching}
    offered = {p.task_key: p.poller_id for p in state.pollers if p.state is PollerState.OFFERED}
    if held != offered:
        out.append(f"{RULE}: dispatching {held} disagrees with offered pollers {offered}")
    ids = [p.poller_id for p in state.pollers]
    if len(ids) != len(set(ids)):
        out.append(f"{RULE}: duplicate poller ids {sorted(ids)}")
    return tuple(out)


# --- handlers ------------------------------------------------------------------------------


def add_task(
    state: MatchingState,
    queue: TaskQueue,
    task: MatchingTask,
    now: int,
    partition: int | None = None,
) -> tuple[MatchingState, AddOutcome]:
    """AddWorkflowTask / AddActivityTask: sync match to a waiting poller, or backlog.

    `partition` picks the write partition; None pins it by a hash of the task's identity.
    A sticky queue without a recent poller answers `StickyWorkerUnavailable` and keeps
    nothing. Calling this twice for the same task adds two entries (at-least-once).
    """
    if task.kind is not queue.task_type or task.namespace != queue.namespace:
        raise BadInput(f"a {task.kind.value} task of {task.namespace!r} cannot go to {queue}")
    if queue.kind is QueueKind.STICKY and not has_recent_poller(state, queue, now):
        return state, StickyWorkerUnavailable(queue)
    count = partition_count(state.config, queue, write=True)
    if partition is None and count == 1:
        part = 0  # one partition (a sticky queue): no identity to build and hash
    else:
        identity = f"{task.namespace}/{task.workflow_id}/{task.run_id}/{task.scheduled_event_id}"
        part = _partition(count, queue, identity, partition)
    key = state.next_key
    entry = TaskEntry(key, queue, part, task, TaskState.BACKLOG)
    poller = _pick_poller(state, queue, part, now)
    if poller is None:
        backlog = state.backlog + (entry,)  # noqa: RUF005 (see _with)
        return _with(state, next_key=key + 1, backlog=backlog), Backlogged(key)
    if _expired(task, now):
        gone = _advance(entry, TaskInput.EXPIRED)
        new = _with(state, next_key=key + 1, finished=state.finished + (gone,))  # noqa: RUF005
        return new, Dropped(key, DropReason.EXPIRED)
    return _offer(state, entry, poller, next_key=key + 1)


def poll(
    state: MatchingState,
    poller_id: str,
    queue: TaskQueue,
    now: int,
    deadline: int,
    partition: int | None = None,
) -> tuple[MatchingState, PollOutcome]:
    """PollWorkflowTaskQueue / PollActivityTaskQueue: take a backlog task or wait.

    `now` and `deadline` are ns since the epoch (usually `deadline = now +
    LONG_POLL_EXPIRATION_NS`). `partition` picks the read partition; None pins it by a
    hash of `poller_id`. The outcome is a `Dispatch` (pending history's Record*Started
    reply) or `Waiting`.
    """
    for p in state.pollers:
        if p.poller_id == poller_id:
            raise BadInput(f"poller {poller_id!r} already has an outstanding poll")
    count = partition_count(state.config, queue, write=False)
    part = _partition(count, queue, poller_id, partition)
    poller = Poller(poller_id, queue, part, deadline)
    # one new state for the poll, the backlog read and the offer together
    pollers = (*state.pollers, poller)
    last_poll = _touch(state.last_poll, queue, now)
    state, dispatch = _serve(state, poller, now, pollers=pollers, last_poll=last_poll)
    return state, dispatch if dispatch is not None else Waiting(poller_id)


def on_record_started_reply(
    state: MatchingState, task_key: TaskKey, reply: RecordStartedReply, now: int
) -> tuple[MatchingState, ReplyOutcome]:
    """Apply history's Record*Started reply to the dispatching task `task_key`.

    OK delivers the task to its poller. NotFound / TaskAlreadyStarted / Obsolete drop it;
    a transient error respools it at the end of the backlog. In both of those cases the
    poller waits again and matching immediately offers it (and the respooled task) again.
    """
    input_ = REPLY_INPUT[reply]
    entry = None
    for e in state.dispatching:
        if e.key == task_key:
            entry = e
            break
    if entry is None:
        found = find_task(state, task_key)
        if found is None:
            raise BadInput(f"no task with key {task_key}")
        raise InvalidTransition(TASK_TABLE.name, found.state.name, input_.name)
    holder = entry.poller_id
    for poller in state.pollers:  # the Offered poller holding the task (violations())
        if poller.poller_id == holder:
            break
    else:
        raise StopIteration(f"no poller {holder!r} holds task {task_key}")
    after = _advance(entry, input_)
    # (the entry and its poller were found above: a lone one leaves an empty tuple)
    dispatching = (
        ()
        if len(state.dispatching) == 1
        else tuple([e for e in state.dispatching if e.key != task_key])
    )
    if after.state is TaskState.DELIVERED:
        step(POLLER_TABLE, poller.state, PollerInput.RECORD_STARTED_OK)
        pollers = (
            ()
            if len(state.pollers) == 1
            else tuple([p for p in state.pollers if p.poller_id != holder])
        )
        finished = state.finished + (after,)  # noqa: RUF005 (see _with)
        new = _with(state, dispatching=dispatching, finished=finished, pollers=pollers)
        return new, ReplyOutcome(task_key, poller.poller_id, after.state, entry.task, None, ())
    waiting, _ = step(POLLER_TABLE, poller.state, PollerInput.REJECTED)
    freed = Poller(poller.poller_id, poller.queue, poller.partition, poller.deadline, waiting)
    new = _with(state, dispatching=dispatching, pollers=_put_poller(state.pollers, freed))
    if after.state is TaskState.DROPPED:
        new = _with(new, finished=new.finished + (after,))  # noqa: RUF005
    else:
        new = _with(new, backlog=(*new.backlog, after))
    new, dispatches = _settle(new, entry.queue, now)
    return new, ReplyOutcome(
        task_key, poller.poller_id, after.state, None, after.reason, dispatches
    )


def expire_polls(state: MatchingState, now: int) -> tuple[MatchingState, tuple[PollExpired, ...]]:
    """Answer every Waiting poll whose deadline has come with an empty response."""
    gone = [p for p in state.pollers if p.state is PollerState.WAITING and p.deadline <= now]
    if not gone:
        return state, ()
    for p in gone:
        step(POLLER_TABLE, p.state, PollerInput.DEADLINE)
    keep = tuple(p for p in state.pollers if p not in gone)
    return _with(state, pollers=keep), tuple(PollExpired(p.poller_id, p.queue) for p in gone)


def cancel_poll(state: MatchingState, poller_id: str) -> tuple[MatchingState, bool]:
    """The caller of a Waiting poll went away (its gRPC call was cancelled or the
    server's long-poll limit came first): the poll ends as at its deadline, with no task
    (`matching_engine.go` returns when the poll's context is done). An Offered poller is
    mid-RPC to history and is not cancelled: its answer comes first. True if removed."""
    for p in state.pollers:
        if p.poller_id == poller_id and p.state is PollerState.WAITING:
            step(POLLER_TABLE, p.state, PollerInput.DEADLINE)
            keep = tuple(q for q in state.pollers if q.poller_id != poller_id)
            return _with(state, pollers=keep), True
    return state, False


# --- internals -----------------------------------------------------------------------------


def _expired(task: MatchingTask, now: int) -> bool:
    return task.expiry is not None and task.expiry < now


def _advance(entry: TaskEntry, input_: TaskInput, poller_id: str | None = None) -> TaskEntry:
    new_state, _ = step(TASK_TABLE, entry.state, input_)
    if new_state is TaskState.DISPATCHING:
        holder = poller_id
    elif new_state is TaskState.BACKLOG:
        holder = None
    else:
        holder = entry.poller_id
    reason = DROP_REASON.get(input_) if new_state is TaskState.DROPPED else None
    return TaskEntry(entry.key, entry.queue, entry.partition, entry.task, new_state, holder, reason)


def _pick_poller(state: MatchingState, queue: TaskQueue, partition: int, now: int) -> Poller | None:
    """The longest-waiting eligible poller (Waiting, on `queue`, deadline ahead): same
    partition first, then (forwarding) any."""
    first = None
    waiting = PollerState.WAITING
    for p in state.pollers:
        if p.state is waiting and p.deadline > now and (p.queue is queue or p.queue == queue):
            if p.partition == partition:
                return p
            if first is None:
                first = p
    return first if state.config.forwarding else None


def _take_task(
    state: MatchingState, poller: Poller, now: int
) -> tuple[tuple[TaskEntry, ...], tuple[TaskEntry, ...], TaskEntry | None]:
    """Read the backlog for `poller` in order (own partition first), dropping expired tasks
    on the way, and remove the first live one: the new backlog and finished ledger (the
    state's own tuples when nothing changed), and the task taken (None if none).

    One pass in backlog order: the poller's own partition is read until its first live
    task; the other partitions (read only with forwarding, and only when the own
    partition has no live task) are read up to their first live task, so the expired
    tasks dropped are exactly those passed over in that order.
    """
    backlog = state.backlog
    queue, partition = poller.queue, poller.partition
    own_expired: list[int] = []
    other_expired: list[int] = []
    chosen: int | None = None
    other: int | None = None
    for i, e in enumerate(backlog):
        if e.queue is not queue and e.queue != queue:
            continue
        if e.partition == partition:
            if not _expired(e.task, now):
                chosen = i
                break
            own_expired.append(i)
        elif other is None:  # (expiry is asked only where the answer is used)
            if _expired(e.task, now):
                other_expired.append(i)
            else:
                other = i
    expired = own_expired
    if chosen is None and state.config.forwarding:
        expired = own_expired + other_expired
        chosen = other
    if not expired:
        if chosen is None:
            return backlog, state.finished, None
        return backlog[:chosen] + backlog[chosen + 1 :], state.finished, backlog[chosen]
    removed = {*expired, *([] if chosen is None else [chosen])}
    kept = tuple(e for i, e in enumerate(backlog) if i not in removed)
    gone = tuple(_advance(backlog[i], TaskInput.EXPIRED) for i in expired)
    return kept, state.finished + gone, None if chosen is None else backlog[chosen]


def _offer(
    state: MatchingState,
    entry: TaskEntry,
    poller: Poller,
    *,
    next_key: TaskKey | None = None,
    backlog: tuple[TaskEntry, ...] | None = None,
    finished: tuple[TaskEntry, ...] | None = None,
    pollers: tuple[Poller, ...] | None = None,
    last_poll: tuple[tuple[TaskQueue, int], ...] | None = None,
) -> tuple[MatchingState, Dispatch]:
    """Hand `entry` (already out of the backlog) to `poller`, pending Record*Started.

    The other keywords are changes the caller made on the way (as `_with` takes them),
    so that the new state is built once: `pollers` (default the state's) must hold
    `poller`, which is replaced by its Offered self."""
    offered = _advance(entry, TaskInput.DISPATCH, poller.poller_id)
    poller_state, _ = step(POLLER_TABLE, poller.state, PollerInput.OFFER)
    held = Poller(
        poller.poller_id, poller.queue, poller.partition, poller.deadline, poller_state, entry.key
    )
    new = _with(
        state,
        next_key=next_key,
        backlog=backlog,
        dispatching=(*state.dispatching, offered),
        finished=finished,
        pollers=_put_poller(state.pollers if pollers is None else pollers, held),
        last_poll=last_poll,
    )
    return new, Dispatch(entry.key, poller.poller_id, entry.task)


def _serve(
    state: MatchingState,
    poller: Poller,
    now: int,
    *,
    pollers: tuple[Poller, ...] | None = None,
    last_poll: tuple[tuple[TaskQueue, int], ...] | None = None,
) -> tuple[MatchingState, Dispatch | None]:
    """Offer `poller` the first live task of the backlog, if it still waits. `pollers`
    and `last_poll` are the caller's changes (a new poll), made in the same new state."""
    changed = pollers is not None or last_poll is not None
    if poller.state is not PollerState.WAITING or poller.deadline <= now:
        return (_with(state, pollers=pollers, last_poll=last_poll) if changed else state), None
    backlog, finished, entry = _take_task(state, poller, now)
    if entry is None:
        if not changed and backlog is state.backlog and finished is state.finished:
            return state, None
        new = _with(state, backlog=backlog, finished=finished, pollers=pollers, last_poll=last_poll)
        return new, None
    return _offer(
        state, entry, poller, backlog=backlog, finished=finished, pollers=pollers,
        last_poll=last_poll,
    )  # fmt: skip


def _settle(
    state: MatchingState, queue: TaskQueue, now: int
) -> tuple[MatchingState, tuple[Dispatch, ...]]:
    """Offer backlog tasks of `queue` to its waiting pollers, longest-waiting first."""
    dispatches: list[Dispatch] = []
    for poller_id in [p.poller_id for p in state.pollers if p.queue == queue]:
        poller = next(p for p in state.pollers if p.poller_id == poller_id)
        state, dispatch = _serve(state, poller, now)
        if dispatch is not None:
            dispatches.append(dispatch)
    return state, tuple(dispatches)


def _with(
    state: MatchingState,
    *,
    next_key: TaskKey | None = None,
    backlog: tuple[TaskEntry, ...] | None = None,
    dispatching: tuple[TaskEntry, ...] | None = None,
    finished: tuple[TaskEntry, ...] | None = None,
    pollers: tuple[Poller, ...] | None = None,
    last_poll: tuple[tuple[TaskQueue, int], ...] | None = None,
) -> MatchingState:
    """`dataclasses.replace` for MatchingState, spelled out: a third of its cost, and the
    handlers copy the state several times per call. (The handlers append to the backlog
    and the finished ledger, which grows to a few hundred entries between compactions,
    as `ledger + (entry,)`: half the work of `(*ledger, entry)`, which builds a list.)"""
    return MatchingState(
        state.config,
        state.next_key if next_key is None else next_key,
        state.backlog if backlog is None else backlog,
        state.dispatching if dispatching is None else dispatching,
        state.finished if finished is None else finished,
        state.pollers if pollers is None else pollers,
        state.last_poll if last_poll is None else last_poll,
    )


def _put_poller(pollers: tuple[Poller, ...], new: Poller) -> tuple[Poller, ...]:
    poller_id = new.poller_id
    return tuple([new if p.poller_id == poller_id else p for p in pollers])  # no generator


def _touch(
    last_poll: tuple[tuple[TaskQueue, int], ...], queue: TaskQueue, now: int
) -> tuple[tuple[TaskQueue, int], ...]:
    """Record a poll on `queue` at `now`; entries stay sorted so equal states hash equal."""
    if not last_poll:
        return ((queue, now),)
    only = last_poll[0][0]
    if len(last_poll) == 1 and (only is queue or only == queue):  # one queue per state: no sort
        return ((queue, max(last_poll[0][1], now)),)
    previous = next((t for q, t in last_poll if q == queue), now)
    entries = [(q, t) for q, t in last_poll if q != queue]
    entries.append((queue, max(previous, now)))
    entries.sort(
        key=lambda qt: (qt[0].namespace, qt[0].name, qt[0].task_type.value, qt[0].kind.value)
    )
    return tuple(entries)
