"""Deadlock detection for workflow code: a wall-clock bound on each activation.

The SDKs give each workflow activation a bounded amount of wall-clock time: temporalio
runs the activation in a thread, waits 2 seconds for it, and on time-out fails the
workflow task with rule TMPRL1101, "potential deadlock" (temporalio/worker/_workflow.py,
`_deadlock_timeout_seconds` and `_DeadlockError`; debug mode turns it off). Code such
as ``while True: pass`` never awaits, so without the bound a replay or a simulated
worker would hang.

Core has no clock, so the replay engine takes the bound as an injected guard
(`core.statemachine.replay.engine.Guard`); `DeadlockGuard` is the one every runner in
this repository injects. Entering it notes the time; a one-shot ``ITIMER_REAL`` timer
wakes the SIGALRM handler, which raises `PotentialDeadlock` in the main thread, inside
the spinning code (CPython runs signal handlers between bytecodes, so a pure Python
loop is interrupted), once the activation has run for the bound. After raising it
re-arms for `REPEAT_SECONDS`, so code that swallows the first error with a bare
``except`` is interrupted again; code that swallows every one forever cannot be stopped
in-process (nor can the SDK's thread).

Cost. Activations are many and short (20,000 in a 2,000-workflow simulation), so in
the usual case entering and leaving make no system call at all (installing the handler
and arming the timer around every activation cost ten times more, and asking the kernel
on every entry whether a timer was pending cost 2-3% of a simulation). The guard
remembers when the timer it armed last is due and arms it only when none is due within
the entering activation's bound; a handler woken for an activation that has since ended
either re-arms for the one now running (for what is left of its bound) or lets the
timer stop. That memory is the guard's own: code that cancels ITIMER_REAL behind its
back leaves activations entered before the cancelled timer's due time unbounded
(nothing in this repository does).
The SIGALRM handler is installed when the timer is armed, if it is not already (so it
comes back if another handler took the signal), and then left in place: outside an
activation it does nothing. At exit a pending timer is disarmed. A run without a
deadlock behaves, and hashes, exactly as without the guard.

Signals reach only the main thread, so off it the guard does nothing (the activation
is unbounded, as in temporalio's debug mode).
"""

from __future__ import annotations

import atexit
import signal
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from types import FrameType, TracebackType

from core.errors import PotentialDeadlock

DEADLOCK_SECONDS = 2.0  # temporalio's bound (worker/_workflow.py, _deadlock_timeout_seconds)
REPEAT_SECONDS = 0.1


class _Bounded:
    """The process's one bounded activation (signals and the timer are per process)."""

    guard: DeadlockGuard | None = None  # the outermost guard entered, while inside it
    depth = 0
    started = 0.0  # time.monotonic() when it was entered
    due = 0.0  # time.monotonic() when the timer armed last fires; 0.0: none pending


def _disarm() -> None:
    """Stop the timer, if one is pending."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    _Bounded.due = 0.0


def _at_exit() -> None:
    """The interpreter puts SIGALRM's default action back while shutting down, and a
    timer still pending then would kill the process ("Alarm clock"). The timer stops,
    and SIGALRM is ignored from then on, so a signal of a timer that fired just before
    cannot kill the process either if it is delivered late (a simulation run under
    valgrind, which delivers signals at its own pace, was once killed so at exit)."""
    _disarm()
    if signal.getsignal(signal.SIGALRM) is _expired:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)


def _arm(seconds: float, now: float) -> None:
    """Start the one-shot timer for `seconds` (replacing any pending one)."""
    _Bounded.due = now + seconds
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _expired(signum: int, frame: FrameType | None) -> None:
    guard = _Bounded.guard
    if guard is None:  # between activations: the (one-shot) timer stops
        _Bounded.due = 0.0
        return
    now = time.monotonic()
    left = _Bounded.started + guard.seconds - now
    if left > 0:  # armed for an earlier activation: wait out this one's bound
        _arm(left, now)
        return
    _arm(REPEAT_SECONDS, now)  # again, if this one is swallowed
    if frame is not None and frame.f_code in _BOOKKEEPING:
        return  # never inside the guard's own entering or leaving: its state must hold
    raise PotentialDeadlock(guard.seconds)


class DeadlockGuard:
    """A `Guard` for the replay engine: ``Execution(definition, guard=DeadlockGuard())``.

    Calling it gives the context manager for one activation. Nested activations (a
    query replaying inside a guarded run) are bounded by the outermost one.
    """

    def __init__(self, seconds: float = DEADLOCK_SECONDS) -> None:
        if seconds <= 0:
            raise ValueError(f"a deadlock bound must be positive: {seconds}")
        self.seconds = seconds
        self._main = threading.main_thread().ident
        self._unguarded: AbstractContextManager[object] = nullcontext()

    def __call__(self) -> AbstractContextManager[object]:
        if threading.get_ident() != self._main:
            return self._unguarded
        return self

    def __enter__(self) -> DeadlockGuard:
        if _Bounded.depth == 0:
            _Bounded.started = now = time.monotonic()  # before `guard`: the handler reads both
            _Bounded.guard = self
            if not now < _Bounded.due <= now + self.seconds:  # none pending within the bound
                if signal.getsignal(signal.SIGALRM) is not _expired:
                    signal.signal(signal.SIGALRM, _expired)
                    atexit.register(_at_exit)
                _arm(self.seconds, now)
        _Bounded.depth += 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _Bounded.depth -= 1
        if _Bounded.depth == 0:
            _Bounded.guard = None


_BOOKKEEPING = frozenset(
    {DeadlockGuard.__enter__.__code__, DeadlockGuard.__exit__.__code__, _arm.__code__}
)
