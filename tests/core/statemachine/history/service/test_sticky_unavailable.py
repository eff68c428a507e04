"""The history side of StickyWorkerUnavailable (service/workflow_task.py): the task is
pushed again to the run's normal queue with mutable state unchanged, and the
stickiness is cleared when a poller of the normal queue starts it."""

from __future__ import annotations

from core import requests as rq
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import workflow_task
from tests.core.statemachine.coverage_scenarios import Run

S = 10**9


def _sticky_run() -> tuple[Run, rq.WorkflowTaskTransfer]:
    """A run whose last completion asked for a sticky queue, with the next task
    scheduled there by a signal; returns the run and that task's push."""
    run = Run()
    sticky = rq.RespondWorkflowTaskCompleted(
        run.poll(), sticky_queue="sq", sticky_schedule_to_start_timeout=5 * S
    )
    run.send(sticky)
    signaled = service.handle(run.state, rq.SignalWorkflowExecution("wake"), run.now + S)
    run.state = signaled.state
    (push,) = [t for t in signaled.tasks if isinstance(t, rq.WorkflowTaskTransfer)]
    return run, push


def test_the_push_goes_to_the_normal_queue_with_its_ttl() -> None:
    run, push = _sticky_run()
    assert push.sticky and push.task_queue == "sq" and push.schedule_to_start_timeout == 5 * S
    again = workflow_task.push_to_normal_queue(run.state, push)
    assert again == rq.WorkflowTaskTransfer(
        push.scheduled_event_id, run.state.task_queue, False, push.stamp, 5 * S
    )


def _start(run: Run, from_sticky_queue: bool) -> None:
    wft = run.state.wft
    assert wft is not None and wft.sticky
    request = rq.RecordWorkflowTaskStarted(
        wft.scheduled_event_id, wft.stamp, "r", from_sticky_queue=from_sticky_queue
    )
    assert isinstance(run.send(request), rq.WorkflowTaskStarted)


def test_a_start_from_the_normal_queue_clears_the_stickiness() -> None:
    run, _ = _sticky_run()
    _start(run, from_sticky_queue=False)
    assert (run.state.sticky_queue, run.state.sticky_schedule_to_start_timeout) == ("", 0)


def test_a_start_from_the_sticky_queue_keeps_it() -> None:
    run, _ = _sticky_run()
    _start(run, from_sticky_queue=True)
    assert (run.state.sticky_queue, run.state.sticky_schedule_to_start_timeout) == ("sq", 5 * S)
