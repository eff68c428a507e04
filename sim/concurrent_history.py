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

from core import requests as rq
from core import task_queues
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType, TaskQueueKind
from core.events import ActivityType, HistoryEvent
from core.opaque import Opaque
from sim.service_run import SECOND, ServiceRun

STICKY_QUEUE = "worker-1-sticky"


def _run() -> ServiceRun:
    start = rq.StartWorkflowExecution("default", "fan-out", "run-1", "FanOut", "q", "start")
    return ServiceRun(start, step=SECOND // 10)


def _respond(run: ServiceRun, token: rq.WorkflowTaskToken, *commands: Command) -> None:
    request = rq.RespondWorkflowTaskCompleted(token, commands, sticky_queue=STICKY_QUEUE)
    reply = run.send(request)
    if isinstance(reply, rq.Error):
        raise RuntimeError(f"workflow task completion refused: {reply}")


def _schedule(i: int) -> Command:
    policy = Opaque.of({"initialInterval": "1s", "maximumAttempts": 3})
    return Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=str(i + 1),
            activity_type=ActivityType(name="process"),
            task_queue=task_queues.task_queue("q", TaskQueueKind.UNSPECIFIED),
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
    run = _run()
    first = len(run.events) + 3  # the id of the first ActivityTaskScheduled
    _respond(run, run.poll(), *(_schedule(i) for i in range(width)))
    tokens = {sid: run.start_activity(sid) for sid in range(first, first + width)}
    order = list(tokens)
    random.Random(seed).shuffle(order)
    flaky = order[0]  # fails once; its retry completes last
    run.send(rq.RespondActivityTaskFailed(tokens[flaky], identity="w"))
    run.fire(rq.ActivityRetryTask, scheduled_event_id=flaky)
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
            _respond(run, token, _complete())
            return run.events
        _respond(run, token)
    _respond(run, run.poll(), _complete())
    return run.events


def _finish(run: ServiceRun, tokens: dict[int, rq.ActivityTaskToken], sid: int) -> None:
    reply = run.send(rq.RespondActivityTaskCompleted(tokens[sid], identity="w"))
    if isinstance(reply, rq.Error):
        raise RuntimeError(f"activity {sid} completion refused: {reply}")
