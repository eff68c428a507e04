"""The quality gates the test command promises: types, lint, layers, purity, docs.

Each gate runs the real tool on the real tree, and each has a companion test showing
the gate can fail, so a green run means something.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "sim", "proofs", "adapters")

# What core must never import: I/O, the clock, randomness, concurrency
# (docs/architecture.md#layers).
IMPURE = frozenset(
    {
        "os",
        "io",
        "sys",
        "time",
        "random",
        "secrets",
        "asyncio",
        "threading",
        "multiprocessing",
        "socket",
        "subprocess",
        "logging",
        "sqlite3",
        "pathlib",
        "shutil",
        "tempfile",
        "glob",
        "urllib",
        "http",
        "uuid",
        "signal",
        "select",
        "selectors",
        "concurrent",
        "datetime",
    }
)


def _run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is not installed: run pip install -e '.[dev]'"
    return path


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_linter_contracts() -> None:
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"Contracts: {declared} kept, 0 broken" in result.stdout, result.stdout


def test_sphinx_builds_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "html"
    result = _run(
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (out / "generated" / "machines.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 19, "one diagram per machine"


def impure_imports(source: str) -> list[str]:
    """Imports in `source` that core may not have: impure or outside the stdlib."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top == "core" or top == "__future__":
                continue
            if top in IMPURE or top not in sys.stdlib_module_names:
                bad.append(name)
    return bad


def test_core_imports_only_pure_standard_library() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sorted((ROOT / "core").rglob("*.py"))
        if (bad := impure_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_purity_scan_catches_bad_imports() -> None:
    assert impure_imports("import os\nfrom time import monotonic\nimport json\n") == ["os", "time"]
    assert impure_imports("import temporalio.api\n") == ["temporalio.api"]
    assert impure_imports("from core.events import HistoryEvent\nimport enum\n") == []


def test_core_has_no_escape_hatches_from_typing() -> None:
    """docs/style.md#typing: in core no Any, no cast, no type: ignore."""
    found = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for marker in ("type: ignore", "typing.Any", "import Any", " cast("):
            if marker in text:
                found.append(f"{path.relative_to(ROOT)}: {marker}")
    assert found == []


@pytest.mark.parametrize(
    ("layer", "line"),
    [
        ("sim", "import adapters.cli"),
        ("proofs", "import adapters.cli"),
        ("core", "import os"),
        ("core", "import rich"),
    ],
)
def test_import_linter_catches_a_layer_breach(tmp_path: Path, layer: str, line: str) -> None:
    """Copy the tree, add a forbidden import to a lower layer: the linter must fail."""
    work = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(".git", "*_cache", "_build", "fixtures", "*.egg-info"),
    )
    (work / layer / "breach.py").write_text(line + "\n", encoding="utf-8")
    result = subprocess.run(
        [_tool("lint-imports")],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(work), "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode != 0
    assert "BROKEN" in result.stdout or "broken" in result.stdout


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run extracts its command from the README; check the extraction finds it."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in script
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = readme.index("<!-- test-command -->")
    block = readme[marker:].split("```")[1]
    command = block.split("\n", 1)[1].strip()
    assert command.startswith("pip install") and "pytest" in command
