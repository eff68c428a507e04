"""The checker's workflow-run model and WorkflowExecution.tla, linked both ways.

Python -> TLA+: every history the checker reaches in its workflow-run model
(`proofs/models/workflow_run.py`, which drives the real history service) whose run is
closed is turned into trace records (`adapters.tlc_trace.trace_records`) and validated
against WorkflowExecution by TraceWorkflowExecution, all of them (or a sample) in one
TLC run. A rejected history is reported with the first event no behaviour of the
specification writes: the spec action or the Python row that disagree.

TLA+ -> Python: the event types the specification writes (`tlc_trace.MODELLED`, the
abstractions aside) that no accepted history of the model holds are reported as
unexercised: the steps of the spec no Python behaviour takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.tlc import TlcError, Toolchain, run_tlc
from adapters.tlc_trace import (
    MODELLED,
    Record,
    log_module,
    matched_prefixes,
    trace_config,
    trace_records,
)
from core.event_sets import CLOSE_EVENT_TYPES
from proofs.checker import check
from proofs.graph import graph_states
from proofs.models.workflow_run import State, WorkflowRun


def model_logs(model: WorkflowRun | None = None) -> list[list[Record]]:
    """The distinct trace records of every closed history the model reaches, shortest
    first (ties in a fixed order). Explores past invariant violations."""
    result = check(model or WorkflowRun(), graph=True, keep_going=True)
    assert result.graph is not None
    states: list[State] = graph_states(result.graph)
    found: dict[str, list[Record]] = {}
    for state in states:
        if state.history and state.history[-1].event_type in CLOSE_EVENT_TYPES:
            records = trace_records(state.history)
            found.setdefault(repr(records), records)
    return [found[key] for key in sorted(found, key=lambda k: (len(found[k]), k))]


def sample(logs: Sequence[list[Record]], size: int) -> list[list[Record]]:
    """`size` logs spread evenly over `logs` (all of them if there are no more)."""
    if len(logs) <= size:
        return list(logs)
    step = len(logs) / size
    return [logs[int(i * step)] for i in range(size)]


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int  # 1-based, in the batch
    matched: int
    reason: str


@dataclass(frozen=True, slots=True)
class LinkReport:
    logs: int
    accepted: int
    rejected: tuple[Rejected, ...]
    unexercised: tuple[str, ...]  # spec event types no accepted history holds
    seconds: float
    error: str = ""


def validate_logs(
    toolchain: Toolchain, logs: Sequence[list[Record]], timeout: float = 600
) -> LinkReport:
    """Validate every log in one TLC run; which were accepted, where the others stop."""
    if not logs:
        raise ValueError("no logs to validate")
    first, *more = logs
    try:
        result = run_tlc(
            toolchain,
            "TraceWorkflowExecution",
            trace_config(first, (), *more),
            check_deadlock=False,
            extra_modules={"TraceLog": log_module(first, *more)},
            timeout=timeout,
        )
    except TlcError as exc:
        return LinkReport(len(logs), 0, (), (), timeout, str(exc))
    if result.errors:
        return LinkReport(len(logs), 0, (), (), result.seconds, f"TLC error: {result.errors[0]}")
    prefixes = matched_prefixes(result.printed)
    everything = result.violated == "TraceNotMatched"  # every log matched
    rejected = []
    for n, log in enumerate(logs, 1):
        matched = len(log) if everything else prefixes.get(n, 0)
        if matched < len(log):
            nxt = log[matched]
            reason = f"no behaviour of WorkflowExecution writes event {nxt['id']} ({nxt['type']})"
            rejected.append(Rejected(n, matched, reason))
    bad = {r.index for r in rejected}
    seen = {str(r["type"]) for n, log in enumerate(logs, 1) if n not in bad for r in log}
    unexercised = tuple(sorted(set(MODELLED.values()) - seen))
    accepted = len(logs) - len(rejected)
    return LinkReport(len(logs), accepted, tuple(rejected), unexercised, result.seconds)
