"""The server, its namespaces and task queues: GetSystemInfo, GetClusterInfo,
DescribeNamespace, RegisterNamespace, ListNamespaces, UpdateNamespace,
GetSearchAttributes, DescribeTaskQueue, ListTaskQueuePartitions, ShutdownWorker; and
OperatorService's search attribute RPCs. (Worker heartbeats: rpc_workers.py.)

GetSystemInfo's reply, which declares only what this server does, is kept in
system_info.py (the gate answers it before the model has loaded).
"""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any

import grpc
from temporalio.api.enums.v1 import common_pb2 as common_enums
from temporalio.api.enums.v1 import namespace_pb2 as ns_enums
from temporalio.api.enums.v1 import task_queue_pb2 as tq_enums
from temporalio.api.namespace.v1 import message_pb2 as ns_pb
from temporalio.api.operatorservice.v1 import request_response_pb2 as ops
from temporalio.api.taskqueue.v1 import message_pb2 as tq_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from core.statemachine import matching
from core.statemachine.history.service.state import MutableState

from . import convert, errors, queue_stats, system_info, tokens, validate
from .frontend import SYSTEM_SEARCH_ATTRIBUTES, Frontend, Namespace
from .queue_stats import task_kind
from .validate import MAX_ID_LENGTH

Context = grpc.aio.ServicerContext[Any, Any]
SERVER_VERSION = system_info.SERVER_VERSION
CLUSTER = "active"
SEARCH_ATTRIBUTES_NOT_SET = "SearchAttributes are not set on request."  # errors.go
NAMESPACE_NOT_SET = "Namespace not set on request."  # the frontend's errNamespaceNotSet
# history.workflowTaskCompletionBufferSizeLimit's default (common/dynamicconfig/constants.go)
COMPLETION_BUFFER_LIMIT = 40 * 1024 * 1024


async def get_system_info(
    fe: Frontend, req: ws.GetSystemInfoRequest, context: Context
) -> ws.GetSystemInfoResponse:
    return ws.GetSystemInfoResponse.FromString(system_info.reply())


# The client versions the server supports, by client name (SupportedClients in
# common/headers/version_checker.go), which GetClusterInfo reports.
SUPPORTED_CLIENTS = {
    "temporal-go": "<2.0.0",
    "temporal-java": "<2.0.0",
    "temporal-php": "<2.0.0",
    "temporal-typescript": "<2.0.0",
    "temporal-cli": "<2.0.0",
    "temporal-server": "<2.0.0",
    "temporal-ui": "<3.0.0",
    "Nexus-go-sdk": "<2.0.0",
}
# The dev server's cluster metadata: its one cluster's initial failover version and the
# increment (the `temporal` CLI's dev server configuration)
INITIAL_FAILOVER_VERSION = 1
FAILOVER_VERSION_INCREMENT = 10


async def get_cluster_info(
    fe: Frontend, req: ws.GetClusterInfoRequest, context: Context
) -> ws.GetClusterInfoResponse:
    """GetClusterInfo (service/frontend/workflow_handler.go) with the dev server's
    supported clients and failover versions, and this server's own id, shard count and
    stores."""
    return ws.GetClusterInfoResponse(
        supported_clients=SUPPORTED_CLIENTS,
        server_version=SERVER_VERSION,
        cluster_id="tmodel",
        cluster_name=CLUSTER,
        history_shard_count=fe.runtime.cluster.router.shards,
        persistence_store="memory" if fe.runtime.store is None else "sqlite",
        visibility_store="memory",
        initial_failover_version=INITIAL_FAILOVER_VERSION,
        failover_version_increment=FAILOVER_VERSION_INCREMENT,
    )


def _describe(fe: Frontend, record: Namespace) -> ws.DescribeNamespaceResponse:
    out = ws.DescribeNamespaceResponse()
    info = out.namespace_info
    info.name = record.name
    info.id = record.id
    info.state = ns_enums.NAMESPACE_STATE_REGISTERED
    info.description = record.description
    info.owner_email = record.owner_email
    info.data.update(record.data)
    # What is served, as the dev server declares it
    info.capabilities.eager_workflow_start = True  # the dev server's default
    info.capabilities.worker_heartbeats = True  # rpc_workers.py
    info.capabilities.sync_update = True
    info.capabilities.async_update = True
    info.capabilities.standalone_activities = True  # standalone.py
    info.capabilities.standalone_activity_start_delay = True
    info.capabilities.standalone_activity_operator_commands = True  # Pause/Unpause/Reset/...
    # the namespace's limits as the server reports them (createResponse in
    # service/frontend/namespace_handler.go): the blob and memo size limits the history
    # enforces, and the buffer a paginated workflow task completion may fill (its
    # dynamic-config default; such completions are not served here)
    limits = fe.runtime.limits
    info.limits.blob_size_limit_error = limits.blob_size_error
    info.limits.memo_size_limit_error = limits.memo_size_error
    info.limits.workflow_task_completion_size_limit_error = COMPLETION_BUFFER_LIMIT
    info.supports_schedules = True  # rpc_schedules.py
    out.config.workflow_execution_retention_ttl.CopyFrom(convert.duration(record.retention_ns))
    out.config.history_archival_state = ns_enums.ARCHIVAL_STATE_DISABLED
    if fe.archive is not None:  # --archive: the file-system archiver's URI scheme
        out.config.history_archival_state = ns_enums.ARCHIVAL_STATE_ENABLED
        out.config.history_archival_uri = fe.archive.dir.resolve().as_uri()
    out.config.visibility_archival_state = ns_enums.ARCHIVAL_STATE_DISABLED
    out.config.bad_binaries.SetInParent()
    out.replication_config.active_cluster_name = CLUSTER
    out.replication_config.clusters.add(cluster_name=CLUSTER)
    out.replication_config.state = record.replication_state  # type: ignore[assignment]
    return out


async def describe_namespace(
    fe: Frontend, req: ws.DescribeNamespaceRequest, context: Context
) -> ws.DescribeNamespaceResponse:
    if req.id:
        _check_namespace_id(req.id)
        record = next((n for n in fe.namespaces.values() if n.id == req.id), None)
        if record is None:
            raise errors.namespace_not_found(req.id)
        return _describe(fe, record)
    if not req.namespace:
        raise errors.invalid(NAMESPACE_NOT_SET)
    return _describe(fe, fe.namespace(req.namespace))


def _check_namespace_id(value: str) -> None:
    """The namespace handler parses the id as a UUID (github.com/google/uuid Parse) and
    passes its error on as it is: UNKNOWN, unmasked for a request with no namespace
    name (common/rpc/interceptor/mask_internal_error.go)."""
    if len(value) not in (32, 36, 38, 41):
        raise errors.ServiceError(grpc.StatusCode.UNKNOWN, f"invalid UUID length: {len(value)}")
    try:
        uuid.UUID(value)
    except ValueError:
        raise errors.ServiceError(grpc.StatusCode.UNKNOWN, "invalid UUID format") from None


async def register_namespace(
    fe: Frontend, req: ws.RegisterNamespaceRequest, context: Context
) -> ws.RegisterNamespaceResponse:
    if not req.namespace:
        raise errors.invalid(NAMESPACE_NOT_SET)
    # a one-cluster server: no global namespaces; then the retention, then whether the
    # name is taken (RegisterNamespace, service/frontend/namespace_handler.go)
    if req.is_global_namespace:
        raise errors.invalid("Cannot register global namespace when not enabled")
    retention = convert.nanos(req.workflow_execution_retention_period)
    if retention <= 0:  # the frontend's errInvalidRetentionPeriod
        raise errors.invalid("A valid retention period is not set on request.")
    if req.namespace in fe.namespaces:
        raise errors.namespace_exists(req.namespace)
    fe.add_namespace(
        req.namespace,
        description=req.description,
        owner_email=req.owner_email,
        data=dict(req.data),
        retention_ns=retention,
        replication_state=ns_enums.REPLICATION_STATE_NORMAL,
    )
    return ws.RegisterNamespaceResponse()


async def update_namespace(
    fe: Frontend, req: ws.UpdateNamespaceRequest, context: Context
) -> ws.UpdateNamespaceResponse:
    record = fe.namespace(req.namespace)
    if req.HasField("update_info"):
        record.description = req.update_info.description or record.description
        record.owner_email = req.update_info.owner_email or record.owner_email
        record.data.update(req.update_info.data)
    if req.HasField("config") and req.config.HasField("workflow_execution_retention_ttl"):
        record.retention_ns = convert.nanos(req.config.workflow_execution_retention_ttl)
    fe.save_namespaces()
    described = _describe(fe, record)
    return ws.UpdateNamespaceResponse(
        namespace_info=described.namespace_info,
        config=described.config,
        replication_config=described.replication_config,
    )


async def list_namespaces(
    fe: Frontend, req: ws.ListNamespacesRequest, context: Context
) -> ws.ListNamespacesResponse:
    names = sorted(fe.namespaces)
    page = tokens.decode_page_token(req.next_page_token)
    start = tokens.int_field(page, "offset")
    size = req.page_size if req.page_size > 0 else 100
    out = ws.ListNamespacesResponse()
    for name in names[start : start + size]:
        out.namespaces.append(_describe(fe, fe.namespaces[name]))
    if start + size < len(names):
        out.next_page_token = tokens.page_token(offset=start + size)
    return out


def _types(kinds: dict[str, str]) -> dict[str, int]:
    return {
        name: common_enums.IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{k}")
        for name, k in kinds.items()
    }


async def get_search_attributes(
    fe: Frontend, req: ws.GetSearchAttributesRequest, context: Context
) -> ws.GetSearchAttributesResponse:
    out = ws.GetSearchAttributesResponse()
    default = fe.namespaces.get("default")
    kinds = {**SYSTEM_SEARCH_ATTRIBUTES, **(default.search_attributes if default else {})}
    out.keys.update(_types(kinds))  # type: ignore[arg-type]
    return out


def _pollers(fe: Frontend, namespace: str, queue: str, task_type: int) -> list[tq_pb.PollerInfo]:
    out = []
    recent = fe.pollers.recent((namespace, queue, task_type), fe.now())
    for identity, poll in sorted(recent.items()):
        poller = tq_pb.PollerInfo(identity=identity, rate_per_second=poll.rate)
        poller.last_access_time.CopyFrom(convert.timestamp(int(poll.time)))
        if poll.capabilities is not None:
            poller.worker_version_capabilities.CopyFrom(poll.capabilities)
        if poll.deployment is not None:
            poller.deployment_options.CopyFrom(poll.deployment)
        out.append(poller)
    return out


async def describe_task_queue(
    fe: Frontend, req: ws.DescribeTaskQueueRequest, context: Context
) -> ws.DescribeTaskQueueResponse:
    """The legacy form lists one task type's pollers; the enhanced form (the `temporal`
    CLI's) answers per build id ("" for unversioned workers) and task type, with the
    pollers and the backlog, as `service/matching` DescribeTaskQueue does. (The Go SDK
    takes top-level pollers without `versions_info` for a pre-1.24 server and refuses.)"""
    fe.namespace(req.namespace)
    name = req.task_queue.name
    if not name:
        raise errors.invalid("taskQueue is not set")
    if len(name) > MAX_ID_LENGTH:  # common/tqid/task_queue_validator.go
        raise errors.invalid("taskQueue length exceeds limit")
    out = ws.DescribeTaskQueueResponse()
    if req.api_mode != tq_enums.DESCRIBE_TASK_QUEUE_MODE_ENHANCED:
        _legacy(fe, req, out)
        return out
    version = out.versions_info[""]
    types = list(req.task_queue_types or (1, 2))  # workflow, activity
    now = fe.now()
    cache = fe.runtime.queue_stats.described
    keys = [(req.namespace, name, task_type) for task_type in types]
    # Matching keeps each task type's answer, as the first request within 5 s asked for
    # it (pollers, stats or both), and gives it again until then; one missing entry
    # makes it ask every partition for all the types again
    # (`TaskQueueInfoByBuildIdTTL`; DescribeTaskQueue in service/matching/matching_engine.go)
    cached = [cache.get(key) for key in keys]
    if any(c is None or now - c[0] >= DESCRIBE_CACHE_TTL for c in cached):
        for key in [k for k, (made, _) in cache.items() if now - made >= DESCRIBE_CACHE_TTL]:
            del cache[key]  # expired: the cache holds only the last 5 s's answers
        for key, task_type in zip(keys, types, strict=True):
            info = tq_pb.TaskQueueTypeInfo()
            if req.report_pollers:
                info.pollers.extend(_pollers(fe, req.namespace, name, task_type))
            if req.report_stats:
                _stats(fe, req.namespace, name, task_type, info.stats)
            cache[key] = (now, info)
        cached = [cache[key] for key in keys]
    for task_type, entry in zip(types, cached, strict=True):
        assert entry is not None
        version.types_info[task_type].CopyFrom(entry[1])
    return out


DESCRIBE_CACHE_TTL = 5 * 10**9  # matching.TaskQueueInfoByBuildIdTTL's default, 5 s


def _stats(fe: Frontend, namespace: str, name: str, task_type: int, out: Any) -> None:
    """A queue's backlog, the age of its oldest task and its add and dispatch rates
    (queue_stats.py)."""
    now = fe.now()
    waiting = fe.runtime.backlog_tasks(namespace, name, task_type)
    out.approximate_backlog_count = len(waiting)
    age = queue_stats.backlog_age(waiting, partial(_run_state, fe), now)
    out.approximate_backlog_age.CopyFrom(convert.duration(age))
    out.tasks_add_rate, out.tasks_dispatch_rate = fe.runtime.queue_stats.rates(
        namespace, name, task_kind(task_type), now
    )


def _run_state(fe: Frontend, task: matching.MatchingTask) -> MutableState | None:
    try:
        return fe.state(task.namespace, task.workflow_id, task.run_id)
    except errors.ServiceError:
        return None


PARTITION_RPS = 1000.0  # admin.matchingNamespaceTaskqueueToPartitionDispatchRate's default
PARTITIONS = matching.MatchingConfig().write_partitions  # the model's matching default
RANGE_SIZE = 100_000  # a partition's first block of task ids: range id 1 (matching's RangeSize)
PARTITION_SUFFIX = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi takes


def partition_of(name: str) -> tuple[str, int]:
    """A partition's RPC name as its queue's name and the partition's number: NAME is
    partition 0, `/_sys/NAME/N` partition N (`parseRpcName`, common/tqid/task_queue_id.go)."""
    prefix = validate.RESERVED_QUEUE_PREFIX
    if not name.startswith(prefix):
        return name, 0
    base, slash, suffix = name[len(prefix) :].rpartition("/")
    if not slash or not base or not PARTITION_SUFFIX.fullmatch(suffix) or int(suffix) <= 0:
        raise errors.invalid(f"invalid task queue partition name {name}")
    if base.startswith(prefix):
        raise errors.invalid(f"task queue family name cannot have prefix {prefix} {base}")
    return base, int(suffix)


def _legacy(
    fe: Frontend, req: ws.DescribeTaskQueueRequest, out: ws.DescribeTaskQueueResponse
) -> None:
    """The legacy form describes one partition of one task type (the `temporal` CLI's
    `--legacy-mode` asks each partition in turn): its pollers (the model's pollers poll
    the root partition), its backlog with the first block of task ids when
    `include_task_queue_status` asks for them (the levels of matching's reads and acks,
    which the model has not, stay 0), and a normal queue's versioning info
    (`LegacyDescribeTaskQueue`, service/matching/task_queue_partition_manager.go)."""
    base, partition = partition_of(req.task_queue.name)
    task_type = req.task_queue_type or 1
    if partition == 0:
        out.pollers.extend(_pollers(fe, req.namespace, base, task_type))
    if req.include_task_queue_status:
        status = out.task_queue_status
        status.backlog_count_hint = fe.runtime.backlog(req.namespace, base, task_type, partition)
        status.rate_per_second = PARTITION_RPS * PARTITIONS
        status.task_id_block.start_id, status.task_id_block.end_id = 1, RANGE_SIZE
    if req.task_queue.kind != tq_enums.TASK_QUEUE_KIND_STICKY:
        fe.deployments.fill_queue_versioning(req.namespace, base, out.versioning_info)


async def list_task_queue_partitions(
    fe: Frontend, req: ws.ListTaskQueuePartitionsRequest, context: Context
) -> ws.ListTaskQueuePartitionsResponse:
    """Every write partition of the queue's workflow and activity queues, each with the
    host that owns it (this server), as matching lists them (`ListTaskQueuePartitions`
    in service/matching/matching_engine.go): the root partition by the queue's name,
    the others by their `/_sys/NAME/N` names, whatever kind the request gives."""
    fe.namespace(req.namespace)
    validate.task_queue(req)
    name = req.task_queue.name
    keys = [name, *(f"{validate.RESERVED_QUEUE_PREFIX}{name}/{i}" for i in range(1, PARTITIONS))]
    out = ws.ListTaskQueuePartitionsResponse()
    for listing in (out.activity_task_queue_partitions, out.workflow_task_queue_partitions):
        for key in keys:
            listing.add(key=key, owner_host_name=fe.host)
    return out


async def shutdown_worker(
    fe: Frontend, req: ws.ShutdownWorkerRequest, context: Context
) -> ws.ShutdownWorkerResponse:
    fe.namespace(req.namespace)
    if req.HasField("worker_heartbeat"):  # the worker's last heartbeat (rpc_workers.py)
        fe.workers.record(req.namespace, [req.worker_heartbeat])
    if req.sticky_task_queue:
        fe.runtime.unload_sticky(req.namespace, req.sticky_task_queue)
    return ws.ShutdownWorkerResponse()


# -- OperatorService -------------------------------------------------------------------


async def add_search_attributes(
    fe: Frontend, req: ops.AddSearchAttributesRequest, context: Context
) -> ops.AddSearchAttributesResponse:
    """As the operator handler does it for SQL visibility, the dev server's
    (`AddSearchAttributes`, `addSearchAttributesSQL` in service/frontend/operator_handler.go):
    the namespace is required, and a name the namespace has already is left alone."""
    if not req.search_attributes:
        raise errors.invalid(SEARCH_ATTRIBUTES_NOT_SET)
    for name, kind in req.search_attributes.items():
        if name in SYSTEM_SEARCH_ATTRIBUTES:
            raise errors.invalid(f"Search attribute {name} is reserved by system.")
        if kind == common_enums.INDEXED_VALUE_TYPE_UNSPECIFIED:
            # no preallocated field of that type: the dev server's message
            raise errors.invalid(
                "Unable to create search attributes: cannot have more than 0 search "
                "attribute of type Unspecified."
            )
    record = fe.namespace(_sa_namespace(req))
    for name, kind in req.search_attributes.items():
        type_name = common_enums.IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_")
        record.search_attributes.setdefault(name, type_name)
    fe.save_namespaces()
    return ops.AddSearchAttributesResponse()


def _sa_namespace(req: Any) -> str:
    if not req.namespace:  # required with SQL visibility
        raise errors.invalid("Namespace is not set on request.")
    return str(req.namespace)


async def list_search_attributes(
    fe: Frontend, req: ops.ListSearchAttributesRequest, context: Context
) -> ops.ListSearchAttributesResponse:
    record = fe.namespace(_sa_namespace(req))
    out = ops.ListSearchAttributesResponse(storage_schema={})
    out.system_attributes.update(_types(SYSTEM_SEARCH_ATTRIBUTES))  # type: ignore[arg-type]
    out.custom_attributes.update(_types(record.search_attributes))  # type: ignore[arg-type]
    return out


async def remove_search_attributes(
    fe: Frontend, req: ops.RemoveSearchAttributesRequest, context: Context
) -> ops.RemoveSearchAttributesResponse:
    """`removeSearchAttributesSQL` (operator_handler.go): an unknown name is skipped, a
    system one refused."""
    if not req.search_attributes:
        raise errors.invalid(SEARCH_ATTRIBUTES_NOT_SET)
    record = fe.namespace(_sa_namespace(req))
    for name in req.search_attributes:
        if name in SYSTEM_SEARCH_ATTRIBUTES:
            raise errors.invalid(f"Unable to remove non-custom search attributes: {name}.")
        record.search_attributes.pop(name, None)
    fe.save_namespaces()
    return ops.RemoveSearchAttributesResponse()


__all__ = ["ns_pb"]
