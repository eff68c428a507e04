"""Sphinx extension: the life of one workflow, written by running the history service.

When the builder starts, `scenario()` plays a small order workflow through the pure
history service (`core.statemachine.history.service.handle`): the start; a workflow task
that schedules an activity and a timer while a signal arrives (buffered); an activity
attempt that fails and is retried without an event; its completion; a stale timer; the
timer firing; the completion of the run. `render` writes, per request, the request, the
events appended (id, type, reference attributes), the outbox tasks emitted and the reply
to ``docs/generated/walkthrough.md``. Nothing in that file is written by hand.

Each step states the event types it expects: if the service ever writes something else,
or the history stops passing the validator, the build fails instead of the page telling
an old story. ``life-of-a-workflow.md`` explains the steps and includes them one by one
(``{include}`` with ``:start-after:``/``:end-before:`` on the step markers), so a step
that disappears breaks the build too.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

from core import requests as rq
from core.commands import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartTimerCommandAttributes,
)
from core.enums import CommandType, TimeoutType
from core.events import ActivityType, HistoryEvent
from core.opaque import Opaque
from core.statemachine.history.service import handle as service
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome
from core.statemachine.history.validator import validate
from core.task_queues import task_queue

T = TypeVar("T")
PAGE = "generated/walkthrough.md"
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z, the scenario's time zero
S = 10**9
REFERENCES = (
    "scheduled_event_id",
    "started_event_id",
    "workflow_task_completed_event_id",
    "latest_cancel_requested_event_id",
    "attempt",
    "last_failure",
    "activity_id",
    "timer_id",
    "signal_name",
    "timeout_type",
    "cause",
)


@dataclass(frozen=True, slots=True)
class Step:
    slug: str
    actor: str
    at: int  # nanoseconds after T0
    request: rq.Request
    outcome: Outcome
    buffered: int  # events held in the buffer after the request


class _Run:
    """The scenario's one run: its state, its history and every task it emitted."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.history: list[HistoryEvent] = []
        self.tasks: list[rq.Task] = []
        self.state: MutableState | None = None

    def send(self, slug: str, actor: str, at: float, request: rq.Request, expect: str) -> Step:
        now = T0 + round(at * S)
        if isinstance(request, rq.StartWorkflowExecution) and self.state is None:
            outcome = service.start(request, now)
        else:
            assert self.state is not None
            outcome = service.handle(self.state, request, now)
        self.state = outcome.state
        self.history.extend(outcome.events)
        self.tasks.extend(outcome.tasks)
        step = Step(slug, actor, now - T0, request, outcome, len(outcome.state.buffered))
        written = " ".join(_camel(e.event_type.name) for e in outcome.events)
        if written != expect:
            raise ExtensionError(
                f"walkthrough step {slug!r}: wrote [{written}], expected [{expect}]"
            )
        self.steps.append(step)
        return step

    def task(self, kind: type[T], test: Callable[[T], bool] = lambda _: True) -> T:
        """The latest outbox task of `kind` that passes `test`."""
        return next(t for t in reversed(self.tasks) if isinstance(t, kind) and test(t))


def _wft_token(step: Step) -> rq.WorkflowTaskToken:
    reply = step.outcome.reply
    assert isinstance(reply, rq.WorkflowTaskStarted), reply
    return reply.token


def _act_token(step: Step) -> rq.ActivityTaskToken:
    reply = step.outcome.reply
    assert isinstance(reply, rq.ActivityTaskStarted), reply
    return reply.token


def scenario() -> list[Step]:
    """Play the order workflow; return its steps (see the module docstring)."""
    run = _Run()
    start = rq.StartWorkflowExecution(
        namespace="default",
        workflow_id="order-42",
        run_id="run-1",
        workflow_type="OrderWorkflow",
        task_queue="orders",
        request_id="client-req-1",
        input=Opaque.of({"order": 42}),
        workflow_task_timeout=10 * S,
    )
    run.send("start", "client", 0, start, "WorkflowExecutionStarted WorkflowTaskScheduled")

    def poll_workflow_task(slug: str, at: float) -> rq.WorkflowTaskToken:
        transfer = run.task(rq.WorkflowTaskTransfer)
        request = rq.RecordWorkflowTaskStarted(
            transfer.scheduled_event_id, transfer.stamp, f"poll-{slug}", "worker-1"
        )
        return _wft_token(run.send(slug, "matching", at, request, "WorkflowTaskStarted"))

    token = poll_workflow_task("wft1-started", 0.01)
    signal = rq.SignalWorkflowExecution("add-item", "client-req-2", Opaque.of({"sku": "tea"}))
    run.send("signal-buffered", "client", 0.02, signal, "")
    schedule = Command(
        CommandType.SCHEDULE_ACTIVITY_TASK,
        ScheduleActivityTaskCommandAttributes(
            activity_id="charge-card",
            activity_type=ActivityType(name="ChargeCard"),
            task_queue=task_queue("orders"),  # the SDKs name it; the server takes no default
            start_to_close_timeout=10 * S,
            retry_policy=Opaque.of({"initialInterval": "1s", "maximumAttempts": 3}),
        ),
    )
    timer = Command(
        CommandType.START_TIMER,
        StartTimerCommandAttributes(timer_id="ship-by", start_to_fire_timeout=60 * S),
    )
    run.send(
        "wft1-completed",
        "worker",
        0.03,
        rq.RespondWorkflowTaskCompleted(token, (schedule, timer), "worker-1"),
        "WorkflowTaskCompleted ActivityTaskScheduled TimerStarted WorkflowExecutionSignaled"
        " WorkflowTaskScheduled",
    )
    token = poll_workflow_task("wft2-started", 0.04)
    done = rq.RespondWorkflowTaskCompleted(token, (), "worker-1")
    run.send("wft2-completed", "worker", 0.05, done, "WorkflowTaskCompleted")

    def poll_activity(slug: str, at: float) -> rq.ActivityTaskToken:
        transfer = run.task(rq.ActivityTaskTransfer)
        request = rq.RecordActivityTaskStarted(
            transfer.scheduled_event_id, transfer.stamp, f"poll-{slug}", "worker-2"
        )
        return _act_token(run.send(slug, "matching", at, request, ""))

    act = poll_activity("activity-started-1", 0.1)
    failure = Opaque.of({"message": "card network timeout"})
    failed = rq.RespondActivityTaskFailed(act, failure, "NetworkTimeout", identity="worker-2")
    run.send("activity-failed-1", "activity worker", 0.6, failed, "")
    retry = run.task(rq.ActivityRetryTask)
    run.send("retry-timer", "timer queue", (retry.fire_time - T0) / S, rq.FireTimer(retry), "")
    act = poll_activity("activity-started-2", 1.7)
    completed = rq.RespondActivityTaskCompleted(act, Opaque.of({"charge": "ch_1"}), "worker-2")
    run.send(
        "activity-completed",
        "activity worker",
        2.5,
        completed,
        "ActivityTaskStarted ActivityTaskCompleted WorkflowTaskScheduled",
    )
    token = poll_workflow_task("wft3-started", 2.51)
    done = rq.RespondWorkflowTaskCompleted(token, (), "worker-1")
    run.send("wft3-completed", "worker", 2.52, done, "WorkflowTaskCompleted")
    stale = run.task(
        rq.ActivityTimeoutTask,
        lambda t: t.attempt == 1 and t.timeout_type is TimeoutType.START_TO_CLOSE,
    )
    run.send("stale-timer", "timer queue", (stale.fire_time - T0) / S, rq.FireTimer(stale), "")
    fire = run.task(rq.UserTimerTask)
    run.send(
        "timer-fired",
        "timer queue",
        (fire.fire_time - T0) / S,
        rq.FireTimer(fire),
        "TimerFired WorkflowTaskScheduled",
    )
    token = poll_workflow_task("wft4-started", 60.04)
    complete = Command(
        CommandType.COMPLETE_WORKFLOW_EXECUTION,
        CompleteWorkflowExecutionCommandAttributes(result=Opaque.of({"status": "shipped"})),
    )
    run.send(
        "wft4-completed",
        "worker",
        60.05,
        rq.RespondWorkflowTaskCompleted(token, (complete,), "worker-1"),
        "WorkflowTaskCompleted WorkflowExecutionCompleted",
    )
    verdict = validate(run.history)
    if not verdict.valid:
        raise ExtensionError(f"walkthrough history is invalid: {verdict.violations}")
    return run.steps


# --- rendering -------------------------------------------------------------------------


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _value(name: str, value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Opaque):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        if name.endswith("_time"):
            return f"t+{(value - T0) / S:g}s"
        if name.endswith(("_timeout", "_interval")):
            return f"{value / S:g}s"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(name, v) for v in value) + "]"
    if isinstance(value, Command):
        return _camel(value.command_type.name) + _fields(value.attributes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__ + _fields(value)
    return repr(value)


def _fields(value: object) -> str:
    """`(name=value, ...)` for the fields that differ from their defaults."""
    assert dataclasses.is_dataclass(value)
    parts = []
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        if f.default is not dataclasses.MISSING and v == f.default:
            continue
        if f.name in ("unknown", "identity", "namespace"):
            continue
        parts.append(f"{f.name}={_value(f.name, v)}")
    return "(" + ", ".join(parts) + ")"


def _references(event: HistoryEvent) -> str:
    attrs = event.attributes
    parts = []
    for name in REFERENCES:
        value = getattr(attrs, name, None)
        if value not in (None, 0, "") and not (isinstance(value, enum.Enum) and value.value == 0):
            parts.append(f"{name}={_value(name, value)}")
    return ", ".join(parts) or "—"


def _step(number: int, step: Step) -> list[str]:
    o = step.outcome
    lines = [
        f"<!-- step:{step.slug} -->",
        "",
        f"**{number}. {step.actor}, t+{step.at / S:g}s:** "
        f"`{type(step.request).__name__}{_fields(step.request)}`",
        "",
    ]
    if o.events:
        lines += ["| id | event | references |", "|---:|---|---|"]
        lines += [
            f"| {e.event_id} | {_camel(e.event_type.name)} | {_references(e)} |" for e in o.events
        ]
    else:
        lines.append("*No event written.*")
    if step.buffered:
        lines += ["", f"*Held in the buffer, not yet written: {step.buffered} event(s).*"]
    lines += ["", "Outbox tasks:" if o.tasks else "*No outbox task.*", ""]
    if o.tasks:
        lines += [*(f"- `{_value('task', t)}`" for t in o.tasks), ""]
    lines += [f"Reply: `{_value('reply', o.reply)}`", "", f"<!-- end:{step.slug} -->", ""]
    return lines


def render(steps: list[Step]) -> str:
    lines = [
        "<!-- Generated by docs/_ext/walkthrough.py from a run of the history service. -->",
        "",
    ]
    for number, step in enumerate(steps, 1):
        lines += _step(number, step)
    return "\n".join(lines)


def _generate(app: Sphinx) -> None:
    path = Path(app.srcdir) / PAGE
    path.parent.mkdir(exist_ok=True)
    text = render(scenario())
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _exclude(app: Sphinx, config: Config) -> None:
    """The page is included piecewise by life-of-a-workflow.md, not a document itself."""
    config.exclude_patterns = [*config.exclude_patterns, PAGE]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _exclude)
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "version": "1"}
