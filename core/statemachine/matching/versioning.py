"""Worker Deployments: which version of a task queue's deployment a workflow's task goes to.

A task queue that belongs to a Worker Deployment has a routing config: a current version
(None: unversioned pollers), and a ramping version (None: unversioned) taking a
percentage of the workflows. An auto-upgrade or unversioned run's task goes to
`target_version`; a pinned run's task goes to its own version whatever the config says.

Rules (`common/worker_versioning/worker_versioning.go`,
`FindTargetDeploymentVersionAndRevisionNumberForWorkflowID` and `calcRampThreshold`;
the same threshold in `service/matching/version_rule_helpers.go`):

- With `use_ramping` (a run already on the ramping version, such as a continue-as-new
  of one) and a ramping version, the task goes to the ramping version.
- A percentage of 0 or less sends every task to the current version, 100 to the
  ramping version.
- Between the two, a workflow id whose threshold, 100 * Fingerprint32(id) / 2^32, is at
  most the percentage goes to the ramping version, any other to the current one. The
  percentage is a float32 on the wire and is compared as one.
- The server draws the threshold at random for an empty workflow id; every task the
  model routes has one, so an empty id is refused here rather than drawn.

This is the routing rule; run_versioning.py reads a run's versioning from its history
and picks its task's version with it, and `tmodel serve` keeps the deployments and
routes tasks so (adapters/serve/deployments.py; docs/serve.md, Worker Deployments).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from core.errors import BadInput
from core.schedule.farm import fingerprint32

RAMP_SPAN = 1 << 32  # math.MaxUint32 + 1: the threshold is below 100


@dataclass(frozen=True)
class DeploymentVersion:
    """A version of a Worker Deployment: the deployment's name and a build id."""

    deployment_name: str
    build_id: str


@dataclass(frozen=True)
class RoutingConfig:
    """A deployment's routing: current and ramping versions (None: unversioned)."""

    current: DeploymentVersion | None = None
    ramping: DeploymentVersion | None = None
    ramping_percentage: float = 0.0


def as_float32(value: float) -> float:
    """`value` rounded to the float32 the server keeps a ramp percentage in."""
    rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return rounded


def ramp_threshold(workflow_id: str) -> float:
    """Where `workflow_id` falls in [0, 100): its ramp threshold (calcRampThreshold)."""
    if not workflow_id:
        raise BadInput("a ramp threshold needs a workflow id (the server draws one at random)")
    return 100 * (fingerprint32(workflow_id.encode("utf-8")) / RAMP_SPAN)


def target_version(
    routing: RoutingConfig, workflow_id: str, *, use_ramping: bool = False
) -> DeploymentVersion | None:
    """The version an auto-upgrade or unversioned run's task goes to (None: unversioned)."""
    if use_ramping and routing.ramping is not None:
        return routing.ramping
    percentage = as_float32(routing.ramping_percentage)
    if percentage <= 0:
        return routing.current
    if percentage == 100:
        return routing.ramping
    if ramp_threshold(workflow_id) <= percentage:
        return routing.ramping
    return routing.current
