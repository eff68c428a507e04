"""Worker Deployments: what a run's history says of its versioning, and so where its
tasks go.

A run's effective versioning (`GetEffectiveVersioningBehavior` and
`GetEffectiveDeployment` in service/history/workflow/mutable_state_impl.go, over
`VersioningInfo`):

- A versioning override (on the start, WorkflowExecutionStarted's `versioning_override`,
  as the last WorkflowExecutionOptionsUpdated that sets or unsets one leaves it) wins:
  `pinned` (or the older `behavior` PINNED with a version) pins the run to its version,
  `autoUpgrade` (or the older `behavior` AUTO_UPGRADE) makes it auto-upgrade.
- Otherwise the last WorkflowTaskCompleted decides: its versioning behavior and its
  deployment version (the worker's, written by the history service only for a worker
  in VERSIONED mode).
- Before its first completion, a run the server started with an inherited pinned
  version (a continue-as-new or child of a pinned run) is pinned to it, and one started
  with inherited auto-upgrade info auto-upgrades, to the ramping version when that
  info's continue-as-new behavior is USE_RAMPING_VERSION
  (`AddContinueAsNewEvent` in service/history/workflow/mutable_state_impl.go writes
  them; `FindTargetDeploymentVersionAndRevisionNumberForWorkflowID`'s `useRamping`).
  The model's continue-as-new writes them as the server does
  (core/statemachine/history/service/versioning.py).

Where a task goes (`getPhysicalQueuesForAdd` in
service/matching/task_queue_partition_manager.go): a pinned run's to its version, any
other run's to the routing config's `target_version` (versioning.py); a sticky task of
an unpinned run whose target is no longer its version is refused with
StickyWorkerUnavailable so that history pushes it to the normal queue, to be routed
there.

When a workflow task starts, `transition_revision` says which routing revision an
unpinned run takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.enums import EventType, VersioningBehavior
from core.events import (
    HistoryEvent,
    OpaqueAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)
from core.opaque import Opaque

from .versioning import DeploymentVersion, RoutingConfig, target_version

USE_RAMPING = "CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_USE_RAMPING_VERSION"


@dataclass(frozen=True)
class RunVersioning:
    """A run's effective versioning behavior and version (None: unversioned), and
    whether its first task asks for the ramping version."""

    behavior: VersioningBehavior = VersioningBehavior.UNSPECIFIED
    version: DeploymentVersion | None = None
    use_ramping: bool = False
    overridden: bool = False  # by a versioning override

    @property
    def pinned(self) -> DeploymentVersion | None:
        """The version the run is pinned to, if it is pinned."""
        return self.version if self.behavior is VersioningBehavior.PINNED else None


def version_of(value: object) -> DeploymentVersion | None:
    """A WorkerDeploymentVersion as JSON ({deploymentName, buildId}), or None."""
    if not isinstance(value, dict):
        return None
    name, build = value.get("deploymentName", ""), value.get("buildId", "")
    if isinstance(name, str) and isinstance(build, str) and name and build:
        return DeploymentVersion(name, build)
    return None


def parse_version_string(text: str) -> DeploymentVersion | None:
    """The canonical "deployment.build" string (`WorkerDeploymentVersionFromStringV31`:
    split at the first dot); None for "" or "__unversioned__"."""
    name, dot, build = text.partition(".")
    if not dot or not name or not build:
        return None
    return DeploymentVersion(name, build)


def override_of(override: Opaque | None) -> tuple[VersioningBehavior, DeploymentVersion | None]:
    """A versioning override's behavior and pinned version (UNSPECIFIED: none)."""
    value = override.value() if override is not None else None
    if not isinstance(value, dict):
        return VersioningBehavior.UNSPECIFIED, None
    if value.get("autoUpgrade"):
        return VersioningBehavior.AUTO_UPGRADE, None
    pinned = value.get("pinned")
    if isinstance(pinned, dict):
        return VersioningBehavior.PINNED, version_of(pinned.get("version"))
    behavior = value.get("behavior")  # the deprecated form
    if behavior == "VERSIONING_BEHAVIOR_PINNED":
        pinned_version = value.get("pinnedVersion")
        text = pinned_version if isinstance(pinned_version, str) else ""
        return VersioningBehavior.PINNED, parse_version_string(text)
    if behavior == "VERSIONING_BEHAVIOR_AUTO_UPGRADE":
        return VersioningBehavior.AUTO_UPGRADE, None
    return VersioningBehavior.UNSPECIFIED, None


def run_versioning(events: Sequence[HistoryEvent]) -> RunVersioning:
    """A run's effective versioning from its events."""
    started = events[0].attributes if events else None
    if not isinstance(started, WorkflowExecutionStartedEventAttributes):
        return RunVersioning()
    behavior, pinned = override_of(current_override(events))
    if behavior is not VersioningBehavior.UNSPECIFIED:
        return RunVersioning(behavior, pinned, overridden=True)
    completed = last_completion(events)
    return completed if completed is not None else _inherited(started)


def current_override(events: Sequence[HistoryEvent]) -> Opaque | None:
    """The run's versioning override: the start's, as the last
    WorkflowExecutionOptionsUpdated that sets or unsets one leaves it
    (`ApplyWorkflowExecutionOptionsUpdatedEvent` in mutable_state_impl.go)."""
    for event in reversed(events):
        attributes = event.attributes
        if event.event_type is EventType.WORKFLOW_EXECUTION_OPTIONS_UPDATED and isinstance(
            attributes, OpaqueAttributes
        ):
            value = attributes.value.value()
            if isinstance(value, dict) and value.get("unsetVersioningOverride"):
                return None
            override = value.get("versioningOverride") if isinstance(value, dict) else None
            if override is not None:
                return Opaque.of(override)
    started = events[0].attributes if events else None
    if isinstance(started, WorkflowExecutionStartedEventAttributes):
        return started.versioning_override
    return None


def last_completion(events: Sequence[HistoryEvent]) -> RunVersioning | None:
    """What the run's last WorkflowTaskCompleted says of its versioning (the
    `VersioningInfo` behavior and version a completion sets); None before one."""
    for event in reversed(events):
        last = event.attributes
        if isinstance(last, WorkflowTaskCompletedEventAttributes):
            given = last.deployment_version
            version = version_of(given.value()) if given is not None else None
            return RunVersioning(last.versioning_behavior, version)
    return None


def _inherited(started: WorkflowExecutionStartedEventAttributes) -> RunVersioning:
    """What a run started by a continue-as-new (or as a child) takes from the run before
    it, until its first completion: the Started event's inherited pinned version, or
    its inherited auto-upgrade info, whose continue-as-new behavior USE_RAMPING_VERSION
    asks for the ramping version."""
    pinned = started.inherited_pinned_version
    version = version_of(pinned.value()) if pinned is not None else None
    if version is not None:
        return RunVersioning(VersioningBehavior.PINNED, version)
    info = started.inherited_auto_upgrade_info
    value = info.value() if info is not None else None
    if not isinstance(value, dict):
        return RunVersioning()
    ramping = value.get("continueAsNewInitialVersioningBehavior") == USE_RAMPING
    source = version_of(value.get("sourceDeploymentVersion"))
    return RunVersioning(VersioningBehavior.AUTO_UPGRADE, source, use_ramping=ramping)


def task_version(
    run: RunVersioning, routing: RoutingConfig, workflow_id: str
) -> DeploymentVersion | None:
    """The version a run's workflow task goes to (None: the unversioned pollers)."""
    if run.pinned is not None:
        return run.pinned
    return target_version(routing, workflow_id, use_ramping=run.use_ramping)


def sticky_refused(run: RunVersioning, routing: RoutingConfig, workflow_id: str) -> bool:
    """Is a sticky task of this run refused because its target moved off its version?"""
    if run.pinned is not None or run.version is None:
        return False
    return target_version(routing, workflow_id, use_ramping=run.use_ramping) != run.version


def transition_revision(
    run: RunVersioning, routing: RoutingConfig, revision: int, workflow_id: str
) -> int:
    """The routing revision a run takes when its workflow task starts (0: none): an
    unpinned run whose task goes to another version than its own moves to it, at the
    revision of the routing that sent it there (`StartDeploymentTransition` in
    service/history/workflow/mutable_state_impl.go)."""
    if run.pinned is not None:
        return 0
    return revision if task_version(run, routing, workflow_id) != run.version else 0
