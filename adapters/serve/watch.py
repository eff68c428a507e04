"""What watches the commits of the live server: futures waiting for a run to change
(updates, results), the history events notifier that history long polls wait on, and
the invariant monitor."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field

from sim.invariants import Monitor
from sim.kernel import Kernel


@dataclass(slots=True)
class Waiters:
    """Futures waiting for a run to change (history long polls, updates, results)."""

    by_run: dict[str, list[asyncio.Future[None]]] = field(default_factory=dict)

    def add(self, run_id: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.by_run.setdefault(run_id, []).append(future)
        return future

    def discard(self, run_id: str, future: asyncio.Future[None]) -> None:
        """Forget a waiter that gave up (its caller's long poll ended)."""
        waiting = self.by_run.get(run_id)
        if waiting is not None and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self.by_run[run_id]

    async def change(self, run_id: str, timeout: float | None) -> bool:
        """Wait for the next commit to run `run_id`; False if `timeout` came first.
        A waiter that gives up (or whose caller went away) is forgotten."""
        future = self.add(run_id)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if not future.done():
                self.discard(run_id, future)

    def wake(self, run_id: str) -> None:
        for future in self.by_run.pop(run_id, ()):
            if not future.done():
                future.set_result(None)


@dataclass(slots=True)
class Notifier:
    """The history service's events notifier, which history long polls
    (GetWorkflowExecutionHistory with `wait_new_event`) wait on.

    On the real server a commit only queues its notification (transaction_impl.go,
    NotifyNewHistoryMutationEvent); the notifier's own goroutine hands it to the waiting
    poll (dequeueHistoryEventNotifications in service/history/events/notifier.go), which
    then reads the new events from persistence and answers the frontend
    (service/history/api/getworkflowexecutionhistory/api.go). The call whose commit it
    was has nothing left to do but answer. So here a notification takes two steps of the
    kernel's queue (the notifier's hop, then the history service's answer), where the
    committing call's reply takes one (the history host's reply to the gateway): the
    completing call answers first, as on the real server. Waking the polls in the commit
    itself let the SDK's client see a run's result before its worker had the
    completion's reply, and a metric the SDK counts on that reply was still missing."""

    kernel: Kernel
    waiters: Waiters = field(default_factory=Waiters)
    queued: dict[str, None] = field(default_factory=dict)  # run ids, in commit order

    def notify(self, run_id: str) -> None:
        """A commit to `run_id`: its long polls wake two kernel steps from now."""
        if not self.queued:
            self.kernel.after(0, self.kernel.after, 0, self.dispatch)
        self.queued[run_id] = None

    def dispatch(self) -> None:
        queued, self.queued = self.queued, {}
        for run_id in queued:
            self.waiters.wake(run_id)


class LiveMonitor(Monitor):
    """The simulator's invariant monitor; a violation is also said at once on stderr."""

    def violate(self, id_: str, message: str, run_id: str | None = None) -> None:
        super().violate(id_, message, run_id)
        print(f"tmodel serve: VIOLATION {id_} {run_id or '-'}: {message}", file=sys.stderr)
