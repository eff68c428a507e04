"""`tmodel simulate --out DIR`: what a run leaves on disk.

Per seed, ``seed-N/histories/*.json`` (every run's history in Temporal's JSON format,
one file per run, which ``tmodel validate`` and Temporal's own tools read),
``seed-N/trace.txt`` (the canonical trace, one line per step; its SHA-256 is the trace
hash) and ``seed-N/timeline.svg`` (`sim.timeline`); a shrunk failure goes to
``seed-N-shrunk/`` the same way.

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
from pathlib import Path
from typing import Any

from adapters.simulate_report import Outcome
from adapters.temporal_json import write_events
from core import payloads as core_payloads
from core.events import HistoryEvent
from core.opaque import JsonValue, Opaque
from sim.run import RunResult
from sim.shrink import Shrunk
from sim.timeline import Workflow, timeline_svg, workflows_of

TIMELINE_WORKFLOWS = 4  # workflows drawn in a timeline
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_outputs(out: Path, outcomes: Sequence[Outcome], shrunk: Shrunk | None) -> None:
    for o in outcomes:
        write_run(out / f"seed-{o.result.seed}", o.result)
    if shrunk is not None:
        write_run(out / f"seed-{shrunk.original.seed}-shrunk", shrunk.result)


def write_run(folder: Path, result: RunResult) -> None:
    """The histories, the trace and the timeline of one run, into `folder`."""
    histories = folder / "histories"
    histories.mkdir(parents=True, exist_ok=True)
    for k, (run_id, events) in enumerate(result.histories.items()):
        workflow = result.workflow_ids.get(run_id, "run")
        name = _UNSAFE.sub("_", f"{k:05d}-{workflow}-{run_id}")[:150]
        with open(histories / f"{name}.json", "wb") as stream:
            write_events(temporal_events(events), stream)
    (folder / "trace.txt").write_text("".join(f"{line}\n" for line in result.trace), "utf-8")
    title = f"seed {result.seed}: trace {result.trace_hash[:16]}"
    svg = timeline_svg(
        result.trace,
        pick_workflows(result),
        result.plan.items,
        title,
        result.histories,
        result.workflow_ids,
    )
    (folder / "timeline.svg").write_text(svg, encoding="utf-8")


def pick_workflows(result: RunResult, limit: int = TIMELINE_WORKFLOWS) -> list[Workflow]:
    """The workflows of violating runs first, then the first started, up to `limit`."""
    wanted = [v.run_id for v in result.violations if v.run_id]
    wanted += list(result.workflow_ids)
    return workflows_of(result.workflow_ids, dict.fromkeys(wanted))[:limit]


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
