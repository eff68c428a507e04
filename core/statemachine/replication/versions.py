"""Failover versions: which cluster owns a version, and the next one a failover takes.

Every global namespace carries a *failover version*; every history event carries the
version its namespace had when the active cluster wrote it. Versions are the clock of
multi-cluster replication: a higher version always wins a conflict.

Rules (`common/cluster/metadata.go` in the Temporal server):

- **Cluster metadata.** A *failover version increment* and, per cluster, an *initial
  failover version* with ``0 < initial < increment``; no two clusters share one
  (`ValidateClusterInformation`, `updateVersionToClusterName`).
- **Ownership.** Version ``v`` belongs to the cluster whose initial version is
  ``v % increment`` (a remainder 0 stands for ``increment`` itself:
  `ClusterNameForFailoverVersion`). Two versions come from the same cluster iff they
  differ by a multiple of the increment (`IsVersionFromSameCluster`).
- **Next version.** Failing a namespace over to cluster ``c`` from version ``v`` takes
  the least version owned by ``c`` that is not below ``v``:
  ``v // increment * increment + initial(c)``, plus one increment if that is below ``v``
  (`GetNextFailoverVersion`). A namespace is registered at ``next(active, 0)``, which is
  the active cluster's initial version (`service/frontend/namespace_handler.go`,
  `RegisterNamespace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import BadInput
from core.fastinit import fast_init_all

EMPTY_VERSION = 0
"""`common.EmptyVersion`: the version of a local (never replicated) namespace's events."""


@dataclass(frozen=True, slots=True)
class ClusterMetadata:
    """The clusters of a deployment and their initial failover versions, sorted by name."""

    increment: int
    clusters: tuple[tuple[str, int], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.clusters)

    def initial_version(self, cluster: str) -> int:
        for name, initial in self.clusters:
            if name == cluster:
                return initial
        raise BadInput(f"unknown cluster {cluster!r} (known: {', '.join(self.names)})")


def make_metadata(increment: int, initial_versions: Mapping[str, int]) -> ClusterMetadata:
    """Validated cluster metadata; `BadInput` if a rule of `ValidateClusterInformation`
    fails (an initial version outside ``1..increment-1``, or two clusters sharing one)."""
    if increment < 2:
        raise BadInput(f"failover version increment must be at least 2, got {increment}")
    if not initial_versions:
        raise BadInput("cluster metadata needs at least one cluster")
    seen: dict[int, str] = {}
    for name, initial in sorted(initial_versions.items()):
        if not 0 < initial < increment:
            raise BadInput(
                f"cluster {name!r}: initial failover version {initial} must be > 0 "
                f"and < the increment {increment}"
            )
        if initial in seen:
            raise BadInput(
                f"clusters {seen[initial]!r} and {name!r} share initial failover version {initial}"
            )
        seen[initial] = name
    return ClusterMetadata(increment, tuple(sorted(initial_versions.items())))


def cluster_for_version(meta: ClusterMetadata, version: int) -> str:
    """The cluster that owns `version` (`ClusterNameForFailoverVersion`); `BadInput` if
    no cluster does, or for the empty version (no global namespace writes under it)."""
    if version <= EMPTY_VERSION:
        raise BadInput(f"version {version} belongs to no cluster of a global namespace")
    initial = version % meta.increment or meta.increment
    for name, own in meta.clusters:
        if own == initial:
            return name
    raise BadInput(f"version {version}: no cluster has initial failover version {initial}")


def owns(meta: ClusterMetadata, cluster: str, version: int) -> bool:
    """Whether `version` belongs to `cluster` (False for versions no cluster owns)."""
    if version <= EMPTY_VERSION:
        return False
    return (version - meta.initial_version(cluster)) % meta.increment == 0


def same_cluster(meta: ClusterMetadata, version1: int, version2: int) -> bool:
    """`IsVersionFromSameCluster`: the versions differ by a multiple of the increment."""
    return (version1 - version2) % meta.increment == 0


def next_failover_version(meta: ClusterMetadata, cluster: str, current: int) -> int:
    """`GetNextFailoverVersion`: the least version owned by `cluster` that is ``>= current``."""
    increment = meta.increment
    version = current // increment * increment + meta.initial_version(cluster)
    return version + increment if version < current else version


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
