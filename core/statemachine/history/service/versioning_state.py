"""What a run keeps of Worker Deployments besides its events: the part of
`VersioningInfo` and of the execution info the model follows
(service/history/workflow/mutable_state_impl.go; versioning.py says how each changes).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import VersioningBehavior
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.statemachine.matching.run_versioning import RunVersioning, override_of, version_of
from core.statemachine.matching.versioning import DeploymentVersion


@dataclass(frozen=True, slots=True)
class TargetSeen:
    """A target version and the routing revision it was seen at
    (`LastNotifiedTargetVersion`, `DeclinedTargetVersionUpgrade`)."""

    version: DeploymentVersion | None
    revision: int

    def json(self) -> Opaque:
        """As temporal.api.history.v1.DeclinedTargetVersionUpgrade."""
        fields: dict[str, JsonValue] = {"revisionNumber": str(self.revision)}
        if self.version is not None:
            fields["deploymentVersion"] = version_json(self.version).value()
        return Opaque.of(fields)

    @classmethod
    def read(cls, value: Opaque | None) -> TargetSeen | None:
        given = value.value() if value is not None else None
        if not isinstance(given, dict):
            return None
        return cls(version_of(given.get("deploymentVersion")), number(given.get("revisionNumber")))


@dataclass(frozen=True, slots=True)
class VersioningInfo:
    """The start's versioning override; the behavior and version the run's last
    completion (or, before one, its inheritance) gave it; the revision number of the
    routing config its version was last set from; the target version a pinned run was
    last told of, and the one a run continued from had declined; whether the start
    inherited a pinned version, and the continue-as-new initial behavior its inherited
    auto-upgrade info named (what a retry of the run inherits again, retry.go)."""

    override: Opaque | None = None
    behavior: VersioningBehavior = VersioningBehavior.UNSPECIFIED
    version: DeploymentVersion | None = None
    revision: int = 0
    notified: TargetSeen | None = None
    declined: TargetSeen | None = None
    inherited_pinned: bool = False
    initial_behavior: str = ""

    def effective(self) -> RunVersioning:
        """`GetEffectiveVersioningBehavior` and `GetEffectiveDeployment`: the override's,
        else the run's own."""
        behavior, pinned = override_of(self.override)
        if behavior is not VersioningBehavior.UNSPECIFIED:
            return RunVersioning(behavior, pinned, overridden=True)
        return RunVersioning(self.behavior, self.version)


def version_json(version: DeploymentVersion) -> Opaque:
    """A temporal.api.deployment.v1.WorkerDeploymentVersion."""
    return Opaque.of({"buildId": version.build_id, "deploymentName": version.deployment_name})


def number(value: object) -> int:
    """An int64 as proto JSON writes it (a string) or as a number."""
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
