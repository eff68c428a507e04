"""A small deterministic scheduler for workflow coroutines (no asyncio in core).

Theory of operation. Workflow code is ordinary ``async def`` code, but nothing in it
ever waits on I/O: every ``await`` ends at a `Future` that the replay engine resolves
when history (or the live worker) says so. So the event loop can be tiny and fully
deterministic:

- a `Task` wraps a coroutine; stepping it sends the awaited value (or throws the
  awaited error) into the coroutine, which runs until it awaits an unresolved `Future`
  (the coroutine yields that future) or returns;
- ready tasks run strictly first-in first-out; a future's callbacks run in the order
  they were added; nothing depends on hashing or wall time;
- when no task is ready, the registered conditions (`wait_condition`) are evaluated in
  the order they were registered and the first true ones are resolved - the same "run
  until idle, then check conditions" loop the Python SDK's workflow event loop uses
  (temporalio `worker/_workflow_instance.py`, `_run_once`).

Cancellation follows asyncio's shape: cancelling a task cancels the future it awaits;
that future decides how it ends (a timer ends at once with `CancelledError`, an
activity may wait for the server) and the task sees whatever the future ends with.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Generic, Protocol, TypeVar

from core.errors import BadPayload, PotentialDeadlock

T = TypeVar("T")

# Errors that are not the workflow code's own (its runner stopped it, or a payload the
# code was given cannot be decoded): they leave the code's task and the scheduler
# instead of becoming the task's result, and so end the activation.
NOT_THE_CODES = (PotentialDeadlock, BadPayload)


class CancelledError(BaseException):
    """The awaited operation, or the workflow itself, was cancelled.

    A BaseException, like asyncio's, so a bare ``except Exception`` in workflow code
    does not swallow a cancellation by accident.
    """


class InvalidStateError(Exception):
    """A future was resolved twice or read before it was done."""


class Future(Generic[T]):
    """A value that will be known later; ``await`` it from workflow code."""

    __slots__ = ("_callbacks", "_done", "_error", "_value", "on_cancel")

    def __init__(self) -> None:
        self._done = False
        self._value: tuple[T] | None = None  # boxed, so a None result is still a result
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future[T]], None]] = []
        # Set by the engine for futures backed by a command: how a cancel is carried out.
        self.on_cancel: Callable[[], None] | None = None

    def done(self) -> bool:
        return self._done

    def result(self) -> T:
        if not self._done:
            raise InvalidStateError("the future is not done")
        if self._value is None:
            raise self._error if self._error is not None else InvalidStateError("no result")
        return self._value[0]

    def exception(self) -> BaseException | None:
        if not self._done:
            raise InvalidStateError("the future is not done")
        return self._error

    def cancelled(self) -> bool:
        return self._done and isinstance(self._error, CancelledError)

    def set_result(self, value: T) -> None:
        self._finish((value,), None)

    def set_exception(self, error: BaseException) -> None:
        self._finish(None, error)

    def _finish(self, value: tuple[T] | None, error: BaseException | None) -> None:
        if self._done:
            raise InvalidStateError("the future is already done")
        self._done, self._value, self._error = True, value, error
        # A done future is never cancelled (`cancel` returns first), so its cancel hook
        # is dropped: the hook's closure usually holds the future's owner, which holds
        # the future, and that cycle would otherwise wait for the garbage collector.
        self.on_cancel = None
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def cancel(self) -> bool:
        """Ask for cancellation; False if the future is already done."""
        if self._done:
            return False
        if self.on_cancel is not None:
            hook, self.on_cancel = self.on_cancel, None
            hook()  # the owner resolves the future, now or later
        else:
            self.set_exception(CancelledError())
        return True

    def release(self) -> None:
        """Drop everything the future holds: its run is released (`Scheduler.release`)."""
        self._callbacks = []
        self.on_cancel = None
        self._value = self._error = None

    def __await__(self) -> Generator[Future[T], None, T]:
        if not self._done:
            yield self
        if self._value is not None:  # `result()` inlined: every await ends here
            return self._value[0]
        return self.result()


class Task(Future[T]):
    """A coroutine being run by the `Scheduler`; itself a future of its result."""

    __slots__ = ("__weakref__", "_coro", "_must_cancel", "_scheduler", "_waiting", "name")

    def __init__(
        self, scheduler: Scheduler, coro: Coroutine[object, object, T], name: str = ""
    ) -> None:
        super().__init__()
        self._scheduler = scheduler
        self._coro = coro
        self._waiting: Future[object] | None = None
        self._must_cancel = False
        self.name = name
        scheduler.ready.append((self._step, None, None))
        scheduler.unfinished[self] = None

    def _close(self) -> None:
        """Close the coroutine of a task that will never run again (`Scheduler.release`)."""
        # An error the closing code raises is dropped, as the coroutine's finalizer
        # would drop it (the interpreter only reports it).
        with contextlib.suppress(Exception):
            self._coro.close()

    def release(self) -> None:
        super().release()
        if self._waiting is not None:
            self._waiting.release()
            self._waiting = None

    def cancel(self) -> bool:
        if self._done:
            return False
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()  # the task resumes with whatever that future ends with
        else:
            self._must_cancel = True
        return True

    def _step(self, value: object, error: BaseException | None) -> None:
        if self._done:
            return
        if self._must_cancel and error is None:
            self._must_cancel, error = False, CancelledError()
        self._waiting = None
        try:
            awaited = self._coro.throw(error) if error is not None else self._coro.send(value)
        except StopIteration as stop:
            del self._scheduler.unfinished[self]
            self.set_result(stop.value)
            return
        except NOT_THE_CODES:
            raise
        except BaseException as raised:
            scheduler = self._scheduler
            del scheduler.unfinished[self]
            if scheduler.failed is None:
                scheduler.failed = []
            scheduler.failed.append(weakref.ref(self))
            # The error keeps its traceback from the code's own frames, but not this
            # frame's entry: that frame links to the whole stack that ran the scheduler
            # (the engine, the worker or the replay check), which the task would then
            # keep alive, in a cycle the garbage collector alone could free.
            if raised.__traceback__ is not None:
                raised.__traceback__ = raised.__traceback__.tb_next
            self.set_exception(raised)
            return
        if not isinstance(awaited, Future):
            del self._scheduler.unfinished[self]
            self._coro.close()
            self.set_exception(
                TypeError(f"workflow code awaited {awaited!r}, which is not a workflow future")
            )
            return
        self._waiting = awaited
        awaited.add_done_callback(self._wake)

    def _wake(self, future: Future[object]) -> None:
        if future is not self._waiting:
            return
        if future._error is not None:
            self._scheduler.ready.append((self._step, None, future._error))
        else:
            value = future._value[0] if future._value is not None else None
            self._scheduler.ready.append((self._step, value, None))


class _Released(Protocol):
    """A task as `Scheduler.release` sees it (whatever its result type)."""

    def _close(self) -> None: ...

    def release(self) -> None: ...


class Scheduler:
    """Ready queue plus conditions; `run_until_idle` drives everything that can run."""

    def __init__(self) -> None:
        # (a task's step, the value or error to resume it with)
        self.ready: deque[
            tuple[Callable[[object, BaseException | None], None], object, BaseException | None]
        ] = deque()
        self.conditions: list[tuple[Callable[[], bool], Future[None]]] = []
        self.unfinished: dict[_Released, None] = {}  # tasks not done, in spawn order
        # Tasks that ended with an error, while anything else holds them: code that
        # awaited one and caught its error left a frame holding the task in the error's
        # traceback, which the task holds - a cycle `release` undoes. Weak references,
        # one per failed task, read only by `release` (a dead one reads None): a WeakSet
        # would also prune them as the tasks die, at a cost per failure and per walk.
        # Made at the first failure: most runs have none.
        self.failed: list[weakref.ref[_Released]] | None = None

    def release(self) -> None:
        """Let go of every task: nothing will run here again (`Execution.release`).

        Each unfinished task's coroutine is closed first, while everything is intact -
        what the coroutine's finalizer would do whenever the garbage collector got to it
        (GeneratorExit at its ``await``, so the code's ``finally`` blocks run) - then the
        links between tasks, futures and conditions are dropped. Those links are cycles
        (a task awaits a future whose callback wakes the task); without them what the
        run held is freed at once, by reference counting.
        """
        unfinished = list(self.unfinished)
        for task in unfinished:
            task._close()
        for task in unfinished:
            task.release()
        if self.failed is not None:
            for reference in self.failed:
                failed = reference()
                if failed is not None:
                    failed.release()
            self.failed = None
        for _, future in self.conditions:
            future.release()
        self.unfinished.clear()
        self.conditions.clear()
        self.ready.clear()

    def spawn(self, coro: Coroutine[object, object, T], name: str = "") -> Task[T]:
        return Task(self, coro, name)

    def wait_until(self, predicate: Callable[[], bool]) -> Future[None]:
        future: Future[None] = Future()
        entry = (predicate, future)
        self.conditions.append(entry)

        def forget() -> None:
            if entry in self.conditions:
                self.conditions.remove(entry)
            future.set_exception(CancelledError())

        future.on_cancel = forget
        return future

    def run_until_idle(self) -> None:
        """Run ready tasks, then satisfied conditions, until nothing can move."""
        ready, pop = self.ready, self.ready.popleft
        while True:
            while ready:
                step, value, error = pop()
                step(value, error)
            # Most activations register no condition: skip the scan (and its copy).
            if not self.conditions or not self._check_conditions():
                return

    def _check_conditions(self) -> bool:
        fired = False
        for entry in list(self.conditions):
            predicate, future = entry
            if future.done():
                self.conditions.remove(entry)
            elif predicate():
                self.conditions.remove(entry)
                future.on_cancel = None
                future.set_result(None)
                fired = True
        return fired


# --- combinators over futures (the SDK's asyncio.gather / wait / as_completed) --------


def gather(scheduler: Scheduler, *aws: Future[T] | Coroutine[object, object, T]) -> Future[list[T]]:
    """All results in argument order; the first error ends the gather with that error."""
    futures = [a if isinstance(a, Future) else scheduler.spawn(a) for a in aws]
    out: Future[list[T]] = Future()
    if not futures:
        out.set_result([])
        return out
    remaining = [len(futures)]

    def on_done(f: Future[T]) -> None:
        if out.done():
            return
        if f._error is not None:
            out.set_exception(f._error)
            return
        remaining[0] -= 1
        if remaining[0] == 0:
            out.set_result([g.result() for g in futures])

    def cancel_all() -> None:
        for f in futures:
            f.cancel()

    for f in futures:
        f.add_done_callback(on_done)
    if not out.done():
        out.on_cancel = cancel_all
    return out


class Waitable(Protocol):
    """Anything `wait_first` can wait on: a future of any result type."""

    def done(self) -> bool: ...

    def add_done_callback(self, callback: Callable[[object], None]) -> None: ...


def wait_first(aws: Sequence[Waitable], count: int) -> Future[None]:
    """Resolves once `count` of the futures are done (the SDK's `workflow.wait`)."""
    out: Future[None] = Future()
    done = [0]

    def on_done(_: object) -> None:
        done[0] += 1
        if done[0] >= count and not out.done():
            out.set_result(None)

    if count <= 0:
        out.set_result(None)
    for f in aws:
        f.add_done_callback(on_done)
    return out
