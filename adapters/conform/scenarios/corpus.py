"""A directory of captured histories, as the recorder writes it: one file per run,
`<scenario><suffix>.json` in canonical protojson (the SDK's `WorkflowHistory.to_json`),
and a `manifest.json` naming each file's scenario, workflow, run, event count and close
event, and the versions of the server and SDK that wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import temporalio
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory

from adapters.conform.scenarios.context import Capture, E, close_event
from adapters.conform.scenarios.library_limits import LIMIT_CONFIG


def optional_links(history: WorkflowHistory) -> dict[str, str]:
    """Cross-run links worth having in the manifest without parsing the JSON."""
    links: dict[str, str] = {}
    started = history.events[0].workflow_execution_started_event_attributes
    if started.continued_execution_run_id:
        links["continued_from_run_id"] = started.continued_execution_run_id
    if started.parent_workflow_execution.workflow_id:
        links["parent_workflow_id"] = started.parent_workflow_execution.workflow_id
    reset_cause = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    for event in history.events:
        failed = event.workflow_task_failed_event_attributes
        if event.HasField("workflow_task_failed_event_attributes") and failed.cause == reset_cause:
            links["reset_from_run_id"] = failed.base_run_id
    return links


def manifest_entry(capture: Capture) -> dict[str, Any]:
    history = capture.history
    last = close_event(history)
    entry: dict[str, Any] = {
        "file": capture.file_name,
        "scenario": capture.scenario,
        "description": capture.description,
        "workflow_id": capture.workflow_id,
        "run_id": capture.run_id,
        "events": len(history.events),
        "close_event": E.Name(last.event_type) if last is not None else None,
    }
    entry.update(optional_links(history))
    config = LIMIT_CONFIG.get(capture.scenario)
    if config:  # recorded on a dev server with small limits (library_limits.py)
        entry["dynamic_config"] = dict(sorted(config.items()))
    return entry


def write_history(out_dir: Path, capture: Capture) -> None:
    # to_json is protobuf's MessageToJson: canonical protojson, indent 2.
    (out_dir / capture.file_name).write_text(capture.history.to_json() + "\n")


def prune_stale(out_dir: Path, captures: Sequence[Capture], scenarios: Sequence[str]) -> None:
    """After a run of every one of `scenarios`, delete the histories of those scenarios
    the old manifest listed but this run did not write (other scenarios' are kept)."""
    path = out_dir / "manifest.json"
    if not path.exists():
        return
    written = {c.file_name for c in captures}
    for entry in json.loads(path.read_text()).get("histories", []):
        name = str(entry.get("file", ""))
        ours = entry.get("scenario") in scenarios
        if ours and name and name not in written and "/" not in name:
            (out_dir / name).unlink(missing_ok=True)


def write_manifest(
    out_dir: Path,
    captures: Sequence[Capture],
    scenarios: Sequence[str],
    every: Sequence[str],
    versions: dict[str, str],
) -> None:
    """Write the manifest of `captures` (from `scenarios`, of the library's `every`);
    a partial run keeps the other scenarios' entries. `versions`: server_version and
    cli_version, as far as known."""
    path = out_dir / "manifest.json"
    kept: list[dict[str, Any]] = []
    if path.exists() and set(scenarios) != set(every):
        old = json.loads(path.read_text())
        kept = [h for h in old.get("histories", []) if h.get("scenario") not in scenarios]
    entries = kept + [manifest_entry(c) for c in captures]
    order = list(every)
    entries.sort(key=lambda h: order.index(h["scenario"]) if h["scenario"] in order else 999)
    manifest = {
        **versions,
        "sdk_version": f"temporalio {temporalio.__version__}",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "histories": entries,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def check_corpus(out_dir: Path) -> int:
    """Re-read every manifest entry through the SDK and check its basic shape."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    problems: list[str] = []
    for entry in manifest["histories"]:
        text = (out_dir / entry["file"]).read_text()
        history = WorkflowHistory.from_json(entry["workflow_id"], text)
        ids = [e.event_id for e in history.events]
        if ids != list(range(1, len(ids) + 1)):
            problems.append(f"{entry['file']}: event ids are not 1..{len(ids)}")
        if len(ids) != entry["events"]:
            problems.append(f"{entry['file']}: {len(ids)} events, manifest says {entry['events']}")
        last = close_event(history)
        if (E.Name(last.event_type) if last is not None else None) != entry["close_event"]:
            problems.append(f"{entry['file']}: close event differs from the manifest")
    for problem in problems:
        print(problem)
    print(f"checked {len(manifest['histories'])} histories: {len(problems)} problems")
    return 1 if problems else 0
