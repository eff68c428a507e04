"""`tmodel bench validate`: the history validator, alone and end to end from a file.

All in one run, so the figures compare:

- `validate_step`: `validate()` over a list of `--events` generated events (no JSON);
- `end_to_end_json`: a `--events` history streamed from a compact JSON file;
- `validate_end_to_end`: what `tmodel validate FILE` does (`check_file`: open, read,
  decode every event into the core's values, validate; one process, one thread) on a
  `--e2e-events` history written as `temporal workflow show -o json` writes one (2-space
  indentation; 220,000 events make about 63 MB), best of `--repeat` wall-clock runs;
  `validate_end_to_end_cpu` is the same runs' CPU time (steadier on a shared machine);
- `validate_end_to_end_generic`: the same file, every event decoded by the generic
  decoder alone (plain JSON values first, as before the typed decoder): the figure the
  typed decoder is measured against, in the same run;
- `validate_end_to_end_msgspec_reference`: msgspec alone parsing that file's events into
  the typed decoder's structs (typed.py), per CPU second, best of `--repeat`: the floor
  under any decoder built on msgspec, measured beside `validate_end_to_end_cpu` so the
  two can be compared across sittings whose machines differ in speed;
  `validate_end_to_end_share_of_msgspec` is the one rate over the other;
- `validate_end_to_end_peak_memory_*`: the peak of memory allocated while validating that
  file and one a tenth its length: the same, since only open entities are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable

from adapters.bench import Figure, best_seconds, peak_bytes, write_history_json
from adapters.input_file import open_regular, require_events
from adapters.temporal_json import encode_event, iter_events
from adapters.temporal_json.typed import BATCH
from adapters.validate_cmd import check_file
from core.events import HistoryEvent
from core.statemachine.history.validator import validate
from sim.synthetic import synthetic_history


def bench_validate(args: argparse.Namespace) -> list[Figure]:
    """Validation of generated histories: the pure step, memory, and JSON end to end."""
    return [*_pure_step(args), *_end_to_end(args)]


def _pure_step(args: argparse.Namespace) -> list[Figure]:
    events = list(synthetic_history(args.events))
    n = len(events)
    verdict = validate(events)
    if not verdict.valid:  # the benchmark is meaningless on a broken generator
        raise RuntimeError(f"synthetic history invalid: {verdict.violations[:3]}")
    step = best_seconds(lambda: validate(events), args.repeat)
    events.clear()  # free the list before the memory measurements
    small = max(n // 10, 1000)
    peak_small = peak_bytes(lambda: validate(synthetic_history(small)))
    peak_full = peak_bytes(lambda: validate(synthetic_history(n)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "history.json")
        size = write_history_json(synthetic_history(n), path)

        def end_to_end() -> object:
            with open(path, "rb") as stream:
                return validate(iter_events(stream))

        e2e = best_seconds(end_to_end, 1)
    return [
        Figure("validate", "events", n, "events"),
        Figure("validate", "validate_step", n / step, "events/s"),
        Figure("validate", "end_to_end_json", n / e2e, "events/s"),
        Figure("validate", "json_file_size", size / 2**20, "MiB"),
        Figure("validate", f"stream_peak_memory_{small}_events", peak_small / 2**10, "KiB"),
        Figure("validate", f"stream_peak_memory_{n}_events", peak_full / 2**10, "KiB"),
    ]


def _end_to_end(args: argparse.Namespace) -> list[Figure]:
    n = args.e2e_events
    with tempfile.TemporaryDirectory() as tmp:
        path, small_path = os.path.join(tmp, "big.json"), os.path.join(tmp, "small.json")
        count, size = write_pretty(synthetic_history(n), path)
        small_count, _ = write_pretty(synthetic_history(max(n // 10, 1000)), small_path)
        report = check_file(path)
        if not report.valid or report.events != count:  # meaningless on a broken file
            raise RuntimeError(f"generated history not valid: {report}")
        wall = best_seconds(lambda: check_file(path), args.repeat)
        cpu = best_seconds(lambda: check_file(path), args.repeat, time.process_time)
        generic = best_seconds(lambda: _generic(path), args.repeat)
        reference = _msgspec_seconds(path, count, args.repeat)
        peak_small = peak_bytes(lambda: check_file(small_path))
        peak = peak_bytes(lambda: check_file(path))
    return [
        Figure("validate", "validate_end_to_end_events", count, "events"),
        Figure("validate", "validate_end_to_end_file_size", size / 2**20, "MiB"),
        Figure("validate", "validate_end_to_end", count / wall, "events/s"),
        Figure("validate", "validate_end_to_end_cpu", count / cpu, "events/s"),
        Figure("validate", "validate_end_to_end_generic", count / generic, "events/s"),
        Figure("validate", "validate_end_to_end_speedup", generic / wall, "x"),
        Figure("validate", "validate_end_to_end_msgspec_reference", count / reference, "events/s"),
        Figure("validate", "validate_end_to_end_share_of_msgspec", reference / cpu, "x"),
        Figure(
            "validate",
            f"validate_end_to_end_peak_memory_{small_count}_events",
            peak_small / 2**10,
            "KiB",
        ),
        Figure("validate", f"validate_end_to_end_peak_memory_{count}_events", peak / 2**10, "KiB"),
    ]


def _generic(path: str) -> object:
    """`check_file`'s work with the generic decoder in place of the typed one."""
    with open_regular(path) as stream:
        return validate(require_events(iter_events(stream, typed=False)))


def _msgspec_seconds(path: str, count: int, repeat: int) -> float:
    """The best CPU time of msgspec parsing the events of the file at `path` (written by
    `write_pretty`) into the typed decoder's structs, in one piece, held in memory."""
    with open(path, "rb") as stream:
        data = stream.read()
    events = data[data.index(b"[") : data.rindex(b"]") + 1]  # the file's only list
    parsed = len(BATCH.decode(events))
    if parsed != count:  # not the reference it claims to be
        raise RuntimeError(f"msgspec parsed {parsed} events, the file holds {count}")
    return best_seconds(lambda: BATCH.decode(events), repeat, time.process_time)


def write_pretty(events: Iterable[HistoryEvent], path: str) -> tuple[int, int]:
    """Write `{"events": [...]}` as `json.dump(..., indent=2)` would, one event at a time
    (so a long history is never held whole); (events written, bytes)."""
    count = 0
    indent: Callable[[str], str] = lambda line: "    " + line  # noqa: E731
    with open(path, "w", encoding="utf-8") as out:
        out.write('{\n  "events": [')
        for count, event in enumerate(events, 1):
            body = json.dumps(encode_event(event), indent=2, ensure_ascii=False)
            out.write(",\n" if count > 1 else "\n")
            out.write("\n".join(map(indent, body.split("\n"))))
        out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count, os.path.getsize(path)
