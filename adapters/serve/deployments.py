"""Worker Deployments: the server's registry of deployments and versions, and the
routing of tasks to versioned pollers.

The registry is server bookkeeping, as Temporal keeps it in a system workflow per
deployment and per version (service/worker/workerdeployment/workflow.go,
version_workflow.go): a poller whose `deployment_options` say
WORKER_VERSIONING_MODE_VERSIONED registers its version, and its task queue with it
(`handleRegisterWorker`); a deployment keeps its routing config (current and ramping
version, ramp percentage, revision number) and a conflict token, the time of its last
change, that Set* requests may name. The errors and answers are the dev server's
(recorded by tests/adapters/serve/deployments_drive.py).

Routing follows matching's physical queues (service/matching/task_queue_partition_manager.go
`getPhysicalQueuesForAdd`): a versioned poller polls its version's queue of the task
queue, named here `/_sys/<queue>/<deployment>|<build>` (a `/_sys/` name no user queue
may take, common/tqid/task_queue_id.go); the task history pushes to the task queue goes
to the version core/statemachine/matching/run_versioning.py picks for its run.
"""

from __future__ import annotations

import dataclasses
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from temporalio.api.enums.v1.deployment_pb2 import WORKER_VERSIONING_MODE_VERSIONED
from temporalio.api.enums.v1.workflow_pb2 import (
    VERSIONING_BEHAVIOR_AUTO_UPGRADE,
    VERSIONING_BEHAVIOR_PINNED,
    ContinueAsNewVersioningBehavior,
)

from core import requests as rq
from core.statemachine import matching as m
from core.statemachine.history.service.versioning_state import VersioningInfo, version_json
from core.statemachine.matching.run_versioning import (
    RunVersioning,
    current_override,
    last_completion,
    run_versioning,
    sticky_refused,
    task_version,
    transition_revision,
)
from core.statemachine.matching.versioning import (
    DeploymentVersion,
    RoutingConfig,
    target_version,
)
from sim.nodes.base import task_queue

from . import convert, errors
from .limits import POLLER_TTL

UNVERSIONED = "__unversioned__"  # worker_versioning.UnversionedVersionId
SYSTEM_PREFIX = "/_sys/"
GO_ZERO_TIME = -62_135_596_800  # 0001-01-01T00:00:00Z in Unix seconds: Go's zero time.Time


def canonical(version: DeploymentVersion | None) -> str:
    """The version's canonical string, "deployment.build" (or "__unversioned__")."""
    return f"{version.deployment_name}.{version.build_id}" if version else UNVERSIONED


def physical_queue(queue: str, version: DeploymentVersion) -> str:
    """The name of `version`'s own queue of task queue `queue`."""
    return f"{SYSTEM_PREFIX}{queue}/{version.deployment_name}|{version.build_id}"


def fill_versioning_info(events: Any, out: Any, versioning: VersioningInfo | None) -> None:
    """DescribeWorkflowExecution's `versioning_info`: the behavior and version of the
    run's last completion, the start's versioning override, the routing revision the
    run's version was last set from, and the continue-as-new behavior of the
    auto-upgrade info it inherited (service/history/api/describeworkflow/api.go copies
    `VersioningInfo`; `ApplyWorkflowExecutionStartedEvent` in mutable_state_impl.go
    keeps the inherited behavior)."""
    started = events[0].attributes if events else None
    override = current_override(events)
    completed = last_completion(events)
    if override is not None:
        convert.fill(out.versioning_override, override)
        _older_override_fields(out.versioning_override)
    if versioning is not None and versioning.revision:  # a zero would make it present
        out.revision_number = versioning.revision
    inherited = getattr(started, "inherited_auto_upgrade_info", None)
    info = inherited.value() if inherited is not None else None
    behavior = (
        info.get("continueAsNewInitialVersioningBehavior") if isinstance(info, dict) else None
    )
    if isinstance(behavior, str):
        out.continue_as_new_initial_versioning_behavior = ContinueAsNewVersioningBehavior.Value(
            behavior
        )
    if completed is None or (completed.behavior == 0 and completed.version is None):
        return
    out.behavior = int(completed.behavior)
    if completed.version is not None:
        out.version = canonical(completed.version)
        out.deployment_version.deployment_name = completed.version.deployment_name
        out.deployment_version.build_id = completed.version.build_id


def _older_override_fields(override: Any) -> None:
    """Describe fills an override's deprecated `behavior` and `pinned_version` from its
    newer fields (`AddV31VersioningInfoToV32`, common/worker_versioning)."""
    if override.behavior:
        return
    if override.auto_upgrade:
        override.behavior = VERSIONING_BEHAVIOR_AUTO_UPGRADE
    elif override.HasField("pinned"):
        override.behavior = VERSIONING_BEHAVIOR_PINNED
        given = override.pinned.version
        override.pinned_version = canonical(
            DeploymentVersion(given.deployment_name, given.build_id)
        )


def versioned(req: Any) -> DeploymentVersion | None:
    """The version a poll or completion names in VERSIONED mode (None: unversioned),
    as `DeploymentVersionFromOptions` (common/worker_versioning/worker_versioning.go)
    reads its `deployment_options`."""
    options = req.deployment_options if req.HasField("deployment_options") else None
    if options is None or options.worker_versioning_mode != WORKER_VERSIONING_MODE_VERSIONED:
        return None
    if not (options.deployment_name and options.build_id):
        return None
    return DeploymentVersion(options.deployment_name, options.build_id)


@dataclass
class Version:
    """A version of a deployment: when it was first polled, its task queues."""

    build_id: str
    create_time: int
    queues: dict[tuple[str, int], None] = field(default_factory=dict)  # (name, type), in order
    current_since: int = 0
    ramping_since: int = 0
    routing_update: int = 0
    first_activation: int = 0
    last_current: int = 0
    last_deactivation: int = 0
    last_polled: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # key -> temporal Payload
    last_modifier: str = ""


@dataclass
class Deployment:
    name: str
    create_time: int
    token: bytes
    versions: dict[str, Version] = field(default_factory=dict)  # by build id
    current: str = ""  # a build id ("": unversioned)
    ramping: str = ""
    percentage: float = 0.0
    revision: int = 0
    current_changed: int = 0
    ramping_changed: int = 0
    percentage_changed: int = 0
    last_modifier: str = ""
    manager: str = ""  # an identity: Set requests of any other are refused

    def version(self, build_id: str) -> DeploymentVersion | None:
        return DeploymentVersion(self.name, build_id) if build_id else None

    def routing(self) -> RoutingConfig:
        return RoutingConfig(
            self.version(self.current), self.version(self.ramping), self.percentage
        )


def conflict_token(now: int, serial: int) -> bytes:
    """A conflict token: Temporal marshals the change's time (Go `time.MarshalBinary`);
    here the time in ns and a serial number, so two changes in one ns differ."""
    return struct.pack(">qI", now, serial)


def not_found_deployment(name: str) -> errors.ServiceError:
    return errors.not_found(
        f"no Worker Deployment found with name '{name}'; does your Worker Deployment have pollers?"
    )


def not_found_build(deployment: Deployment, build_id: str) -> errors.ServiceError:
    return errors.not_found(
        f"build ID '{build_id}' not found in Worker Deployment '{deployment.name}'"
    )


class Deployments:
    """Every namespace's deployments, and which deployment each task queue is in."""

    def __init__(self, now: Callable[[], int]) -> None:
        self.now = now
        self.by_name: dict[tuple[str, str], Deployment] = {}
        self.queue_deployment: dict[tuple[str, str], str] = {}  # (namespace, queue) -> name
        self._serial = itertools.count(1)

    def token(self) -> bytes:
        return conflict_token(self.now(), next(self._serial))

    def note_poller(
        self, namespace: str, version: DeploymentVersion, queue: str, kind: int
    ) -> None:
        """A versioned poller registers its version and task queue (`handleRegisterWorker`)."""
        now = self.now()
        deployment = self.by_name.get((namespace, version.deployment_name))
        if deployment is None:
            deployment = Deployment(version.deployment_name, now, self.token())
            self.by_name[(namespace, version.deployment_name)] = deployment
        known = deployment.versions.get(version.build_id)
        if known is None:
            known = deployment.versions[version.build_id] = Version(version.build_id, now)
        known.queues.setdefault((queue, kind), None)
        known.last_polled = now
        self.queue_deployment[(namespace, queue)] = version.deployment_name

    def get(self, namespace: str, name: str) -> Deployment:
        deployment = self.by_name.get((namespace, name))
        if deployment is None:
            raise not_found_deployment(name)
        return deployment

    def polls(self, namespace: str, queue: str, version: DeploymentVersion, kind: int = 0) -> bool:
        """Has `version` registered task queue `queue` (of type `kind`, 0: either)?"""
        deployment = self.by_name.get((namespace, version.deployment_name))
        known = deployment.versions.get(version.build_id) if deployment is not None else None
        return known is not None and any(
            name == queue and kind in (0, k) for name, k in known.queues
        )

    def routing_of_queue(self, namespace: str, queue: str) -> RoutingConfig | None:
        """The routing config of the deployment the queue is in (None: in none)."""
        name = self.queue_deployment.get((namespace, queue))
        deployment = self.by_name.get((namespace, name)) if name is not None else None
        return deployment.routing() if deployment is not None else None

    def fill_queue_versioning(self, namespace: str, queue: str, info: Any) -> None:
        """A normal task queue's TaskQueueVersioningInfo, as a legacy DescribeTaskQueue
        gives it (`LegacyDescribeTaskQueue`, service/matching/
        task_queue_partition_manager.go): its deployment's current version
        ("__unversioned__" outside any deployment or while none is current), a ramping
        version with its percentage, and when the later of the two last changed (Go's
        zero time when never)."""
        name = self.queue_deployment.get((namespace, queue))
        deployment = self.by_name.get((namespace, name)) if name is not None else None
        current = deployment.version(deployment.current) if deployment else None
        ramping = deployment.version(deployment.ramping) if deployment else None
        changed = deployment.current_changed if deployment else 0  # ns; 0: never
        info.current_version = canonical(current)
        if current is not None:
            info.current_deployment_version.deployment_name = current.deployment_name
            info.current_deployment_version.build_id = current.build_id
        if deployment is not None and ramping is not None:
            info.ramping_version = canonical(ramping)
            info.ramping_deployment_version.deployment_name = ramping.deployment_name
            info.ramping_deployment_version.build_id = ramping.build_id
            info.ramping_version_percentage = deployment.percentage
            changed = max(changed, deployment.ramping_changed)
        if changed:
            info.update_time.CopyFrom(convert.timestamp(changed))
        else:
            info.update_time.seconds = GO_ZERO_TIME

    # -- changes (workflow.go handleSetCurrent / handleSetRampingVersion) -------------
    def _check_token(self, deployment: Deployment, given: bytes) -> None:
        if given and given != deployment.token:
            raise errors.failed_precondition("conflict token mismatch")

    def _check_manager(self, deployment: Deployment, identity: str) -> None:
        """While a manager is named, only it may change the routing or delete a version
        (`ErrManagerIdentityMismatch`, service/worker/workerdeployment/util.go)."""
        if deployment.manager and deployment.manager != identity:
            raise errors.failed_precondition(
                f"ManagerIdentity '{deployment.manager}' is set and does not match user "
                f"identity '{identity}'; to proceed, set your own identity as the "
                "ManagerIdentity, remove the ManagerIdentity, or wait for the other client "
                "to do so"
            )

    def set_manager(
        self, namespace: str, name: str, manager: str, token: bytes, identity: str
    ) -> tuple[Deployment, str]:
        """Name `manager` ("": none) the deployment's manager; the previous one
        (workflow.go handleSetManager; a request that changes nothing answers its own
        manager as the previous one and the same token, client.go SetManager)."""
        deployment = self.by_name.get((namespace, name))
        if deployment is None:
            raise errors.not_found(
                f"workflow not found for ID: temporal-sys-worker-deployment:{name}"
            )
        if manager == deployment.manager and identity == deployment.last_modifier:
            return deployment, manager
        self._check_token(deployment, token)
        previous = deployment.manager
        deployment.manager, deployment.last_modifier = manager, identity
        deployment.token = self.token()
        return deployment, previous

    def update_metadata(
        self,
        namespace: str,
        name: str,
        build_id: str,
        upsert: dict[str, Any],
        remove: list[str],
        identity: str,
    ) -> Version:
        """Upsert and then remove entries of a version's metadata
        (version_workflow.go handleUpdateVersionMetadata)."""
        deployment = self.by_name.get((namespace, name))
        version = deployment.versions.get(build_id) if deployment is not None else None
        if version is None:
            raise errors.not_found(
                "workflow not found for ID: "
                f"temporal-sys-worker-deployment-version:{name}:{build_id}"
            )
        version.metadata.update(upsert)
        for key in remove:
            version.metadata.pop(key, None)
        version.last_modifier = identity
        return version

    def set_current(
        self, namespace: str, name: str, build_id: str, token: bytes, identity: str
    ) -> tuple[Deployment, str]:
        """Make `build_id` ("": unversioned) current; the previous current build id."""
        deployment = self.get(namespace, name)
        previous = deployment.current
        if build_id == previous and identity == deployment.last_modifier:
            return deployment, previous  # "no change": the same token, no error
        self._check_token(deployment, token)
        if build_id and build_id not in deployment.versions:
            raise not_found_build(deployment, build_id)
        self._check_manager(deployment, identity)
        now = self.now()
        if build_id != previous:
            if build_id == deployment.ramping:  # a ramping version made current stops ramping
                deployment.ramping, deployment.percentage = "", 0.0
                deployment.ramping_changed = deployment.percentage_changed = now
            old = deployment.versions.get(previous)
            if old is not None:
                old.current_since, old.routing_update, old.last_deactivation = 0, now, now
            new = deployment.versions.get(build_id)
            if new is not None:
                new.current_since = new.routing_update = new.last_current = now
                new.first_activation = new.first_activation or now
                new.ramping_since = 0
            deployment.current, deployment.current_changed = build_id, now
            deployment.revision += 1
        deployment.token = self.token()
        deployment.last_modifier = identity
        return deployment, previous

    def set_ramping(
        self,
        namespace: str,
        name: str,
        build_id: str,
        percentage: float,
        token: bytes,
        identity: str,
    ) -> tuple[Deployment, str, float]:
        """Ramp `build_id` ("": stop ramping) at `percentage`; the previous ramp."""
        deployment = self.get(namespace, name)
        previous, before = deployment.ramping, deployment.percentage
        if (build_id, percentage, identity) == (previous, before, deployment.last_modifier):
            return deployment, previous, before
        self._check_token(deployment, token)
        if build_id and build_id == deployment.current:
            raise errors.failed_precondition(
                f"requested ramping version {canonical(deployment.version(build_id))} "
                "is already current"
            )
        if build_id and build_id not in deployment.versions:
            raise not_found_build(deployment, build_id)
        self._check_manager(deployment, identity)
        now = self.now()
        if build_id != previous or percentage != before:
            old = deployment.versions.get(previous)
            if old is not None and build_id != previous:
                old.ramping_since, old.routing_update, old.last_deactivation = 0, now, now
            new = deployment.versions.get(build_id)
            if new is not None and build_id != previous:
                new.ramping_since = new.routing_update = now
                new.first_activation = new.first_activation or now
            if build_id != previous:
                deployment.ramping_changed = now
            deployment.ramping = build_id
            deployment.percentage = percentage if build_id else 0.0
            deployment.percentage_changed = now
            deployment.revision += 1
        deployment.token = self.token()
        deployment.last_modifier = identity
        return deployment, previous, before

    # -- deletes (workflow.go validateDeleteVersion, version_workflow.go) -------------
    def delete_version(
        self, namespace: str, name: str, build_id: str, skip_drainage: bool, identity: str = ""
    ) -> None:
        """Forget a version that is neither current nor ramping, not draining (unless
        `skip_drainage`) and not polled lately, by the manager if one is named; an
        unknown build is no error."""
        deployment = self.by_name.get((namespace, name))
        if deployment is None:  # the deployment's system workflow is not found
            raise errors.not_found(
                f"workflow not found for ID: temporal-sys-worker-deployment:{name}"
            )
        version = deployment.versions.get(build_id)
        if version is None:
            return
        shown = f"{name}:{build_id}"  # WorkerDeploymentVersionToStringV32
        if build_id in (deployment.current, deployment.ramping):
            raise errors.failed_precondition(
                f"version '{shown}' cannot be deleted since it is current or ramping"
            )
        self._check_manager(deployment, identity)
        if not skip_drainage and version.first_activation:
            raise errors.failed_precondition(
                f"version '{shown}' cannot be deleted since it is draining"
            )
        if version.last_polled > self.now() - POLLER_TTL:  # matching's poller history
            raise errors.failed_precondition(
                f"version '{shown}' cannot be deleted since it has active pollers"
            )
        del deployment.versions[build_id]
        polled = {queue for v in deployment.versions.values() for queue, _ in v.queues}
        for queue, _ in version.queues:
            if queue not in polled and self.queue_deployment.get((namespace, queue)) == name:
                del self.queue_deployment[(namespace, queue)]

    def delete_deployment(self, namespace: str, name: str) -> None:
        """Forget a deployment that has no versions; an unknown one is no error."""
        deployment = self.by_name.get((namespace, name))
        if deployment is None:
            return
        if deployment.versions:
            raise errors.failed_precondition("deployment has versions, can't be deleted")
        del self.by_name[(namespace, name)]

    # -- routing ------------------------------------------------------------------------
    def install(self, runtime: Any) -> None:
        """Route the tasks history pushes to matching, through each matching host's
        `divert` hook (the hosts are the simulator's; serve adds the routing in front).
        A version's queue is named apart from its task queue, so it may live on another
        host: the routed task goes to the host that owns the queue it is routed to,
        where that version's pollers poll. Through each history host's `amend` hook, a
        workflow task's start carries what matching knows of its run's target version
        (`started`)."""
        for host in runtime.cluster.matching.values():
            host.divert = partial(self._divert, runtime)
        for history in runtime.cluster.history.values():
            history.amend = partial(self._amend, runtime)

    def _amend(self, runtime: Any, namespace: str, workflow_id: str, run_id: str, req: Any) -> Any:
        if isinstance(req, rq.RecordWorkflowTaskStarted):
            return self.started(runtime, namespace, workflow_id, run_id, req)
        return req

    def started(
        self,
        runtime: Any,
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: rq.RecordWorkflowTaskStarted,
    ) -> rq.RecordWorkflowTaskStarted:
        """A workflow task's start, with the target version matching holds for the
        run's task queue, its routing revision, and the revision the run takes if the
        task moves it to another version (matching passes its directive to
        RecordWorkflowTaskStarted; run_versioning.py `transition_revision`)."""
        if not self.queue_deployment:
            return req
        state = runtime.state(namespace, workflow_id, run_id)
        name = self.queue_deployment.get((namespace, state.task_queue)) if state else None
        deployment = self.by_name.get((namespace, name)) if name is not None else None
        if deployment is None or not deployment.revision:
            return req
        routing = deployment.routing()
        run = self.run_of(runtime, namespace, workflow_id, run_id)
        target = target_version(routing, workflow_id)
        return dataclasses.replace(
            req,
            target_version=version_json(target) if target is not None else None,
            target_revision=deployment.revision,
            versioning_revision=transition_revision(run, routing, deployment.revision, workflow_id),
        )

    def _divert(
        self,
        runtime: Any,
        host: Any,
        src: str,
        ack: Callable[..., None],
        queue: m.TaskQueue,
        task: m.MatchingTask,
        key: object,
    ) -> bool:
        """Take a pushed task to the queue it is routed to, on the host owning that
        queue (True), or leave it to `host` (False)."""
        routed = self.route(runtime, queue, task)
        if routed is None:  # StickyWorkerUnavailable: history pushes to the normal queue
            host.net.send(host.name, src, ack, key, m.StickyWorkerUnavailable(queue))
            return True
        owner = runtime.cluster.router.matching_for(routed.name)
        if routed == queue and owner == host.name:
            return False
        runtime.cluster.matching[owner].add_task(src, ack, routed, task, key)
        return True

    def run_of(self, runtime: Any, namespace: str, workflow_id: str, run_id: str) -> RunVersioning:
        """A run's effective versioning, from its history."""
        record = runtime.record(namespace, workflow_id, run_id)
        return run_versioning(record.events) if record is not None else RunVersioning()

    def route(self, runtime: Any, queue: m.TaskQueue, task: m.MatchingTask) -> m.TaskQueue | None:
        """The queue a pushed task goes to; None to refuse a sticky task."""
        if not self.queue_deployment or queue.name.startswith(SYSTEM_PREFIX):
            return queue  # no deployments, or routed already (a respooled or re-read task)
        namespace = task.namespace
        if queue.kind is m.QueueKind.STICKY:
            state = runtime.state(namespace, task.workflow_id, task.run_id)
            routing = self.routing_of_queue(namespace, state.task_queue) if state else None
            if routing is None:
                return queue
            run = self.run_of(runtime, namespace, task.workflow_id, task.run_id)
            return None if sticky_refused(run, routing, task.workflow_id) else queue
        routing = self.routing_of_queue(namespace, queue.name)
        if routing is None:
            return queue
        run = self.run_of(runtime, namespace, task.workflow_id, task.run_id)
        version = task_version(run, routing, task.workflow_id)
        if (
            queue.task_type is m.TaskKind.ACTIVITY
            and version is not None
            and version == run.pinned
            and not self.polls(namespace, queue.name, version)
        ):
            # an activity of a pinned run on a queue its version does not poll is routed
            # as the queue's own (`isIndependentPinnedActivity`, getPhysicalQueuesForAdd)
            version = task_version(RunVersioning(), routing, task.workflow_id)
        if version is None:
            return queue
        return task_queue(
            physical_queue(queue.name, version), queue.task_type, queue.kind, namespace
        )

    def query_queue(
        self, runtime: Any, namespace: str, workflow_id: str, run_id: str, queue: str
    ) -> str:
        """The queue a query task of a run goes to when it does not go sticky: its
        version's (matching's QueryWorkflow routes by the same directive)."""
        routing = self.routing_of_queue(namespace, queue)
        if routing is None:
            return queue
        run = self.run_of(runtime, namespace, workflow_id, run_id)
        version = (
            run.version if run.version is not None else task_version(run, routing, workflow_id)
        )
        return physical_queue(queue, version) if version is not None else queue
