"""Anti-patterns found in a history (`tmodel lint`): what the server allows but punishes.

A history can be valid and still be heading for trouble: too close to the limits the
server terminates a run at (core/statemachine/history/limits.py), carrying payloads the
server warns about, continuing as new after a handful of events again and again, running
long activities the server cannot tell from dead ones, or growing for ever instead of
continuing as new. Each finding names its rule (LINT-*, registered in spec/README.md),
the events it is about, and what to do instead. Findings are advice, not violations:
`validate` judges whether a server could have written a history; `lint` whether a
workflow should have.

`lint(events)` looks at one run; `chain_findings(runs)` at several runs of one workflow
id linked by continue-as-new (the run a history continues is named by its
WorkflowExecutionStarted, the next by its WorkflowExecutionContinuedAsNew). Replay
divergence (LINT-UNPATCHED-CHANGE) needs workflow code, so the adapter finds it
(adapters/lint_cmd.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from core.enums import ContinueAsNewInitiator, EventType
from core.events import (
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.proto_size import failure_size, memo_size, payloads_size, upper_bound
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits

E = EventType
SECOND = 10**9
DAY = 86_400 * SECOND

NEAR_HISTORY_COUNT = "LINT-NEAR-HISTORY-COUNT"
NEAR_HISTORY_SIZE = "LINT-NEAR-HISTORY-SIZE"
LARGE_PAYLOAD = "LINT-LARGE-PAYLOAD"
CONTINUE_AS_NEW_CHURN = "LINT-CONTINUE-AS-NEW-CHURN"
ACTIVITY_WITHOUT_HEARTBEAT = "LINT-ACTIVITY-WITHOUT-HEARTBEAT"
NO_CONTINUE_AS_NEW = "LINT-NO-CONTINUE-AS-NEW"
UNPATCHED_CHANGE = "LINT-UNPATCHED-CHANGE"
PATCH_DIVERGENCE = "LINT-PATCH-DIVERGENCE"


@dataclass(frozen=True, slots=True)
class Finding:
    """One anti-pattern: its rule, the events it is about, what is wrong, what to do."""

    rule: str
    events: tuple[int, ...]
    message: str
    instead: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where advice starts (the limits themselves are the server's, `Limits`).

    `long_events` 0 means the server's own suggest-continue-as-new level.
    """

    long_activity: int = 300 * SECOND  # an activity timeout above this should heartbeat
    churn_events: int = 20  # a run continuing as new after at most this many events
    long_events: int = 0
    long_span: int = 7 * DAY


# Attribute name -> how the server measures it (the other payload-bearing fields of
# events are the workflow's own values too, but these are the ones it sends).
_MEASURED = {
    "input": payloads_size,
    "result": payloads_size,
    "details": payloads_size,
    "last_completion_result": payloads_size,
    "heartbeat_details": payloads_size,
    "failure": failure_size,
    "continued_failure": failure_size,
}


def lint(
    events: Sequence[HistoryEvent],
    limits: Limits = DEFAULT_LIMITS,
    thresholds: Thresholds = Thresholds(),
) -> tuple[Finding, ...]:
    """The anti-patterns one run's history shows, in the order of their first event."""
    found = [
        *_near_limits(events, limits),
        *_large_payloads(events, limits),
        *_activities_without_heartbeat(events, thresholds),
        *_churn(events, thresholds),
        *_never_continued(events, limits, thresholds),
    ]
    return tuple(sorted(found, key=lambda f: (f.events[:1], f.rule)))


def _near_limits(events: Sequence[HistoryEvent], limits: Limits) -> list[Finding]:
    found: list[Finding] = []
    count = len(events)
    if events and count > limits.history_count_warn:
        found.append(
            Finding(
                NEAR_HISTORY_COUNT,
                (events[-1].event_id,),
                f"{count} events, over limit.historyCount.warn {limits.history_count_warn}; "
                f"the server terminates the run past {limits.history_count_error}",
                "continue as new when the workflow task says it is suggested "
                "(workflow.info().is_continue_as_new_suggested()), long before the limit",
            )
        )
    size, at = 0, None
    for event in events:
        a = event.attributes
        if isinstance(a, WorkflowTaskStartedEventAttributes) and a.history_size_bytes > size:
            size, at = a.history_size_bytes, event
    if at is not None and size > limits.history_size_warn:
        found.append(
            Finding(
                NEAR_HISTORY_SIZE,
                (at.event_id,),
                f"the history was {size} bytes, over limit.historySize.warn "
                f"{limits.history_size_warn}; the server terminates the run past "
                f"{limits.history_size_error}",
                "continue as new before the history grows so large, and keep large "
                "values out of it (store them elsewhere and pass references)",
            )
        )
    return found


def _large_payloads(events: Sequence[HistoryEvent], limits: Limits) -> list[Finding]:
    found: list[Finding] = []
    for event in events:
        a = event.attributes
        for f in fields(a):
            value = getattr(a, f.name)
            if not isinstance(value, Opaque):
                continue
            measure = _MEASURED.get(f.name)
            warn = limits.blob_size_warn
            if f.name in ("memo", "upserted_memo"):
                measure, warn = memo_size, limits.memo_size_warn
            if measure is None or upper_bound(value.text) <= warn:
                continue
            size = measure(value)
            if size > warn:
                found.append(_large(event, f.name, size, warn, limits))
    return found


def _large(event: HistoryEvent, name: str, size: int, warn: int, limits: Limits) -> Finding:
    memo = name in ("memo", "upserted_memo")
    level = "limit.memoSize.warn" if memo else "limit.blobSize.warn"
    error = limits.memo_size_error if memo else limits.blob_size_error
    return Finding(
        LARGE_PAYLOAD,
        (event.event_id,),
        f"{event.event_type.name}.{name} is {size} bytes, over {level} {warn} (the server "
        f"refuses or terminates past {error}, and every replay reads it)",
        "keep large data out of workflow histories: store it (a blob store, a database) "
        "and pass a reference; keep memos small (they are read with every listing)",
    )


def _activities_without_heartbeat(
    events: Sequence[HistoryEvent], thresholds: Thresholds
) -> list[Finding]:
    found: list[Finding] = []
    for event in events:
        a = event.attributes
        if not isinstance(a, ActivityTaskScheduledEventAttributes) or a.heartbeat_timeout:
            continue
        timeout = a.start_to_close_timeout or a.schedule_to_close_timeout or 0
        if timeout > thresholds.long_activity:
            name = a.activity_type.name if a.activity_type is not None else "?"
            found.append(
                Finding(
                    ACTIVITY_WITHOUT_HEARTBEAT,
                    (event.event_id,),
                    f"activity {a.activity_id} ({name}) may run {timeout // SECOND} s "
                    "and sends no heartbeats: a crashed worker is noticed only when the "
                    "whole timeout has passed, and the activity cannot be cancelled",
                    "set a heartbeat timeout (tens of seconds) and heartbeat from the "
                    "activity, with its progress as details so a retry can resume",
                )
            )
    return found


def _churn(events: Sequence[HistoryEvent], thresholds: Thresholds) -> list[Finding]:
    run = summary(events)
    if not (run.short_continued(thresholds) and run.continued_by_workflow):
        return []
    return [
        Finding(
            CONTINUE_AS_NEW_CHURN,
            (1, events[-1].event_id),
            f"this run continued as new after {run.events} events, and so did the run "
            "before it: each run costs a new history, a first workflow task and at least "
            "1 s (the server's minimum between a chain's runs)",
            "continue as new when the history is large (when the workflow task says it "
            "is suggested), not after every few steps; do more work per run",
        )
    ]


def _never_continued(
    events: Sequence[HistoryEvent], limits: Limits, thresholds: Thresholds
) -> list[Finding]:
    if not events or events[-1].event_type is E.WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        return []
    many = thresholds.long_events or limits.history_count_suggest_continue_as_new
    span = (events[-1].event_time or 0) - (events[0].event_time or 0)
    suggested = [
        e.event_id
        for e in events
        if isinstance(e.attributes, WorkflowTaskStartedEventAttributes)
        and e.attributes.suggest_continue_as_new
    ]
    long_and_busy = span >= thresholds.long_span and len(events) >= many // 4
    if len(events) < many and not suggested and not long_and_busy:
        return []
    why = f"{len(events)} events over {span // SECOND} s"
    if suggested:
        why += f", and the server suggested continuing as new from event {suggested[0]} on"
    return [
        Finding(
            NO_CONTINUE_AS_NEW,
            (suggested[0] if suggested else events[-1].event_id,),
            f"a long-running run that never continued as new ({why}): its history only "
            "grows, every replay reads all of it, and the server terminates it at "
            f"{limits.history_count_error} events",
            "continue as new periodically (when workflow.info()."
            "is_continue_as_new_suggested() says so), carrying the state forward as input",
        )
    ]


# --- runs linked by continue-as-new -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a chain of runs needs to know of one run's history."""

    run_id: str
    continued_from: str  # the run this one continues ("" for a first run)
    continued_to: str  # the run it continued as ("" unless it ended in ContinuedAsNew)
    continued_by_workflow: bool  # started by a ContinueAsNew command (not a retry, cron)
    events: int

    def short_continued(self, thresholds: Thresholds) -> bool:
        return bool(self.continued_to) and self.events <= thresholds.churn_events


def summary(events: Sequence[HistoryEvent]) -> RunSummary:
    first = events[0].attributes if events else None
    last = events[-1].attributes if events else None
    started = first if isinstance(first, WorkflowExecutionStartedEventAttributes) else None
    continued = last if isinstance(last, WorkflowExecutionContinuedAsNewEventAttributes) else None
    return RunSummary(
        run_id=started.original_execution_run_id if started else "",
        continued_from=started.continued_execution_run_id if started else "",
        continued_to=continued.new_execution_run_id if continued else "",
        continued_by_workflow=started is not None
        and bool(started.continued_execution_run_id)
        and started.initiator is ContinueAsNewInitiator.WORKFLOW,
        events=len(events),
    )


def chain_findings(
    runs: Sequence[tuple[str, RunSummary]], thresholds: Thresholds = Thresholds()
) -> tuple[tuple[tuple[str, ...], Finding], ...]:
    """Churn across the given runs: two or more consecutive runs of a chain that each
    continued as new after few events. Each finding comes with the paths of its runs."""
    by_id = {run.run_id: (path, run) for path, run in runs if run.run_id}
    found: list[tuple[tuple[str, ...], Finding]] = []
    for path, run in runs:
        if run.continued_from in by_id and by_id[run.continued_from][1].short_continued(thresholds):
            continue  # not the first of a stretch
        stretch: list[tuple[str, RunSummary]] = []
        current: tuple[str, RunSummary] | None = (path, run)
        while current is not None and current[1].short_continued(thresholds):
            stretch.append(current)
            current = by_id.get(current[1].continued_to)
        if len(stretch) >= 2:
            counts = ", ".join(str(r.events) for _, r in stretch)
            found.append(
                (
                    tuple(p for p, _ in stretch),
                    Finding(
                        CONTINUE_AS_NEW_CHURN,
                        (),
                        f"{len(stretch)} consecutive runs of one chain each continued as "
                        f"new after a few events ({counts})",
                        "continue as new when the history is large (when the workflow "
                        "task says it is suggested), not after every few steps",
                    ),
                )
            )
    return tuple(found)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
