"""`tmodel simulate --scheduler`: seed sweeps on a real Dask cluster on 127.0.0.1.

The cluster is real and made of separate processes: ``dask scheduler`` and two
``dask worker`` processes (``--no-nanny``, so killing one is killing the worker), all
listening on loopback. Every sweep must give each seed the trace hash a local run
gives, including a sweep during which a worker is killed while it holds seeds: the
scheduler runs them again elsewhere.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from adapters import simulate_cmd, simulate_dask
from adapters.cli import main
from adapters.dev_server import LOOPBACK, free_loopback_ports, stop_process
from adapters.simulate_dask import run_on_cluster
from adapters.simulate_pool import run_one
from core.errors import BadInput
from sim.config import SimConfig

distributed = pytest.importorskip("distributed")
DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
START_TIMEOUT = 90.0
CONFIG = SimConfig(workflows=8)


@dataclass
class Cluster:
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        assert DASK is not None
        command = [DASK, "worker", self.address, "--no-nanny", "--nthreads", "1"]
        command += ["--host", LOOPBACK, "--no-dashboard", "--name", name]
        worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(worker)
        return worker

    def client(self) -> Any:
        return distributed.Client(self.address, timeout="30s", set_as_default=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if DASK is None:
        pytest.skip("no `dask` command (pip install 'temporal-model[dask]')")
    port = free_loopback_ports(1)[0]
    command = [DASK, "scheduler", "--host", LOOPBACK, "--port", str(port), "--no-dashboard"]
    scheduler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = Cluster(f"tcp://{LOOPBACK}:{port}", [scheduler])
    try:
        running.add_worker("worker-1")
        running.add_worker("worker-2")
        with running.client() as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield running
    finally:
        for process in reversed(running.processes):
            stop_process(process)


def _local_hashes(configs: list[SimConfig]) -> dict[int, str]:
    return {c.seed: run_one(c, full=False)[0].trace_hash for c in configs}


def test_a_sweep_on_the_cluster_gives_each_seed_its_local_hash(cluster: Cluster) -> None:
    configs = [replace(CONFIG, seed=seed) for seed in range(10)]
    order: list[int] = []
    done = run_on_cluster(configs, cluster.address, full=False, on_done=order.append)
    assert sorted(order) == list(range(10))  # each result streamed back once
    assert {r.seed: r.trace_hash for r, _ in done} == _local_hashes(configs)
    assert [r.seed for r, _ in done] == list(range(10))  # in the order given


def test_a_worker_killed_mid_sweep_has_its_seeds_run_elsewhere(cluster: Cluster) -> None:
    victim = cluster.add_worker("victim")
    configs = [replace(CONFIG, seed=seed) for seed in range(100, 124)]
    held: list[str] = []
    with cluster.client() as client:
        client.wait_for_workers(3, timeout=START_TIMEOUT)
        victim_address = _address_of(client, "victim")

        def kill_when_busy(_: int) -> None:
            if victim.poll() is None and client.processing().get(victim_address):
                held.extend(client.processing()[victim_address])
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=30)

        done = run_on_cluster(configs, cluster.address, full=False, on_done=kill_when_busy)
        assert victim.poll() is not None and held, "the worker was never killed while busy"
        deadline = time.monotonic() + 30
        while victim_address in client.scheduler_info()["workers"]:
            assert time.monotonic() < deadline, "the scheduler still lists the dead worker"
            time.sleep(0.2)
    assert {r.seed: r.trace_hash for r, _ in done} == _local_hashes(configs)
    held_seeds = {int(key.split("-seed-")[1].split("-")[0]) for key in held}
    assert held_seeds <= {c.seed for c in configs}


def _address_of(client: Any, name: str) -> str:
    for address, info in client.scheduler_info()["workers"].items():
        if info.get("name") == name:
            return str(address)
    raise AssertionError(f"no worker named {name}")


def test_the_cli_sweep_reports_the_local_hashes(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--seeds", "3..8", "--workflows", "8", "--scheduler", cluster.address]
    code = main([*argv, "--json"])
    assert code == 0
    seeds = json.loads(capsys.readouterr().out)["seeds"]
    local = _local_hashes([replace(CONFIG, seed=seed) for seed in range(3, 9)])
    assert {s["seed"]: s["trace_hash"] for s in seeds} == local


def test_a_failing_seed_found_on_the_cluster_is_shrunk_here(
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A mutant only through the config the command builds (tests/adapters/
    # test_simulate_cmd.py); the config, mutant and all, travels to the workers.
    monkeypatch.setattr(simulate_cmd, "SimConfig", partial(SimConfig, mutant="skip-replay"))
    shrunk: list[int] = []
    original = simulate_cmd._shrink

    def counted(failing: Any) -> Any:
        shrunk.append(failing.config.seed)
        return original(failing)

    monkeypatch.setattr(simulate_cmd, "_shrink", counted)
    out = tmp_path / "out"
    argv = ["simulate", "--seeds", "0..5", "--workflows", "10", "--scheduler", cluster.address]
    assert main([*argv, "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "shrunk seed" in text and len(shrunk) == 1
    repro = next(out.glob("tmodel-repro-seed-*.json"))
    monkeypatch.undo()
    assert main(["simulate", "--repro", str(repro), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["replay"]["same_trace"]


def test_a_worker_with_another_simulator_is_refused(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulate_dask, "canary_hash", lambda: "0" * 64)  # here, not there
    with pytest.raises(BadInput, match="simulates differently"):
        run_on_cluster([CONFIG], cluster.address, full=False)


def test_cluster_flags_that_cannot_work_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--seeds", "0..1", "--scheduler", "nowhere://x"]) == 2
    assert main(["simulate", "--seeds", "0..1", "--scheduler", "tcp://h:1", "--jobs", "2"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("tmodel simulate: ") for e in errors)
