"""`tmodel bench replay`: cold replay of the real corpus, ours against the official SDK's.

The corpus is every recorded history (tests/fixtures/histories) whose workflow type has
a twin in adapters/conform/twins: 50 histories, about 700 events.
Each history is replayed from its first event, as a worker with an empty cache would.

The comparison, in one run: the official Python SDK's `temporalio.worker.Replayer`
replays the corpus repeated until ``--sdk-events`` events (default 5,000) with the
workflows that wrote them (scripts/recorder_workflows.py), twice: with
`UnsandboxedWorkflowRunner` and with the default sandboxed runner (what
`Replayer(workflows=...)` does); our replay (`core.statemachine.replay.driver.replay`)
replays exactly the same list of histories. Each side first replays the corpus once,
untimed (warm-up). The ratios are ours over the SDK's events/s:
`replay_vs_sdk_unsandboxed` (the fair headline: neither side sandboxes workflow code)
and `replay_vs_sdk_sandboxed`.

What still differs: ours runs hand-written twins of the recorder's workflows (the
`core.workflow` API) through our pure replay engine, in this thread; the SDK runs the
original workflows on asyncio, each activation passing through its Rust core (protobuf
in, commands out), and the sandboxed runner also re-imports workflow modules and
checks what they touch. Both start from decoded histories (ours from `HistoryEvent`s,
the SDK's from `WorkflowHistory.from_json`), so neither pays for JSON parsing.

Times are CPU seconds of this process (`time.process_time`, all threads: the SDK's Rust
core runs on its own), so a busy machine does not distort the ratio; best of
``--repeat`` (at most two for the SDK). Separately, ``ours`` is our replay over the
corpus repeated to ``--replay-events`` events (default 200,000). When the SDK cannot run
here (not installed, no source checkout, a history it refuses), the reason is printed
on stderr and its figures are left out.

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
DEFAULT_SDK_EVENTS = 5_000


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
    repeat = getattr(args, "repeat", 1)
    ours_events, ours_rate = _ours(corpus, getattr(args, "replay_events", DEFAULT_EVENTS), repeat)
    figures = [
        Figure("replay", "histories", len(corpus), "histories"),
        Figure("replay", "events_replayed", ours_events, "events"),
        Figure("replay", "ours", ours_rate, "events/s"),
    ]
    sdk_events = getattr(args, "sdk_events", DEFAULT_SDK_EVENTS)
    try:
        sdk = sdk_rates(corpus, sdk_events, min(repeat, 2))
    except Exception as exc:  # the comparison is optional; say why it is missing
        print(f"tmodel bench replay: the SDK replayer could not run: {exc}", file=sys.stderr)
        return figures
    replayed, sandboxed, unsandboxed = sdk
    same_events, same_rate = _ours(corpus, sdk_events, repeat)
    if same_events != replayed:  # the ratios would compare different work
        raise RuntimeError(f"ours replayed {same_events} events, the SDK {replayed}")
    return [
        *figures,
        Figure("replay", "sdk_events_replayed", replayed, "events"),
        Figure("replay", "ours_same_histories", same_rate, "events/s"),
        Figure("replay", "sdk_replayer_unsandboxed", unsandboxed, "events/s"),
        Figure("replay", "sdk_replayer_sandboxed", sandboxed, "events/s"),
        Figure("replay", "replay_vs_sdk_unsandboxed", same_rate / unsandboxed, "x"),
        Figure("replay", "replay_vs_sdk_sandboxed", same_rate / sandboxed, "x"),
    ]


def _passes(corpus: Sequence[Twinned], at_least: int) -> int:
    """How many times the corpus is repeated to replay at least `at_least` events."""
    return -(-at_least // sum(len(h.events) for h in corpus))


def _ours(corpus: Sequence[Twinned], at_least: int, repeat: int) -> tuple[int, float]:
    """(events, events/s) of our replay over the corpus repeated to `at_least` events,
    after one untimed pass."""
    work = [(h.twin, h.events) for h in corpus] * _passes(corpus, at_least)

    def run(items: Sequence[tuple[Definition, tuple[HistoryEvent, ...]]]) -> None:
        for twin, history in items:
            replay(twin, history)

    run(work[: len(corpus)])  # warm-up, as the SDK gets
    events = sum(len(history) for _, history in work)
    return events, events / best_seconds(lambda: run(work), repeat, time.process_time)


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
    passes = _passes(corpus, at_least)
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
