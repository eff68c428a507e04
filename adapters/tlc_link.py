"""The checker's workflow-run model and WorkflowExecution.tla, linked both ways.

Python -> TLA+: every history the checker reaches in its workflow-run model
(`proofs/models/workflow_run.py`, which drives the real history service) whose run is
closed is turned into trace records (`adapters.tlc_trace.trace_records`) and validated
against WorkflowExecution by TraceWorkflowExecution, all of them (or a sample) in one
TLC run. A rejected history is reported with the first event no behaviour of the
specification writes: the spec action or the Python row that disagree.

TLA+ -> Python: the actions of the specification no Python behaviour takes are named.
TraceWorkflowExecution lists Next action by action (`T<Action>`), each printing its name
the first time a log takes a step of it; an action never printed is unexercised. The
Python behaviours are the model's closed histories and the histories the history
service writes when driven by the requests behind recorded real histories
(`reproduced_logs`, adapters/conform/derive.py), which reach the client's actions the
model leaves out (terminate, cancel, reset, run timeout, ...). `spec_actions` reads the
actions Next is made of from WorkflowExecution.tla, so a test can keep the trace
module's list equal to the spec's. The event types the specification writes
(`tlc_trace.MODELLED`, the abstractions aside) that no accepted history holds are
reported too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.conform.derive import reproduce
from adapters.tlc import SPEC_DIR, TlcError, Toolchain, run_tlc
from adapters.tlc_trace import (
    MODELLED,
    Record,
    log_module,
    matched_prefixes,
    trace_config,
    trace_records,
)
from core.event_sets import CLOSE_EVENT_TYPES
from core.events import HistoryEvent
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
    # Each action of Next, and whether some validated log took a step of it.
    actions: tuple[tuple[str, bool], ...] = ()

    @property
    def unexercised_actions(self) -> tuple[str, ...]:
        """Actions no validated behaviour took, but those no history can show."""
        return tuple(a for a, took in self.actions if not took and a not in INVISIBLE)


def validate_logs(
    toolchain: Toolchain, logs: Sequence[list[Record]], timeout: float = 600
) -> LinkReport:
    """Validate every log in one TLC run: which were accepted, where the others stop,
    and which actions of the specification the logs took a step of."""
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
    taken = {m.group(1) for m in map(_ACTION_PRINT.match, result.printed) if m}
    actions = tuple((a, a in taken) for a in spec_actions())
    return LinkReport(
        len(logs), accepted, tuple(rejected), unexercised, result.seconds, actions=actions
    )


_ACTION_PRINT = re.compile(r'<<"action", "(\w+)">>$')

# Actions no history can show: a worker crash writes nothing and only disables steps
# (the lost task or activity then times out), so trace validation runs without crashes
# (MaxCrashes = 0 in tlc_trace.trace_config).
INVISIBLE = {"WorkerCrash": "writes nothing; trace validation runs with MaxCrashes = 0"}

# The definitions Next is composed of, and the operators in them that are not actions.
_COMPOSITES = frozenset(
    {"Next", "Environment", "EnvironmentButReset", "System", "ActivityStep", "ServiceSteps"}
    | {"WorkerCompletes"}
)
_DEFINITION = re.compile(r"^(\w+)(?:\([^)]*\))? ==(.*?)(?=^\S)", re.M | re.S)


def spec_actions(text: str | None = None) -> tuple[str, ...]:
    """The actions Next is made of, in the order they appear: the operators its
    composite definitions name that change the state (their definition, or one it
    uses, primes a variable or says UNCHANGED)."""
    if text is None:
        text = (SPEC_DIR / "WorkflowExecution.tla").read_text(encoding="utf-8")
    bodies = {m.group(1): m.group(2) for m in _DEFINITION.finditer(text)}

    def names(body: str) -> list[str]:
        return [n for n in re.findall(r"\b([A-Z]\w*)\b", body) if n in bodies]

    def acts(name: str, seen: frozenset[str] = frozenset()) -> bool:
        body = bodies[name]
        if "'" in body or "UNCHANGED" in body:
            return True
        return any(acts(n, seen | {name}) for n in names(body) if n not in seen | {name})

    found: list[str] = []
    todo = ["Next"]
    while todo:
        for name in names(bodies[todo.pop(0)]):
            if name in _COMPOSITES:
                todo.append(name)
            elif name not in found and acts(name):
                found.append(name)
    return tuple(found)


def reproduced_logs(
    histories: Sequence[tuple[Sequence[HistoryEvent], Sequence[HistoryEvent] | None]],
) -> list[list[Record]]:
    """The trace records of the histories the history service writes when driven by the
    requests behind each recorded (history, base run of a reset or None)."""
    return [trace_records(reproduce(real, base)) for real, base in histories]
