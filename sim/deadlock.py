"""Deadlock detection for workflow code: a wall-clock bound on each activation.

The SDKs give each workflow activation a bounded amount of wall-clock time: temporalio
runs the activation in a thread, waits 2 seconds for it, and on time-out fails the
workflow task with rule TMPRL1101, "potential deadlock" (temporalio/worker/_workflow.py,
`_deadlock_timeout_seconds` and `_DeadlockError`; debug mode turns it off). Code such
as ``while True: pass`` never awaits, so without the bound a replay or a simulated
worker would hang.

Core has no clock, so the replay engine takes the bound as an injected guard
(`core.statemachine.replay.engine.Guard`); this is the one every runner in this
repository injects. It arms ``ITIMER_REAL`` on entry and disarms it on exit; if the
timer fires first, the SIGALRM handler raises `PotentialDeadlock` in the main thread,
inside the spinning code (CPython runs signal handlers between bytecodes, so a pure
Python loop is interrupted). The timer then repeats every `REPEAT_SECONDS`, so code
that swallows the first error with a bare ``except`` is interrupted again; code that
swallows every one forever cannot be stopped in-process (nor can the SDK's thread).

Signals reach only the main thread, so off it the guard does nothing (the activation
is unbounded, as in temporalio's debug mode). Entering costs two system calls; a run
without a deadlock behaves, and hashes, exactly as without the guard.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from types import FrameType, TracebackType

from core.errors import PotentialDeadlock

DEADLOCK_SECONDS = 2.0  # temporalio's bound (worker/_workflow.py, _deadlock_timeout_seconds)
REPEAT_SECONDS = 0.1

_Handler = Callable[[int, FrameType | None], object] | int


class DeadlockGuard:
    """A `Guard` for the replay engine: ``Execution(definition, guard=DeadlockGuard())``.

    Calling it gives the context manager for one activation. Nested activations (a
    query replaying inside a guarded run) share the outermost timer.
    """

    def __init__(self, seconds: float = DEADLOCK_SECONDS) -> None:
        if seconds <= 0:
            raise ValueError(f"a deadlock bound must be positive: {seconds}")
        self.seconds = seconds
        self._depth = 0
        self._previous: _Handler = signal.SIG_DFL
        self._unguarded: AbstractContextManager[object] = nullcontext()

    def __call__(self) -> AbstractContextManager[object]:
        if threading.current_thread() is not threading.main_thread():
            return self._unguarded
        return self

    def __enter__(self) -> DeadlockGuard:
        self._depth += 1
        if self._depth == 1:
            previous = signal.signal(signal.SIGALRM, self._expired)
            self._previous = signal.SIG_DFL if previous is None else previous
            signal.setitimer(signal.ITIMER_REAL, self.seconds, REPEAT_SECONDS)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)

    def _expired(self, signum: int, frame: FrameType | None) -> None:
        if self._depth > 0:  # not a late alarm after the activation ended
            raise PotentialDeadlock(self.seconds)
