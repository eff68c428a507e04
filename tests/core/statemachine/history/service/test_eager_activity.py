"""Eager activity execution (service/eager_activity.py): an activity scheduled with
`request_eager_execution` is started in the completion that scheduled it and handed
back in its reply, with no transfer task to matching; each rule that withholds it
(not requested, the setting off, a versioned run, the activity cancelled or the run
closed by a later command of the same completion) leaves the activity to be polled.
The history shows nothing of the start until the activity closes, as for any start
(the dev server's, tests/fixtures/unseen-histories/eager-activities.json)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from core.enums import CommandType as C
from core.enums import EventType as E
from core.events import ActivityTaskStartedEventAttributes, ActivityType, TaskQueue
from core.opaque import Opaque
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits, setting_value, with_settings
from core.statemachine.history.service import eager_activity
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.eager_activity import EAGER_START_LATER
from core.statemachine.history.service.state import MutableState

S = 10**9
OFF = with_settings(DEFAULT_LIMITS, {"system.enableActivityEagerExecution": False})


def _schedule(activity_id: str = "a1", eager: bool = True, build: bool = False) -> Command:
    return Command(
        C.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id=activity_id,
            activity_type=ActivityType("A"),
            task_queue=TaskQueue("q"),
            start_to_close_timeout=10 * S,
            schedule_to_start_timeout=5 * S,
            heartbeat_timeout=3 * S,
            request_eager_execution=eager,
            use_workflow_build_id=build,
        ),
    )


class Run:
    """A run of the pure history service under `limits`, keeping its tasks too."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits, self.now = limits, 0
        start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s")
        outcome = service.start(start, self.now)
        self.state: MutableState = outcome.state
        self.events = list(outcome.events)
        self.tasks: list[rq.Task] = []

    def send(self, request: rq.Request) -> rq.Reply:
        self.now += S
        outcome = service.handle(self.state, request, self.now, limits=self.limits)
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.tasks = list(outcome.tasks)
        return outcome.reply

    def complete(self, *commands: Command, worker_version: Opaque | None = None) -> rq.Reply:
        wft = self.state.wft
        assert wft is not None
        started = self.send(rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p"))
        assert isinstance(started, rq.WorkflowTaskStarted)
        done = rq.RespondWorkflowTaskCompleted(
            started.token, commands, identity="worker-1", worker_version=worker_version
        )
        return self.send(done)


def _transfers(run: Run) -> list[rq.ActivityTaskTransfer]:
    return [t for t in run.tasks if isinstance(t, rq.ActivityTaskTransfer)]


def _timeouts(run: Run) -> list[str]:
    return sorted(t.timeout_type.name for t in run.tasks if isinstance(t, rq.ActivityTimeoutTask))


def test_an_eager_activity_is_started_and_handed_back() -> None:
    run = Run()
    reply = run.complete(_schedule())
    scheduled = run.state.activities[0].scheduled_event_id
    token = rq.ActivityTaskToken(scheduled, 1)
    assert reply == rq.WorkflowTaskCompletedOk(activity_tasks=(rq.ActivityTaskStarted(token),))
    info = run.state.activities[0]
    assert info.started and info.identity == "worker-1"
    # a clock reading of its own, after the schedule's: 1 ns later on the model's clock
    assert info.scheduled_time == run.now and info.started_time == run.now + EAGER_START_LATER
    assert info.request_id  # a request id of its own, not a poller's
    # no transfer task and no schedule-to-start timer: the attempt's timers instead
    assert _transfers(run) == []
    assert _timeouts(run) == ["HEARTBEAT", "START_TO_CLOSE"]
    # nothing of the start is written: ActivityTaskStarted comes with the close
    assert [e.event_type for e in run.events][-2:] == [
        E.WORKFLOW_TASK_COMPLETED,
        E.ACTIVITY_TASK_SCHEDULED,
    ]
    assert run.send(rq.RespondActivityTaskCompleted(token, identity="worker-1")) == rq.Ok()
    assert [e.event_type for e in run.events][-4:] == [
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_STARTED,
        E.ACTIVITY_TASK_COMPLETED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    started = run.events[-3].attributes
    assert isinstance(started, ActivityTaskStartedEventAttributes)
    assert started.identity == "worker-1" and started.request_id == info.request_id


def test_each_eager_activity_in_command_order() -> None:
    run = Run()
    reply = run.complete(_schedule("a1"), _schedule("a2", eager=False), _schedule("a3"))
    assert isinstance(reply, rq.WorkflowTaskCompletedOk)
    ids = {a.scheduled_event_id: a.activity_id for a in run.state.activities}
    assert [ids[t.token.scheduled_event_id] for t in reply.activity_tasks] == ["a1", "a3"]
    assert [ids[t.scheduled_event_id] for t in _transfers(run)] == ["a2"]


def _granted(reply: rq.Reply) -> bool:
    return isinstance(reply, rq.WorkflowTaskCompletedOk) and len(reply.activity_tasks) == 1


def _assert_declined(run: Run, reply: rq.Reply) -> None:
    assert type(reply) is rq.Ok  # a plain Ok: nothing was started
    assert [a.started for a in run.state.activities] == [False]
    assert len(_transfers(run)) == 1  # matching gets it, for a worker to poll
    assert _timeouts(run) == ["SCHEDULE_TO_START"]


# Each rule that withholds eager execution is checked beside the same completion that
# gets it, so that a check fails both without eager execution and without the rule.


def check_not_requested() -> None:
    assert _granted(Run().complete(_schedule(eager=True)))
    run = Run()
    _assert_declined(run, run.complete(_schedule(eager=False)))


def check_setting_off() -> None:
    assert _granted(Run().complete(_schedule()))
    run = Run(OFF)
    _assert_declined(run, run.complete(_schedule()))


VERSIONED = Opaque.of({"buildId": "1.0", "useVersioning": True})


def check_versioned() -> None:
    """A run on a versioned build gets it only for an activity on the workflow's build;
    a stamp not using versioning is no versioning."""
    assert _granted(Run().complete(_schedule(build=True), worker_version=VERSIONED))
    assert _granted(Run().complete(_schedule(), worker_version=Opaque.of({"buildId": "1.0"})))
    run = Run()
    _assert_declined(run, run.complete(_schedule(), worker_version=VERSIONED))


def _cancel(run: Run) -> Command:
    """A cancel of the activity the next completion's first command schedules (after
    WorkflowTaskStarted and WorkflowTaskCompleted)."""
    scheduled = run.state.next_event_id + 2
    return Command(
        C.REQUEST_CANCEL_ACTIVITY_TASK, RequestCancelActivityTaskCommandAttributes(scheduled)
    )


def check_cancelled_by_a_later_command() -> None:
    assert _granted(Run().complete(_schedule()))
    run = Run()
    scheduled = run.state.next_event_id + 2
    reply = run.complete(_schedule(), _cancel(run))
    assert type(reply) is rq.Ok
    assert run.state.activities == ()
    kinds = [e.event_type for e in run.events]
    assert kinds[-4:] == [
        E.ACTIVITY_TASK_SCHEDULED,
        E.ACTIVITY_TASK_CANCEL_REQUESTED,
        E.ACTIVITY_TASK_CANCELED,
        E.WORKFLOW_TASK_SCHEDULED,
    ]
    assert run.events[-4].event_id == scheduled
    assert _transfers(run) == []  # granted, so never sent to matching


def check_run_closed_by_a_later_command() -> None:
    assert _granted(Run().complete(_schedule()))
    run = Run()
    close = Command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes())
    reply = run.complete(_schedule(), close)
    assert type(reply) is rq.Ok
    assert not run.state.running
    assert [e.event_type for e in run.events][-1] is E.WORKFLOW_EXECUTION_COMPLETED


CHECKS = [
    check_not_requested,
    check_setting_off,
    check_versioned,
    check_cancelled_by_a_later_command,
    check_run_closed_by_a_later_command,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_rule_withholds_it(check: Callable[[], None]) -> None:
    check()


def test_an_id_cancelled_and_scheduled_again_is_handed_out_once() -> None:
    run = Run()
    reply = run.complete(_schedule(), _cancel(run), _schedule())
    assert _granted(reply)
    assert isinstance(reply, rq.WorkflowTaskCompletedOk)
    (info,) = run.state.activities
    assert reply.activity_tasks[0].token.scheduled_event_id == info.scheduled_event_id


BROKEN_GUARDS = {
    # every request granted, asked for or not
    "always": (lambda limits, state, a: True, [check_not_requested]),
    # granted whenever asked, the setting and the run's versioning ignored
    "when asked": (
        lambda limits, state, a: a.request_eager_execution,
        [check_setting_off, check_versioned],
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_GUARDS))
def test_a_broken_guard_is_caught(monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    guard, checks = BROKEN_GUARDS[broken]
    monkeypatch.setattr(eager_activity, "granted", guard)
    for check in checks:
        with pytest.raises(AssertionError):
            check()


def test_the_setting_is_read_by_its_dynamic_config_key() -> None:
    assert DEFAULT_LIMITS.activity_eager_execution is True
    assert dataclasses.replace(DEFAULT_LIMITS, activity_eager_execution=False) == OFF
    with pytest.raises(ValueError, match="takes true or false"):
        with_settings(DEFAULT_LIMITS, {"system.enableActivityEagerExecution": 0})
    with pytest.raises(ValueError, match="takes a whole number"):
        with_settings(DEFAULT_LIMITS, {"limit.historyCount.error": True})


def test_a_settings_text_is_read_as_the_dev_server_reads_it() -> None:
    """JSON, as `--dynamic-config-value` takes it: a bool, or a string strconv.ParseBool
    reads; a number is no bool."""
    key = "system.enableActivityEagerExecution"
    assert setting_value(key, "false") is False and setting_value(key, "true") is True
    assert setting_value(key, '"0"') is False and setting_value(key, '"T"') is True
    for bad in ("0", "1", "False", '"yes"', ""):
        with pytest.raises(ValueError, match="takes true or false"):
            setting_value(key, bad)
    assert setting_value("limit.historyCount.error", "20") == 20
