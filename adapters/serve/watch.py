"""What watches the commits of the live server: futures waiting for a run to change
(history long polls, updates, results), and the invariant monitor."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field

from sim.invariants import Monitor


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


class LiveMonitor(Monitor):
    """The simulator's invariant monitor; a violation is also said at once on stderr."""

    def violate(self, id_: str, message: str, run_id: str | None = None) -> None:
        super().violate(id_, message, run_id)
        print(f"tmodel serve: VIOLATION {id_} {run_id or '-'}: {message}", file=sys.stderr)
