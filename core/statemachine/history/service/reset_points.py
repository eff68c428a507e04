"""Auto-reset points: where they come from, and how a rebuild reads them back.

The first workflow task each build of the worker (with its binary checksum, which
older SDKs send) completes in a run becomes an auto-reset point
(`addResetPointFromCompletion` in
`service/history/workflow/mutable_state_impl.go`; the 20 newest are kept, a worker that
sends no build id counting as the build ""). A run continued from another inherits
the chain's points, written into its WorkflowExecutionStarted as
`prev_auto_reset_points` (execution.py writes them); rebuilding a run reads them back
from there (`ApplyWorkflowExecutionStartedEvent`) and adds one per build again from the
WorkflowTaskCompleted events.
"""

from __future__ import annotations

from core.opaque import Opaque
from core.statemachine.history.service.state import ResetPoint
from core.timefmt import parse_rfc3339

MAX_RESET_POINTS = 20  # history.historyMaxAutoResetPoints


def build_id_of(worker_version: Opaque | None, deployment_version: Opaque | None = None) -> str:
    """The build id a completion's reset point names: its Worker Deployment version's
    (temporal.api.deployment.v1.WorkerDeploymentVersion) if it has one, else its
    temporal.api.common.v1.WorkerVersionStamp's ("" if none)
    (`afterAddWorkflowTaskCompletedEvent` in workflow_task_state_machine.go)."""
    stamp = deployment_version if deployment_version is not None else worker_version
    value = stamp.value() if stamp is not None else None
    build_id = value.get("buildId") if isinstance(value, dict) else None
    return build_id if isinstance(build_id, str) else ""


def with_completion(
    points: tuple[ResetPoint, ...],
    build_id: str,
    run_id: str,
    completed_event_id: int,
    now: int,
    resettable: bool = True,
    binary_checksum: str = "",
) -> tuple[ResetPoint, ...]:
    """`points` after a completion by `build_id` (the same tuple if it adds none).

    The point is resettable unless the run had children, signals to send or cancels to
    request pending when the task completed (`CheckResettable`, before the task's own
    commands are applied)."""
    for p in points:  # (a loop, not any(): every completion asks, mostly of one point)
        if p.build_id == build_id and p.binary_checksum == binary_checksum:
            return points
    point = ResetPoint(
        build_id,
        run_id,
        completed_event_id,
        now,
        resettable=resettable,
        binary_checksum=binary_checksum,
    )
    return (*points, point)[-MAX_RESET_POINTS:]


def from_json(points: Opaque | None) -> tuple[ResetPoint, ...]:
    """temporal.api.workflow.v1.ResetPoints as protojson, read back into points;
    ValueError if it is not that message."""
    value = points.value() if points is not None else {}
    listed = value.get("points", []) if isinstance(value, dict) else None
    if not isinstance(listed, list):
        raise ValueError("prev_auto_reset_points is not a ResetPoints message")
    return tuple(_point(p) for p in listed)


def _point(p: object) -> ResetPoint:
    if not isinstance(p, dict):
        raise ValueError("a reset point is not an object")
    expire = p.get("expireTime")
    return ResetPoint(
        build_id=_text(p, "buildId"),
        run_id=_text(p, "runId"),
        first_workflow_task_completed_id=int(_text(p, "firstWorkflowTaskCompletedId") or 0),
        create_time=parse_rfc3339(_text(p, "createTime")),
        expire_time=parse_rfc3339(expire) if isinstance(expire, str) else 0,
        resettable=p.get("resettable") is True,
        binary_checksum=_text(p, "binaryChecksum"),
    )


def _text(p: dict[str, object], key: str) -> str:
    value = p.get(key, "")
    if not isinstance(value, str | int):
        raise ValueError(f"reset point field {key} is not text")
    return str(value)
