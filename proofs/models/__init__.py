"""Models for the explicit-state checker, by the name ``tmodel check`` knows them.

Each factory takes the ``--param K=V`` pairs as strings, validates them, and raises
`core.errors.BadInput` (exit code 2 at the CLI) on an unknown key or a bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import BadInput
from proofs.models.matching_dedup import MatchingDedup
from proofs.models.multi_cluster import MultiCluster
from proofs.models.shard_failover import ShardFailover
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


@dataclass(frozen=True, slots=True)
class Size:
    """An integer parameter that sizes a model's state space: the bigger, the more states
    (`adapters.check_estimate` extrapolates from small values before a big search)."""

    key: str
    default: int
    low: int
    high: int

    def read(self, params: Mapping[str, str]) -> int:
        return int_param(params, self.key, self.default, self.low, self.high)


SIZES: dict[str, tuple[Size, ...]] = {
    "two-phase-commit": (Size("rms", 3, 1, 12),),
    "matching-dedup": (
        Size("pollers", 2, 1, 3),
        Size("duplicates", 1, 0, 2),
        Size("faults", 1, 0, 2),
    ),
    "shard-failover": (Size("hosts", 2, 1, 4), Size("ranges", 3, 1, 5), Size("writes", 3, 0, 5)),
    "multi-cluster": (
        Size("signals", 2, 0, 3),
        Size("closes", 1, 0, 2),
        Size("failovers", 1, 0, 2),
        Size("dups", 1, 0, 2),
        Size("graceful", 0, 0, 1),
    ),
}


def bool_param(params: Mapping[str, str], key: str) -> bool:
    raw = params.get(key, "false").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise BadInput(f"--param {key}={params[key]}: expected true or false")


def variant_param(
    params: Mapping[str, str], variants: tuple[str, ...], default: str | None = None
) -> str | None:
    """``broken``: ``false`` (None), one of `variants`, or ``true`` for `default`."""
    raw = params.get("broken", "false").strip().lower()
    if raw in variants:
        return raw
    if raw in ("0", "false", "no", "off"):
        return None
    if raw in ("1", "true", "yes", "on") and default is not None:
        return default
    raise BadInput(f"--param broken={params['broken']}: expected one of {', '.join(variants)}")


def _known(params: Mapping[str, str], model: str, keys: tuple[str, ...]) -> None:
    for key in params:
        if key not in keys:
            raise BadInput(f"model {model} has no parameter {key!r} (known: {', '.join(keys)})")


def two_phase_commit(params: Mapping[str, str]) -> TwoPhaseCommit:
    """``rms`` (1..12, default 3), ``broken`` (seeded TCConsistent bug), ``liveness``
    (adds the AllDecided eventually-property)."""
    _known(params, "two-phase-commit", ("rms", "broken", "liveness"))
    (rms,) = (size.read(params) for size in SIZES["two-phase-commit"])
    return TwoPhaseCommit(
        rms,
        broken=bool_param(params, "broken"),
        liveness=bool_param(params, "liveness"),
    )


def matching_dedup(params: Mapping[str, str]) -> MatchingDedup:
    """``pollers`` (activity workers, 1..3, default 2), ``duplicates`` (extra adds, 0..2,
    default 1), ``faults`` (0..2, default 1), ``broken`` (ack-before-started, no-dedup)."""
    from proofs.models.matching_dedup import VARIANTS

    _known(params, "matching-dedup", ("pollers", "duplicates", "faults", "broken"))
    pollers, duplicates, faults = (size.read(params) for size in SIZES["matching-dedup"])
    return MatchingDedup(
        pollers=pollers,
        duplicates=duplicates,
        faults=faults,
        broken=variant_param(params, VARIANTS),
    )


def shard_failover(params: Mapping[str, str]) -> ShardFailover:
    """``hosts`` (1..4, default 2), ``ranges`` (1..5, default 3), ``writes`` (0..5,
    default 3), ``broken`` (no-range-check)."""
    from proofs.models.shard_failover import VARIANTS

    _known(params, "shard-failover", ("hosts", "ranges", "writes", "broken"))
    hosts, ranges, writes = (size.read(params) for size in SIZES["shard-failover"])
    return ShardFailover(
        hosts=hosts,
        ranges=ranges,
        writes=writes,
        broken=variant_param(params, VARIANTS),
    )


def multi_cluster(params: Mapping[str, str]) -> MultiCluster:
    """``signals`` (0..3, default 2), ``closes`` (0..2, default 1), ``failovers`` (forced
    failovers, 0..2, default 1), ``dups`` (lost acknowledgements, 0..2, default 1),
    ``graceful`` (graceful failovers, 0..1, default 0), ``broken`` (lower-version,
    no-reapply, no-forward, stale-active, no-bump, no-dedup, reset-keeps-close)."""
    from proofs.models.multi_cluster import VARIANTS

    keys = ("signals", "closes", "failovers", "dups", "graceful", "broken")
    _known(params, "multi-cluster", keys)
    signals, closes, failovers, dups, graceful = (
        size.read(params) for size in SIZES["multi-cluster"]
    )
    return MultiCluster(
        signals=signals,
        closes=closes,
        failovers=failovers,
        dups=dups,
        graceful=graceful,
        broken=variant_param(params, VARIANTS),
    )


MODELS: dict[str, Factory] = {
    "two-phase-commit": two_phase_commit,
    "workflow-run": workflow_run,
    "matching-dedup": matching_dedup,
    "shard-failover": shard_failover,
    "multi-cluster": multi_cluster,
}
