"""Worker versioning v1 (deprecated), compatible version sets:
UpdateWorkerBuildIdCompatibility, GetWorkerBuildIdCompatibility and
GetWorkerTaskReachability, as the dev server answers them with
`frontend.workerVersioningDataAPIs=true` (the SDK's test conftest sets it; without it
the server refuses all three with PERMISSION_DENIED).

The frontend's checks are workflow_handler.go's (validateBuildIdCompatibilityUpdate,
then tqid.NormalizeAndValidate of the queue); the sets live where matching keeps them,
in the task queue's user data (`Frontend.version_sets`, in memory: `--store` does not
keep them), and change by core/statemachine/matching/version_sets.py's rules
(service/matching/version_sets.go).
A build id may name at most 20 task queues of a namespace (limit.taskQueuesPerBuildId,
user_data_manager.go). Reachability is service/frontend/task_reachability.go's: whether a
build id is its set's default, whether new workflows may reach it, and a count of the
queue's runs in visibility by their `BuildIds`.

Not modelled: routing by the sets. On the real server a queue with version sets gives
its tasks to pollers that use versioning with the default set's build id (matching's
getPhysicalQueuesForAdd); here tasks still go to any poller of the queue.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine.matching import version_sets as vs

from . import errors, rpc_reads
from .frontend import Frontend
from .validate import queue_name

Context = Any
REACHABILITY_BUILD_IDS = 5  # limit.reachabilityQueryBuildIds
REACHABILITY_QUEUES = 20  # limit.reachabilityTaskQueueScan
STATUS_FILTERS = {  # queryVisibilityForExistingWorkflowsReachability
    tq_enums.TASK_REACHABILITY_EXISTING_WORKFLOWS: "",
    tq_enums.TASK_REACHABILITY_OPEN_WORKFLOWS: ' AND ExecutionStatus = "Running"',
    tq_enums.TASK_REACHABILITY_CLOSED_WORKFLOWS: ' AND ExecutionStatus != "Running"',
}
UPDATE_NEEDS = "request to update worker build ID compatability requires: "


def _operation(req: ws.UpdateWorkerBuildIdCompatibilityRequest) -> vs.Operation:
    """The request's operation, after validateBuildIdCompatibilityUpdate: every missing
    part is named in one message (merge_sets is not checked there)."""
    needs = [UPDATE_NEEDS]

    def checked(build_id: str, field: str) -> None:
        if not build_id:
            needs.append(f"`{field}` to be set")
        elif len(build_id) > vs.BUILD_ID_SIZE:
            needs.append(f" Worker build IDs to be no larger than {vs.BUILD_ID_SIZE} characters")

    if not req.namespace:
        needs.append("`namespace` to be set")
    if not req.task_queue:
        needs.append("`task_queue` to be set")
    kind = req.WhichOneof("operation")
    op: vs.Operation | None = None
    if kind is None:
        needs.append("an operation to be specified")
    elif kind == "add_new_compatible_build_id":
        add = req.add_new_compatible_build_id
        checked(add.new_build_id, "add_new_compatible_version")
        if not add.existing_compatible_build_id:
            needs.append("`existing_compatible_version` to be set")
        op = vs.AddCompatible(
            add.new_build_id, add.existing_compatible_build_id, add.make_set_default
        )
    elif kind == "add_new_build_id_in_new_default_set":
        checked(req.add_new_build_id_in_new_default_set, "add_new_version_id_in_new_default_set")
        op = vs.AddNewDefault(req.add_new_build_id_in_new_default_set)
    elif kind == "promote_set_by_build_id":
        checked(req.promote_set_by_build_id, "promote_set_by_version_id")
        op = vs.PromoteSet(req.promote_set_by_build_id)
    elif kind == "promote_build_id_within_set":
        checked(req.promote_build_id_within_set, "promote_version_id_within_set")
        op = vs.PromoteWithinSet(req.promote_build_id_within_set)
    else:
        merge = req.merge_sets
        op = vs.MergeSets(merge.primary_set_build_id, merge.secondary_set_build_id)
    if len(needs) > 1 or op is None:
        raise errors.invalid(", ".join(needs))
    return op


def _refusal(error: vs.VersionSetError) -> errors.ServiceError:
    if error.kind == "not_found":
        return errors.not_found(error.message)
    if error.kind == "failed_precondition":
        return errors.failed_precondition(error.message)
    return errors.invalid(error.message)


def _queues_of(fe: Frontend, namespace: str, build_id: str) -> list[str]:
    """The task queues of `namespace` whose sets hold `build_id`, by name (matching's
    build-id-to-task-queue table, GetBuildIdTaskQueueMapping)."""
    return sorted(
        queue
        for (ns, queue), data in fe.version_sets.items()
        if ns == namespace and build_id in data.build_ids()
    )


async def update_worker_build_id_compatibility(
    fe: Frontend, req: ws.UpdateWorkerBuildIdCompatibilityRequest, context: Context
) -> ws.UpdateWorkerBuildIdCompatibilityResponse:
    fe.namespace(req.namespace)
    op = _operation(req)
    queue_name(req.task_queue)
    key = (req.namespace, req.task_queue)
    before = fe.version_sets.get(key, vs.VersioningData())
    try:
        after = vs.update(before, op, fe.now() // 1_000_000)
    except vs.VersionSetError as error:
        raise _refusal(error) from None
    for build_id in sorted(after.build_ids() - before.build_ids()):
        if len(_queues_of(fe, req.namespace, build_id)) >= vs.MAX_QUEUES_PER_BUILD_ID:
            raise errors.failed_precondition(
                "Exceeded max task queues allowed to be mapped to a single build ID: "
                f"{vs.MAX_QUEUES_PER_BUILD_ID}"
            )
    fe.version_sets[key] = after
    return ws.UpdateWorkerBuildIdCompatibilityResponse()


async def get_worker_build_id_compatibility(
    fe: Frontend, req: ws.GetWorkerBuildIdCompatibilityRequest, context: Context
) -> ws.GetWorkerBuildIdCompatibilityResponse:
    fe.namespace(req.namespace)
    queue_name(req.task_queue)
    data = fe.version_sets.get((req.namespace, req.task_queue), vs.VersioningData())
    out = ws.GetWorkerBuildIdCompatibilityResponse()
    for build_ids in data.answer(req.max_sets):
        out.major_version_sets.add(build_ids=build_ids)
    return out


async def get_worker_task_reachability(
    fe: Frontend, req: ws.GetWorkerTaskReachabilityRequest, context: Context
) -> ws.GetWorkerTaskReachabilityResponse:
    fe.namespace(req.namespace)
    if not req.build_ids:
        raise errors.invalid(
            "Must query at least one build ID (or empty string for unversioned worker)"
        )
    if len(req.build_ids) > REACHABILITY_BUILD_IDS:
        raise errors.invalid(f"Too many build ids queried at once, limit: {REACHABILITY_BUILD_IDS}")
    if any(len(build_id) > vs.BUILD_ID_SIZE for build_id in req.build_ids):
        raise errors.invalid(
            "Build ID exceeds configured limit.workerBuildIdSize, use a shorter build ID."
        )
    if "" in req.build_ids and not req.task_queues:
        raise errors.invalid(
            "Cannot get reachability of an unversioned worker without specifying at least "
            "one task queue (empty build ID is interpereted as unversioned)"
        )
    for queue in req.task_queues:
        queue_name(queue)
    out = ws.GetWorkerTaskReachabilityResponse()
    for build_id in req.build_ids:
        queues = list(req.task_queues) or _queues_of(fe, req.namespace, build_id)
        entry = out.build_id_reachability.add(build_id=build_id)
        for queue in queues[:REACHABILITY_QUEUES]:
            entry.task_queue_reachability.append(_in_queue(fe, req, build_id, queue))
        for queue in queues[REACHABILITY_QUEUES:]:  # over the scan limit: not looked at
            entry.task_queue_reachability.add(
                task_queue=queue, reachability=[tq_enums.TASK_REACHABILITY_UNSPECIFIED]
            )
    return out


def _in_queue(
    fe: Frontend, req: ws.GetWorkerTaskReachabilityRequest, build_id: str, queue: str
) -> tq_pb.TaskQueueReachability:
    """getTaskQueueReachability: one build id in one queue."""
    out = tq_pb.TaskQueueReachability(task_queue=queue)
    data = fe.version_sets.get((req.namespace, queue))
    judged = vs.reachability(data, build_id, fe.now() // 1_000_000)
    if judged.unreachable:
        return out
    if judged.new_workflows:
        out.reachability.append(tq_enums.TASK_REACHABILITY_NEW_WORKFLOWS)
    kind = req.reachability or tq_enums.TASK_REACHABILITY_EXISTING_WORKFLOWS
    if kind == tq_enums.TASK_REACHABILITY_NEW_WORKFLOWS:
        return out
    if kind not in STATUS_FILTERS:
        raise errors.invalid(f"Unsupported reachability type: {kind}")
    values = ",".join(f"'{value}'" for value in judged.build_id_values)
    build_ids = f"BuildIds IN ({values})"
    if judged.untouched_too and kind != tq_enums.TASK_REACHABILITY_CLOSED_WORKFLOWS:
        build_ids = f"(BuildIds IS NULL OR {build_ids})"  # started, no task done yet
    quoted = queue.replace("'", "\\'")
    query = f"TaskQueue = '{quoted}' AND {build_ids}{STATUS_FILTERS[kind]}"
    if rpc_reads.matching(fe, req.namespace, query):
        out.reachability.append(kind)
    return out
