"""`tmodel bench replay`: cold replay of the real corpus, ours against the official SDK's.

The corpus is every recorded history (tests/fixtures/histories) whose workflow type has
a twin in adapters/conform/twins: 50 histories, about 700 events. Our
replay (`core.statemachine.replay.driver.replay`) runs over the corpus repeated until
``--replay-events`` events (default 200,000) have been replayed; each history is
replayed from its first event, as a worker with an empty cache would.

In the same run the official Python SDK's `temporalio.worker.Replayer` replays the same
histories with the workflows that wrote them (scripts/recorder_workflows.py), twice:
with the default sandboxed runner (what `Replayer(workflows=...)` does) and with
`UnsandboxedWorkflowRunner`. The SDK is much slower, so it replays ``--sdk-events``
events (default 2,000) after one untimed warm-up pass over the corpus.

Both sides start from decoded histories (ours from `HistoryEvent`s, the SDK's from
`WorkflowHistory.from_json`), so neither pays for JSON parsing. Times are CPU seconds
of this process (`time.process_time`, all threads: the SDK's Rust core runs on its
own), so a busy machine does not distort the ratio; best of ``--repeat``. The figures:
events/s for each, and the ratio ours / SDK. When the SDK cannot run here (not
installed, no source checkout, a history it refuses), the reason is printed on stderr
and its figures are left out.

The recorder's workflows and the histories live outside the installed packages, so
they are loaded by path from the source checkout this module sits in.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.bench import Figure, best_seconds
from adapters.conform.twins import TWINS
from adapters.temporal_json import decode_history
from core.events import HistoryEvent, WorkflowExecutionStartedEventAttributes
from core.statemachine.replay.definition import Definition
from core.statemachine.replay.driver import replay

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "fixtures" / "histories"
RECORDER = ROOT / "scripts" / "recorder_workflows.py"
DEFAULT_EVENTS = 200_000
DEFAULT_SDK_EVENTS = 2_000


@dataclass(frozen=True, slots=True)
class Twinned:
    """One corpus history: its file, its JSON text, its events and its twin."""

    name: str
    text: str
    events: tuple[HistoryEvent, ...]
    twin: Definition


def load_corpus() -> list[Twinned]:
    """The twinned histories, checked to replay (a bench of failures measures nothing)."""
    if not HISTORIES.is_dir():
        raise RuntimeError("bench replay needs a source checkout (tests/ is not installed)")
    manifest = json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))
    corpus: list[Twinned] = []
    for entry in manifest["histories"]:
        text = (HISTORIES / entry["file"]).read_text(encoding="utf-8")
        events = decode_history(text).events
        first = events[0].attributes
        assert isinstance(first, WorkflowExecutionStartedEventAttributes)
        kind = first.workflow_type.name if first.workflow_type is not None else ""
        if kind in TWINS:
            replay(TWINS[kind], events)  # raises if a twin no longer fits its history
            corpus.append(Twinned(entry["file"], text, events, TWINS[kind]))
    return corpus


def bench_replay(args: argparse.Namespace) -> list[Figure]:
    """Our replay and the SDK's on the twinned corpus (see the module docstring)."""
    corpus = load_corpus()
    per_pass = sum(len(h.events) for h in corpus)
    passes = -(-getattr(args, "replay_events", DEFAULT_EVENTS) // per_pass)
    work = [(h.twin, h.events) for h in corpus] * passes
    events = per_pass * passes

    def ours() -> None:
        for twin, history in work:
            replay(twin, history)

    ours_rate = events / best_seconds(ours, getattr(args, "repeat", 1), time.process_time)
    figures = [
        Figure("replay", "histories", len(corpus), "histories"),
        Figure("replay", "events_replayed", events, "events"),
        Figure("replay", "ours", ours_rate, "events/s"),
    ]
    sdk_events = getattr(args, "sdk_events", DEFAULT_SDK_EVENTS)
    try:
        sdk = sdk_rates(corpus, sdk_events, min(getattr(args, "repeat", 1), 2))
    except Exception as exc:  # the comparison is optional; say why it is missing
        print(f"tmodel bench replay: the SDK replayer could not run: {exc}", file=sys.stderr)
        return figures
    replayed, sandboxed, unsandboxed = sdk
    return [
        *figures,
        Figure("replay", "sdk_events_replayed", replayed, "events"),
        Figure("replay", "sdk_replayer", sandboxed, "events/s"),
        Figure("replay", "sdk_replayer_unsandboxed", unsandboxed, "events/s"),
        Figure("replay", "ours_over_sdk", ours_rate / sandboxed, "x"),
        Figure("replay", "ours_over_sdk_unsandboxed", ours_rate / unsandboxed, "x"),
    ]


def sdk_rates(corpus: Sequence[Twinned], at_least: int, repeat: int) -> tuple[int, float, float]:
    """(events, events/s sandboxed, events/s unsandboxed) of temporalio's Replayer."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

    if not RECORDER.is_file():
        raise RuntimeError(f"{RECORDER} not found (a source checkout is needed)")
    # The sandbox re-imports workflow modules by name, so the module must be importable.
    if str(RECORDER.parent) not in sys.path:
        sys.path.insert(0, str(RECORDER.parent))
    recorder = importlib.import_module(RECORDER.stem)
    per_pass = sum(len(h.events) for h in corpus)
    passes = -(-at_least // per_pass)
    histories = [
        WorkflowHistory.from_json(f"bench-{k}-{h.name}", h.text)
        for k in range(passes)
        for h in corpus
    ]
    events = per_pass * passes
    warmup = histories[: len(corpus)]

    async def replay_all(replayer: Any, batch: list[Any]) -> None:
        async def feed() -> AsyncIterator[Any]:
            for history in batch:
                yield history

        results = await replayer.replay_workflows(feed(), raise_on_replay_failure=False)
        if results.replay_failures:
            run_id, error = next(iter(results.replay_failures.items()))
            count = len(results.replay_failures)
            raise RuntimeError(f"{count} histories failed to replay, e.g. {run_id}: {error}")

    rates: list[float] = []
    replayers = (
        Replayer(workflows=recorder.ALL_WORKFLOWS),
        Replayer(workflows=recorder.ALL_WORKFLOWS, workflow_runner=UnsandboxedWorkflowRunner()),
    )
    for replayer in replayers:
        asyncio.run(replay_all(replayer, warmup))

        def timed(r: Replayer = replayer) -> None:
            asyncio.run(replay_all(r, histories))

        rates.append(events / best_seconds(timed, repeat, time.process_time))
    return events, rates[0], rates[1]
