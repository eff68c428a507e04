"""The update registry's rules the model had missed, found by the simulator's swarm
sweep (seed 249 of 50 workflows reported a workflow task delivered again with no
cause, INV-NO-UNCAUSED-REDELIVERY: an endless run of speculative tasks).

- A request naming an update the run has completed admits nothing: the server keeps
  each completed update's info in the run's mutable state, and UpdateWorkflowExecution
  finds it there and answers with its outcome (registry.Find and GetUpdateOutcome,
  service/history/workflow/update/registry.go). The model admitted a client's retried
  request again, after the update had completed.
- An update sent to a worker with a task whose completion neither accepts nor rejects
  it is rejected by the server (RejectUnprocessed, respondworkflowtaskcompleted/
  workflow_task_completed_handler.go), writing no event. The model kept it and made a
  new speculative task for it after every such completion.
"""

from __future__ import annotations

from core import requests as rq
from core.statemachine.history.service import update
from sim.config import SimConfig
from sim.run import simulate
from sim.service_run import ServiceRun
from tests.core.statemachine.history.service.rebuild_checks import rebuild_problems
from tests.core.statemachine.history.service.reset_scenarios import update_request


def _completed_update() -> ServiceRun:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), ()))
    assert run.send(rq.UpdateWorkflowExecution("u1", update_request("u1"))) == rq.Ok()
    accept = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.ACCEPT)
    respond = rq.UpdateMessage("m2", "u1", rq.UpdateMessageKind.RESPOND)
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), (), messages=(accept, respond)))
    assert run.state.updates == ()
    assert run.state.completed_updates == frozenset({"u1"})
    return run


def test_a_completed_update_asked_for_again_admits_nothing() -> None:
    run = _completed_update()
    written, state = len(run.events), run.state
    assert run.send(rq.UpdateWorkflowExecution("u1", update_request("u1"))) == rq.Ok()
    assert run.state is state, "no new update, no workflow task"
    assert len(run.events) == written and run.state.wft is None


def test_another_update_id_is_still_admitted() -> None:
    run = _completed_update()
    assert run.send(rq.UpdateWorkflowExecution("u2", update_request("u2"))) == rq.Ok()
    (held,) = run.state.updates
    assert held.update_id == "u2" and run.state.wft is not None


def test_a_rebuild_knows_the_completed_updates() -> None:
    run = _completed_update()
    assert rebuild_problems(run.state, run.events) == []


def test_the_swarm_seed_that_found_it_runs_clean() -> None:
    result = simulate(SimConfig(seed=249, workflows=50))
    assert result.violations == ()


def _sent_update() -> ServiceRun:
    """A run whose speculative task carries update u1 to a worker."""
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), ()))
    run.send(rq.UpdateWorkflowExecution("u1", update_request("u1")))
    return run


def test_an_update_the_completion_leaves_unprocessed_is_rejected() -> None:
    run = _sent_update()
    token = run.poll()
    (held,) = run.state.updates
    assert held.sent
    written, before = len(run.events), run.state
    reply = run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    assert isinstance(reply, rq.TaskDiscarded)  # a speculative task that wrote nothing
    assert run.state.updates == () and run.state.wft is None, "no task for it again"
    assert len(run.events) == written
    assert update.unprocessed(before, run.state) == ("u1",)


def test_an_update_admitted_while_the_task_ran_is_kept() -> None:
    run = ServiceRun(rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s"))
    token = run.poll()
    run.send(rq.UpdateWorkflowExecution("u1", update_request("u1")))
    (held,) = run.state.updates
    assert not held.sent
    before = run.state
    run.send(rq.RespondWorkflowTaskCompleted(token, ()))
    assert [u.update_id for u in run.state.updates] == ["u1"]
    # a task for it: a normal one, since the worker did not ask for the next task in the
    # answer (speculative only inline, respondworkflowtaskcompleted/api.go; test_inline_task.py)
    assert run.state.wft is not None and not run.state.wft.speculative
    assert update.unprocessed(before, run.state) == ()


def test_an_update_the_worker_accepts_is_not_rejected() -> None:
    run = _sent_update()
    token = run.poll()
    accept = rq.UpdateMessage("m1", "u1", rq.UpdateMessageKind.ACCEPT)
    before = run.state
    run.send(rq.RespondWorkflowTaskCompleted(token, (), messages=(accept,)))
    (held,) = run.state.updates
    assert held.accepted_event_id and update.unprocessed(before, run.state) == ()
