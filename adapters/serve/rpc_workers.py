"""Worker heartbeats: RecordWorkerHeartbeat, ListWorkers, CountWorkers, DescribeWorker
(`temporal worker list`, `count` and `describe`).

The frontend passes each to the matching service's worker registry
(`service/frontend/workflow_handler.go`, `service/matching/handler.go`), kept here in
worker_registry.py with the query of worker_query.py. Heartbeats are on, as on the dev
server (`frontend.WorkerHeartbeatsEnabled`), so DescribeNamespace declares them and the
SDKs send them: temporalio every `worker_heartbeat_interval` of its Runtime (60 s by
default) from the worker's start, and the last one with ShutdownWorker (rpc_system.py).
The namespace does not declare worker commands (`frontend.WorkerCommandsEnabled` is off
on the dev server too), so the SDK keeps no Nexus poller on a worker-commands queue.
ListWorkers answers each worker twice, as the matching handler does: its whole
heartbeat in `workers_info` (what the `temporal` CLI shows) and a summary in `workers`.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.worker.v1 import message_pb2 as worker_pb
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws

from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]


async def record_worker_heartbeat(
    fe: Frontend, req: ws.RecordWorkerHeartbeatRequest, context: Context
) -> ws.RecordWorkerHeartbeatResponse:
    fe.namespace(req.namespace)
    fe.workers.record(req.namespace, req.worker_heartbeat)
    return ws.RecordWorkerHeartbeatResponse()


async def list_workers(
    fe: Frontend, req: ws.ListWorkersRequest, context: Context
) -> ws.ListWorkersResponse:
    fe.namespace(req.namespace)
    found, token = fe.workers.page(
        req.namespace, req.query, req.include_system_workers, req.page_size, req.next_page_token
    )
    out = ws.ListWorkersResponse(next_page_token=token)
    for heartbeat in found:
        out.workers_info.add().worker_heartbeat.CopyFrom(heartbeat)
        out.workers.append(list_info(heartbeat))
    return out


def list_info(hb: worker_pb.WorkerHeartbeat) -> worker_pb.WorkerListInfo:
    """A worker's summary in a listing (`workerHeartbeatToListInfo`, matching's handler.go)."""
    out = worker_pb.WorkerListInfo(
        worker_instance_key=hb.worker_instance_key,
        worker_identity=hb.worker_identity,
        task_queue=hb.task_queue,
        sdk_name=hb.sdk_name,
        sdk_version=hb.sdk_version,
        status=hb.status,
        host_name=hb.host_info.host_name,
        worker_grouping_key=hb.host_info.worker_grouping_key,
        process_id=hb.host_info.process_id,
        plugins=hb.plugins,
        drivers=hb.drivers,
    )
    if hb.HasField("deployment_version"):
        out.deployment_version.CopyFrom(hb.deployment_version)
    if hb.HasField("start_time"):
        out.start_time.CopyFrom(hb.start_time)
    return out


async def count_workers(
    fe: Frontend, req: ws.CountWorkersRequest, context: Context
) -> ws.CountWorkersResponse:
    fe.namespace(req.namespace)
    found = fe.workers.matching(req.namespace, req.query, req.include_system_workers)
    return ws.CountWorkersResponse(count=len(found))


async def describe_worker(
    fe: Frontend, req: ws.DescribeWorkerRequest, context: Context
) -> ws.DescribeWorkerResponse:
    fe.namespace(req.namespace)
    out = ws.DescribeWorkerResponse()
    out.worker_info.worker_heartbeat.CopyFrom(
        fe.workers.describe(req.namespace, req.worker_instance_key)
    )
    return out
