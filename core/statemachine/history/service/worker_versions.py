"""What a run records of the workers that completed its workflow tasks.

A worker that knows its build id sends it with each poll and each completion, as a
temporal.api.common.v1.WorkerVersionStamp (`buildId`, and `useVersioning` for a worker
that takes part in build-id-based versioning), once the server declares
`build_id_based_versioning` in GetSystemInfo. Besides the stamps on the task events,
every workflow task completion updates two facts of the run
(`afterAddWorkflowTaskCompletedEvent` in
`service/history/workflow/workflow_task_state_machine.go`):

- `MostRecentWorkerVersionStamp`: the completion's stamp, absent when it carried none
  (DescribeWorkflowExecution shows it, `service/history/api/describeworkflow/api.go`);
- the `BuildIds` search attribute, a keyword list that says which builds have worked on
  the run (`addBuildIdToLoadedSearchAttribute` and `saveBuildIds` in
  `service/history/workflow/mutable_state_impl.go`, with the value names of
  `common/worker_versioning/worker_versioning.go`).

A run on a Worker Deployment version also has a versioning behaviour (its override's,
else its last completion's: `GetWorkflowVersioningBehaviorSA`). A run with one does not
get the `unversioned` sentinel, and a pinned run's list starts with
`pinned:<deployment>:<build>`, naming the version it is pinned to (the override's, else
its own: `GetWorkerDeploymentVersionSA`, `PinnedBuildIdSearchAttribute`). A change of
override that changes the run's effective behaviour or version rewrites the list with
no stamp (`ApplyWorkflowExecutionOptionsUpdatedEvent`). The model serves no
versioning rules, so a run has no assigned build id and `assigned:<id>` entries never
arise.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from core.enums import VersioningBehavior
from core.opaque import Opaque
from core.statemachine.matching.run_versioning import RunVersioning

UNVERSIONED = "unversioned"  # the sentinel every unversioned run's list starts with
_ASSIGNED = "assigned:"
_PINNED = "pinned"
_NO_VERSIONING = RunVersioning()  # a run with no versioning (a frozen value)


def _stamp(worker_version: Opaque | None) -> tuple[str, bool] | None:
    """(build id, use versioning) of a WorkerVersionStamp, None when there is none."""
    if worker_version is None:
        return None
    value = worker_version.value()
    if not isinstance(value, dict):
        return None
    build_id = value.get("buildId")
    return (build_id if isinstance(build_id, str) else "", value.get("useVersioning") is True)


def _entry(stamp: tuple[str, bool]) -> str:
    """`VersionStampToBuildIdSearchAttribute`: the list entry naming the stamp's build."""
    build_id, use_versioning = stamp
    if not build_id:
        return UNVERSIONED
    return f"{'versioned' if use_versioning else 'unversioned'}:{build_id}"


def _sentinel(value: str) -> bool:
    return value == UNVERSIONED or value.startswith(_ASSIGNED)


def _pinned_entry(run: RunVersioning) -> str:
    """`PinnedBuildIdSearchAttribute` of the run's version
    (`ExternalWorkerDeploymentVersionToString`: `<deployment>:<build>`, empty for none)."""
    version = run.version
    named = f"{version.deployment_name}:{version.build_id}" if version is not None else ""
    return f"{_PINNED}:{named}"


@lru_cache(maxsize=1024)  # every completion asks, mostly with the run's list unchanged
def build_ids_after(
    existing: tuple[str, ...],
    worker_version: Opaque | None,
    value_limit: int,
    run: RunVersioning | None = None,
) -> tuple[str, ...]:
    """The `BuildIds` list after a completion stamped `worker_version` (None also when
    an override change rewrites the list) of a run whose effective versioning is `run`
    (`addBuildIdToLoadedSearchAttribute`; None: the run has no versioning).

    An unversioned completion (no stamp, or one without `useVersioning`) of a run with
    no versioning behaviour puts the `unversioned` sentinel first; a pinned run's
    `pinned:<version>` entry comes next; the entries the list had, less sentinels and
    pinned entries, follow in order, then the completion's own entry if it is new. A
    list whose JSON encoding exceeds `value_limit` bytes (the search attribute value
    size limit) drops its oldest entries, keeping a leading sentinel, until it fits.
    """
    run = run or _NO_VERSIONING
    stamp = _stamp(worker_version)
    values: list[str] = []
    if (stamp is None or not stamp[1]) and run.behavior is VersioningBehavior.UNSPECIFIED:
        values.append(UNVERSIONED)
    if run.behavior is VersioningBehavior.PINNED:
        values.append(_pinned_entry(run))
    entry = _entry(stamp) if stamp is not None else ""
    found = False
    for value in existing:
        if value == entry:
            found = True
        if not _sentinel(value) and not value.startswith(_PINNED):
            values.append(value)
    if not found and entry:
        values.append(entry)
    return _fit(values, value_limit)


def _fit(values: list[str], value_limit: int) -> tuple[str, ...]:
    """`saveBuildIds`: drop entries from the front (after a leading sentinel) until the
    encoded list is within the limit."""
    if _size_bound(values) <= value_limit:
        return tuple(values)  # (the common case: it fits without being encoded)
    keep_first = bool(values) and _sentinel(values[0])
    while values and len(_encoded(values)) > value_limit:
        if len(values) == 1:
            values = []
        elif keep_first:
            values = values[:1] + values[2:]
        else:
            values = values[1:]
    return tuple(values)


def _size_bound(values: list[str]) -> int:
    """At least `len(_encoded(values))`: the brackets, and for each value its quotes, a
    comma and at most six bytes a character (a \\u escape; UTF-8 needs four at most)."""
    return 2 + sum(6 * len(value) + 3 for value in values)


# characters Go's json.Marshal writes as \u escapes (it escapes for HTML by default)
_GO_ESCAPES = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})
# what json.dumps(values, separators=(",", ":"), ensure_ascii=False) builds per call
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _encoded(values: list[str]) -> bytes:
    """The payload data Temporal stores for a keyword list (Go's json.Marshal)."""
    return _JSON.encode(values).translate(_GO_ESCAPES).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def build_ids_payload(build_ids: tuple[str, ...]) -> dict[str, object] | None:
    """The `BuildIds` search attribute as a protojson Payload (None for an empty list)."""
    if not build_ids:
        return None
    return {
        "metadata": {"encoding": _b64(b"json/plain"), "type": _b64(b"KeywordList")},
        "data": _b64(_encoded(list(build_ids))),
    }
