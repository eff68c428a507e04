"""Run the official TypeScript samples against a server and compare two servers.

For each sample of temporalio/samples-typescript named in `sample_specs.py`, the runner
starts a fresh server on 127.0.0.1:7233 (the address the samples' workers use when
they name none), starts the sample's worker(s) with ts-node, runs the sample's client
steps with a timeout, keeps each step's output and exit code, then saves the history of
every run the namespace lists, stops the workers and the server. `--server both` does
this on `tmodel serve` and on `temporal server start-dev` (as the samples' READMEs
start it, plus any dynamic config the sample's spec names) and compares the two:

- the client output, equal once ids, times and other per-run values are masked;
- the event types of each run, in order (`kinds` of scripts/compare_recorded.py), the runs
  paired by workflow type and workflow id (with its random part masked).

The samples are read from an exported tree (`git archive` of the samples repository)
whose parent folder holds one shared `node_modules` (see README.md here): node finds it
by walking up from each sample's folder, so one install serves every sample. The code is
run with `TS_NODE_TRANSPILE_ONLY=true` (no type check; it saves CPU).

    python scripts/ts_samples/run_samples.py --samples $TS/src \\
        --out $TS/out --server both hello-world child-workflows

Prints one line per sample and server and a verdict per sample; the outputs, the
histories (`SERVER/SAMPLE/histories/*.json`) and a `summary.json` go to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_recorded import kinds
from sample_specs import SAMPLES, Sample, Step

HOST, PORT = "127.0.0.1", 7233
ADDRESS = f"{HOST}:{PORT}"
READY = "RUNNING"  # the workers log "Worker state changed { state: 'RUNNING' }"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_port(port: int, limit: float) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return True
        time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_command(kind: str, sample: Sample) -> list[str]:
    bindir = Path(sys.executable).parent
    attrs = [a for name in sample.search_attributes for a in ("--search-attribute", name)]
    if kind == "serve":
        return [str(bindir / "tmodel"), "serve", "--address", ADDRESS, *attrs]
    flags = [f for value in sample.dev_flags for f in ("--dynamic-config-value", value)]
    return [
        str(bindir / "temporal"), "server", "start-dev", "--ip", HOST, "--headless",
        "--port", str(PORT), "--ui-port", str(free_port()),
        "--http-port", str(free_port()), "--metrics-port", str(free_port()),
        "--log-level", "error", *attrs, *flags,
    ]  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process group we started (the shell, ts-node and node under it)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def node_env(samples: Path) -> dict[str, str]:
    env = dict(os.environ)
    bins = f"{samples.parent / 'node_modules' / '.bin'}:{Path(sys.executable).parent}"
    env["PATH"] = f"{bins}:{env['PATH']}"
    env["TS_NODE_TRANSPILE_ONLY"] = "true"
    env["TEMPORAL_ADDRESS"] = ADDRESS
    env["FORCE_COLOR"] = "0"
    return env


def script_of(folder: Path, step: Step) -> str:
    """The shell command of a step: an npm script's text, or the step's own command."""
    if step.command:
        return step.command
    scripts = json.loads((folder / "package.json").read_text())["scripts"]
    return str(scripts[step.script])


def start_worker(
    folder: Path, step: Step, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(
        ["sh", "-c", script_of(folder, step)], cwd=folder, env=env,
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    end = time.monotonic() + step.timeout
    while time.monotonic() < end and proc.poll() is None:
        if READY in log.read_text(errors="replace") or step.ready_after:
            break
        time.sleep(0.5)
    if step.ready_after:
        time.sleep(step.ready_after)
    return proc


def run_step(folder: Path, step: Step, env: dict[str, str]) -> dict[str, Any]:
    began = time.monotonic()
    proc = subprocess.Popen(
        ["sh", "-c", script_of(folder, step)], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    code: int | str
    try:
        raw_out, raw_err = proc.communicate(timeout=step.timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raw_out, raw_err = proc.communicate()
        code = "timeout"
    return {
        "step": step.script or step.command,
        "exit": code,
        "stdout": raw_out.decode(errors="replace"),
        "stderr": raw_err.decode(errors="replace"),
        "seconds": round(time.monotonic() - began, 1),
    }


async def save_histories(dest: Path, namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    from temporalio.client import Client

    runs: list[dict[str, Any]] = []
    for namespace in namespaces:
        client = await Client.connect(ADDRESS, namespace=namespace)
        await save_namespace(client, dest, runs)
    return runs


async def save_namespace(client: Any, dest: Path, runs: list[dict[str, Any]]) -> None:
    async for wf in client.list_workflows():
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        name = f"{len(runs):03d}.json"
        (dest / name).write_text(history.to_json())
        runs.append(
            {"id": wf.id, "run": wf.run_id, "type": wf.workflow_type, "file": name,
             "status": wf.status.name if wf.status else None,
             "start": wf.start_time.isoformat(), "namespace": client.namespace}
        )  # fmt: skip


def run_sample(kind: str, sample: Sample, samples: Path, out: Path) -> dict[str, Any]:
    folder = samples / sample.folder
    dest = out / kind / sample.name
    (dest / "histories").mkdir(parents=True, exist_ok=True)
    if not port_free(PORT):
        raise SystemExit(f"error: {ADDRESS} is in use; the samples' workers need it")
    env = node_env(samples)
    server_log = (dest / "server.log").open("wb")
    server = subprocess.Popen(
        server_command(kind, sample), stdout=server_log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"server": kind, "sample": sample.name, "steps": []}
    try:
        if not wait_port(PORT, 60):
            raise SystemExit(f"error: the {kind} server did not start (see {dest / 'server.log'})")
        time.sleep(2 if kind == "dev" else 0.5)  # the dev server registers its namespace
        for step in sample.setup:
            result["steps"].append(run_step(folder, step, env))
        for i, step in enumerate(sample.workers):
            workers.append(start_worker(folder, step, env, dest / f"worker{i}.log"))
        for step in sample.steps:
            if step.background:
                workers.append(start_worker(folder, step, env, dest / f"bg{len(workers)}.log"))
                continue
            result["steps"].append(run_step(folder, step, env))
            if step.pause:
                time.sleep(step.pause)
        time.sleep(sample.settle)
        result["runs"] = asyncio.run(save_histories(dest / "histories", sample.namespaces))
    finally:
        for w in workers:
            stop(w)
        stop(server)
        server_log.close()
    result["workers_exit"] = [w.returncode for w in workers]
    (dest / "result.json").write_text(json.dumps(result, indent=1))
    return result


ID = r"[A-Za-z0-9_-]"
MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z?"), "<time>"),
    # a nanoid (21 characters of A-Za-z0-9_-), alone or after a prefix ending in - or _
    (re.compile(rf"(?<=[-_]){ID}{{21}}(?!{ID})"), "<nanoid>"),
    (re.compile(rf"(?<!{ID}){ID}{{21}}(?!{ID})"), "<nanoid>"),
    (re.compile(r"\b\d{10,}\b"), "<n>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s|seconds?|milliseconds?)\b"), "<dur>"),
]


def mask(text: str, extra: tuple[str, ...]) -> str:
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    for regex in extra:
        text = re.sub(regex, "<masked>", text, flags=re.MULTILINE)
    return text


def run_key(run: dict[str, Any], extra: tuple[str, ...]) -> str:
    return f"{run.get('namespace', '')}|{run['type']}|{mask(run['id'], extra)}"


def compare(sample: Sample, a: dict[str, Any], b: dict[str, Any], out: Path) -> list[str]:
    """Differences between the serve run (a) and the dev server run (b), as lines."""
    diffs: list[str] = []
    for sa, sb in zip(a["steps"], b["steps"], strict=True):
        if sa["exit"] != sb["exit"]:
            diffs.append(f"step {sa['step']}: exit {sa['exit']} on serve, {sb['exit']} on dev")
        ta, tb = (
            [re.sub("|".join(sample.drop) or "(?!)", "", line) for line in lines]
            for lines in (mask(s["stdout"], sample.mask).splitlines() for s in (sa, sb))
        )
        if not sample.ordered_output:
            ta, tb = sorted(ta), sorted(tb)
        if ta != tb:
            diffs.append(f"step {sa['step']}: output differs")
            diffs.extend(
                "    " + d for d in difflib.unified_diff(tb, ta, "dev", "serve", lineterm="")
            )
    grouped: dict[str, dict[str, list[list[str]]]] = {}
    for kind, res in (("serve", a), ("dev", b)):
        for run in res.get("runs", []):
            path = out / kind / sample.name / "histories" / run["file"]
            grouped.setdefault(run_key(run, sample.mask), {}).setdefault(kind, []).append(
                kinds(path)
            )
    for key, sides in sorted(grouped.items()):
        ours, theirs = sorted(sides.get("serve", [])), sorted(sides.get("dev", []))
        if len(ours) != len(theirs):
            diffs.append(f"runs of {key}: {len(ours)} on serve, {len(theirs)} on dev")
            continue
        for x, y in zip(ours, theirs, strict=True):
            if x != y:
                diffs.append(f"history of {key} differs")
                diffs.extend(
                    "    " + d for d in difflib.unified_diff(y, x, "dev", "serve", lineterm="")
                )
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="samples to run (default: all in sample_specs.py)")
    parser.add_argument("--samples", type=Path, required=True, help="the exported samples tree")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--server", choices=["serve", "dev", "both"], default="both")
    parser.add_argument(
        "--compare-only", action="store_true", help="compare the runs saved in --out again"
    )
    args = parser.parse_args()
    chosen = args.names or list(SAMPLES)
    unknown = [n for n in chosen if n not in SAMPLES]
    if unknown:
        raise SystemExit(f"error: unknown sample(s) {', '.join(unknown)}; see sample_specs.py")
    if not (args.samples.parent / "node_modules").is_dir():
        raise SystemExit(f"error: no node_modules beside {args.samples} (see README.md)")
    kinds_ = ["serve", "dev"] if args.server == "both" else [args.server]
    summary: dict[str, Any] = {}
    for name in chosen:
        sample = SAMPLES[name]
        results = {}
        for kind in kinds_:
            if args.compare_only:
                saved = args.out / kind / name / "result.json"
                if not saved.is_file():
                    raise SystemExit(f"error: no saved run {saved}")
                results[kind] = json.loads(saved.read_text())
                continue
            res = run_sample(kind, sample, args.samples, args.out)
            results[kind] = res
            steps = ", ".join(f"{s['step']}={s['exit']}" for s in res["steps"])
            print(f"{name} [{kind}]: {steps}; {len(res.get('runs', []))} runs", flush=True)
        if len(results) == 2:
            diffs = compare(sample, results["serve"], results["dev"], args.out)
            verdict = "same as the dev server" if not diffs else "DIFFERENT"
            print(f"{name}: {verdict}")
            for line in diffs:
                print("  " + line)
            summary[name] = {"same": not diffs, "diffs": diffs}
    if summary:
        old = args.out / "summary.json"
        merged = json.loads(old.read_text()) if old.is_file() else {}
        merged.update(summary)
        old.write_text(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main()
