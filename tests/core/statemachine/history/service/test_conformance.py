"""Conformance with the real server: the pure history service, driven by the requests
behind each recorded history, writes the same events in the same order with the same
reference attributes (event ids, scheduled/started/initiated links, attempts,
workflow-task-completed ids, timer and activity ids, timeout types, causes). A run
made by a reset is driven from its base run: the base run's requests, then the reset."""

from __future__ import annotations

import pytest

from adapters.conform.derive import fingerprint, reproduce
from adapters.conform.requests import CannotReproduce
from adapters.conform.scope import SCOPE_OF_EVENT
from core.events import HistoryEvent
from core.statemachine.history.service import txn as txn_module
from core.statemachine.history.service.rebuild import APPLY
from core.statemachine.history.validator import validate
from tests.conftest import corpus_events, corpus_files

# The run each reset run of the corpus was reset from.
RESET_BASES = {"reset.json": "reset.base.json"}
# Histories of a feature the model declares out of its scope (adapters/conform/scope.py;
# `tmodel conform` reports them not modelled, tests/adapters/test_conform.py).
OUT_OF_SCOPE = {
    p.name
    for p in corpus_files()
    if any(e.event_type in SCOPE_OF_EVENT for e in corpus_events(p.name))
}
NAMES = [p.name for p in corpus_files() if p.name not in OUT_OF_SCOPE]
# Histories the rebuild cannot fold (an event type missing from rebuild.APPLY raises
# ValueError; a reset of such a run is refused): none now that Nexus operations and
# options updates are folded (rebuild_nexus.py).
UNREBUILT = {
    n
    for n in NAMES
    if any(e.event_type not in APPLY for e in corpus_events(n)[1:])  # (1: read by rebuild)
}
REBUILT = [n for n in NAMES if n not in UNREBUILT]

# The histories taken to have reset points: those with a completed workflow task (its
# Started ends a batch with the task pending). A run closed before its first task
# (cron.run3.json, terminated during its first-task backoff) has none.
RESETTABLE = [
    n
    for n in REBUILT
    if any(e.event_type.name == "WORKFLOW_TASK_COMPLETED" for e in corpus_events(n))
]


def base_of(name: str) -> tuple[HistoryEvent, ...] | None:
    return corpus_events(RESET_BASES[name]) if name in RESET_BASES else None


def test_at_least_twenty_scenarios_are_reproduced() -> None:
    assert len(NAMES) >= 20
    assert sorted(OUT_OF_SCOPE) == []  # (Nexus and options updates are reproduced now)
    assert sorted(UNREBUILT) == []


@pytest.mark.parametrize("name", NAMES)
def test_service_writes_the_real_history(name: str) -> None:
    real = corpus_events(name)
    model = reproduce(real, base_of(name))
    assert [fingerprint(e) for e in model] == [fingerprint(e) for e in real]
    assert validate(model).violations == ()


def test_a_reset_run_needs_its_base() -> None:
    with pytest.raises(CannotReproduce, match="history of its base run"):
        reproduce(corpus_events("reset.json"))


def test_conformance_catches_a_wrong_flush_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the server's reorder of buffered completions, fan-out no longer matches."""
    monkeypatch.setattr(txn_module, "FLUSH_REORDERED_EVENT_TYPES", frozenset())
    real = corpus_events("fan-out.json")
    model = reproduce(real)
    assert [fingerprint(e) for e in model] != [fingerprint(e) for e in real]


def test_conformance_catches_written_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """If retries wrote their attempts' Started events, activity-retry would not match."""
    from core.statemachine.history.service import activity_handlers as activity

    def no_retry(*args: object, **kwargs: object) -> tuple[None, object]:
        from core.enums import RetryState

        return None, RetryState.MAXIMUM_ATTEMPTS_REACHED

    monkeypatch.setattr(activity, "next_retry", no_retry)
    with pytest.raises(CannotReproduce):
        reproduce(corpus_events("activity-retry.json"))
