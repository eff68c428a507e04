"""Fields the history service carries verbatim from requests and commands into events
(what an SDK reads back: headers, memo, search attributes, its own metadata), as
`service/history/api/startworkflow`, `mutable_state_impl.go` (continue-as-new, child
initiation, workflow task completion) and `api/terminateworkflow` write them."""

from __future__ import annotations

from core import requests as rq
from core.commands import (
    Command,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
)
from core.enums import CommandType, EventType, TaskQueueKind
from core.events import (
    StartChildWorkflowExecutionInitiatedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowType,
)
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service import handle as service
from tests.core.statemachine.coverage_scenarios import Run

HEADER = Opaque.of({"fields": {"trace": {"data": "eA=="}}})
OWNER: JsonValue = {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "Im1lIg=="}
MEMO = Opaque.of({"fields": {"owner": OWNER}})
KEYWORD: JsonValue = {"data": "ImsiIg=="}
ATTRS = Opaque.of({"indexedFields": {"CustomKeywordField": KEYWORD}})
SDK = Opaque.of({"coreUsedFlags": [1, 2], "sdkName": "temporal-python", "sdkVersion": "1.35.0"})


def _last(run: Run, event_type: EventType) -> object:
    return next(e for e in reversed(run.events) if e.event_type is event_type).attributes


def test_start_writes_header_memo_and_search_attributes() -> None:
    start = rq.StartWorkflowExecution(
        "default", "wf", "r", "Flow", "q", "s", header=HEADER, memo=MEMO, search_attributes=ATTRS
    )
    first = service.start(start, 0).events[0].attributes
    assert isinstance(first, WorkflowExecutionStartedEventAttributes)
    assert (first.header, first.memo, first.search_attributes) == (HEADER, MEMO, ATTRS)


# A memo and search attributes with nil entries (no data, JSON null, JSON []): the
# server leaves those entries out of the start's, the continue-as-new's and the child's
# event, and the whole field when nothing is left (FilterNilMemo and
# FilterNilSearchAttributes, common/payload/payload.go; measured on the 1.32 dev server:
# an empty memo on a start is written as no memo).
NIL_ENTRIES: dict[str, JsonValue] = {
    "gone": {"metadata": {"encoding": "anNvbi9wbGFpbg=="}},
    "null": {"data": "bnVsbA=="},
}
MEMO_WITH_NILS = Opaque.of({"fields": {**NIL_ENTRIES, "owner": OWNER}})
ATTRS_WITH_NILS = Opaque.of(
    {"indexedFields": {"Empty": {"data": "W10="}, "CustomKeywordField": KEYWORD}}
)
EMPTY_MEMO = Opaque.of({"fields": NIL_ENTRIES})


def test_start_leaves_out_nil_memo_and_search_attribute_entries() -> None:
    for memo, attrs, want in (
        (MEMO_WITH_NILS, ATTRS_WITH_NILS, (MEMO, ATTRS)),
        (EMPTY_MEMO, Opaque.of({"indexedFields": {}}), (None, None)),
        (Opaque.of({}), None, (None, None)),
    ):
        start = rq.StartWorkflowExecution(
            "default", "wf", "r", "Flow", "q", "s", memo=memo, search_attributes=attrs
        )
        outcome = service.start(start, 0)
        first = outcome.events[0].attributes
        assert isinstance(first, WorkflowExecutionStartedEventAttributes)
        assert (first.memo, first.search_attributes) == want
        assert outcome.state is not None
        assert (outcome.state.memo, outcome.state.search_attributes) == want


def test_continue_as_new_and_a_child_leave_out_nil_entries() -> None:
    for kind, attributes in (
        (
            CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            ContinueAsNewWorkflowExecutionCommandAttributes(
                workflow_type=WorkflowType("Flow"),
                memo=MEMO_WITH_NILS,
                search_attributes=ATTRS_WITH_NILS,
            ),
        ),
        (
            CommandType.START_CHILD_WORKFLOW_EXECUTION,
            StartChildWorkflowExecutionCommandAttributes(
                workflow_id="kid",
                workflow_type=WorkflowType("Kid"),
                memo=MEMO_WITH_NILS,
                search_attributes=ATTRS_WITH_NILS,
            ),
        ),
    ):
        run = Run()
        token = run.poll()
        outcome = service.handle(
            run.state, rq.RespondWorkflowTaskCompleted(token, (Command(kind, attributes),)), 5
        )
        written = next(
            e.attributes
            for e in outcome.events
            if e.event_type
            in (
                EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            )
        )
        assert isinstance(
            written,
            WorkflowExecutionContinuedAsNewEventAttributes
            | StartChildWorkflowExecutionInitiatedEventAttributes,
        )
        assert (written.memo, written.search_attributes) == (MEMO, ATTRS)


def test_completed_task_records_the_sdk_metadata() -> None:
    run = Run()
    token = run.poll()
    run.send(rq.RespondWorkflowTaskCompleted(token, (), sdk_metadata=SDK))
    done = _last(run, EventType.WORKFLOW_TASK_COMPLETED)
    assert isinstance(done, WorkflowTaskCompletedEventAttributes)
    assert done.sdk_metadata == SDK


def test_continue_as_new_takes_its_fields_from_the_command() -> None:
    run = Run()
    command = Command(
        CommandType.CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        ContinueAsNewWorkflowExecutionCommandAttributes(
            workflow_type=WorkflowType("Flow"), header=HEADER, memo=MEMO, search_attributes=ATTRS
        ),
    )
    token = run.poll()
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (command,)), 5)
    closed = outcome.events[-1].attributes
    assert isinstance(closed, WorkflowExecutionContinuedAsNewEventAttributes)
    assert (closed.header, closed.memo, closed.search_attributes) == (HEADER, MEMO, ATTRS)
    assert outcome.new_run is not None
    new_run = outcome.new_run
    assert (new_run.header, new_run.memo, new_run.search_attributes) == (HEADER, MEMO, ATTRS)


def test_a_child_is_started_with_the_commands_fields() -> None:
    run = Run()
    command = Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid", workflow_type=WorkflowType("Kid"), header=HEADER, memo=MEMO
        ),
    )
    token = run.poll()
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (command,)), 5)
    initiated = next(
        e.attributes
        for e in outcome.events
        if e.event_type is EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
    assert isinstance(initiated, StartChildWorkflowExecutionInitiatedEventAttributes)
    assert (initiated.header, initiated.memo) == (HEADER, MEMO)
    start = next(t for t in outcome.tasks if isinstance(t, rq.StartChildTransfer)).request
    assert (start.header, start.memo) == (HEADER, MEMO)


def test_a_childs_task_timeout_is_the_default_capped_by_its_run_timeout() -> None:
    """As the server's ValidateStartChildExecutionAttributes writes them (recorded:
    child-timed-out.json, a 2 s run timeout and no task timeout give 2 s and 2 s)."""
    run = Run()
    second = 1_000_000_000
    command = Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="kid",
            workflow_type=WorkflowType("Kid"),
            workflow_run_timeout=2 * second,
            workflow_execution_timeout=5 * second,
        ),
    )
    token = run.poll()
    outcome = service.handle(run.state, rq.RespondWorkflowTaskCompleted(token, (command,)), 5)
    initiated = next(
        e.attributes
        for e in outcome.events
        if e.event_type is EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED
    )
    assert isinstance(initiated, StartChildWorkflowExecutionInitiatedEventAttributes)
    assert (initiated.workflow_run_timeout, initiated.workflow_task_timeout) == (
        2 * second,
        2 * second,
    )


def test_signal_header_and_terminate_details_are_written() -> None:
    run = Run()
    run.send(rq.SignalWorkflowExecution("go", "sig-1", header=HEADER))
    signaled = _last(run, EventType.WORKFLOW_EXECUTION_SIGNALED)
    assert isinstance(signaled, WorkflowExecutionSignaledEventAttributes)
    assert signaled.header == HEADER
    details = Opaque.of({"payloads": []})
    run.send(rq.TerminateWorkflowExecution("stop", "me", details))
    terminated = _last(run, EventType.WORKFLOW_EXECUTION_TERMINATED)
    assert isinstance(terminated, WorkflowExecutionTerminatedEventAttributes)
    assert (terminated.reason, terminated.details) == ("stop", details)


def test_the_servers_own_start_keeps_its_task_queue_without_a_kind() -> None:
    """CreateSchedule and StartBatchOperation (service/frontend/workflow_handler.go) hand
    the history service a task queue with no kind, which the Started event keeps; a
    client's start is normalised to NORMAL. The first task's queue has its kind either
    way (scheduler.json of the unseen histories)."""
    for internal, kind in ((True, TaskQueueKind.UNSPECIFIED), (False, TaskQueueKind.NORMAL)):
        start = rq.StartWorkflowExecution(
            "default", "sys", "r", "Flow", "temporal-sys-per-ns-tq", "s", internal=internal
        )
        events = service.start(start, 0).events
        first, scheduled = events[0].attributes, events[1].attributes
        assert isinstance(first, WorkflowExecutionStartedEventAttributes)
        assert isinstance(scheduled, WorkflowTaskScheduledEventAttributes)
        assert first.task_queue is not None and scheduled.task_queue is not None
        assert (first.task_queue.name, first.task_queue.kind) == ("temporal-sys-per-ns-tq", kind)
        assert scheduled.task_queue.kind is TaskQueueKind.NORMAL


def test_a_start_naming_no_attempt_writes_no_first_task_backoff() -> None:
    """The Worker Deployment client hands the history service a start of its own making,
    with no attempt and no backoff (service/worker/workerdeployment/client.go); a start
    through CreateHistoryStartWorkflowRequest names attempt 1 and a zero backoff."""
    for attempt, backoff in ((0, None), (1, 0)):
        start = rq.StartWorkflowExecution("default", "sys", "r", "Flow", "q", "s", attempt=attempt)
        first = service.start(start, 0).events[0].attributes
        assert isinstance(first, WorkflowExecutionStartedEventAttributes)
        assert (first.attempt, first.first_workflow_task_backoff) == (attempt, backoff)


def test_a_start_naming_zero_timeouts_writes_them() -> None:
    """The Go SDK's client names execution and run timeouts of 0s, which the Started
    event keeps (the server's own workflows in temporal-system show them); the Python
    SDK names none, and none is written."""
    for explicit, written in ((True, 0), (False, None)):
        start = rq.StartWorkflowExecution(
            "default", "sys", "r", "Flow", "q", "s",
            explicit_execution_timeout=explicit, explicit_run_timeout=explicit,
        )  # fmt: skip
        first = service.start(start, 0).events[0].attributes
        assert isinstance(first, WorkflowExecutionStartedEventAttributes)
        assert first.workflow_execution_timeout == written
        assert first.workflow_run_timeout == written
