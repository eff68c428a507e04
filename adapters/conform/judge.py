"""The verdict of `tmodel conform` on recorded histories.

Each history is read, checked against the well-formedness rules, and reproduced by the
pure history service from the requests behind it (adapters/conform/derive.py); the
model's events are then compared with the recorded ones field by field
(adapters/history_compare.py: only the documented legitimately differing values, and
the fields the user names with `--ignore`, are not compared). A run made by a reset is
reproduced from its base run, which must be among the histories given (it is found by
its run id; a base run that a reset made needs its own base too, and so on).

A verdict is one of: reproduced; a first difference (an event, a field, the value the
model writes there, "expected", and the value the history has, "produced"; or the
request behind an event that the model refused); not modelled (a feature declared out
of scope, adapters/conform/scope.py); or unreadable (bad input: the reason, as
`tmodel validate` gives it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.conform.derive import Driver
from adapters.conform.older_servers import hint, older_server, released
from adapters.conform.requests import CannotReproduce, NotModelled, made_by_reset
from adapters.history_compare import Difference, compare
from adapters.history_writers import JAVA_TEST_SERVER, java_test_server
from adapters.input_file import read_history, read_history_noted
from adapters.temporal_json import encode_history
from core.errors import BadInput
from core.events import HistoryEvent
from core.statemachine.history.validator import validate


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `tmodel conform` found for one history."""

    path: str
    events: int = 0
    difference: Difference | None = None
    not_modelled: str | None = None
    error: str | None = None  # unreadable: bad input
    # What the file's form lost (payloads rebuilt from the HTTP API's shorthand JSON).
    note: str | None = None
    # What may explain the difference: which --server-version would, or who wrote the
    # history (adapters/history_writers.py).
    hint: str | None = None

    @property
    def reproduced(self) -> bool:
        return self.difference is None and self.not_modelled is None and self.error is None

    @property
    def kind(self) -> str:
        if self.error is not None:
            return "unreadable"
        if self.not_modelled is not None:
            return "not_modelled"
        return "differing" if self.difference is not None else "reproduced"

    def to_json(self) -> dict[str, Any]:
        d = self.difference
        doc: dict[str, Any] = {
            "path": self.path,
            "reproduced": self.reproduced,
            "events": self.events,
            "first_difference": None
            if d is None
            else {
                "event_id": d.event_id,
                "event_type": d.event_type,
                "field": d.field,
                "expected": d.expected,
                "produced": d.produced,
            },
            "not_modelled": self.not_modelled,
        }
        if self.error is not None:
            doc["error"] = self.error
        if self.note is not None:
            doc["note"] = self.note
        if self.hint is not None:
            doc["hint"] = self.hint
        return doc


def reset_of(events: Sequence[HistoryEvent]) -> tuple[str, str] | None:
    """(base run id, new run id) of the reset that made this history's run, if one did:
    its WorkflowTaskFailed with cause RESET_WORKFLOW, the last one when the run's base
    was itself made by a reset, whose such event the copy of the base keeps
    (made_by_reset; service/history/ndc/workflow_resetter.go)."""
    made = made_by_reset(events)
    if made is None:
        return None
    a = events[made].attributes
    return str(getattr(a, "base_run_id", "")), str(getattr(a, "new_run_id", ""))


def run_id(events: Sequence[HistoryEvent]) -> str:
    """The id of the run a history belongs to: a reset run keeps its base run's
    WorkflowExecutionStarted, so its own id is the one its reset names."""
    reset = reset_of(events)
    if reset is not None:
        return reset[1]
    return str(getattr(events[0].attributes, "original_execution_run_id", ""))


def judge_events(
    path: str,
    real: Sequence[HistoryEvent],
    base: Sequence[HistoryEvent] | None = None,
    ignore: frozenset[str] = frozenset(),
    server: str = "",
    earlier: Mapping[str, Sequence[HistoryEvent]] | None = None,
) -> Verdict:
    """Reproduce `real` (from `base`, for a reset run; `earlier` holds by run id the
    bases of a base that a reset made) and compare it field by field; an older `server`
    version than the model's (or, not given, the first event's time) says which
    older-server rules apply (older_servers.py)."""
    n = len(real)
    violations = validate(real).violations
    if violations:
        v = violations[0]
        at = _event(real, v.event_id)
        diff = Difference(v.event_id, at, f"rule {v.rule}", "a valid history", v.message)
        tip = JAVA_TEST_SERVER if java_test_server(real) else None
        return Verdict(path, n, difference=diff, hint=tip)
    driver = Driver(real, base, earlier)
    try:
        produced = driver.run()
    except NotModelled as exc:
        return Verdict(path, n, not_modelled=str(exc))
    except CannotReproduce as exc:
        event = real[min(driver.at, n - 1)]
        diff = Difference(
            event.event_id,
            event.event_type.name,
            "(the request behind this event)",
            f"refused: {exc}",
            "accepted (the history goes on)",
        )
        return Verdict(path, n, difference=diff)
    # (the read's suffix is not stored: it has no task ids)
    produced = [*_stamped(produced, _namespace_version(real)), *driver.read_suffix()]
    # the model is the reference: "expected" is what it writes, "produced" the history's
    written = released(server) if server else real[0].event_time if real else None
    recorded = _json(real)
    found = compare(*older_server(_json(produced), recorded, written), ignore=ignore)
    tip = None
    if found is not None and not server:
        events = [e for e in recorded if int(e.get("eventId", 0)) == found.event_id]
        tip = hint(found.field, events[0] if events else {})
    return Verdict(path, n, difference=found, hint=tip)


def _event(events: Sequence[HistoryEvent], event_id: int) -> str:
    for event in events:
        if event.event_id == event_id:
            return event.event_type.name
    return "(none)"


def _stamped(events: Sequence[HistoryEvent], version: int = 0) -> list[HistoryEvent]:
    """The model's events with task ids, which the shard's store allocates as it
    writes them (the pure service leaves them 0), and the namespace's failover
    `version`."""
    return [
        dataclasses.replace(e, task_id=i, version=version) for i, e in enumerate(events, start=1)
    ]


def _namespace_version(real: Sequence[HistoryEvent]) -> int:
    """The failover version of the history's namespace, taken as recorded when every
    event carries the same one: a global namespace's, which its clusters' settings and
    failovers decide (core/statemachine/replication/versions.py), not any request; the
    pure history service writes every event with the empty version (0) of a local
    namespace. Versions that change within the history (a failover during the run) are
    left for the comparison to show."""
    versions = {e.version for e in real}
    return versions.pop() if len(versions) == 1 else 0


def _json(events: Sequence[HistoryEvent]) -> list[Any]:
    encoded: list[Any] = encode_history(events)["events"]  # type: ignore[assignment]
    return encoded


def judge_paths(
    paths: Sequence[str], ignore: frozenset[str] = frozenset(), server: str = ""
) -> Iterator[Verdict]:
    """A verdict per path, in order, except that a reset run is judged after the
    others, once its base run may have been seen."""
    runs: dict[str, str] = {}  # run id -> the path holding that run's history
    resets: list[tuple[str, str, str | None]] = []  # (path, base run id, note)
    for path in paths:
        try:
            real, note = read_history_noted(path)
        except BadInput as exc:
            yield Verdict(path, error=_without_path(str(exc), path))
            continue
        runs.setdefault(run_id(real), path)
        reset = reset_of(real)
        if reset is not None:
            resets.append((path, reset[0], note))
            continue
        verdict = _judged(path, real, ignore=ignore, server=server)
        yield dataclasses.replace(verdict, note=note)
    for path, base_id, note in resets:
        chain = _bases(base_id, runs)
        if isinstance(chain, str):
            whose = "its base run" if chain == base_id else "the base run of a reset it comes from"
            yield Verdict(
                path, error=f"a reset run: give the history of {whose} (run id {chain}) too"
            )
            continue
        verdict = _judged(
            path, read_history(path), chain[base_id], ignore=ignore, server=server, earlier=chain
        )
        yield dataclasses.replace(verdict, note=note)


# What a history nested past Python's recursion limit is: bad input, as validate says.
TOO_DEEP = "JSON nested too deeply"


def _judged(
    path: str,
    real: Sequence[HistoryEvent],
    base: Sequence[HistoryEvent] | None = None,
    ignore: frozenset[str] = frozenset(),
    server: str = "",
    earlier: Mapping[str, Sequence[HistoryEvent]] | None = None,
) -> Verdict:
    """`judge_events`, or the history reported as bad input when a value in it is
    nested too deeply to compare (the comparison walks values recursively)."""
    try:
        return judge_events(path, real, base, ignore, server, earlier)
    except RecursionError:
        return Verdict(path, error=TOO_DEEP)


def _bases(base_id: str, runs: Mapping[str, str]) -> dict[str, Sequence[HistoryEvent]] | str:
    """The histories, by run id, of a reset run's base and, when a reset made that base,
    of its own base, and so on; or the id of the first of them not given."""
    chain: dict[str, Sequence[HistoryEvent]] = {}
    run: str | None = base_id
    while run is not None and run not in chain:
        if run not in runs:
            return run
        chain[run] = read_history(runs[run])
        reset = reset_of(chain[run])
        run = reset[0] if reset is not None else None
    return chain


def _without_path(message: str, path: str) -> str:
    return message.removeprefix(f"{path}: ")
