"""Drive the pure history service with the requests behind a recorded real history.

`reproduce(events)` walks a real history and, event by event, issues the request that
made the real server write it, with every field the request carried as far as the
history shows it (identities, headers, memo, search attributes, SDK metadata, worker
version stamps): a start, a signal, a cancel request, a termination, a worker's
RecordWorkflowTaskStarted or RespondWorkflowTaskCompleted (its commands read back from
the command events of the batch, field by field; a completion followed by a
WorkflowTaskStarted with the request id "request-from-RespondWorkflowTaskCompleted"
asked for the next task in its answer, and started it: no poll is issued for that
task), an activity's start and close (with
the attempts before a final attempt > 1, which left no events: each is taken to have
ended as the last one did, whose failure the final ActivityTaskStarted carries), a
heartbeat a timeout's failure recorded, a timer firing, a reset (given the base run's
history). Requests carry the real event times. It returns the events the model wrote,
for a field-by-field comparison with the real ones (`tmodel conform`), or raises
CannotReproduce naming the request the model refused, or NotModelled naming the scope
declaration (adapters/conform/scope.py) that covers the feature.

Events that arrived while a workflow task was in flight are recognised by the server's
flush order (an ActivityTaskStarted not followed by its own close): those requests are
issued before the completion, so the model buffers and reorders them as the server did.
The run's state, the request plumbing and the activity attempts are in
adapters/conform/derive_base.py. Two values come from the server's environment rather
than from a request, so they are taken as recorded: the namespace's id and the
history's size on WorkflowTaskStarted.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence

from adapters.conform import derive_base as db
from adapters.conform import derive_nexus as nx
from adapters.conform.derive_base import ACTIVITY_CLOSES, DriverBase, admitted_late, attrs
from adapters.conform.derive_inline import next_sticky, speculative_inline, started_inline
from adapters.conform.derive_kinds import (
    BUFFERED_KINDS,
    CHILD_EVENTS,
    EXTERNAL_RESULTS,
    IN_BATCH,
    WRITTEN_BY_THE_MODEL,
    force_closed,
)
from adapters.conform.requests import (
    CannotReproduce,
    NotModelled,
    announced_target,
    before_reset,
    cancel_request,
    deployment_options,
    made_by_reset,
    namespace_id_of,
    namespace_of,
    post_reset_options,
    reapplied_kinds,
    signal_request,
    to_command,
    to_message,
)
from adapters.conform.scope import SCOPE_OF_EVENT
from core import requests as rq
from core.commands import (
    Command,
)
from core.enums import (
    CommandType,
    EventType,
    TaskQueueKind,
    WorkflowTaskFailedCause,
)
from core.event_sets import COMMAND_EVENT_TYPES, WORKFLOW_TASK_CLOSE_EVENT_TYPES
from core.events import HistoryEvent
from core.statemachine.history.service import handle as service
from core.statemachine.history.service import unwritten_task
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.reapply import child_report
from core.statemachine.history.service.reset import (
    ResetOutcome,
    reset,
)
from core.statemachine.history.service.state import MutableState, WorkflowTaskInfo

E = EventType
C = CommandType

# Reference attributes compared between the real and the model's events.
COMPARED = (
    "scheduled_event_id",
    "started_event_id",
    "initiated_event_id",
    "workflow_task_completed_event_id",
    "latest_cancel_requested_event_id",
    "attempt",
    "timer_id",
    "activity_id",
    "marker_name",
    "signal_name",
    "timeout_type",
    "cause",
    "retry_state",
    "initiator",
)


def fingerprint(event: HistoryEvent) -> tuple[object, ...]:
    a = event.attributes
    return (
        event.event_id,
        event.event_type.name,
        *tuple((name, getattr(a, name)) for name in COMPARED if hasattr(a, name)),
    )


_UNSEEN_UPDATE = "update-behind-an-unwritten-speculative-task"


class Driver(DriverBase):
    """Issues the requests behind `real`; `base` is the history of the run a reset run
    (one whose history holds WorkflowTaskFailed(RESET_WORKFLOW)) was reset from, and
    `earlier` the histories of other runs by run id, where a base run that a reset made
    finds its own base (and that one its own)."""

    def __init__(
        self,
        real: Sequence[HistoryEvent],
        base: Sequence[HistoryEvent] | None = None,
        earlier: Mapping[str, Sequence[HistoryEvent]] | None = None,
    ) -> None:
        super().__init__(real)
        self.base = base
        self.earlier: Mapping[str, Sequence[HistoryEvent]] = earlier or {}
        self.issued: set[int] = set()  # real event ids whose request was sent early
        self.reset_outcome: ResetOutcome | None = None
        self.namespace_id = namespace_id_of(real)
        self.namespace = namespace_of(real, self.namespace_id)
        self.endpoints = nx.endpoints_of(real)  # (the namespace's, as its id)
        self.at = 0  # the position of the event being reproduced
        # the Started event id of a speculative task started inline -> the stand-in
        # update behind it, which the task's completion rejects (speculative_inline)
        self.unseen_rejections: dict[int, str] = {}

    @classmethod
    def resumed(
        cls, real: Sequence[HistoryEvent], state: MutableState, tasks: Sequence[rq.Task]
    ) -> Driver:
        """A driver that goes on from `state` (with its outbox `tasks`), the run after
        the first `state.next_event_id - 1` events of `real`; call `run(start=...)`."""
        driver = cls(real)
        driver.state = state
        driver.written = list(real[: state.next_event_id - 1])
        driver.timers = [t for t in tasks if isinstance(t, rq.TimerTask)]
        return driver

    # -- the walk ---------------------------------------------------------------------
    def run(self, start: int = 0) -> list[HistoryEvent]:
        i = start
        while i < len(self.real):
            self.at = i
            try:
                i = self.step(i)
            except ValueError as exc:  # the core's word for a malformed value in a request
                raise CannotReproduce(f"the model refuses a malformed value: {exc}") from None
        return self.written

    def step(self, i: int) -> int:
        event = self.real[i]
        if event.event_id in self.issued:
            return i + 1
        now = event.event_time or 0
        t, a = event.event_type, attrs(event)
        self.hold_transient(i, now)
        if t is E.WORKFLOW_EXECUTION_STARTED:
            self.start(i)
            return i + 2 if self.signal_with_start(i) else i + 1
        if t is E.WORKFLOW_TASK_SCHEDULED:
            assert self.state is not None
            if self.state.backoff_pending:  # the first task's backoff is over only now (a
                # run closed during its backoff never schedules it)
                self.fire(rq.WorkflowBackoffTask, now)
            self.end_held(now)
            if self.unwritten(i):
                self.hidden_attempts_before_read(a.attempt, now)
            self.send_updates(i, now)
        elif t is E.WORKFLOW_TASK_STARTED:
            self.start_workflow_task(i, now)
        elif t is E.WORKFLOW_TASK_COMPLETED:
            return self.complete_workflow_task(i, now)
        elif t is E.WORKFLOW_TASK_FAILED:
            if a.cause is WorkflowTaskFailedCause.RESET_WORKFLOW:
                # the events before the reset that made this run are its base's, which the
                # reset rebuilds; a reset event among them was copied from a base that a
                # reset made, and is not done again (made_by_reset)
                made = made_by_reset(self.real)
                assert made is not None
                return self.reset(made, self.real[made].event_time or 0)
            if a.cause is WorkflowTaskFailedCause.FORCE_CLOSE_COMMAND and force_closed(
                self.real, i
            ):
                return i + 1  # the terminate's or the timeout's own request writes it
            failed = rq.RespondWorkflowTaskFailed(
                self.token(),
                cause=a.cause,
                failure=a.failure,
                identity=a.identity,
                binary_checksum=a.binary_checksum,
            )
            self.flushed_by(i, failed, now)
            self.send(failed, now)
        elif t is E.WORKFLOW_TASK_TIMED_OUT:
            keys = {"timeout_type": a.timeout_type}
            self.flushed_by(i, rq.FireTimer(self.pending(rq.WorkflowTaskTimeoutTask, keys)), now)
            self.fire(rq.WorkflowTaskTimeoutTask, now, timeout_type=a.timeout_type)
        elif t is E.ACTIVITY_TASK_TIMED_OUT and self.swept(event):
            pass  # an earlier activity timer task timed it out too (activity_sweep.py)
        elif t is E.ACTIVITY_TASK_TIMED_OUT:
            run = itertools.takewhile(
                lambda e: e.event_type is E.ACTIVITY_TASK_TIMED_OUT, self.real[i:]
            )
            swept = list(run)
            self.hidden_attempts(swept, now)  # (one timer task may time them all out)
            self.passed_over(swept, now)
            for other in swept[1:]:  # the sweep's other attempts ran too (swept_together)
                started = self.started_event(attrs(other).scheduled_event_id)
                if started is not None:
                    self.start_final_attempt(started, now)
            self.close_activity(event, now)
        elif t in ACTIVITY_CLOSES and not (
            t is E.ACTIVITY_TASK_CANCELED and a.started_event_id == 0
        ):  # (a cancel before the start is written by the model inside its batch)
            self.close_activity(event, now)
        elif t is E.TIMER_FIRED and self.timer_swept(event):
            pass  # an earlier user timer task fired it too (timer.py)
        elif t is E.TIMER_FIRED:
            self.fire(rq.UserTimerTask, now, timer_id=a.timer_id)
        elif t is E.WORKFLOW_EXECUTION_SIGNALED:
            self.send(signal_request(event), now)
        elif t is E.WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self.send(cancel_request(event), now)
        elif t is E.WORKFLOW_EXECUTION_TERMINATED:
            stop = rq.TerminateWorkflowExecution(a.reason, a.identity, a.details, event.links)
            self.send(stop, now)
        elif t is E.WORKFLOW_EXECUTION_TIMED_OUT:
            self.fire(rq.WorkflowRunTimeoutTask, now)
        elif t in CHILD_EVENTS:
            report = child_report(event)  # the reset's own reading of a child event
            if report is None:
                raise CannotReproduce(f"{t.name} names no child")
            self.send(report, now)
        elif t in EXTERNAL_RESULTS:
            cancel, delivered = EXTERNAL_RESULTS[t]
            cause = int(getattr(a, "cause", 1))
            self.send(rq.RecordExternalResult(a.initiated_event_id, cancel, delivered, cause), now)
        elif t in nx.STEPPED:
            nx.step(self, i, now)
        elif t in SCOPE_OF_EVENT:
            raise NotModelled(SCOPE_OF_EVENT[t])
        elif t not in WRITTEN_BY_THE_MODEL:
            raise CannotReproduce(f"{t.name} is not modelled yet")
        return i + 1

    def reset(self, i: int, now: int) -> int:
        """The reset that wrote event `i`: drive the base run up to the reset, reset it
        to the recorded point, and go on from the first event the reset did not write."""
        failed = attrs(self.real[i])
        if self.base is None:
            raise CannotReproduce(
                f"a reset run needs the history of its base run (run id {failed.base_run_id})"
            )
        started = attrs(self.real[i - 1])
        synthesized = started.identity == HISTORY_SERVICE  # the reset started the task
        finish = failed.started_event_id if synthesized else failed.started_event_id + 1
        sid = started.scheduled_event_id
        if synthesized and sid <= len(self.base) and self.base[sid - 1] != self.real[sid - 1]:
            finish = sid  # the reset wrote the task's Scheduled too: a retry was pending
        # a base run made by a reset is rebuilt from its own base, as any reset run
        made = made_by_reset(self.base)
        older = attrs(self.base[made]).base_run_id if made is not None else ""
        base = Driver(before_reset(self.base), self.earlier.get(older), self.earlier)
        # one namespace: the reset run is rebuilt in the base's (workflow_resetter.go in
        # service/history/ndc), whose id the base's own events may not show
        base.namespace_id = base.namespace_id or self.namespace_id
        base.namespace = base.namespace or self.namespace
        base.run()
        assert base.state is not None
        reason = str(json.loads(failed.failure.text)["message"])
        signals, updates = reapplied_kinds(self.base, finish, self.real, i)
        request = rq.ResetWorkflowExecution(
            reason,
            finish,
            request_id=f"reset-{i}",
            reapply_signals=signals,
            reapply_updates=updates,
            history_size_bytes=started.history_size_bytes if synthesized else 0,
            post_reset_options=post_reset_options(self.base, finish, self.real, i),
        )
        outcome = reset(
            base.state, base.written, request, failed.new_run_id, now, limits=self.limits
        )
        if outcome.new_run is None:
            raise CannotReproduce(f"the reset was refused: {outcome.reply}")
        self.reset_outcome = outcome
        self.state = outcome.new_run.state
        self.written = list(outcome.new_run.events)
        self.timers = [t for t in outcome.new_run.tasks if isinstance(t, rq.TimerTask)]
        return len(self.written)

    def signal_with_start(self, i: int) -> bool:
        return (
            i + 1 < len(self.real) and self.real[i + 1].event_type is E.WORKFLOW_EXECUTION_SIGNALED
        )

    def start(self, i: int) -> None:
        event = self.real[i]
        now = event.event_time or 0
        request = db.start_request(event, self.namespace_id, self.namespace)
        if self.signal_with_start(i):
            self.apply(
                service.signal_with_start(
                    None,
                    rq.SignalWithStartWorkflowExecution(request, signal_request(self.real[i + 1])),
                    now,
                )
            )
        else:
            self.apply(service.start(request, now))
        if request.request_eager_execution:  # the start wrote the task's Started too
            self.issued.add(event.event_id + 2)

    def send_updates(self, i: int, now: int) -> None:
        """Updates accepted by this task were admitted before it was scheduled; with no
        task pending, the model creates it (speculatively) for them."""
        scheduled = self.real[i]
        for event in self.real:
            a = attrs(event)
            if (
                event.event_type is E.WORKFLOW_EXECUTION_UPDATE_ACCEPTED
                and a.accepted_request_sequencing_event_id == scheduled.event_id
            ):
                request = rq.UpdateWorkflowExecution(a.protocol_instance_id, a.accepted_request)
                self.send(request, now)
        for late in admitted_late(self.real, scheduled.event_id):
            self.send(late, now)
        if self.state is not None and self.state.wft is None and self.unwritten(i):
            # a history read while a speculative task runs ends with its Scheduled and
            # Started events, which the server has not written (no task id): the update
            # behind the task shows nowhere yet, so a stand-in is admitted
            self.send(rq.UpdateWorkflowExecution(_UNSEEN_UPDATE), now)

    def unwritten(self, k: int) -> bool:
        """Is event `k` one a read appended without writing it: no task id, after ones
        with?"""
        return self.real[k].task_id == 0 and k > 0 and self.real[k - 1].task_id != 0

    def start_workflow_task(self, i: int, now: int) -> None:
        assert self.state is not None
        scheduled = next(
            (e for e in reversed(self.real[:i]) if e.event_type is E.WORKFLOW_TASK_SCHEDULED), None
        )
        want = attrs(scheduled).attempt if scheduled is not None else 1
        self.fail_hidden_attempts(want, now, lambda wft: self.poll(i, now))
        self.poll(i, now)

    def hidden_attempts_before_read(self, want: int, now: int) -> None:
        """A read's suffix names the attempt of the transient task pending when the
        history was read; the attempts before it were started and failed or timed out
        with no worker's answer in the history (a stopped worker's task times out, and
        its retry is scheduled at the timeout: the suffix's time)."""

        def start(wft: WorkflowTaskInfo) -> None:
            if not wft.started:
                hidden = f"hidden-{wft.attempt}"
                started = rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, hidden)
                self.send(started, now)

        self.fail_hidden_attempts(want, now, start)

    def fail_hidden_attempts(
        self, want: int, now: int, start: Callable[[WorkflowTaskInfo], None]
    ) -> None:
        """The transient task's attempts before attempt `want`, each started (`start`)
        and failed: a transient attempt that fails or times out writes nothing
        (workflow_task.py `fail`), so only the next attempt's number shows them."""
        assert self.state is not None
        while (wft := self.state.wft) is not None and wft.transient and wft.attempt < want:
            start(wft)
            self.send(rq.RespondWorkflowTaskFailed(self.token()), now)

    def read_suffix(self) -> list[HistoryEvent]:
        """What a history read by an SDK's client appends to a running run's history:
        the Scheduled and Started events of its transient or speculative workflow task
        (`unwritten_task.transient_events`). A recorded history that goes on past the
        events the model wrote must end with them; one exported by the CLI or the UI,
        which the server does not give them, ends without."""
        if self.state is None or len(self.real) <= len(self.written):
            return []
        return list(unwritten_task.transient_events(self.state, read=True))

    def poll(self, i: int, now: int) -> None:
        assert self.state is not None
        wft = self.state.wft
        if wft is None:
            raise CannotReproduce("WorkflowTaskStarted but the model has no pending task")
        request_id = f"poll-{i}-{wft.attempt}"
        started = attrs(self.real[i])  # the size is the store's, so it is taken as recorded
        target, revision = announced_target(self.state, started)
        self.send(
            rq.RecordWorkflowTaskStarted(
                wft.scheduled_event_id,
                wft.stamp,
                request_id,
                identity=started.identity,
                from_sticky_queue=wft.sticky and not self.polled_from_normal(i),
                worker_version=started.worker_version,
                history_size_bytes=started.history_size_bytes,
                target_version=target,
                target_revision=revision,
            ),
            now,
        )

    def polled_from_normal(self, i: int) -> bool:
        """Did a poller of the normal queue start the sticky task whose Started is event
        `i` (matching found no sticky poller)? The history shows it two ways: a Scheduled
        event written at the start names the queue polled (a speculative task), and a
        failure or timeout of the task is followed by the next attempt, where a task
        that failed on the sticky queue is retried as attempt 1 (the start cleared the
        stickiness: workflow_task_state_machine.go failWorkflowTask)."""
        before = self.real[i - 1] if i > 0 else None
        assert self.state is not None and self.state.wft is not None
        if self.state.wft.unwritten and before is not None:
            queue = attrs(before).task_queue
            return before.event_type is E.WORKFLOW_TASK_SCHEDULED and (
                queue is None or queue.kind is not TaskQueueKind.STICKY
            )
        close = next(
            (e for e in self.real[i + 1 :] if e.event_type in WORKFLOW_TASK_CLOSE_EVENT_TYPES), None
        )
        if close is None or close.event_type is E.WORKFLOW_TASK_COMPLETED:
            return False
        after = self.real[self.real.index(close) + 1 :]
        retry = next((e for e in after if e.event_type is E.WORKFLOW_TASK_SCHEDULED), None)
        return retry is not None and attrs(retry).attempt > 1

    def complete_workflow_task(self, i: int, now: int) -> int:
        j = i + 1
        while j < len(self.real) and (
            self.real[j].event_type in COMMAND_EVENT_TYPES or self.real[j].event_type in IN_BATCH
        ):
            j += 1
        batch = self.real[i + 1 : j]
        commands: list[Command] = []
        messages: list[rq.UpdateMessage] = []
        for event in batch:
            command = to_command(event)
            message = to_message(event)
            if message is not None:
                messages.append(message)
            if command is not None:
                commands.append(command)
                self.start_before_cancel(command, batch, now)
        completed = attrs(self.real[i])
        rejected = self.unseen_rejections.pop(completed.started_event_id, None)
        if rejected is not None:
            kind = rq.UpdateMessageKind.REJECT
            messages.append(rq.UpdateMessage(f"{rejected}/{kind.value}", rejected, kind))
        buffered = self.buffered_run(j, self.real[i].event_time or 0)
        for k in buffered:
            self.issued.add(self.real[k].event_id)
            self.step_early(k)
        # flushed by the completion (ActivityTaskStarted events among them), the task
        # after them started inline: the completion starts it, no poll does
        inline = started_inline(self.real, j + len(self.buffered_kinds(j))) if buffered else None
        inline = inline or started_inline(self.real, j)
        if inline is not None:
            self.issued.add(inline.event_id)
        speculative = not buffered and speculative_inline(inline, completed.identity)
        if speculative:
            assert inline is not None
            stand_in = f"{_UNSEEN_UPDATE}-{inline.event_id}"
            self.send(rq.UpdateWorkflowExecution(stand_in), now)
            self.unseen_rejections[inline.event_id] = stand_in
        sticky = next_sticky(self.real, j)
        self.send(
            rq.RespondWorkflowTaskCompleted(
                self.token(),
                tuple(commands),
                sticky_queue=sticky,
                sticky_schedule_to_start_timeout=5 * 10**9 if sticky else 0,
                messages=tuple(messages),
                identity=completed.identity,
                sdk_metadata=completed.sdk_metadata,
                metering_metadata=completed.metering_metadata,
                worker_version=completed.worker_version,
                binary_checksum=completed.binary_checksum,
                deployment_options=deployment_options(completed),
                versioning_behavior=completed.versioning_behavior,
                nexus_endpoints=self.endpoints,
                return_new_workflow_task=inline is not None,
                history_size_bytes=attrs(inline).history_size_bytes if inline else 0,
                force_create_new_workflow_task=bool(
                    not buffered
                    and not speculative
                    and j < len(self.real)
                    and self.real[j].event_type is E.WORKFLOW_TASK_SCHEDULED
                    and not self.unwritten(j)
                ),
            ),
            now,
        )
        return j

    def flushed_by(self, i: int, ending: rq.Request, now: int) -> None:
        """Events right after the failure or timeout at `i` that the server wrote before
        scheduling the next task were buffered while the task was in flight and flushed
        by its end: if `ending` would schedule the next task at once (a sticky task
        fails without an attempt increment), issue their requests before it."""
        run = self.buffered_kinds(i + 1)
        if not run or self.state is None:
            return
        ahead = service.handle(self.state, ending, now, self.limits)  # pure: a look, not a step
        if not any(e.event_type is E.WORKFLOW_TASK_SCHEDULED for e in ahead.events):
            return
        for k in run:
            if self.real[k].event_type is not E.ACTIVITY_TASK_STARTED:
                self.issued.add(self.real[k].event_id)
                self.step_early(k)

    def buffered_kinds(self, j: int) -> list[int]:
        run = []
        while j < len(self.real) and self.real[j].event_type in BUFFERED_KINDS:
            run.append(j)
            j += 1
        return run

    def step_early(self, k: int) -> None:
        event = self.real[k]
        self.issued.discard(event.event_id)
        self.step(k)
        self.issued.add(event.event_id)

    def buffered_run(self, j: int, completed_at: int) -> list[int]:
        """Positions after the batch that the server flushed from its buffer. Three
        signs say the events of the run arrived while the task was in flight: an
        ActivityTaskStarted out of its place (the server writes it only with the
        attempt's close, or on a flush); an event written earlier than the completion
        (a buffered event keeps the time it arrived at); or two events or more that
        each need a workflow task before the next task is scheduled (arriving after
        the completion, the first would have scheduled it at once)."""
        run = nx.unbatched(self.real, j, self.buffered_kinds(j))
        reordered = any(
            self.real[p].event_type is E.ACTIVITY_TASK_STARTED
            and (
                p + 1 >= len(self.real)
                or self.real[p + 1].event_type not in ACTIVITY_CLOSES
                or attrs(self.real[p + 1]).scheduled_event_id
                != attrs(self.real[p]).scheduled_event_id
            )
            and not self.swept_together(p)
            for p in run
        )
        flushed = [p for p in run if self.real[p].event_type is not E.ACTIVITY_TASK_STARTED]
        early = any((self.real[p].event_time or 0) < completed_at for p in flushed)
        end = run[-1] + 1 if run else j
        several = (
            len(flushed) > 1
            and end < len(self.real)
            and self.real[end].event_type is E.WORKFLOW_TASK_SCHEDULED
            and not self.one_sweep([self.real[p] for p in flushed])
        )
        return flushed if reordered or early or several else []


def reproduce(
    real: Sequence[HistoryEvent],
    base: Sequence[HistoryEvent] | None = None,
    earlier: Mapping[str, Sequence[HistoryEvent]] | None = None,
) -> list[HistoryEvent]:
    return Driver(real, base, earlier).run()
