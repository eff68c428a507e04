"""`tmodel simulate --out DIR`: what a run leaves on disk.

Per seed, ``seed-N/histories/*.json`` (every run's history in Temporal's JSON format,
one file per run, which ``tmodel validate`` and Temporal's own tools read),
``seed-N/trace.txt`` (the trace, one line per step) and ``seed-N/timeline.svg``
(`sim.timeline`, with the most eventful workflows, `sim.timeline_pick`); a shrunk
failure goes to ``seed-N-shrunk/`` the same way. `write_outputs` says what it wrote,
for the report.

In ``trace.txt`` a step's time is written in seconds, ``t=1.500000000s``, to the
nanosecond. The simulator's own lines - the ones the trace hash is the SHA-256 of -
carry whole nanoseconds (``t=1500000000``), a number no reader should have to divide;
so the writer converts, and a few ``#`` lines at the top say how to undo it.
`hashed_lines` does, and a test checks that the file gives back the trace hash.

The simulator keeps payloads as plain JSON values (a workflow's input is ``[3, 500,
...]``, an activity's result ``"ok"``). Temporal's format wraps every payload in a
``Payloads`` message, so on the way out each such value is encoded as one payload with
the SDKs' ``json/plain`` encoding; update requests and outcomes get their envelopes
(``{"input": {"args": ...}}``, ``{"success": ...}``). Values that already are objects
(failures, retry policies, update metadata) are written as they are.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.simulate_report import Outcome
from adapters.temporal_json import write_events
from core import payloads as core_payloads
from core.events import HistoryEvent
from core.opaque import JsonValue, Opaque
from sim.kernel import SECOND
from sim.run import RunResult
from sim.shrink import Shrunk
from sim.timeline import timeline_svg
from sim.timeline_pick import choose

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NANOS = re.compile(r"^t=(-?)(\d+)(?= |$)")
_SECONDS = re.compile(r"^t=(-?)(\d+)\.(\d{9})s(?= |$)")


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_run` put in one folder."""

    folder: Path
    histories: int  # files in folder/histories
    steps: int  # lines of folder/trace.txt, its header aside
    timeline: tuple[str, ...]  # the workflow ids folder/timeline.svg draws


def write_outputs(out: Path, outcomes: Sequence[Outcome], shrunk: Shrunk | None) -> list[Written]:
    written = [write_run(out / f"seed-{o.result.seed}", o.result) for o in outcomes]
    if shrunk is not None:
        written.append(write_run(out / f"seed-{shrunk.original.seed}-shrunk", shrunk.result))
    return written


def write_run(folder: Path, result: RunResult) -> Written:
    """The histories, the trace and the timeline of one run, into `folder`."""
    histories = folder / "histories"
    histories.mkdir(parents=True, exist_ok=True)
    for k, (run_id, events) in enumerate(result.histories.items()):
        workflow = result.workflow_ids.get(run_id, "run")
        name = _UNSAFE.sub("_", f"{k:05d}-{workflow}-{run_id}")[:150]
        with open(histories / f"{name}.json", "wb") as stream:
            write_events(temporal_events(events), stream)
    text = trace_text(result.trace, result.seed, result.trace_hash)
    (folder / "trace.txt").write_text(text, "utf-8")
    title = f"seed {result.seed}: trace {result.trace_hash[:16]}"
    chosen = choose(result)
    svg = timeline_svg(
        result.trace, chosen, result.plan.items, title, result.histories, result.workflow_ids
    )
    (folder / "timeline.svg").write_text(svg, encoding="utf-8")
    drawn = tuple(wf.workflow_id for wf in chosen)
    return Written(folder, len(result.histories), len(result.trace), drawn)


def describe(out: Path, written: Sequence[Written]) -> list[str]:
    """What `write_outputs` wrote, for the report: the first folder's files one by one,
    then the names of the others, which hold the same three."""
    if not written:
        return []
    first = written[0]
    name = first.folder.name
    drawn = ", ".join(first.timeline) or "none"
    lines = [
        f"wrote to {out}/:",
        f"  {name}/histories/    {first.histories:,} histories in Temporal's JSON format "
        f"(tmodel validate {first.folder / 'histories'})",
        f"  {name}/trace.txt     the trace, {first.steps:,} steps, times in seconds",
        f"  {name}/timeline.svg  the most eventful workflows ({drawn}) and the faults",
    ]
    others = [w.folder.name + "/" for w in written[1:]]
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        lines.append(f"  and the same in {len(others):,} more folders: {shown}")
    return lines


def document(written: Sequence[Written]) -> list[dict[str, object]]:
    """What was written, for the ``--json`` document."""
    return [
        {
            "folder": str(w.folder),
            "histories": w.histories,
            "trace": str(w.folder / "trace.txt"),
            "timeline": str(w.folder / "timeline.svg"),
            "timeline_workflows": list(w.timeline),
        }
        for w in written
    ]


# --------------------------------------------------------------------------- trace.txt


def trace_text(trace: Sequence[str], seed: int, trace_hash: str) -> str:
    """``trace.txt``: a header of ``#`` lines, then the trace with times in seconds."""
    header = (
        f"seed {seed}: the simulator's trace, one line per step, in order.",
        "t= is virtual time since the run started, in seconds to the nanosecond.",
        f"The trace hash {trace_hash} is the SHA-256",
        "of the lines below with t= in whole nanoseconds (t=1.500000000s as t=1500000000),",
        "each ending in a newline, without these # lines.",
    )
    lines = [f"# {line}" for line in header] + [_in_seconds(line) for line in trace]
    return "".join(f"{line}\n" for line in lines)


def hashed_lines(text: str) -> list[str]:
    """The trace lines, as hashed, back from a ``trace.txt``."""
    return [
        _SECONDS.sub(_to_nanos, line, count=1)
        for line in text.splitlines()
        if not line.startswith("#")
    ]


def _in_seconds(line: str) -> str:
    def seconds(match: re.Match[str]) -> str:
        whole, nanos = divmod(int(match[2]), SECOND)
        return f"t={match[1]}{whole}.{nanos:09d}s"

    return _NANOS.sub(seconds, line, count=1)


def _to_nanos(match: re.Match[str]) -> str:
    return f"t={match[1]}{int(match[2]) * SECOND + int(match[3])}"


# --------------------------------------------------------------------------- payloads


def payloads(value: JsonValue) -> JsonValue:
    """`value` as Temporal's ``Payloads`` with one ``json/plain`` payload."""
    return {"payloads": [core_payloads.payload(value)]}


def _envelope(field: str, value: JsonValue, attrs: Any) -> JsonValue:
    if field == "accepted_request":
        update_id = getattr(attrs, "protocol_instance_id", "")
        return {
            "meta": {"updateId": update_id},
            "input": {"name": "update", "args": payloads(value)},
        }
    if field == "outcome":
        return {"success": payloads(value)}
    return payloads(value)


def temporal_events(events: Sequence[HistoryEvent]) -> Iterator[HistoryEvent]:
    """The events with every bare payload value wrapped as Temporal writes it."""
    for event in events:
        attrs: Any = event.attributes  # one of the 60 attribute dataclasses
        changes: dict[str, Opaque] = {}
        for field in dataclasses.fields(attrs) if attrs is not None else ():
            value = getattr(attrs, field.name)
            if isinstance(value, Opaque):
                decoded = value.value()
                if not isinstance(decoded, dict):
                    changes[field.name] = Opaque.of(_envelope(field.name, decoded, attrs))
        if changes:
            event = dataclasses.replace(event, attributes=dataclasses.replace(attrs, **changes))
        yield event
