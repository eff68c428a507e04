"""Worker Deployments in the history service: what a completion writes of the worker's
version, how a run's versioning (versioning_state.py) changes, and what a
continue-as-new passes on to the run it starts.

A run's versioning (`VersioningInfo` in service/history/workflow/mutable_state_impl.go):

- its start sets the override, and what it inherited: a pinned version (the run is
  pinned to it), auto-upgrade info (the run auto-upgrades from the source version, at
  the source's revision number), a declined upgrade (`ApplyWorkflowExecutionStartedEvent`);
- each completion sets the behavior and version it reports
  (`afterAddWorkflowTaskCompletedEvent` in workflow_task_state_machine.go);
- a workflow task's start takes the revision of a move to another version, which
  matching decides (`StartDeploymentTransition`; run_versioning.py), and tells a pinned
  run whether its target version changed (`started`).

A continue-as-new (`AddContinueAsNewEvent` in mutable_state_impl.go) passes on, for a
new run on the same task queue:

- a pinned run's version as the new run's `inherited_pinned_version`, unless the
  command asks for an initial versioning behavior (AUTO_UPGRADE or
  USE_RAMPING_VERSION); with it, the target the run was told of (or the one it had
  declined itself) as `declined_target_version_upgrade`
  (`computeDeclinedTargetVersionUpgrade`);
- otherwise, for an auto-upgrade run or a pinned one whose command names an initial
  behavior, `inherited_auto_upgrade_info`: the run's version and revision number (only
  when the revision is set) and the command's initial behavior;
- a pinned versioning override, as the new run's override.

Not modelled: a continue-as-new onto another task queue inherits none of them (the
server asks matching whether that queue is in the run's version,
`IsWFTaskQueueInVersionDetector`); a version transition is only its revision here (the
version a run moved to is known from its next completion).
"""

from __future__ import annotations

from core.commands.workflow import ContinueAsNewWorkflowExecutionCommandAttributes
from core.enums import ContinueAsNewInitiator, ContinueAsNewVersioningBehavior, VersioningBehavior
from core.fastinit import replace
from core.opaque import JsonValue, Opaque
from core.requests import (
    RecordWorkflowTaskStarted,
    RespondWorkflowTaskCompleted,
    StartVersioning,
)
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.versioning_state import (
    TargetSeen,
    VersioningInfo,
    number,
    version_json,
)
from core.statemachine.matching.run_versioning import (
    USE_RAMPING,
    parse_version_string,
    version_of,
)
from core.statemachine.matching.versioning import DeploymentVersion


def deployment_of(req: RespondWorkflowTaskCompleted) -> tuple[Opaque | None, VersioningBehavior]:
    """The completion's Worker Deployment version and versioning behavior as the server
    writes them (`AddWorkflowTaskCompletedEvent` in
    service/history/workflow/workflow_task_state_machine.go): the version only from a
    worker in VERSIONED mode that names both its deployment and its build
    (`DeploymentVersionFromOptions`, `DeploymentIfValid` in
    common/worker_versioning/worker_versioning.go), and the behavior dropped when the
    worker says it is not versioned (an SDK reports one it was configured with anyway)."""
    options = req.deployment_options
    behavior = req.versioning_behavior
    if options is not None and not options.versioned:
        behavior = VersioningBehavior.UNSPECIFIED
    if options is None or not (options.versioned and options.deployment_name and options.build_id):
        return None, behavior
    return version_json(DeploymentVersion(options.deployment_name, options.build_id)), behavior


def start_info(v: StartVersioning) -> VersioningInfo | None:
    """A new run's versioning, from what its start carried."""
    pinned = version_of(v.inherited_pinned_version.value()) if v.inherited_pinned_version else None
    info = v.inherited_auto_upgrade_info
    upgrade = info.value() if info is not None else None
    out = VersioningInfo(
        override=v.versioning_override, declined=TargetSeen.read(v.declined_target_version_upgrade)
    )
    if pinned is not None:
        out = replace(
            out, behavior=VersioningBehavior.PINNED, version=pinned, inherited_pinned=True
        )
    elif isinstance(upgrade, dict):
        initial = upgrade.get("continueAsNewInitialVersioningBehavior")
        out = replace(
            out,
            behavior=VersioningBehavior.AUTO_UPGRADE,
            version=version_of(upgrade.get("sourceDeploymentVersion")),
            revision=number(upgrade.get("sourceDeploymentRevisionNumber")),
            initial_behavior=initial if isinstance(initial, str) else "",
        )
    return out if out != VersioningInfo() else None


def completed(
    info: VersioningInfo | None, deployment: Opaque | None, behavior: VersioningBehavior
) -> VersioningInfo | None:
    """The run's versioning after a completion that reports `behavior` and `deployment`
    (an unversioned one clears both)."""
    version = version_of(deployment.value()) if deployment is not None else None
    if info is None and behavior is VersioningBehavior.UNSPECIFIED:
        return None
    if behavior is VersioningBehavior.UNSPECIFIED:
        version = None
    return replace(info or VersioningInfo(), behavior=behavior, version=version)


def started(
    info: VersioningInfo | None, req: RecordWorkflowTaskStarted
) -> tuple[VersioningInfo | None, bool]:
    """The run's versioning when a workflow task starts, and whether its
    WorkflowTaskStarted says the target version changed (`AddWorkflowTaskStartedEvent`
    and `targetWorkerDeploymentVersionChangedForStartedEvent` in
    workflow_task_state_machine.go). `req` names the target matching holds for the
    run's task queue and its revision (0: the queue is in no deployment), and the
    revision of a move of the run to another version (0: none).

    A pinned run with no override is told of a target that is not its version, unless
    the target's revision is no newer than an upgrade it declined, or older than the
    newest target it knows of; once told, every later task says so until a task finds
    it on its target again. An override clears both; an auto-upgrade run moves by
    itself."""
    if req.versioning_revision:
        info = replace(info or VersioningInfo(), revision=req.versioning_revision)
    if info is None or not req.target_revision:
        return info, False
    run = info.effective()
    target = TargetSeen(
        version_of(req.target_version.value()) if req.target_version else None, req.target_revision
    )
    notified, declined = info.notified, info.declined
    highest = max(notified.revision if notified else 0, declined.revision if declined else 0)
    if run.overridden:
        notified = declined = None
    elif run.behavior is not VersioningBehavior.PINNED:
        pass
    elif run.version == target.version and target.revision >= highest:
        notified = declined = None
    elif declined is not None and target.revision <= declined.revision:
        pass
    elif target.revision >= highest:
        notified, declined = target, None
    info = replace(info, notified=notified, declined=declined)
    return info, run.behavior is VersioningBehavior.PINNED and info.notified is not None


def continued(
    state: MutableState,
    command: ContinueAsNewWorkflowExecutionCommandAttributes,
    queue: str,
) -> StartVersioning | None:
    """What the run a continue-as-new starts on `queue` inherits of this run's
    versioning (None: nothing)."""
    info = state.versioning
    if info is None or queue != state.task_queue:
        return None
    run = info.effective()
    initial = command.initial_versioning_behavior
    asks = initial is not ContinueAsNewVersioningBehavior.UNSPECIFIED
    pinned = run.pinned if not asks else None
    declined = (info.notified or info.declined) if pinned is not None else None
    upgrades = run.behavior is VersioningBehavior.AUTO_UPGRADE or (
        run.behavior is VersioningBehavior.PINNED and asks
    )
    upgrade: Opaque | None = None
    if upgrades and run.version is not None and info.revision and pinned is None:
        fields: dict[str, JsonValue] = {
            "sourceDeploymentVersion": version_json(run.version).value(),
            "sourceDeploymentRevisionNumber": str(info.revision),
        }
        if asks:
            fields["continueAsNewInitialVersioningBehavior"] = (
                USE_RAMPING
                if initial is ContinueAsNewVersioningBehavior.USE_RAMPING_VERSION
                else f"CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_{initial.name}"
            )
        upgrade = Opaque.of(fields)
    pinned_override = run.overridden and run.behavior is VersioningBehavior.PINNED
    versioning = StartVersioning(
        versioning_override=info.override if pinned_override else None,
        inherited_pinned_version=version_json(pinned) if pinned is not None else None,
        inherited_auto_upgrade_info=upgrade,
        declined_target_version_upgrade=declined.json() if declined is not None else None,
    )
    return versioning if versioning != StartVersioning() else None


def start_v32(v: StartVersioning) -> StartVersioning:
    """A start's versioning with its override in the v0.32 form only, as the Started
    event and the run keep it (`ConvertOverrideToV32` in
    service/history/historybuilder/event_factory.go)."""
    return replace(v, versioning_override=override_v32(v.versioning_override))


def override_v32(override: Opaque | None) -> Opaque | None:
    """A versioning override in its v0.32 form only (`ConvertOverrideToV32` in
    common/worker_versioning/worker_versioning.go, which a child's Initiated event
    applies to its command's override): the `override` oneof as given, else the
    deprecated behavior read into it (a pinned one with its version from the deprecated
    version string, else from the deprecated deployment); none for neither."""
    v32 = override_v32_value(override.value() if override is not None else None)
    return Opaque.of(v32) if v32 is not None else None


def override_v32_value(value: JsonValue) -> dict[str, JsonValue] | None:
    """`override_v32` of an override's JSON value (an options update's merged one)."""
    if not isinstance(value, dict):
        return None
    for key in ("autoUpgrade", "pinned", "oneTime"):
        if key in value:
            return {key: value[key]}
    behavior = value.get("behavior")
    if behavior == "VERSIONING_BEHAVIOR_AUTO_UPGRADE":
        return {"autoUpgrade": True}
    if behavior != "VERSIONING_BEHAVIOR_PINNED":
        return None
    pinned: dict[str, JsonValue] = {"behavior": "PINNED_OVERRIDE_BEHAVIOR_PINNED"}
    text, deployment = value.get("pinnedVersion"), value.get("deployment")
    if isinstance(text, str) and text:
        version = parse_version_string(text)
        if version is not None:
            pinned["version"] = version_json(version).value()
    elif isinstance(deployment, dict):  # the deployment's build id and series name
        named = {
            "buildId": deployment.get("buildId"),
            "deploymentName": deployment.get("seriesName"),
        }
        pinned["version"] = {k: v for k, v in named.items() if v}
    return {"pinned": pinned}


def child(state: MutableState, override: Opaque | None, queue: str) -> StartVersioning | None:
    """What a child started on `queue` carries of Worker Versioning
    (`processStartChildExecution` and `startChildWorkflow` in
    service/history/transfer_queue_active_task_executor.go): the override its command
    gave, if any; else, for a child on the parent's own task queue, the parent's version
    when the parent is pinned, the parent's override when it names a version (pinned or
    one-time), and auto-upgrade info (the parent's version and revision, no initial
    behavior) when the parent auto-upgrades at a known revision.

    Not modelled: a child on another task queue inherits none of them here (the server
    asks matching whether that queue is in the parent's version)."""
    if override is not None:
        return StartVersioning(versioning_override=override)
    info = state.versioning
    if info is None or queue != state.task_queue:
        return None
    run = info.effective()
    given = info.override.value() if info.override is not None else None
    pinned = given.get("pinned") if isinstance(given, dict) else None
    one_time = given.get("oneTime") if isinstance(given, dict) else None
    targeted = (isinstance(pinned, dict) and version_of(pinned.get("version")) is not None) or (
        isinstance(one_time, dict) and version_of(one_time.get("targetDeploymentVersion"))
    )
    upgrade: Opaque | None = None
    if run.behavior is VersioningBehavior.AUTO_UPGRADE and run.version and info.revision:
        source = version_json(run.version).value()
        upgrade = Opaque.of(
            {
                "sourceDeploymentVersion": source,
                "sourceDeploymentRevisionNumber": str(info.revision),
            }
        )
    versioning = StartVersioning(
        versioning_override=info.override if targeted else None,
        inherited_pinned_version=version_json(run.pinned) if run.pinned else None,
        inherited_auto_upgrade_info=upgrade,
    )
    return versioning if versioning != StartVersioning() else None


def retried(state: MutableState, initiator: ContinueAsNewInitiator) -> StartVersioning | None:
    """What a retry's or a cron's next run carries of the run's versioning
    (`SetupNewWorkflowForRetryOrCron` in service/history/workflow/retry.go; the next run
    is on the same task queue): a pinned override (`OverrideIsPinned`); and, for a
    retry only, the run's version when it is pinned and its start inherited a pinned
    version (a child or a continued run of a pinned one), else, when it auto-upgrades at
    a known revision, its version, revision and the initial behavior its own start
    inherited (recorded: `v10-kid.child.run2.json`, `v10-up.run2.json`)."""
    info = state.versioning
    if info is None:
        return None
    given = info.override.value() if info.override is not None else None
    pinned = given.get("pinned") if isinstance(given, dict) else None
    override = None
    if isinstance(given, dict) and (
        given.get("behavior") == "VERSIONING_BEHAVIOR_PINNED"
        or (
            isinstance(pinned, dict) and pinned.get("behavior") == "PINNED_OVERRIDE_BEHAVIOR_PINNED"
        )
    ):
        override = info.override
    run = info.effective()
    retry = initiator is ContinueAsNewInitiator.RETRY
    inherited: Opaque | None = None
    upgrade: Opaque | None = None
    if retry and run.pinned and info.inherited_pinned:
        inherited = version_json(run.pinned)
    auto = run.behavior is VersioningBehavior.AUTO_UPGRADE
    if retry and auto and run.version is not None and info.revision:
        fields: dict[str, JsonValue] = {
            "sourceDeploymentVersion": version_json(run.version).value(),
            "sourceDeploymentRevisionNumber": str(info.revision),
        }
        if info.initial_behavior:
            fields["continueAsNewInitialVersioningBehavior"] = info.initial_behavior
        upgrade = Opaque.of(fields)
    versioning = StartVersioning(
        versioning_override=override,
        inherited_pinned_version=inherited,
        inherited_auto_upgrade_info=upgrade,
    )
    return versioning if versioning != StartVersioning() else None
