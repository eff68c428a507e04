"""Models for the explicit-state checker, by the name ``tmodel check`` knows them.

Each factory takes the ``--param K=V`` pairs as strings, validates them, and raises
`core.errors.BadInput` (exit code 2 at the CLI) on an unknown key or a bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.errors import BadInput
from proofs.models.two_phase_commit import TwoPhaseCommit
from proofs.models.workflow_run import workflow_run

Factory = Callable[[Mapping[str, str]], Any]


def int_param(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"--param {key}={raw}: not a whole number") from None
    if not low <= value <= high:
        raise BadInput(f"--param {key}={raw}: must be between {low} and {high}")
    return value


def bool_param(params: Mapping[str, str], key: str) -> bool:
    raw = params.get(key, "false").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise BadInput(f"--param {key}={params[key]}: expected true or false")


def _known(params: Mapping[str, str], model: str, keys: tuple[str, ...]) -> None:
    for key in params:
        if key not in keys:
            raise BadInput(f"model {model} has no parameter {key!r} (known: {', '.join(keys)})")


def two_phase_commit(params: Mapping[str, str]) -> TwoPhaseCommit:
    """``rms`` (1..12, default 3), ``broken`` (seeded TCConsistent bug), ``liveness``
    (adds the AllDecided eventually-property)."""
    _known(params, "two-phase-commit", ("rms", "broken", "liveness"))
    return TwoPhaseCommit(
        int_param(params, "rms", 3, 1, 12),
        broken=bool_param(params, "broken"),
        liveness=bool_param(params, "liveness"),
    )


MODELS: dict[str, Factory] = {"two-phase-commit": two_phase_commit, "workflow-run": workflow_run}
