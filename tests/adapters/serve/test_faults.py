"""`tmodel serve --faults LIST|swarm --seed N --json-report FILE`: the simulator's faults
injected live while an official temporalio worker runs workflows, and the invariant
report written when the server stops.

- Under swarm faults a worker completes every workflow of a mixed workload (activities
  with retries, timers, a child, signals) with the right result, and the report shows
  every invariant held while faults really were injected.
- A server with the range-id fence off (the `no-range-check` mutant) under shard moves
  and host crashes: the report names INV-SINGLE-SHARD-WRITER and the exit code is 1.
- The same seed gives the same fault schedule; another seed another one.

The seeds are not picked by hand: each test takes the first seed whose drawn schedule
has what it needs early on (the schedule is a function of the seed, chaos.py).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from adapters.serve.chaos import Window, draw_window
from adapters.serve.process import launch
from sim.kernel import SECOND
from tests.adapters.serve.sdk import bounded
from tests.adapters.serve.serving import ROOT, refused

ATTEMPTS: dict[str, int] = {}


@activity.defn
async def flaky(key: str) -> str:
    """Fails its first attempt, then returns `key` upper-cased."""
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] == 1:
        raise RuntimeError("the first attempt fails on purpose")
    return key.upper()


@workflow.defn(sandboxed=False)
class Leaf:
    @workflow.run
    async def run(self, n: int) -> int:
        await workflow.sleep(0.2)
        return n * n


@workflow.defn(sandboxed=False)
class Mixed:
    def __init__(self) -> None:
        self.words: list[str] = []

    @workflow.run
    async def run(self, n: int) -> str:
        retry = RetryPolicy(initial_interval=timedelta(milliseconds=100))
        first = await workflow.execute_activity(
            flaky, f"m{n}", start_to_close_timeout=timedelta(seconds=5), retry_policy=retry
        )
        await workflow.sleep(0.3)
        square = await workflow.execute_child_workflow(Leaf.run, n, id=f"leaf-{n}")
        await workflow.wait_condition(lambda: len(self.words) == 2)
        return f"{first}/{square}/{'+'.join(self.words)}"

    @workflow.signal
    def word(self, text: str) -> None:
        self.words.append(text)


@workflow.defn(sandboxed=False)
class Ticker:
    @workflow.run
    async def run(self, ticks: int) -> int:
        for _ in range(ticks):
            await workflow.sleep(1.0)
        return ticks


def first_seed(spec: tuple[str, ...] | str, wanted: Callable[[Window], bool]) -> int:
    return next(seed for seed in range(1000) if wanted(draw_window(spec, seed, 0)))


def stopped(proc: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(how)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


@pytest.mark.asyncio
@bounded
async def test_a_worker_completes_every_workflow_under_swarm_faults(tmp_path: Path) -> None:
    def busy(window: Window) -> bool:  # four kinds or more, the first within 3 s
        kinds = {item.kind for item in window.plan.items}
        return len(kinds) >= 4 and min(i.at for i in window.plan.items) < 3 * SECOND

    seed = first_seed("swarm", busy)
    loop = asyncio.get_running_loop()
    report = tmp_path / "report.json"
    proc, address = launch(
        "--faults", "swarm", "--seed", str(seed), "--json-report", str(report), cwd=str(ROOT)
    )
    try:
        client = await Client.connect(address)
        began, count = loop.time(), 0
        async with Worker(client, task_queue="mixed", workflows=[Mixed, Leaf], activities=[flaky]):
            while loop.time() - began < 15:  # waves of workflows through most of the window
                wave = range(count, count + 8)
                handles = [
                    await client.start_workflow(Mixed.run, n, id=f"mixed-{n}", task_queue="mixed")
                    for n in wave
                ]
                for n, handle in zip(wave, handles, strict=True):
                    await handle.signal(Mixed.word, f"a{n}")
                    await handle.signal(Mixed.word, f"b{n}")
                results = [await handle.result() for handle in handles]
                assert results == [f"M{n}/{n * n}/a{n}+b{n}" for n in wave]
                count += 8
    finally:
        code, out = stopped(proc)
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert code == 0 and doc["ok"] and doc["violations"] == [], out
    checked = [entry for entry in doc["invariants"] if entry["checked"] is not None]
    assert len(checked) == 8 and all(entry["held"] for entry in checked)
    assert sum(doc["faults"]["injected"].values()) > 0  # faults really happened
    assert doc["runs"]["closed"] == 2 * count  # the workflows and their children
    assert "tmodel serve: INV-SINGLE-SHARD-WRITER: held" in out


@pytest.mark.asyncio
@bounded
async def test_the_report_names_the_invariant_a_mutant_server_breaks(tmp_path: Path) -> None:
    spec = ("shard-move", "history-crash")
    seed = first_seed(spec, lambda w: sum(i.at < 4 * SECOND for i in w.plan.items) >= 3)
    report = tmp_path / "report.json"
    proc, address = launch(
        *("--faults", ",".join(spec), "--seed", str(seed), "--json-report", str(report)),
        *("--mutant", "no-range-check"),
        cwd=str(ROOT),
    )
    try:
        client = await Client.connect(address)
        async with Worker(client, task_queue="ticks", workflows=[Ticker]):
            handles = [
                await client.start_workflow(Ticker.run, 8, id=f"ticker-{n}", task_queue="ticks")
                for n in range(100)
            ]
            await asyncio.gather(*(handle.result() for handle in handles))
    finally:
        code, out = stopped(proc)
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert code == 1 and not doc["ok"]
    assert {v["invariant"] for v in doc["violations"]} == {"INV-SINGLE-SHARD-WRITER"}
    assert "written with range id" in doc["violations"][0]["message"]
    assert "tmodel serve: INV-SINGLE-SHARD-WRITER: VIOLATED" in out


def _schedule(seed: int, how: signal.Signals, tmp_path: Path) -> dict[str, Any]:
    report = tmp_path / f"report-{seed}-{how.name}.json"
    proc, _ = launch(
        "--faults", "swarm", "--seed", str(seed), "--json-report", str(report), cwd=str(ROOT)
    )
    code, out = stopped(proc, how)
    assert code == 0 and out.count("tmodel serve: report:") == 1
    faults: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))["faults"]
    return faults


def test_the_same_seed_gives_the_same_fault_schedule(tmp_path: Path) -> None:
    first = _schedule(11, signal.SIGTERM, tmp_path)
    again = _schedule(11, signal.SIGINT, tmp_path)  # the report is printed on SIGINT too
    other = _schedule(12, signal.SIGTERM, tmp_path)
    assert first["schedule"] and first["schedule"] == again["schedule"]
    assert first["schedule_sha256"] == again["schedule_sha256"]
    assert first["swarm"] == again["swarm"]
    assert other["schedule"] != first["schedule"]
    assert draw_window("swarm", 11, 1) == draw_window("swarm", 11, 1)  # later windows too
    assert draw_window("swarm", 11, 1).plan != draw_window("swarm", 11, 0).plan


@pytest.mark.parametrize(
    ("flag", "problem"),
    [("worker-crash", "the workers are the callers'"), ("drop,meteor", "unknown fault kind")],
)
def test_a_fault_the_server_cannot_inject_is_one_line_and_exit_2(flag: str, problem: str) -> None:
    assert problem in refused("--faults", flag)
