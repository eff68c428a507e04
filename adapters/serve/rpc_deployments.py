"""Worker Deployments' RPCs: DescribeWorkerDeployment, ListWorkerDeployments,
SetWorkerDeploymentCurrentVersion, SetWorkerDeploymentRampingVersion,
DescribeWorkerDeploymentVersion, DeleteWorkerDeploymentVersion, DeleteWorkerDeployment,
UpdateWorkerDeploymentVersionMetadata and SetWorkerDeploymentManager, over the registry
in deployments.py (service/frontend/workflow_handler.go,
service/worker/workerdeployment/client.go, workflow.go and version_workflow.go).
Answers and errors are the dev server's (deployments_drive.py and
deployments_meta_drive.py record them). UpdateWorkflowExecutionOptions, which sets a
run's versioning override (and priority), is here too.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
from temporalio.api.deployment.v1 import message_pb2 as deployment_pb
from temporalio.api.enums.v1 import deployment_pb2 as deployment_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.workflow.v1 import message_pb2 as workflow_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.options_request import OptionsUpdated, UpdateWorkflowExecutionOptions
from core.statemachine.matching.versioning import DeploymentVersion

from . import convert, errors
from .deployments import UNVERSIONED, Deployment, Version, canonical
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]
Summary = deployment_pb.WorkerDeploymentInfo.WorkerDeploymentVersionSummary
_STATUS = deployment_enums.WorkerDeploymentVersionStatus
_QUEUE_TYPE = {1: tq_enums.TASK_QUEUE_TYPE_WORKFLOW, 2: tq_enums.TASK_QUEUE_TYPE_ACTIVITY}


def _time(target: Any, name: str, ns: int) -> None:
    if ns:
        getattr(target, name).CopyFrom(convert.timestamp(ns))


def _deployment_version(
    d: Deployment, build_id: str, out: deployment_pb.WorkerDeploymentVersion
) -> None:
    out.deployment_name, out.build_id = d.name, build_id


def _status(d: Deployment, v: Version) -> deployment_enums.WorkerDeploymentVersionStatus.ValueType:
    if v.build_id == d.current:
        return _STATUS.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT
    if v.build_id == d.ramping:
        return _STATUS.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING
    if v.first_activation:  # was current or ramping: draining (drained is not tracked)
        return _STATUS.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING
    return _STATUS.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE


def _summary(d: Deployment, v: Version) -> Summary:
    out = Summary(version=canonical(d.version(v.build_id)), status=_status(d, v))
    _deployment_version(d, v.build_id, out.deployment_version)
    _time(out, "create_time", v.create_time)
    if out.status == _STATUS.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING:
        out.drainage_status = deployment_enums.VERSION_DRAINAGE_STATUS_DRAINING
        out.drainage_info.status = deployment_enums.VERSION_DRAINAGE_STATUS_DRAINING
    _time(out, "current_since_time", v.current_since)
    _time(out, "ramping_since_time", v.ramping_since)
    _time(out, "routing_update_time", v.routing_update)
    _time(out, "first_activation_time", v.first_activation)
    _time(out, "last_current_time", v.last_current)
    _time(out, "last_deactivation_time", v.last_deactivation)
    return out


def _routing(d: Deployment, out: deployment_pb.RoutingConfig) -> None:
    out.current_version = canonical(d.version(d.current))
    if d.current:
        _deployment_version(d, d.current, out.current_deployment_version)
    if d.ramping:
        out.ramping_version = canonical(d.version(d.ramping))
        _deployment_version(d, d.ramping, out.ramping_deployment_version)
        out.ramping_version_percentage = d.percentage
    _time(out, "current_version_changed_time", d.current_changed)
    _time(out, "ramping_version_changed_time", d.ramping_changed)
    _time(out, "ramping_version_percentage_changed_time", d.percentage_changed)
    out.revision_number = d.revision


def _newest_first(d: Deployment) -> list[Version]:
    """Versions by create time, the latest first (client.go DescribeWorkerDeployment)."""
    return sorted(d.versions.values(), key=lambda v: v.create_time, reverse=True)


async def describe_worker_deployment(
    fe: Frontend, req: ws.DescribeWorkerDeploymentRequest, context: Context
) -> ws.DescribeWorkerDeploymentResponse:
    fe.namespace(req.namespace)
    d = fe.deployments.get(req.namespace, req.deployment_name)
    out = ws.DescribeWorkerDeploymentResponse(conflict_token=d.token)
    info = out.worker_deployment_info
    info.name = d.name
    info.version_summaries.extend(_summary(d, v) for v in _newest_first(d))
    _time(info, "create_time", d.create_time)
    _routing(d, info.routing_config)
    info.last_modifier_identity = d.last_modifier
    info.manager_identity = d.manager
    # routing changes take effect at once here: the update is always complete
    info.routing_config_update_state = tq_enums.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
    return out


async def list_worker_deployments(
    fe: Frontend, req: ws.ListWorkerDeploymentsRequest, context: Context
) -> ws.ListWorkerDeploymentsResponse:
    fe.namespace(req.namespace)
    out = ws.ListWorkerDeploymentsResponse()
    for (namespace, _), d in sorted(fe.deployments.by_name.items()):
        if namespace != req.namespace:
            continue
        row = out.worker_deployments.add(name=d.name)
        _time(row, "create_time", d.create_time)
        _routing(d, row.routing_config)
        versions = _newest_first(d)
        if versions:
            row.latest_version_summary.CopyFrom(_summary(d, versions[0]))
        if d.current:
            row.current_version_summary.CopyFrom(_summary(d, d.versions[d.current]))
        if d.ramping:
            row.ramping_version_summary.CopyFrom(_summary(d, d.versions[d.ramping]))
    return out


def _build_id(d: Deployment, version: str, build_id: str) -> str:
    """The build id a Set request names ("": unversioned), by `build_id` or by the
    older `version` string "deployment.build"."""
    if build_id:
        return build_id
    if version in ("", UNVERSIONED):
        return ""
    name, dot, build = version.partition(".")
    if not dot or name != d.name or not build:
        raise errors.invalid(f"invalid version string {version!r}")
    return build


async def set_worker_deployment_current_version(
    fe: Frontend, req: ws.SetWorkerDeploymentCurrentVersionRequest, context: Context
) -> ws.SetWorkerDeploymentCurrentVersionResponse:
    fe.namespace(req.namespace)
    d = fe.deployments.get(req.namespace, req.deployment_name)
    build_id = _build_id(d, req.version, req.build_id)
    d, previous = fe.deployments.set_current(
        req.namespace, req.deployment_name, build_id, req.conflict_token, req.identity
    )
    out = ws.SetWorkerDeploymentCurrentVersionResponse(
        conflict_token=d.token, previous_version=canonical(d.version(previous))
    )
    if previous:
        _deployment_version(d, previous, out.previous_deployment_version)
    return out


async def set_worker_deployment_ramping_version(
    fe: Frontend, req: ws.SetWorkerDeploymentRampingVersionRequest, context: Context
) -> ws.SetWorkerDeploymentRampingVersionResponse:
    fe.namespace(req.namespace)
    if not 0 <= req.percentage <= 100:  # workflow_handler.go validateVersionRampPercentage
        raise errors.invalid("Percentage must be between 0 and 100 (inclusive)")
    d = fe.deployments.get(req.namespace, req.deployment_name)
    build_id = _build_id(d, req.version, req.build_id)
    d, previous, before = fe.deployments.set_ramping(
        req.namespace,
        req.deployment_name,
        build_id,
        req.percentage,
        req.conflict_token,
        req.identity,
    )
    out = ws.SetWorkerDeploymentRampingVersionResponse(conflict_token=d.token)
    if previous:
        out.previous_version = canonical(d.version(previous))
        _deployment_version(d, previous, out.previous_deployment_version)
        out.previous_percentage = before
    return out


def _named_version(req: Any) -> tuple[str, str]:
    """The deployment and build a version request names: by `deployment_version`, or
    by the deprecated `version` string "deployment.build"."""
    given = req.deployment_version
    name, build_id = str(given.deployment_name), str(given.build_id)
    if not name and req.version:
        name, _, build_id = str(req.version).partition(".")
    return name, build_id


async def describe_worker_deployment_version(
    fe: Frontend, req: ws.DescribeWorkerDeploymentVersionRequest, context: Context
) -> ws.DescribeWorkerDeploymentVersionResponse:
    fe.namespace(req.namespace)
    name, build_id = _named_version(req)
    d = fe.deployments.by_name.get((req.namespace, name))
    v = d.versions.get(build_id) if d is not None else None
    if d is None or v is None:
        raise errors.not_found("Worker Deployment Version not found")
    out = ws.DescribeWorkerDeploymentVersionResponse()
    info = out.worker_deployment_version_info
    info.version = canonical(d.version(build_id))
    info.status = _status(d, v)
    _deployment_version(d, build_id, info.deployment_version)
    _time(info, "create_time", v.create_time)
    _time(info, "routing_changed_time", v.routing_update)
    _time(info, "current_since_time", v.current_since)
    _time(info, "ramping_since_time", v.ramping_since)
    _time(info, "first_activation_time", v.first_activation)
    _time(info, "last_current_time", v.last_current)
    _time(info, "last_deactivation_time", v.last_deactivation)
    if build_id == d.ramping:
        info.ramp_percentage = d.percentage
    for key, payload in v.metadata.items():
        info.metadata.entries[key].CopyFrom(payload)
    info.last_modifier_identity = v.last_modifier
    for queue, kind in v.queues:
        info.task_queue_infos.add(name=queue, type=_QUEUE_TYPE[kind])
        out.version_task_queues.add(name=queue, type=_QUEUE_TYPE[kind])
    return out


async def delete_worker_deployment_version(
    fe: Frontend, req: ws.DeleteWorkerDeploymentVersionRequest, context: Context
) -> ws.DeleteWorkerDeploymentVersionResponse:
    fe.namespace(req.namespace)
    name, build_id = _named_version(req)
    fe.deployments.delete_version(req.namespace, name, build_id, req.skip_drainage, req.identity)
    return ws.DeleteWorkerDeploymentVersionResponse()


async def delete_worker_deployment(
    fe: Frontend, req: ws.DeleteWorkerDeploymentRequest, context: Context
) -> ws.DeleteWorkerDeploymentResponse:
    fe.namespace(req.namespace)
    fe.deployments.delete_deployment(req.namespace, req.deployment_name)
    return ws.DeleteWorkerDeploymentResponse()


async def update_worker_deployment_version_metadata(
    fe: Frontend, req: ws.UpdateWorkerDeploymentVersionMetadataRequest, context: Context
) -> ws.UpdateWorkerDeploymentVersionMetadataResponse:
    if not req.upsert_entries and not req.remove_entries:
        raise errors.invalid("At least one of remove_entries or upsert_entries must be provided")
    fe.namespace(req.namespace)
    given = req.deployment_version
    name, build_id = given.deployment_name, given.build_id
    if not req.HasField("deployment_version"):
        name, _, build_id = req.version.partition(".")
    version = fe.deployments.update_metadata(
        req.namespace,
        name,
        build_id,
        dict(req.upsert_entries.items()),
        list(req.remove_entries),
        req.identity,
    )
    out = ws.UpdateWorkerDeploymentVersionMetadataResponse()
    for key, payload in version.metadata.items():
        out.metadata.entries[key].CopyFrom(payload)
    return out


async def set_worker_deployment_manager(
    fe: Frontend, req: ws.SetWorkerDeploymentManagerRequest, context: Context
) -> ws.SetWorkerDeploymentManagerResponse:
    if not req.identity:
        raise errors.invalid("Identity is required")
    fe.namespace(req.namespace)
    manager = req.identity if req.WhichOneof("new_manager_identity") == "self" else ""
    manager = manager or req.manager_identity
    d, previous = fe.deployments.set_manager(
        req.namespace, req.deployment_name, manager, req.conflict_token, req.identity
    )
    return ws.SetWorkerDeploymentManagerResponse(
        conflict_token=d.token, previous_manager_identity=previous
    )


def _camel(path: str) -> str:
    """An update mask path in the JSON names the history service merges by
    (`util.ParseFieldMask`): `priority.priority_key` is `priority.priorityKey`."""
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p) for p in path.split("."))


def _check_path(path: str) -> None:
    """Refuse a path that names no field of WorkflowExecutionOptions (`fieldmaskpb.New`)."""
    descriptor: Any = workflow_pb.WorkflowExecutionOptions.DESCRIPTOR
    for part in path.split("."):
        field = descriptor.fields_by_name.get(part) if descriptor is not None else None
        if field is None:
            raise errors.invalid(
                f'error parsing UpdateMask: proto:\u00a0invalid path "{path}" for message '
                f'"{workflow_pb.WorkflowExecutionOptions.DESCRIPTOR.full_name}"'
            )
        descriptor = field.message_type


def options_update(options: Any, paths: Any, identity: str) -> UpdateWorkflowExecutionOptions:
    """The core's options update for a WorkflowExecutionOptions and its mask's paths."""
    return UpdateWorkflowExecutionOptions(
        options=convert.opaque_of(options),
        paths=tuple(_camel(path) for path in paths),
        identity=identity,
    )


def post_reset_update(operation: workflow_pb.PostResetOperation) -> UpdateWorkflowExecutionOptions:
    """A reset's post-reset operation as the options update the new run gets after what
    the reset reapplies (`performPostResetOperations`, service/history/ndc/workflow_resetter.go:
    with no identity). Only UpdateWorkflowOptions is supported
    (`validatePostResetOperationInputs`, service/history/api/resetworkflow/api.go)."""
    if not operation.HasField("update_workflow_options"):
        variant = "".join(w.capitalize() for w in str(operation.WhichOneof("variant")).split("_"))
        raise errors.invalid(
            f"unsupported post reset operation: *workflow.PostResetOperation_{variant}_"
        )
    update = operation.update_workflow_options
    for path in update.update_mask.paths:
        _check_path(path)
        if path.split(".")[0] == "time_skipping_config":
            raise errors.unimplemented("UpdateWorkflowExecutionOptions time_skipping_config")
    return options_update(update.workflow_execution_options, update.update_mask.paths, "")


async def update_workflow_execution_options(
    fe: Frontend, req: ws.UpdateWorkflowExecutionOptionsRequest, context: Context
) -> ws.UpdateWorkflowExecutionOptionsResponse:
    """UpdateWorkflowExecutionOptions (workflow_handler.go; the history side is core's
    options_update.py): a pinned override's version must be one that polls the run's
    task queue for workflow tasks (`ValidateVersioningOverrideAndGetReactivationEligibility`,
    common/worker_versioning/worker_versioning.go). Not served: `time_skipping_config`."""
    execution = req.workflow_execution
    if not execution.workflow_id:
        raise errors.invalid("WorkflowId is not set on request.")
    if not req.HasField("update_mask"):
        raise errors.invalid("UpdateMask is required")
    if not req.HasField("workflow_execution_options"):
        raise errors.invalid("WorkflowExecutionOptions is required")
    for path in req.update_mask.paths:
        _check_path(path)
        if path.split(".")[0] == "time_skipping_config":
            raise errors.unimplemented("UpdateWorkflowExecutionOptions time_skipping_config")
    fe.namespace(req.namespace)
    run = fe.run(req.namespace, execution.workflow_id, execution.run_id)
    options = req.workflow_execution_options
    override = options.versioning_override
    if run.state.running and override.HasField("pinned") and override.pinned.HasField("version"):
        given = override.pinned.version
        version = DeploymentVersion(given.deployment_name, given.build_id)
        if not fe.deployments.polls(req.namespace, run.state.task_queue, version, kind=1):
            raise errors.failed_precondition(
                f"Pinned version '{given.deployment_name}:{given.build_id}' is not present in "
                f"task queue '{run.state.task_queue}' of type 'Workflow'"
            )
    update = options_update(options, req.update_mask.paths, req.identity)
    reply = await fe.call(context, req.namespace, execution.workflow_id, execution.run_id, update)
    assert isinstance(reply, OptionsUpdated)
    out = ws.UpdateWorkflowExecutionOptionsResponse()
    convert.fill(out.workflow_execution_options, reply.options)
    return out
