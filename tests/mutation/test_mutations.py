"""The mutation matrix (issue 16): each mutation is a copy of the source tree with one
guard broken, and each column a `tmodel` command run on that copy, which must catch it.

Rows (`MUTATIONS`): the range-id fence off in `core/statemachine/shard.py`; the
duplicate-completion guard removed (`drop` of a closed activity, today in
`service/activity.py`); a replay-table row removed; a history-table row removed.
Columns: ``tmodel prove`` must report NOT PROVED with a counterexample that replays on
the mutated code; ``tmodel check`` and ``tmodel simulate`` must report a violation.
One copy per mutation per session (module-scoped fixture).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.mutation.harness import Mutation, PatchError, apply, make_copy, python, tmodel

FENCE_OFF = Mutation(
    "fence-off",
    "the range-id check of conditional_write disabled",
    "core/statemachine/shard.py",
    "    if write.range_id != row.range_id:\n",
    "    if False:  # mutated: the range-id check disabled\n",
)

MUTATIONS = {m.name: m for m in (FENCE_OFF,)}


@pytest.fixture(scope="module", params=list(MUTATIONS))
def mutated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Mutation, Path]:
    mutation = MUTATIONS[request.param]
    return mutation, make_copy(mutation, tmp_path_factory.mktemp(mutation.name))


def test_a_patch_that_does_not_apply_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "x.py").write_text("a = 1\na = 1\n", "utf-8")
    with pytest.raises(PatchError, match="occurs 0 times"):
        apply(Mutation("m", "", "core/x.py", "b = 2", "b = 3"), tmp_path)
    with pytest.raises(PatchError, match="occurs 2 times"):
        apply(Mutation("m", "", "core/x.py", "a = 1", "a = 2"), tmp_path)


PROVE = {"fence-off": "THM-FENCING"}


def _prove(tree: Path, theorem: str) -> dict[str, object]:
    done = tmodel(tree, "prove", theorem, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    (entry,) = doc["theorems"]
    assert entry["proved"] is False and isinstance(entry["counterexample"], str)
    return dict(entry)


def _fencing_replays(tree: Path, counterexample: str) -> None:
    """Feed the trace's acquisitions and writes to the copy's (mutated) shard functions:
    a stale owner's write is accepted."""
    steps = re.findall(r"^\s+\d+\. (host \d+) (acquires|commits a write)", counterexample, re.M)
    assert steps and steps[-1][1] == "commits a write", counterexample
    script = f"""
from core.statemachine import shard
store, ctx = shard.initial_store(1), {{}}
for who, what in {steps!r}:
    if what == "acquires":
        store, ctx[who] = shard.acquire(store, shard.start(1, who))
        continue
    write = shard.Write(1, ctx[who].range_id, "ns", "wf", "run", 0, 2)
    stored = shard.shard_record(store, 1).range_id
    store, result = shard.conditional_write(store, write)
    print(type(result).__name__, ctx[who].range_id, stored)
"""
    last = python(tree, script).stdout.splitlines()[-1].split()
    assert last[0] == "WriteOk" and int(last[1]) < int(last[2]), last


def test_prove_catches(mutated: tuple[Mutation, Path]) -> None:
    mutation, tree = mutated
    entry = _prove(tree, PROVE[mutation.name])
    counterexample = str(entry["counterexample"])
    if mutation is FENCE_OFF:
        assert "a stale owner's write accepted" in counterexample
        _fencing_replays(tree, counterexample)
