"""Mutation harness: a copy of the source tree with one named patch applied, and the
`tmodel` CLI (or a Python snippet) run against that copy.

`make_copy` copies the packages `tmodel` runs from (core, sim, proofs, adapters) to a
directory, applies the mutation's patch (exact old text -> new text in one file; the old
text must occur exactly once, or it fails loudly: a patch that silently applies nowhere
would make every cell pass for the wrong reason), and checks that Python run with
``PYTHONPATH=<copy>`` imports `core` from the copy and not from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "sim", "proofs", "adapters")
TIMEOUT = 300


class PatchError(AssertionError):
    """The mutation's old text is not in its file exactly once."""


@dataclass(frozen=True, slots=True)
class Mutation:
    """One named source patch: in `file`, replace `old` (exactly once) by `new`."""

    name: str
    what: str
    file: str
    old: str
    new: str


def apply(mutation: Mutation, tree: Path) -> None:
    path = tree / mutation.file
    text = path.read_text("utf-8")
    count = text.count(mutation.old)
    if count != 1:
        raise PatchError(
            f"mutation {mutation.name}: the old text occurs {count} times in {mutation.file}"
        )
    path.write_text(text.replace(mutation.old, mutation.new), "utf-8")


def make_copy(mutation: Mutation, dest: Path) -> Path:
    """A copy of the source tree at `dest` with `mutation` applied; returns `dest`."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    apply(mutation, dest)
    where = python(dest, "import core; print(core.__file__)").stdout.strip()
    if not where.startswith(str(dest)):
        raise AssertionError(f"the copy at {dest} imports core from {where}")
    return dest


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def tmodel(tree: Path, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`tmodel ARGS` run from the source tree at `tree` (TimeoutExpired after `timeout`)."""
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python(tree: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` run from the source tree at `tree` (must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"python -c failed in {tree}:\n{done.stderr}")
    return done
