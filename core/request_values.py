"""Values that requests carry (core/requests.py names them too): a run's auto-reset
points, the parent a child reports to, and a namespace's default retention."""

from __future__ import annotations

from dataclasses import dataclass

from core.fastinit import fast_init_all


@dataclass(frozen=True, slots=True)
class ResetPoint:
    """An auto-reset point (temporal.api.workflow.v1.ResetPointInfo): the first workflow
    task a build of the worker completed in the run, a place a reset can go back to."""

    build_id: str
    run_id: str
    first_workflow_task_completed_id: int
    create_time: int
    expire_time: int = 0
    resettable: bool = True
    binary_checksum: str = ""


DEFAULT_RETENTION = 86_400_000_000_000  # a namespace's default retention: one day


@dataclass(frozen=True, slots=True)
class ParentInfo:
    """Who started this run as a child, so its close can be reported back."""

    workflow_id: str
    run_id: str
    initiated_event_id: int


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
