"""A reset whose point falls before the pending task started starts it itself, then
fails it (RESET_WORKFLOW). That WorkflowTaskStarted is written by
`AddWorkflowTaskStartedEvent`, which takes the history size and the suggestion to
continue as new from mutable state like any start (`getHistorySizeInfo` in
service/history/workflow/workflow_task_state_machine.go): the dev server wrote
historySizeBytes 264 on it (tests/fixtures/unseen-histories/held-reset.json). The size is
the store's, so the request carries it, as RecordWorkflowTaskStarted does."""

from __future__ import annotations

from dataclasses import replace

from adapters.conform.derive import Driver
from adapters.temporal_json import decode_history
from core import requests as rq
from core.enums import EventType as E
from core.enums import SuggestContinueAsNewReason
from core.statemachine.history.limits import DEFAULT_LIMITS
from core.statemachine.history.service.outbound import HISTORY_SERVICE
from core.statemachine.history.service.reset import reset
from tests.conftest import FIXTURES

BASE = FIXTURES / "unseen-histories" / "held-reset.base.json"


def _base() -> Driver:
    """A run whose first task failed and whose retry was held when the client reset it
    (terminated by the reset: its events up to the termination are driven)."""
    events = list(decode_history(BASE.read_text(encoding="utf-8")).events)
    driver = Driver(events[:-1])
    driver.run()
    return driver


def _started(request: rq.ResetWorkflowExecution, **kw: object) -> object:
    driver = _base()
    assert driver.state is not None
    outcome = reset(driver.state, driver.written, request, "new", 10**18, **kw)  # type: ignore[arg-type]
    assert outcome.new_run is not None, outcome.reply
    started = outcome.new_run.events[2]
    assert started.event_type is E.WORKFLOW_TASK_STARTED
    assert started.attributes.identity == HISTORY_SERVICE  # type: ignore[union-attr]
    return started.attributes


def test_the_started_event_a_reset_writes_carries_the_runs_size() -> None:
    request = rq.ResetWorkflowExecution("r", 3, "req", history_size_bytes=264)
    attributes = _started(request)
    assert attributes.history_size_bytes == 264  # type: ignore[attr-defined]
    assert not attributes.suggest_continue_as_new  # type: ignore[attr-defined]


def test_the_started_event_a_reset_writes_suggests_continue_as_new_past_a_level() -> None:
    request = rq.ResetWorkflowExecution("r", 3, "req", history_size_bytes=264)
    low = replace(DEFAULT_LIMITS, history_size_suggest_continue_as_new=200)
    attributes = _started(request, limits=low)
    reasons = attributes.suggest_continue_as_new_reasons  # type: ignore[attr-defined]
    assert attributes.suggest_continue_as_new  # type: ignore[attr-defined]
    assert reasons == (SuggestContinueAsNewReason.HISTORY_SIZE_TOO_LARGE,)
