"""The CLI's start-up and the base install: `tmodel --help` imports no subcommand's
machinery, a subcommand imports only its own, each subcommand's help line is the one
`tmodel --help` shows, and every third-party package the installed packages import is
a base dependency (so `pip install .` without extras runs every command)."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import COMMANDS, build_parser, chosen_command

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "sim", "proofs", "adapters")
HEAVY = ("z3", "networkx", "proofs", "sim", "temporalio", "core.statemachine.history.validator")

_PROBE = """
import json, sys
from adapters.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in
      ('z3', 'networkx', 'proofs', 'sim', 'temporalio', 'core', 'adapters'))))
"""


def _modules_loaded(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(loaded)


def _heavy(loaded: set[str]) -> set[str]:
    return {m for m in loaded for h in HEAVY if m == h or m.startswith(h + ".")}


def test_help_imports_no_subcommand_machinery() -> None:
    loaded = _modules_loaded("--help")
    assert _heavy(loaded) == set()
    assert not any(module in loaded for module, _ in COMMANDS.values())


def test_validate_loads_neither_proofs_nor_the_simulator() -> None:
    loaded = _modules_loaded("validate", "--help")
    assert "adapters.validate_cmd" in loaded
    assert {m.split(".")[0] for m in _heavy(loaded)} <= {"core"}
    assert "z3" not in loaded and "networkx" not in loaded and "proofs" not in loaded


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above can fail: `check` does load networkx and the proofs package."""
    loaded = _modules_loaded("check", "--help")
    assert "networkx" in loaded and "proofs.checker" in loaded


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_help_line_matches_the_table(name: str) -> None:
    parser = build_parser(load=name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert helps[name] == COMMANDS[name][1]
    assert sub.choices[name].get_default("run") is not None  # the real parser was built


def test_chosen_command_is_the_first_word_that_is_not_an_option() -> None:
    assert chosen_command(["--help"]) is None
    assert chosen_command(["simulate", "--seed", "3"]) == "simulate"
    assert chosen_command(["nope", "validate"]) is None


# -- the base install ------------------------------------------------------------------


def third_party_imports(source: str, deferred: bool = True) -> set[str]:
    """Top-level names of the non-stdlib, non-project modules `source` imports; with
    `deferred=False`, only those imported at module level (not inside a function)."""
    found: set[str] = set()
    tree = ast.parse(source)
    nodes = ast.walk(tree) if deferred else _outside_functions(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in PACKAGES:
                found.add(top)
    return found


def _outside_functions(tree: ast.AST) -> list[ast.AST]:
    """The nodes of `tree` that run at import: all but function bodies."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _distribution_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]
    return project


def _base_distributions() -> set[str]:
    return _distribution_names(_project()["dependencies"])


def _user_extra_distributions() -> set[str]:
    """The distributions of the optional extras users install (every extra but dev)."""
    extras = _project()["optional-dependencies"]
    return _distribution_names([r for name, reqs in extras.items() if name != "dev" for r in reqs])


def missing_base_dependencies(imports: set[str], base: set[str] | None = None) -> set[str]:
    """Imported top-level modules whose distribution is not in `base` (the base
    dependencies unless given)."""
    owners = packages_distributions()
    base = _base_distributions() if base is None else base
    missing = set()
    for top in imports:
        dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
        if not dists & base:
            missing.add(top)
    return missing


def _package_sources() -> list[str]:
    return [
        path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    ]


def test_every_module_level_import_is_a_base_dependency() -> None:
    imports: set[str] = set()
    for source in _package_sources():
        imports |= third_party_imports(source, deferred=False)
    assert imports, "the scan found no third-party import at all"
    assert missing_base_dependencies(imports) == set()


def test_every_deferred_import_is_a_base_or_user_extra_dependency() -> None:
    """An import inside a function (run only by the option that needs it, which says
    which extra to install when it is missing: `simulate --scheduler` and Dask's
    distributed) may come from a user-facing extra, never from dev alone."""
    imports: set[str] = set()
    for source in _package_sources():
        imports |= third_party_imports(source)
    allowed = _base_distributions() | _user_extra_distributions()
    assert missing_base_dependencies(imports, allowed) == set()


def test_a_module_level_extra_import_would_be_caught() -> None:
    source = "import distributed\nif True:\n    import rich\n\ndef f() -> None:\n    import z3\n"
    assert third_party_imports(source, deferred=False) == {"distributed", "rich"}
    assert third_party_imports(source) == {"distributed", "rich", "z3"}
    assert missing_base_dependencies({"distributed"}) == {"distributed"}
    assert missing_base_dependencies({"distributed"}, _user_extra_distributions()) == set()


def test_a_dev_only_package_would_be_caught() -> None:
    """hypothesis is only in the dev extra: importing it from a package is flagged."""
    imports = third_party_imports("import hypothesis.strategies\nfrom rich import table\n")
    assert imports == {"hypothesis", "rich"}
    assert missing_base_dependencies(imports) == {"hypothesis"}


def test_ci_runs_the_readme_first_command_in_a_fresh_venv() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv" in script and '"$first"' in script
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("```sh", 1)[1].split("```", 1)[0].strip()
    assert first.startswith("pip install -e . ") and "tmodel simulate" in first
