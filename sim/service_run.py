"""One run of the pure history service, driven request by request.

`ServiceRun` keeps what a caller needs to go on: the run's mutable state, every event
written so far and the timer tasks the run armed (to fire one later), and advances its
own clock by a fixed step per request. It does no checking of its own beyond refusing
to go on when a request it depends on is answered with an error.
"""

from __future__ import annotations

from core import requests as rq
from core.events import HistoryEvent
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState

SECOND = 10**9


class ServiceRun:
    """A run started by `start`; each request advances the clock by `step` (ns)."""

    def __init__(self, start: rq.StartWorkflowExecution, step: int = SECOND) -> None:
        self.now = 0
        self.step = step
        outcome = service.start(start, self.now)
        self.state: MutableState = outcome.state
        self.events: list[HistoryEvent] = list(outcome.events)
        self.timers: list[rq.TimerTask] = [t for t in outcome.tasks if isinstance(t, rq.TimerTask)]

    def send(self, request: rq.Request, advance: int | None = None) -> rq.Reply:
        self.now += self.step if advance is None else advance
        outcome = service.handle(self.state, request, self.now)
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.timers.extend(t for t in outcome.tasks if isinstance(t, rq.TimerTask))
        return outcome.reply

    def poll(self) -> rq.WorkflowTaskToken:
        """Start the pending workflow task, as matching does for a poller."""
        wft = self.state.wft
        if wft is None:
            raise RuntimeError("no workflow task to start")
        reply = self.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p"))
        if not isinstance(reply, rq.WorkflowTaskStarted):
            raise RuntimeError(f"workflow task not started: {reply}")
        return reply.token

    def start_activity(self, sid: int) -> rq.ActivityTaskToken:
        """Start the current attempt of the activity scheduled by event `sid`."""
        info = self.state.activity(sid)
        if info is None:
            raise RuntimeError(f"no pending activity {sid}")
        reply = self.send(rq.RecordActivityTaskStarted(sid, info.stamp, f"a{info.attempt}"))
        if not isinstance(reply, rq.ActivityTaskStarted):
            raise RuntimeError(f"activity {sid} not started: {reply}")
        return reply.token

    def fire(self, kind: type, **keys: object) -> None:
        """Fire the latest armed timer task of type `kind` whose fields equal `keys`."""
        task = next(
            t for t in reversed(self.timers)
            if isinstance(t, kind) and all(getattr(t, k) == v for k, v in keys.items())
        )  # fmt: skip
        self.timers.remove(task)
        self.send(rq.FireTimer(task))
