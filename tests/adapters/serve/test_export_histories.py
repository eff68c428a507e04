"""scripts/export_histories.py against `tmodel serve`: every run's history written to a
file of its own, named by namespace, type, workflow id and run id, which `tmodel
conform` then reproduces (a running run's with its pending task's events); bad
arguments and an unreachable server are one line and exit status 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from temporalio.client import Client

from adapters.conform.judge import judge_paths
from tests.adapters.serve.sdk import QUEUE, Sleeper, Waiter, bounded

SCRIPT = Path(__file__).parents[3] / "scripts" / "export_histories.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_histories", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.asyncio(loop_scope="module")
@bounded
async def test_every_run_is_written_and_reproduced(
    client: Client, address: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    done = await client.execute_workflow(Sleeper.run, 0.01, id=f"sleeper-{tag}", task_queue=QUEUE)
    assert done >= 0.01
    waiting = await client.start_workflow(Waiter.run, "start", id=f"waiter-{tag}", task_queue=QUEUE)
    await waiting.signal(Waiter.poke)
    script = _script()
    out = tmp_path / "out"
    written = await script.export(address, out, ["default"], "")
    files = sorted(p.name for p in out.iterdir())
    assert written == len(files)
    mine = [name for name in files if tag in name]
    assert len(mine) == 2
    assert f"default__Waiter__waiter-{tag}__{waiting.result_run_id}.json" in mine
    assert any(name.startswith(f"default__Sleeper__sleeper-{tag}__") for name in mine)
    verdicts = list(judge_paths([str(out / name) for name in mine]))
    assert [v.reproduced for v in verdicts] == [True, True], verdicts
    await waiting.signal(Waiter.finish, "end")
    assert await waiting.result() == "end after 1 pokes"


def test_a_file_name_keeps_only_safe_characters() -> None:
    name = _script().file_name("ns", "My Type", "id/with:odd*chars", "run-1")
    assert name == "ns__My_Type__id_with_odd_chars__run-1.json"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--address", "127.0.0.1:1", "--out", "{tmp}/x"], "127.0.0.1:1: Failed client connect"),
        (["--out", "{tmp}/x"], "the following arguments are required: --address"),
        (["--address", "127.0.0.1:1", "--out", "{tmp}/file"], "not a directory"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], said: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    argv = [a.format(tmp=tmp_path) for a in args]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert said in lines[-1]
    assert "Traceback" not in done.stderr and "Fatal Python error" not in done.stderr
