"""The LIMIT-* rules in the pure history service (service/enforce.py, command_limits.py).

Each case drives a run into one limit under small limits and returns whether the service
acted as the server does (the events, causes, messages and replies are the server's);
each case is then run again with its guard removed, and must then say no: a test that
still passed without the guard would test nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import pytest

from core import requests as rq
from core.commands import (
    Command,
    CommandAttributes,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType as C
from core.enums import EventType as E
from core.enums import RetryState, SuggestContinueAsNewReason, WorkflowTaskFailedCause
from core.events import WorkflowExecution, WorkflowType
from core.opaque import Opaque
from core.payloads import payload, to_payloads
from core.proto_size import search_attributes_size
from core.statemachine.history import limits as lim
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.service import enforce, workflow_task
from core.statemachine.history.service import handle as service
from core.statemachine.history.validator import validate
from tests.core.statemachine.coverage_scenarios import Run, activity

Cause = WorkflowTaskFailedCause
SMALL = Limits(
    history_count_warn=8,
    history_count_error=12,
    history_size_warn=500,
    history_size_error=1000,
    history_count_suggest_continue_as_new=6,
    history_size_suggest_continue_as_new=400,
    blob_size_warn=100,
    blob_size_error=200,
    memo_size_warn=50,
    memo_size_error=100,
    pending_activities=2,
    pending_child_executions=2,
    pending_signals=2,
    pending_cancel_requests=2,
    search_attribute_value_size=20,
    search_attributes_total_size=60,
)
BIG = to_payloads(["x" * 300])
assert BIG is not None


class LimitedRun(Run):
    """A run whose requests are handled under SMALL limits; keeps the last Outcome."""

    def __init__(self, memo: Opaque | None = None) -> None:
        super().__init__()
        if memo is not None:
            start = rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "s", memo=memo)
            outcome = service.start(start, 0)
            self.state, self.events = outcome.state, list(outcome.events)
        self.warnings: list[str] = []

    def send(self, request: rq.Request, advance: int | None = None) -> rq.Reply:
        self.now += 10**9 if advance is None else advance
        outcome = service.handle(self.state, request, self.now, SMALL)
        self.state = outcome.state
        self.events.extend(outcome.events)
        self.timers.extend(t for t in outcome.tasks if isinstance(t, rq.TimerTask))
        self.warnings.extend(outcome.warnings)
        return outcome.reply

    def completion(self, *commands: Command) -> rq.Reply:
        return self.send(rq.RespondWorkflowTaskCompleted(self.poll(), commands, identity="w"))

    def types(self) -> list[E]:
        return [e.event_type for e in self.events]

    def valid(self) -> bool:
        return validate(self.events, SMALL).violations == ()


def _failed_task(run: LimitedRun, cause: Cause, error: str, terminated: bool) -> bool:
    """The task failed as the server fails it: the cause, a server failure with the
    message "Cause: error", the worker's identity; then Terminated (the same message,
    by history-service) or a new task; the reply InvalidArgument."""
    message = lim.task_failure_message(cause, error)
    failed = [e for e in run.events if e.event_type is E.WORKFLOW_TASK_FAILED]
    if len(failed) != 1:
        return False
    a = failed[0].attributes
    ok = (
        getattr(a, "cause", None) is cause
        and getattr(a, "failure", None) == lim.server_failure(message, False)
        and getattr(a, "identity", None) == "w"
    )
    if terminated:
        last = run.events[-1].attributes
        ok = ok and run.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED
        ok = ok and (getattr(last, "reason", ""), getattr(last, "identity", "")) == (
            message,
            "history-service",
        )
    else:
        ok = ok and run.state.running and run.state.wft is not None and run.state.wft.attempt == 2
    return ok and run.valid()


# --- pending entities ----------------------------------------------------------------------


def _child(i: int) -> Command:
    attributes = StartChildWorkflowExecutionCommandAttributes(
        workflow_id=f"c{i}", workflow_type=WorkflowType(name="Child")
    )
    return Command(C.START_CHILD_WORKFLOW_EXECUTION, attributes)


def _signal(i: int, data: Opaque | None = None) -> Command:
    attributes = SignalExternalWorkflowExecutionCommandAttributes(
        execution=WorkflowExecution(workflow_id=f"t{i}"), signal_name="s", input=data
    )
    return Command(C.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, attributes)


def _cancel(i: int) -> Command:
    attributes = RequestCancelExternalWorkflowExecutionCommandAttributes(workflow_id=f"t{i}")
    return Command(C.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, attributes)


MAKERS: dict[str, Callable[[int], Command]] = {
    "activities": lambda i: activity(f"a{i}"),
    "children": _child,
    "signals": _signal,
    "cancels": _cancel,
}
KINDS = dict(zip(MAKERS, lim.PENDING_KINDS, strict=True))


def pending(kind: str) -> bool:
    """Two are taken; a third, in a later task, fails the task and the run goes on."""
    run = LimitedRun()
    make = MAKERS[kind]
    if isinstance(run.completion(make(0), make(1)), rq.Error):
        return False
    reply = run.completion(make(2))
    message = lim.pending_message(KINDS[kind], 2, 2)
    return isinstance(reply, rq.Error) and _failed_task(run, KINDS[kind].cause, message, False)


# --- sizes of what a command carries -------------------------------------------------------


def _command_case(command: Command, cause: Cause, error: str) -> Callable[[], bool]:
    def case() -> bool:
        run = LimitedRun()
        reply = run.completion(command)
        return isinstance(reply, rq.Error) and _failed_task(run, cause, error, True)

    return case


def _memo(size: int, key: str = "note") -> Opaque:
    return Opaque.of({"fields": {key: payload("m" * size)}})


def _search_attributes(**values: str) -> Opaque:
    return Opaque.of({"indexedFields": {k: payload(v) for k, v in values.items()}})


def _modify(memo: Opaque) -> Command:
    return Command(C.MODIFY_WORKFLOW_PROPERTIES, ModifyWorkflowPropertiesCommandAttributes(memo))


def _upsert(attributes: Opaque) -> Command:
    upsert = UpsertWorkflowSearchAttributesCommandAttributes(attributes)
    return Command(C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert)


def merged_memo() -> bool:
    """Two upserts, each within the memo limit; the second takes the run's over it."""
    run = LimitedRun(memo=_memo(40))
    if isinstance(run.completion(_modify(_memo(40))), rq.Error):  # replaces "note"
        return False
    run.completion(_modify(_memo(60, "more")))
    error = "ModifyWorkflowPropertiesCommandAttributes. Memo exceeds size limit."
    return _failed_task(run, Cause.BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES, error, True)


def merged_search_attributes() -> bool:
    """Values each within their limit, whose total goes over it once merged."""
    run = LimitedRun()
    if isinstance(run.completion(_upsert(_search_attributes(A="a" * 15))), rq.Error):
        return False
    run.completion(_upsert(_search_attributes(B="b" * 15)))
    both = _search_attributes(A="a" * 15, B="b" * 15)
    error = lim.search_attributes_total_message(search_attributes_size(both), 60)
    return _failed_task(run, Cause.BAD_SEARCH_ATTRIBUTES, error, True)


def _big_activity() -> Command:
    command = activity("a")
    assert isinstance(command.attributes, ScheduleActivityTaskCommandAttributes)
    attributes = dataclasses.replace(command.attributes, input=BIG)
    return Command(C.SCHEDULE_ACTIVITY_TASK, attributes)


def _command(kind: C, attributes: CommandAttributes) -> Command:
    return Command(kind, attributes)


COMMANDS: dict[str, Callable[[], bool]] = {
    "activity input": _command_case(
        _big_activity(),
        Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
        "ScheduleActivityTaskCommandAttributes.Input exceeds size limit.",
    ),
    "workflow result": _command_case(
        _command(C.COMPLETE_WORKFLOW_EXECUTION, CompleteWorkflowExecutionCommandAttributes(BIG)),
        Cause.BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,  # sic: the server's cause for it
        "CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.",
    ),
    "workflow failure": _command_case(
        _command(
            C.FAIL_WORKFLOW_EXECUTION,
            FailWorkflowExecutionCommandAttributes(Opaque.of({"message": "f" * 300})),
        ),
        Cause.BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
        "FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.",
    ),
    "marker details": _command_case(
        _command(
            C.RECORD_MARKER,
            RecordMarkerCommandAttributes("m", details=Opaque.of({"data": BIG.value()})),
        ),
        Cause.BAD_RECORD_MARKER_ATTRIBUTES,
        "RecordMarkerCommandAttributes.Details exceeds size limit.",
    ),
    "continue-as-new input": _command_case(
        _command(
            C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            ContinueAsNewWorkflowExecutionCommandAttributes(input=BIG),
        ),
        Cause.BAD_CONTINUE_AS_NEW_ATTRIBUTES,
        "ContinueAsNewWorkflowExecutionCommandAttributes. Input exceeds size limit.",
    ),
    "continue-as-new memo": _command_case(
        _command(
            C.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            ContinueAsNewWorkflowExecutionCommandAttributes(memo=_memo(150)),
        ),
        Cause.BAD_CONTINUE_AS_NEW_ATTRIBUTES,
        "ContinueAsNewWorkflowExecutionCommandAttributes. Memo exceeds size limit.",
    ),
    "child search attribute": _command_case(
        _command(
            C.START_CHILD_WORKFLOW_EXECUTION,
            StartChildWorkflowExecutionCommandAttributes(
                workflow_id="c",
                workflow_type=WorkflowType(name="Child"),
                search_attributes=_search_attributes(Stage="s" * 30),
            ),
        ),
        Cause.BAD_START_CHILD_EXECUTION_ATTRIBUTES,
        lim.search_attribute_value_message("Stage", 32, 20),
    ),
    "signal input": _command_case(
        _signal(0, BIG),
        Cause.BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
        "SignalExternalWorkflowExecutionCommandAttributes.Input exceeds size limit.",
    ),
    "upserted memo data": _command_case(
        _modify(_memo(300)),
        Cause.BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES,
        "ModifyWorkflowPropertiesCommandAttributes exceeds size limit.",
    ),
    "upserted search attribute data": _command_case(
        _upsert(_search_attributes(Stage="s" * 300)),
        Cause.BAD_SEARCH_ATTRIBUTES,
        "UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.",
    ),
    "merged memo": merged_memo,
    "merged search attributes": merged_search_attributes,
}


# --- the history's count and size ------------------------------------------------------------


def _timer(i: int) -> Command:
    return Command(C.START_TIMER, StartTimerCommandAttributes(f"t{i}", 10**9))


def _poll(run: LimitedRun) -> rq.Request:
    wft = run.state.wft
    assert wft is not None
    return rq.RecordWorkflowTaskStarted(wft.scheduled_event_id, wft.stamp, "p")


def _complete(run: LimitedRun, i: int) -> rq.Request:
    wft = run.state.wft
    assert wft is not None
    token = rq.WorkflowTaskToken(wft.scheduled_event_id, wft.started_event_id, wft.attempt)
    return rq.RespondWorkflowTaskCompleted(token, (_timer(i),), identity="w")


def _fire(run: LimitedRun) -> rq.Request:
    task = run.timers[-1]
    run.timers.remove(task)
    return rq.FireTimer(task)


def history_count() -> bool:
    """Poll, a timer, its fire, and again, until a request would leave more than 12
    events: the run is terminated instead and the caller told why; warnings past 8."""
    run = LimitedRun()
    for i in range(10):
        for make in (_poll, functools.partial(_complete, i=i), _fire):
            before = len(run.events)
            reply = run.send(make(run))
            if isinstance(reply, rq.Error):
                written = run.events[before:]
                a = written[-1].attributes
                return (
                    [e.event_type for e in written] == [E.WORKFLOW_EXECUTION_TERMINATED]
                    and reply.message == lim.HISTORY_COUNT_REASON
                    and getattr(a, "reason", "") == lim.HISTORY_COUNT_REASON
                    and getattr(a, "identity", "") == "history-service"
                    and before <= SMALL.history_count_error  # (then one more: Terminated)
                    and any(w.startswith(lim.HISTORY_COUNT) for w in run.warnings)
                    and run.valid()
                )
    return False


def history_size() -> bool:
    """The store reports 1001 bytes: the next request terminates the run (a task in
    flight fails with FORCE_CLOSE_COMMAND first)."""
    run = LimitedRun()
    run.poll()
    run.state = enforce.persisted(run.state, 1001)
    before = len(run.events)
    reply = run.send(rq.SignalWorkflowExecution("s"))
    return (
        isinstance(reply, rq.Error)
        and reply.message == lim.HISTORY_SIZE_REASON
        and [e.event_type for e in run.events[before:]]
        == [E.WORKFLOW_TASK_FAILED, E.WORKFLOW_EXECUTION_TERMINATED]
        and getattr(run.events[before].attributes, "cause", None) is Cause.FORCE_CLOSE_COMMAND
        and run.valid()
    )


def history_size_warning() -> bool:
    run = LimitedRun()
    run.state = enforce.persisted(run.state, 600)
    run.send(rq.SignalWorkflowExecution("s"))
    return run.state.running and any(w.startswith(lim.HISTORY_SIZE) for w in run.warnings)


def suggest_continue_as_new() -> bool:
    """The task started at event 7 (limit 6) with a 450-byte history (limit 400)."""
    run = LimitedRun()
    run.completion(_timer(0))  # events 2-6
    task = run.timers[-1]
    run.timers.remove(task)
    run.send(rq.FireTimer(task))  # 7, 8: the next task is scheduled at 8
    wft = run.state.wft
    assert wft is not None
    poll = rq.RecordWorkflowTaskStarted(
        wft.scheduled_event_id, wft.stamp, "p", history_size_bytes=450
    )
    run.send(poll)
    a = run.events[-1].attributes
    reasons = (
        SuggestContinueAsNewReason.HISTORY_SIZE_TOO_LARGE,
        SuggestContinueAsNewReason.TOO_MANY_HISTORY_EVENTS,
    )
    return (
        getattr(a, "suggest_continue_as_new", False) is True
        and getattr(a, "suggest_continue_as_new_reasons", ()) == reasons
        and run.valid()
    )


HISTORY: dict[str, Callable[[], bool]] = {
    "count": history_count,
    "size": history_size,
    "size warning": history_size_warning,
    "suggest continue-as-new": suggest_continue_as_new,
}


# --- what clients and workers send -------------------------------------------------------------


def _activity_run() -> tuple[LimitedRun, rq.ActivityTaskToken]:
    run = LimitedRun()
    run.completion(activity("a", attempts=3))
    sid = max(e.event_id for e in run.events if e.event_type is E.ACTIVITY_TASK_SCHEDULED)
    return run, run.start_activity(sid)


def _failed_activity(run: LimitedRun, reason: str) -> bool:
    closed = run.events[-3:-1]  # then the next workflow task is scheduled
    if [e.event_type for e in closed] != [E.ACTIVITY_TASK_STARTED, E.ACTIVITY_TASK_FAILED]:
        return False
    failure = getattr(closed[1].attributes, "failure", None)
    retry = getattr(closed[1].attributes, "retry_state", None)
    return failure == lim.server_failure(reason, True) and retry is RetryState.NON_RETRYABLE_FAILURE


def activity_result() -> bool:
    run, token = _activity_run()
    run.send(rq.RespondActivityTaskCompleted(token, BIG, "w"))
    return _failed_activity(run, lim.COMPLETE_RESULT_TOO_LARGE) and run.valid()


def activity_cancel_details() -> bool:
    run, token = _activity_run()
    run.send(rq.RespondActivityTaskCanceled(token, BIG, "w"))
    return _failed_activity(run, lim.CANCEL_DETAILS_TOO_LARGE) and run.valid()


def activity_heartbeat() -> bool:
    run, token = _activity_run()
    reply = run.send(rq.RecordActivityTaskHeartbeat(token, BIG))
    ok = isinstance(reply, rq.Heartbeat) and reply.cancel_requested
    return ok and _failed_activity(run, lim.HEARTBEAT_TOO_LARGE) and run.valid()


def activity_failure() -> bool:
    run, token = _activity_run()
    big = Opaque.of({"message": "é" * 200, "applicationFailureInfo": {"type": "Boom"}})
    run.send(rq.RespondActivityTaskFailed(token, big, "Boom", identity="w"))
    failed = run.events[-2]  # then the next workflow task is scheduled
    failure = getattr(failed.attributes, "failure", None)
    if failed.event_type is not E.ACTIVITY_TASK_FAILED or failure is None:
        return False
    body = failure.value()
    assert isinstance(body, dict)
    cause = body.get("cause")
    return (
        body.get("message") == lim.FAILURE_TOO_LARGE
        and body.get("serverFailureInfo") == {"nonRetryable": True}
        and isinstance(cause, dict)
        and cause.get("applicationFailureInfo") == {"type": "Boom"}
        and len(str(cause.get("message", "")).encode()) <= SMALL.blob_size_warn
        and run.valid()
    )


def signal_refused() -> bool:
    run = LimitedRun()
    before = run.state
    reply = run.send(rq.SignalWorkflowExecution("s", input=BIG))
    return isinstance(reply, rq.Error) and reply.message == lim.BLOB_REFUSED and run.state is before


def start_refused() -> bool:
    start = rq.StartWorkflowExecution("default", "wf", "r", "Flow", "q", "s", memo=_memo(150))
    refused = service.admit_start(start, SMALL)
    fine = service.admit_start(dataclasses.replace(start, memo=_memo(10)), SMALL)
    return isinstance(refused, rq.Error) and refused.message == lim.MEMO_REFUSED and fine is None


REQUESTS: dict[str, Callable[[], bool]] = {
    "activity result": activity_result,
    "activity cancel details": activity_cancel_details,
    "activity heartbeat": activity_heartbeat,
    "activity failure": activity_failure,
    "signal": signal_refused,
    "start": start_refused,
}


# --- the tests -------------------------------------------------------------------------------


def _pending_case(kind: str) -> Callable[[], bool]:
    return lambda: pending(kind)


CASES: dict[str, Callable[[], bool]] = {
    **{f"pending {kind}": _pending_case(kind) for kind in MAKERS},
    **{f"command {name}": case for name, case in COMMANDS.items()},
    **{f"history {name}": case for name, case in HISTORY.items()},
    **{f"request {name}": case for name, case in REQUESTS.items()},
}


def _let_through(*args: object, **kwargs: object) -> None:
    return None


def _no_guard(name: str) -> list[tuple[object, str, object]]:
    """Where the case's guard lives, and stand-ins that let everything through."""
    if name.startswith("pending"):
        return [(enforce, "pending", _let_through)]
    if name == "history suggest continue-as-new":
        return [(workflow_task, "suggest_continue_as_new", lambda *args: ())]
    if name.startswith("history"):
        return [(enforce, "enforce_history", lambda before, outcome, now, limits: outcome)]
    if name.startswith("request"):
        return [(enforce, "admit", lambda request, limits: request)]
    if "data" not in name and "search attribute" in name:
        return [(enforce, "search_attributes", _let_through)]
    if "data" not in name and "memo" in name:
        return [(enforce, "memo", _let_through)]
    return [(enforce, "blob", _let_through), (enforce, "blob_size", _let_through)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_service_enforces_the_limit_as_the_server_does(name: str) -> None:
    assert CASES[name]()


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_its_guard_the_case_fails(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, attribute, stand_in in _no_guard(name):
        monkeypatch.setattr(owner, attribute, stand_in)
    assert not CASES[name]()


def test_the_default_limits_are_the_servers() -> None:
    assert (
        Limits(
            history_count_warn=10240,
            history_count_error=51200,
            history_count_suggest_continue_as_new=4096,
            history_size_warn=10 * 2**20,
            history_size_error=50 * 2**20,
            history_size_suggest_continue_as_new=4 * 2**20,
            blob_size_warn=512 * 2**10,
            blob_size_error=2 * 2**20,
            memo_size_warn=2 * 2**10,
            memo_size_error=2 * 2**20,
            pending_activities=2000,
            pending_child_executions=2000,
            pending_signals=2000,
            pending_cancel_requests=2000,
            search_attribute_value_size=2 * 2**10,
            search_attributes_total_size=40 * 2**10,
        )
        == DEFAULT_LIMITS
    )
    assert set(lim.DYNAMIC_CONFIG_KEYS.values()) == {f.name for f in dataclasses.fields(Limits)}


def test_a_setting_is_read_by_its_dynamic_config_key() -> None:
    limits = lim.with_settings(DEFAULT_LIMITS, {"limit.historyCount.error": 20})
    assert limits.history_count_error == 20
    with pytest.raises(ValueError, match="unknown limit"):
        lim.with_settings(DEFAULT_LIMITS, {"limit.nope": 1})


def test_a_pending_limit_of_zero_means_none() -> None:
    assert lim.within(10**6, 0) and not lim.within(2, 2) and lim.within(1, 2)


def test_truncation_keeps_whole_characters_within_the_budget() -> None:
    kept = enforce.truncated({"message": "é" * 100, "stackTrace": "s" * 100}, 51)
    message = kept["message"]
    assert isinstance(message, str) and message == "é" * 25  # 51 bytes: 25 two-byte characters
    assert "stackTrace" not in kept  # nothing left after the message and its overhead


def test_merging_an_upsert_replaces_and_removes_keys() -> None:
    start = Opaque.of({"fields": {"a": payload(1), "b": payload(2)}})
    upsert = Opaque.of({"fields": {"a": payload(3), "b": payload(None) | {"data": "bnVsbA=="}}})
    assert lim.merged(start, upsert, "fields") == Opaque.of({"fields": {"a": payload(3)}})
    assert lim.merged(None, None, "fields") is None


def test_an_error_level_below_the_warn_level_still_terminates() -> None:
    run = LimitedRun()
    state = enforce.persisted(run.state, 50)
    limits = dataclasses.replace(SMALL, history_size_warn=10**6, history_size_error=40)
    outcome = service.handle(state, rq.SignalWorkflowExecution("s"), 1, limits)
    assert isinstance(outcome.reply, rq.Error) and outcome.reply.message == lim.HISTORY_SIZE_REASON
    assert outcome.events[-1].event_type is E.WORKFLOW_EXECUTION_TERMINATED
