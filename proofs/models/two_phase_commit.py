"""Two-phase commit: Gray & Lamport's TwoPhase, the checker's calibration model.

The protocol ("Consensus on Transaction Commit", Gray & Lamport 2006; TLA+ Examples
``transaction_commit/TwoPhase.tla``): a transaction manager (TM) and N resource
managers (RMs) exchange messages through a set ``msgs`` that only grows, so messages
can be received any number of times and in any order::

    RM:  working --RMPrepare--> prepared --RMRcvCommitMsg--> committed
           |                        |
           +--RMChooseToAbort--+    +--RMRcvAbortMsg--> aborted
                               +--------------------> aborted
    TM:  init --TMCommit (every RM prepared)--> committed
         init --TMAbort--> aborted

State counts are the calibration oracle: 288 / 8,832 / 296,448 distinct states for
3 / 5 / 7 RMs, as TLC (``spec/tla/TwoPhase.tla``) and Stateright report. That only
holds if this model has exactly the spec's variables and steps, so:

- the action functions below (one per TLA+ action, same names in snake case) are the
  readable definition; ``successors`` is the same relation unrolled for speed, and a
  test checks the two agree on every reachable state;
- a step that leaves the state unchanged (receiving a message twice) is kept, like the
  stuttering steps TLC generates: it counts as a transition, never as a new state.

``broken=True`` adds the seeded bug the checker must catch: an RM that has not yet
decided may commit without the TM's Commit message, which violates TCConsistent.
``liveness=True`` adds ``AllDecided`` (every RM eventually commits or aborts), which
holds under weak fairness and fails without it (an RM may receive a message forever).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple


class RMState(enum.IntEnum):
    """``rmState[rm]``. IntEnum so hashes and reprs are the same in every process."""

    WORKING = 0
    PREPARED = 1
    COMMITTED = 2
    ABORTED = 3


class TMState(enum.IntEnum):
    """``tmState``."""

    INIT = 0
    COMMITTED = 1
    ABORTED = 2


class MsgType(enum.IntEnum):
    PREPARED = 0
    COMMIT = 1
    ABORT = 2


class Message(NamedTuple):
    """A record of ``Messages``; ``rm`` is -1 for Commit and Abort, which name no RM."""

    type: MsgType
    rm: int = -1

    def __str__(self) -> str:
        return f"{self.type.name.title()}({self.rm})" if self.rm >= 0 else self.type.name.title()


COMMIT = Message(MsgType.COMMIT)
ABORT = Message(MsgType.ABORT)


class State(NamedTuple):
    """One TwoPhase state. A NamedTuple: C-level hash and equality keep the checker fast,
    and every field hashes from ints only, so set orders and reprs are reproducible."""

    rm_state: tuple[RMState, ...]
    tm_state: TMState
    tm_prepared: frozenset[int]
    msgs: frozenset[Message]


class Action(NamedTuple):
    """A TLA+ action instance: its name and the RM it is about (-1 for TM-only steps)."""

    name: str
    rm: int = -1

    def __str__(self) -> str:
        return f"{self.name}({self.rm})" if self.rm >= 0 else self.name


Permutation = tuple[int, ...]


def _set(rms: tuple[RMState, ...], rm: int, value: RMState) -> tuple[RMState, ...]:
    return (*rms[:rm], value, *rms[rm + 1 :])


# --- the TLA+ actions: guard, then the next state (None when not enabled) -------------


def tm_rcv_prepared(s: State, rm: int) -> State | None:
    if s.tm_state is not TMState.INIT or Message(MsgType.PREPARED, rm) not in s.msgs:
        return None
    return State(s.rm_state, s.tm_state, s.tm_prepared | {rm}, s.msgs)


def tm_commit(s: State) -> State | None:
    if s.tm_state is not TMState.INIT or len(s.tm_prepared) != len(s.rm_state):
        return None
    return State(s.rm_state, TMState.COMMITTED, s.tm_prepared, s.msgs | {COMMIT})


def tm_abort(s: State) -> State | None:
    if s.tm_state is not TMState.INIT:
        return None
    return State(s.rm_state, TMState.ABORTED, s.tm_prepared, s.msgs | {ABORT})


def rm_prepare(s: State, rm: int) -> State | None:
    if s.rm_state[rm] is not RMState.WORKING:
        return None
    rms = _set(s.rm_state, rm, RMState.PREPARED)
    return State(rms, s.tm_state, s.tm_prepared, s.msgs | {Message(MsgType.PREPARED, rm)})


def rm_choose_to_abort(s: State, rm: int) -> State | None:
    if s.rm_state[rm] is not RMState.WORKING:
        return None
    return State(_set(s.rm_state, rm, RMState.ABORTED), s.tm_state, s.tm_prepared, s.msgs)


def rm_rcv_commit_msg(s: State, rm: int) -> State | None:
    if COMMIT not in s.msgs:
        return None
    return State(_set(s.rm_state, rm, RMState.COMMITTED), s.tm_state, s.tm_prepared, s.msgs)


def rm_rcv_abort_msg(s: State, rm: int) -> State | None:
    if ABORT not in s.msgs:
        return None
    return State(_set(s.rm_state, rm, RMState.ABORTED), s.tm_state, s.tm_prepared, s.msgs)


def rm_commit_unilaterally(s: State, rm: int) -> State | None:
    """The seeded bug (``broken=True``): commit without waiting for the TM's decision."""
    if s.rm_state[rm] not in (RMState.WORKING, RMState.PREPARED):
        return None
    return State(_set(s.rm_state, rm, RMState.COMMITTED), s.tm_state, s.tm_prepared, s.msgs)


_TM_ACTIONS: dict[str, Callable[[State], State | None]] = {
    "TMCommit": tm_commit,
    "TMAbort": tm_abort,
}
_TM_COMMIT = Action("TMCommit")
_TM_ABORT = Action("TMAbort")
_COMMITS = frozenset({COMMIT})
_ABORTS = frozenset({ABORT})
_RM_ACTIONS: dict[str, Callable[[State, int], State | None]] = {
    "TMRcvPrepared": tm_rcv_prepared,
    "RMPrepare": rm_prepare,
    "RMChooseToAbort": rm_choose_to_abort,
    "RMRcvCommitMsg": rm_rcv_commit_msg,
    "RMRcvAbortMsg": rm_rcv_abort_msg,
    "RMCommitUnilaterally": rm_commit_unilaterally,
}


_RM_TYPE = frozenset({RMState})
_RM_STATES = tuple(RMState)  # iterating the enum class itself costs Python calls per state

# --- properties -------------------------------------------------------------------------


def tc_consistent(s: State) -> bool:
    """TCConsistent: no RM has committed while another has aborted."""
    states = s.rm_state
    return not (RMState.COMMITTED in states and RMState.ABORTED in states)


def all_decided(s: State) -> bool:
    """Every RM has committed or aborted (the liveness goal of the ``liveness`` variant)."""
    return all(st is RMState.COMMITTED or st is RMState.ABORTED for st in s.rm_state)


class TwoPhaseCommit:
    """The TwoPhase model over RMs ``0..rms-1`` (see the module docstring)."""

    def __init__(self, rms: int = 3, *, broken: bool = False, liveness: bool = False) -> None:
        if rms < 1:
            raise ValueError("rms must be at least 1")
        self.rms = rms
        self.broken = broken
        self.name = f"two-phase-commit(rms={rms}{', broken' if broken else ''})"
        self.invariants: Mapping[str, Callable[[State], bool]] = {
            "TPTypeOK": self.tp_type_ok,
            "TCConsistent": tc_consistent,
        }
        self.eventually: Mapping[str, Callable[[State], bool]] = (
            {"AllDecided": all_decided} if liveness else {}
        )
        self._prepared = tuple(Message(MsgType.PREPARED, rm) for rm in range(rms))
        self._ids = frozenset(range(rms))
        self._messages = frozenset({*self._prepared, COMMIT, ABORT})
        self._sends = tuple(frozenset({m}) for m in self._prepared)
        self._acts = {name: tuple(Action(name, rm) for rm in range(rms)) for name in _RM_ACTIONS}

    def tp_type_ok(self, s: State) -> bool:
        """TPTypeOK: every variable ranges over its declared set (set inclusion, so the
        check costs a few C-level scans per state)."""
        return (
            len(s.rm_state) == self.rms
            and _RM_TYPE.issuperset(map(type, s.rm_state))
            and type(s.tm_state) is TMState
            and self._ids.issuperset(s.tm_prepared)
            and self._messages.issuperset(s.msgs)
        )

    def describe(self, s: State) -> str:
        """A one-line, TLA+-flavoured rendering for counterexamples and graph labels."""
        rms = ", ".join(st.name.lower() for st in s.rm_state)
        prepared = ", ".join(str(rm) for rm in sorted(s.tm_prepared))
        msgs = ", ".join(sorted(str(m) for m in s.msgs))
        return (
            f"rmState=<<{rms}>> tmState={s.tm_state.name.lower()} "
            f"tmPrepared={{{prepared}}} msgs={{{msgs}}}"
        )

    def init_states(self) -> Iterable[State]:
        return [State((RMState.WORKING,) * self.rms, TMState.INIT, frozenset(), frozenset())]

    def actions(self, state: State) -> list[Action]:
        return [a for a, _ in self.successors(state)]

    def next_state(self, state: State, action: Action) -> State | None:
        """Apply one action through its readable definition above."""
        if action.rm < 0:
            tm_step = _TM_ACTIONS.get(action.name)
            return tm_step(state) if tm_step else None
        rm_step = _RM_ACTIONS.get(action.name)
        if rm_step is None or action.rm >= self.rms:
            return None
        if action.name == "RMCommitUnilaterally" and not self.broken:
            return None
        return rm_step(state, action.rm)

    def successors(self, state: State) -> list[tuple[Action, State]]:
        """Every enabled action with its successor, in a fixed order (the hot path:
        actions are prebuilt, states made with ``tuple.__new__`` to skip a Python frame)."""
        rms, tm, prep, msgs = state
        out: list[tuple[Action, State]] = []
        append = out.append
        new = tuple.__new__
        n = self.rms
        acts = self._acts
        if tm is TMState.INIT:
            prepared = self._prepared
            rcv = acts["TMRcvPrepared"]
            for rm in range(n):
                if prepared[rm] in msgs:
                    append((rcv[rm], new(State, (rms, tm, prep | {rm}, msgs))))
            if len(prep) == n:
                append((_TM_COMMIT, new(State, (rms, TMState.COMMITTED, prep, msgs | _COMMITS))))
            append((_TM_ABORT, new(State, (rms, TMState.ABORTED, prep, msgs | _ABORTS))))
        commit = COMMIT in msgs
        abort = ABORT in msgs
        working, prepared_, committed, aborted = _RM_STATES
        broken = self.broken
        sends = self._sends
        do_prepare, do_abort = acts["RMPrepare"], acts["RMChooseToAbort"]
        rcv_commit, rcv_abort = acts["RMRcvCommitMsg"], acts["RMRcvAbortMsg"]
        for rm in range(n):
            head, tail = rms[:rm], rms[rm + 1 :]
            st = rms[rm]
            if st is working:
                sent = msgs | sends[rm]
                append((do_prepare[rm], new(State, ((*head, prepared_, *tail), tm, prep, sent))))
                append((do_abort[rm], new(State, ((*head, aborted, *tail), tm, prep, msgs))))
            if commit:
                append((rcv_commit[rm], new(State, ((*head, committed, *tail), tm, prep, msgs))))
            if abort:
                append((rcv_abort[rm], new(State, ((*head, aborted, *tail), tm, prep, msgs))))
            if broken and (st is working or st is prepared_):
                rogue = new(State, ((*head, committed, *tail), tm, prep, msgs))
                append((acts["RMCommitUnilaterally"][rm], rogue))
        return out

    # --- symmetry: the RMs are interchangeable ------------------------------------------

    def canonicalize(self, state: State) -> tuple[State, Permutation]:
        """Sort RMs by what is known about each (its state, whether the TM has its
        Prepared, whether it sent one); ties keep id order. That sequence of per-RM
        facts plus the TM's state determines the state, so equal forms mean one orbit.
        Returns the form and ``perm`` with ``perm[old_id] == new_id``."""
        rms, tm, prep, msgs = state
        prepared = self._prepared
        order = sorted(range(self.rms), key=lambda i: (rms[i], i in prep, prepared[i] in msgs))
        perm = [0] * self.rms
        for new, old in enumerate(order):
            perm[old] = new
        canonical = State(
            tuple(rms[old] for old in order),
            tm,
            frozenset(perm[rm] for rm in prep),
            frozenset(prepared[perm[m.rm]] if m.rm >= 0 else m for m in msgs),
        )
        return canonical, tuple(perm)

    def apply_permutation(self, action: Action, perm: Permutation) -> Action:
        return action if action.rm < 0 else Action(action.name, perm[action.rm])
