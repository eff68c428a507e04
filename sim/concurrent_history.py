"""A history of many concurrent activities, written by the pure history service.

`concurrent_activities_history(width)` drives `core.statemachine.history.service`
request by request through one run of a fan-out workflow: its first workflow task
schedules `width` activities at once, a worker starts them all, and their results come
back in a shuffled order, some while a workflow task is in flight (buffered, then
flushed after the task's completion, completions last) and some while a task waits to
be picked up (written at once). One activity fails once and is retried (its
ActivityTaskStarted says attempt 2), and a signal arrives while a task is in flight.
The run completes once every result has been seen.

The events are what the service writes, so they are what a real server would write
for the same requests; trace validation (`tmodel tlc --trace`) and the benchmarks use
these histories to measure how the TLA+ trace check scales with parallelism.
"""

from __future__ import annotations

import random

from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType
from core.events import ActivityType, HistoryEvent
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import requests as rq
from core.statemachine.history.service.state import MutableState

SECOND = 10**9
STICKY_QUEUE = "worker-1-sticky"


class _Run:
    """One run, its events and the timer tasks it armed."""

    def __init__(self) -> None:
        self.now = 0
        start = rq.StartWorkflowExecution("default", "fan-out", "run-1", "FanOut", "q", "start")
        outcome = service.start(start, self.now)
        self.state: MutableState = outcome.state
        self.events: list[HistoryEvent] = list(outcome.events)
        self.timers: list[rq.TimerTask] = []

    def send(self, request: rq.Request) -> rq.Reply:
        self.now += SECOND // 10
        outcome = service.handle(self.state, request, self.now)
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.timers.extend(t for t in outcome.tasks if isinstance(t, rq.TimerTask))
        return outcome.reply

    def poll(self) -> rq.WorkflowTaskToken:
        wft = self.state.wft
        if wft is None:
            raise RuntimeError("no workflow task to poll")
        reply = self.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p"))
        if not isinstance(reply, rq.WorkflowTaskStarted):
            raise RuntimeError(f"workflow task not started: {reply}")
        return reply.token

    def respond(self, token: rq.WorkflowTaskToken, *commands: Command) -> None:
        request = rq.RespondWorkflowTaskCompleted(token, commands, sticky_queue=STICKY_QUEUE)
        reply = self.send(request)
        if isinstance(reply, rq.Error):
            raise RuntimeError(f"workflow task completion refused: {reply}")

    def start_activity(self, sid: int) -> rq.ActivityTaskToken:
        info = self.state.activity(sid)
        if info is None:
            raise RuntimeError(f"no pending activity {sid}")
        reply = self.send(rq.RecordActivityTaskStarted(sid, info.stamp, f"a{sid}-{info.attempt}"))
        if not isinstance(reply, rq.ActivityTaskStarted):
            raise RuntimeError(f"activity {sid} not started: {reply}")
        return reply.token

    def retry(self, sid: int) -> None:
        """Fire the retry timer the failed attempt of activity `sid` armed."""
        task = next(
            t for t in self.timers if isinstance(t, rq.ActivityRetryTask)
            and t.scheduled_event_id == sid
        )  # fmt: skip
        self.timers.remove(task)
        self.send(rq.FireTimer(task))


def _schedule(i: int) -> Command:
    policy = Opaque.of({"initialInterval": "1s", "maximumAttempts": 3})
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=str(i + 1),
            activity_type=ActivityType(name="process"),
            retry_policy=policy,
            start_to_close_timeout=30 * SECOND,
        ),
    )


def _complete() -> Command:
    return Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes()
    )


def concurrent_activities_history(width: int, seed: int = 0) -> list[HistoryEvent]:
    """The history of one run with `width` activities in flight at once (module doc)."""
    if width < 1:
        raise ValueError("width must be at least 1")
    run = _Run()
    first = len(run.events) + 3  # the id of the first ActivityTaskScheduled
    run.respond(run.poll(), *(_schedule(i) for i in range(width)))
    tokens = {sid: run.start_activity(sid) for sid in range(first, first + width)}
    order = list(tokens)
    random.Random(seed).shuffle(order)
    flaky = order[0]  # fails once; its retry completes last
    run.send(rq.RespondActivityTaskFailed(tokens[flaky], identity="w"))
    run.retry(flaky)
    tokens[flaky] = run.start_activity(flaky)
    order = [*order[1:], flaky]
    signalled = False
    while order:
        if run.state.wft is None:  # a result wakes the workflow: written with a new task
            _finish(run, tokens, order.pop(0))
        if order:  # one more arrives while the task waits for a worker: written at once
            _finish(run, tokens, order.pop(0))
        token = run.poll()
        for _ in range(min(3, len(order))):  # these arrive while the task runs: buffered
            _finish(run, tokens, order.pop(0))
        if not signalled:
            run.send(rq.SignalWorkflowExecution("progress"))
            signalled = True
        if not order and not run.state.buffered:
            run.respond(token, _complete())
            return run.events
        run.respond(token)
    run.respond(run.poll(), _complete())
    return run.events


def _finish(run: _Run, tokens: dict[int, rq.ActivityTaskToken], sid: int) -> None:
    reply = run.send(rq.RespondActivityTaskCompleted(tokens[sid], identity="w"))
    if isinstance(reply, rq.Error):
        raise RuntimeError(f"activity {sid} completion refused: {reply}")
