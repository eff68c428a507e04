"""A task queue's compatible version sets: the deprecated worker versioning (v1) that
UpdateWorkerBuildIdCompatibility edits, GetWorkerBuildIdCompatibility reads and
GetWorkerTaskReachability judges.

The rules are the matching service's (service/matching/version_sets.go,
version_sets_merge.go): the sets are ordered oldest first and the last one is the
queue's default; within a set the build ids are ordered the same way and the last is
the set's default. Every change is stamped with the queue's hybrid logical clock
(common/clock/hybrid_logical_clock: milliseconds of wall time, then a counter for
changes within one millisecond), and merging two sets orders their build ids, and the
sets, by when each became a default. Build ids are never deleted here (the server's
background scavenger that would delete unused ones is not modelled), so every build id
is active.

Pure: no I/O, standard library only.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from dataclasses import dataclass, field

MAX_SETS = 10  # limit.versionCompatibleSetLimitPerQueue
MAX_BUILD_IDS = 100  # limit.versionBuildIdLimitPerQueue
MAX_QUEUES_PER_BUILD_ID = 20  # limit.taskQueuesPerBuildId
BUILD_ID_SIZE = 255  # limit.workerBuildIdSize
# frontend.reachabilityQuerySetDurationSinceDefault: a set demoted less than this ago is
# still reachable by new workflows (propagation delay)
RECENTLY_DEFAULT_MS = 5 * 60 * 1000
UNVERSIONED = "unversioned"  # worker_versioning.UnversionedSearchAttribute
VERSIONED_PREFIX = "versioned:"  # worker_versioning.VersionedBuildIdSearchAttribute


@dataclass(frozen=True, slots=True, order=True)
class Clock:
    """A hybrid logical clock reading (hlc.Clock without the cluster id: one cluster)."""

    wall_ms: int = 0
    version: int = 0

    def next(self, now_ms: int) -> Clock:
        """hlc.Next: never back in time, and strictly after this reading."""
        wall = max(now_ms, self.wall_ms)
        return Clock(wall, self.version + 1 if wall == self.wall_ms else 0)


@dataclass(slots=True)
class BuildId:
    id: str
    became_default: Clock


@dataclass(slots=True)
class VersionSet:
    set_ids: list[str]
    build_ids: list[BuildId]
    became_default: Clock = field(default_factory=Clock)


@dataclass(slots=True)
class VersioningData:
    sets: list[VersionSet] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)  # the queue's user data clock

    def copy(self) -> VersioningData:
        return VersioningData(
            [
                VersionSet(
                    list(s.set_ids), [dataclasses.replace(b) for b in s.build_ids], s.became_default
                )
                for s in self.sets
            ],
            self.clock,
        )

    def build_ids(self) -> set[str]:
        return {b.id for s in self.sets for b in s.build_ids}

    def find(self, build_id: str) -> tuple[int, int]:
        """worker_versioning.FindBuildId: (set index, index in set), or (-1, -1)."""
        for i, s in enumerate(self.sets):
            for j, b in enumerate(s.build_ids):
                if b.id == build_id:
                    return i, j
        return -1, -1

    def answer(self, max_sets: int = 0) -> list[list[str]]:
        """ToBuildIdOrderingResponse: each set's build ids, the last `max_sets` sets."""
        sets = self.sets[-max_sets:] if 0 < max_sets < len(self.sets) else self.sets
        return [[b.id for b in s.build_ids] for s in sets]


class VersionSetError(Exception):
    """A refused update: `kind` is "invalid", "not_found" or "failed_precondition"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class AddNewDefault:
    build_id: str


@dataclass(frozen=True, slots=True)
class AddCompatible:
    build_id: str
    existing: str
    make_set_default: bool = False


@dataclass(frozen=True, slots=True)
class PromoteSet:
    build_id: str


@dataclass(frozen=True, slots=True)
class PromoteWithinSet:
    build_id: str


@dataclass(frozen=True, slots=True)
class MergeSets:
    build_id: str  # the primary set's
    secondary: str


Operation = AddNewDefault | AddCompatible | PromoteSet | PromoteWithinSet | MergeSets


def hash_build_id(build_id: str) -> str:
    """hashBuildId: a set's id, from its first build id."""
    return base64.urlsafe_b64encode(hashlib.sha256(build_id.encode()).digest()).decode()[:20]


def update(
    data: VersioningData,
    op: Operation,
    now_ms: int,
    max_sets: int = MAX_SETS,
    max_build_ids: int = MAX_BUILD_IDS,
) -> VersioningData:
    """UpdateVersionSets: the queue's sets after `op` (a new value; `data` is not
    changed), or VersionSetError. The clock moves on even when nothing else changes."""
    out = data.copy()
    out.clock = data.clock.next(now_ms)
    _apply(out, op, out.clock)
    # checkVersionSetLimits
    if max_sets > 0 and len(out.sets) > max_sets:
        raise VersionSetError(
            "failed_precondition",
            "update would exceed number of compatible version sets permitted in namespace "
            f"dynamic config ({len(out.sets)}/{max_sets})",
        )
    count = sum(len(s.build_ids) for s in out.sets)
    if max_build_ids > 0 and count > max_build_ids:
        raise VersionSetError(
            "failed_precondition",
            "update would exceed number of build IDs permitted in namespace dynamic config "
            f"({count}/{max_build_ids})",
        )
    return out


def _not_found(message: str) -> VersionSetError:
    return VersionSetError("not_found", message)


def _invalid(message: str) -> VersionSetError:
    return VersionSetError("invalid", message)


def _apply(data: VersioningData, op: Operation, now: Clock) -> None:
    """updateVersionSetImpl, changing `data` in place."""
    target = op.build_id
    set_index, in_set = data.find(target)
    count = len(data.sets)
    if isinstance(op, AddNewDefault):
        if count and set_index == count - 1 and in_set == 0 and len(data.sets[-1].build_ids) == 1:
            return  # idempotent
        if set_index != -1:
            raise _invalid(f"version {target} already exists")
        data.sets.append(VersionSet([hash_build_id(target)], [BuildId(target, now)]))
        _make_default_in_set(data, len(data.sets) - 1, 0, now)
        _make_default_set(data, len(data.sets) - 1, now)
    elif isinstance(op, AddCompatible):
        compatible, _ = data.find(op.existing)
        if compatible == -1:
            raise _not_found(f"targeted compatible_version {op.existing} not found")
        if set_index != -1:
            if compatible != set_index:
                raise _invalid(
                    f"{target} requested to be made compatible with {op.existing} but both "
                    "versions exist and are incompatible"
                )
            if op.make_set_default and set_index != count - 1:
                raise _invalid(f"version {target} already exists and is not default for queue")
            if in_set != len(data.sets[set_index].build_ids) - 1:
                raise _invalid(f"version {target} already exists and is not default in set")
            return  # idempotent
        build_ids = data.sets[compatible].build_ids
        build_ids.append(BuildId(target, now))
        _make_default_in_set(data, compatible, len(build_ids) - 1, now)
        if op.make_set_default:
            _make_default_set(data, compatible, now)
    elif isinstance(op, PromoteSet):
        if set_index == -1:
            raise _not_found(f"targeted version {target} not found")
        if set_index != count - 1:
            _make_default_set(data, set_index, now)
    elif isinstance(op, PromoteWithinSet):
        if set_index == -1:
            raise _not_found(f"targeted version {target} not found")
        if in_set != len(data.sets[set_index].build_ids) - 1:
            _make_default_in_set(data, set_index, in_set, now)
    else:
        if set_index == -1:
            raise _not_found(f"targeted primary version {target} not found")
        secondary, _ = data.find(op.secondary)
        if secondary == -1:
            raise _not_found(f"targeted secondary version {op.secondary} not found")
        if secondary != set_index:
            _merge(data, set_index, secondary, now)


def _make_default_set(data: VersioningData, index: int, now: Clock) -> None:
    """makeDefaultSet: stamp the set and move it to the end."""
    moved = data.sets.pop(index)
    moved.became_default = now
    data.sets.append(moved)


def _make_default_in_set(data: VersioningData, index: int, in_set: int, now: Clock) -> None:
    """makeVersionInSetDefault: stamp the build id and move it to its set's end."""
    build_ids = data.sets[index].build_ids
    moved = build_ids.pop(in_set)
    moved.became_default = now
    build_ids.append(moved)


def _merge(data: VersioningData, primary: int, secondary: int, now: Clock) -> None:
    """The merge_sets operation: the primary set's default stays the merged set's
    default (it is stamped now), the two sets share their set ids, and
    MergeVersioningData (version_sets_merge.go) rebuilds the sets, ordering the build
    ids within each set, and the sets, by when each became a default."""
    first, second = data.sets[primary], data.sets[secondary]
    first.build_ids[-1].became_default = now
    second.set_ids = sorted(set(first.set_ids) | set(second.set_ids))
    # collectBuildIdInfo over the primary set, then every set (the primary again)
    infos: dict[str, tuple[list[str], Clock, Clock]] = {}
    for s in [first, *data.sets]:
        for b in s.build_ids:
            if b.id in infos:
                ids, made, set_made = infos[b.id]
                infos[b.id] = (
                    sorted(set(ids) | set(s.set_ids)),
                    max(made, b.became_default),
                    max(set_made, s.became_default),
                )
            else:
                infos[b.id] = (list(s.set_ids), b.became_default, s.became_default)
    # intoVersionSets
    sets: list[VersionSet] = []
    for build_id, (ids, made, set_made) in infos.items():
        found = next((s for s in sets if set(s.set_ids) & set(ids)), None)
        if found is None:
            found = VersionSet(list(ids), [], set_made)
            sets.append(found)
        else:
            found.set_ids = sorted(set(found.set_ids) | set(ids))
            found.became_default = max(found.became_default, set_made)
        found.build_ids.append(BuildId(build_id, made))
    sets.sort(key=lambda s: s.became_default)
    for s in sets:
        s.build_ids.sort(key=lambda b: b.became_default)
    data.sets = sets


@dataclass(frozen=True, slots=True)
class Reachability:
    """What one build id's reachability in one task queue rests on
    (getTaskQueueReachability in service/frontend/task_reachability.go): whether new
    workflows may reach it, and, unless it is unreachable outright, which `BuildIds`
    values mark the workflows that may (with those no worker has touched yet, when it
    is the queue's default)."""

    unreachable: bool
    new_workflows: bool = False
    build_id_values: tuple[str, ...] = ()
    untouched_too: bool = False


def reachability(data: VersioningData | None, build_id: str, now_ms: int) -> Reachability:
    sets = data.sets if data is not None else []
    if build_id == "":  # the unversioned worker
        if not sets:
            return Reachability(False, True, (UNVERSIONED,), True)
        versioned_at = min(s.became_default for s in sets)
        recent = now_ms - versioned_at.wall_ms < RECENTLY_DEFAULT_MS
        return Reachability(False, recent, (UNVERSIONED,), False)
    assert data is not None or not sets
    set_index, in_set = data.find(build_id) if data is not None else (-1, -1)
    if set_index == -1 or in_set != len(sets[set_index].build_ids) - 1:
        return Reachability(True)  # unknown, or not its set's default
    found = sets[set_index]
    default_in_queue = set_index == len(sets) - 1
    recent = now_ms - found.became_default.wall_ms < RECENTLY_DEFAULT_MS
    values = tuple(VERSIONED_PREFIX + b.id for b in found.build_ids)
    return Reachability(False, default_in_queue or recent, values, default_in_queue)
