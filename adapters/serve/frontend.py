"""What every RPC handler shares: the runtime, the namespace registry, search
attribute definitions, and the translation of the cluster's answers into errors.

The handlers (rpc_*.py) translate a protobuf request into a core request, hand it to
the runtime, and translate the answer back; they keep no workflow state of their own.
What the frontend does keep is what Temporal keeps outside the history service: the
namespace registry (Temporal's metadata store), search attribute definitions (the
cluster metadata), and in-flight query and update waiters (the history service's
in-memory registries, which a crash would lose there too).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc

from core import requests as rq
from core.statemachine.history.service.state import MutableState
from core.statemachine.matching.version_sets import VersioningData
from sim.nodes.base import Payload, Request
from sim.persistence import RunRecord

from . import errors, validate
from .auth import Authorizer
from .deployments import Deployments
from .errors import ServiceError
from .limits import Concurrency, PollerHistory
from .runtime import DeadlineExceeded, Runtime
from .store import namespace_rows
from .worker_registry import WorkerRegistry

if TYPE_CHECKING:
    from ..archive.filestore import FileArchive
    from .internal_worker import InternalWorker
    from .nexus_tasks import NexusTasks
    from .rpc_nexus_endpoints import Registry
    from .rpc_queries import Queries
    from .standalone import StandaloneActivities
    from .standalone_nexus import StandaloneNexus

DEFAULT_RETENTION_NS = 86_400 * 1_000_000_000  # the dev server's default: one day
# The search attributes every namespace has (temporal's searchattribute.system), by
# name and IndexedValueType name; custom ones are added by OperatorService.
SYSTEM_SEARCH_ATTRIBUTES: dict[str, str] = {
    "WorkflowId": "KEYWORD",
    "RunId": "KEYWORD",
    "WorkflowType": "KEYWORD",
    "ExecutionStatus": "KEYWORD",
    "StartTime": "DATETIME",
    "CloseTime": "DATETIME",
    "ExecutionTime": "DATETIME",
    "ExecutionDuration": "INT",
    "HistoryLength": "INT",
    "TaskQueue": "KEYWORD",
    "TemporalChangeVersion": "KEYWORD_LIST",
    "BuildIds": "KEYWORD_LIST",
    "BatcherUser": "KEYWORD",
    "TemporalScheduledStartTime": "DATETIME",
    "TemporalScheduledById": "KEYWORD",
    "TemporalSchedulePaused": "BOOL",
    "TemporalNamespaceDivision": "KEYWORD",
    "TemporalPauseInfo": "KEYWORD_LIST",
    # the rest of what the 1.32 dev server lists (common/searchattribute/sadefs/
    # constants.go): the system ones visibility fills in (Parent*, Root*, and on a
    # closed run the transition count and history size), and predefined ones the model
    # leaves unset (a query finds them NULL)
    "StateTransitionCount": "INT",
    "HistorySizeBytes": "INT",
    "ParentWorkflowId": "KEYWORD",
    "ParentRunId": "KEYWORD",
    "RootWorkflowId": "KEYWORD",
    "RootRunId": "KEYWORD",
    "BinaryChecksums": "KEYWORD_LIST",
    "BatcherNamespace": "KEYWORD",
    "TemporalReportedProblems": "KEYWORD_LIST",
    "TemporalExternalPayloadCount": "INT",
    "TemporalExternalPayloadSizeBytes": "INT",
    "TemporalUsedWorkerDeploymentVersions": "KEYWORD_LIST",
    "TemporalWorkerDeployment": "KEYWORD",
    "TemporalWorkerDeploymentVersion": "KEYWORD",
    "TemporalWorkflowVersioningBehavior": "KEYWORD",
}


@dataclass(slots=True)
class Namespace:
    name: str
    id: str
    description: str = ""
    owner_email: str = ""
    retention_ns: int = DEFAULT_RETENTION_NS
    data: dict[str, str] = field(default_factory=dict)
    # custom ones only: `temporal server start-dev` (CLI 1.9.1) predefines none
    search_attributes: dict[str, str] = field(default_factory=dict)
    # temporal.api.enums.v1.ReplicationState: NORMAL for a namespace RegisterNamespace
    # made (service/frontend/namespace_handler.go), UNSPECIFIED for those the server
    # made itself (the dev server's --namespace ones, the system namespace)
    replication_state: int = 0


SYSTEM_NAMESPACE = "temporal-system"


def system_namespace() -> Namespace:
    """The namespace of the server's own workflows, which every server has
    (InitializeSystemNamespaces, common/persistence/metadata_manager.go; its name, id
    and retention in common/primitives/namespaces.go). Its system workflows (the
    scanners) are not modelled: it is there to be listed, described and used."""
    return Namespace(
        name=SYSTEM_NAMESPACE,
        id="32049b68-7872-4094-8e63-d0dd59896a83",
        description="Temporal internal system namespace",
        owner_email="temporal-core@temporal.io",
        retention_ns=7 * 24 * 3600 * 1_000_000_000,
    )


def uuid_v7(unix_ms: int, bits: int) -> str:
    """RFC 9562's layout: 48 bits of milliseconds, version 7, 12 random bits, variant
    0b10, 62 random bits (`bits` holds the 74 random ones)."""
    value = (unix_ms & (1 << 48) - 1) << 80 | 7 << 76 | (bits >> 62 & 0xFFF) << 64
    return str(uuid.UUID(int=value | 0b10 << 62 | bits & (1 << 62) - 1))


class Frontend:
    """The state and helpers behind every RPC handler."""

    def __init__(self, runtime: Runtime, namespaces: list[str]) -> None:
        self.runtime = runtime
        self.rng = runtime.kernel.rng
        self.host = ""  # HOST:PORT this server listens on (set when it starts)
        self.namespaces: dict[str, Namespace] = {}
        self.internal: InternalWorker | None = None  # polls each namespace's system queue
        self.archive: FileArchive | None = None  # --archive: closed histories (retention.py)
        for row in runtime.opened.namespaces if runtime.opened is not None else ():
            self.namespaces[row["name"]] = Namespace(**row)  # from the store: same ids
            runtime.cluster.namespaces.add(row["name"])
        if SYSTEM_NAMESPACE not in self.namespaces:  # it has a fixed id: no id drawn
            self.namespaces[SYSTEM_NAMESPACE] = system_namespace()
            runtime.cluster.namespaces.add(SYSTEM_NAMESPACE)
        for name in namespaces:
            if name not in self.namespaces:
                self.add_namespace(name)
        self.queries: Queries  # the query tasks (set by the server)
        # failures of updates that a completion rejected (no event records them), each
        # with the serial it was recorded at: only the callers already waiting then see
        # it. The server's registry forgets a rejected update, so a later request with
        # its id is a new update and a later poll finds none (update/registry.go).
        self.rejections: dict[tuple[str, str], tuple[int, Any]] = {}
        self.rejection_serial = 0
        self.pollers = PollerHistory()  # DescribeTaskQueue's pollers (limits.py)
        self.auth: Authorizer | None = None  # --auth: who may call what (auth.py)
        self.concurrency = Concurrency()  # long-running calls in flight (limits.py)
        self.nexus_endpoints: Registry | None = None  # OperatorService's (rpc_nexus_endpoints.py)
        self.nexus_tasks: NexusTasks | None = None  # the Nexus task queues (nexus_tasks.py)
        self.deployments = Deployments(self.now)  # Worker Deployments (deployments.py)
        # worker heartbeats (rpc_workers.py), expiring in real time, not the model's
        # clock, which time skipping moves on: a worker's liveness is not simulated
        self.workers = WorkerRegistry(time.monotonic_ns)
        # worker versioning v1: each (namespace, task queue)'s compatible version sets
        # (rpc_build_ids.py; matching's task queue user data)
        self.version_sets: dict[tuple[str, str], VersioningData] = {}
        # completion callbacks called: (run id, index among the run's callbacks) -> whether
        # the caller took it, and when (nexus_callbacks.py; DescribeWorkflowExecution)
        self.callbacks_called: dict[tuple[str, int], tuple[bool, int]] = {}
        self.standalone: StandaloneActivities | None = None  # standalone.py (set by the server)
        self.standalone_nexus: StandaloneNexus | None = None  # standalone_nexus.py (the server's)

    # -- ids --------------------------------------------------------------------------
    def new_id(self) -> str:
        """A version-7 UUID (run ids, namespace ids, request ids), as the server's
        `primitives.NewUUID` makes them (common/primitives/uuid.go, `uuid.NewV7`): the
        server clock's Unix milliseconds, the version, the variant, and 74 bits drawn
        from the server's seeded RNG."""
        return uuid_v7(self.now() // 1_000_000, self.rng.getrandbits(74))

    # -- namespaces -------------------------------------------------------------------
    def add_namespace(self, name: str, **fields: Any) -> Namespace:
        record = Namespace(name, self.new_id(), **fields)
        self.namespaces[name] = record
        self.runtime.cluster.namespaces.add(name)
        self.save_namespaces()
        if self.internal is not None and self.internal.tasks:  # a server already started
            self.internal.watch(name)
        return record

    def save_namespaces(self) -> None:
        """Keep the registry in the store, if the server has one (after each change)."""
        if self.runtime.store is not None:
            self.runtime.store.save_namespaces(namespace_rows(self.namespaces.values()))

    def namespace(self, name: str) -> Namespace:
        record = self.namespaces.get(name)
        if record is None:
            raise errors.namespace_not_found(name)
        return record

    def search_attribute_types(self, namespace: str) -> dict[str, str]:
        return {**SYSTEM_SEARCH_ATTRIBUTES, **self.namespace(namespace).search_attributes}

    # -- time -------------------------------------------------------------------------
    @staticmethod
    def deadline(context: grpc.aio.ServicerContext[Any, Any]) -> float | None:
        """The caller's deadline on the event loop's clock (None: no deadline)."""
        remaining = context.time_remaining()
        if remaining is None:
            return None
        return asyncio.get_running_loop().time() + remaining

    @staticmethod
    def time_left(context: grpc.aio.ServicerContext[Any, Any]) -> float | None:
        """Seconds left before the caller's deadline, never below 0 (None: no deadline)."""
        remaining = context.time_remaining()
        return None if remaining is None else max(0.0, remaining)

    def now(self) -> int:
        return self.runtime.kernel.tick()

    # -- runs -------------------------------------------------------------------------
    def run(self, namespace: str, workflow_id: str, run_id: str = "") -> RunRecord:
        """The run, or the NotFound error the server gives for it."""
        if not workflow_id:
            raise errors.invalid("WorkflowId is not set on request.")
        validate.run_id(run_id)  # the handlers' `validateExecution` (workflow_handler.go)
        record = self.runtime.record(namespace, workflow_id, run_id)
        if record is not None:
            return record
        if run_id:
            raise errors.not_found(
                f'workflow execution not found for workflow ID "{workflow_id}" '
                f'and run ID "{run_id}"'
            )
        raise errors.not_found(f"workflow not found for ID: {workflow_id}")

    def state(self, namespace: str, workflow_id: str, run_id: str = "") -> MutableState:
        return self.run(namespace, workflow_id, run_id).state

    async def reply(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
    ) -> Payload:
        """The run's history service's reply to `req`, an error reply included; the
        call's deadline passing raises."""
        try:
            return await self.runtime.call(
                namespace, workflow_id, run_id, req, self.deadline(context)
            )
        except DeadlineExceeded as exc:
            raise errors.deadline(str(exc)) from None

    async def call(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
    ) -> Payload:
        """Send `req` to the run's history service; an error reply raises."""
        answer = await self.reply(context, namespace, workflow_id, run_id, req)
        if isinstance(answer, rq.Error):
            raise reply_error(answer, workflow_id)
        return answer


def reply_error(error: rq.Error, workflow_id: str = "") -> ServiceError:
    """A history service error reply as the frontend's gRPC error."""
    kind = error.kind
    if kind is rq.ErrorKind.WORKFLOW_COMPLETED:
        return errors.not_found("workflow execution already completed")
    if kind is rq.ErrorKind.NOT_FOUND:
        if error.message.startswith("no run"):
            return errors.not_found(f"workflow not found for ID: {workflow_id}")
        if error.message == "workflow task not found":  # a stale token, as the server says
            return errors.not_found("Workflow task not found.")
        return errors.not_found(error.message)
    if kind is rq.ErrorKind.INVALID_ARGUMENT:
        return errors.invalid(error.message)
    if kind in (rq.ErrorKind.ALREADY_STARTED, rq.ErrorKind.OBSOLETE):
        return errors.not_found(error.message)
    if kind is rq.ErrorKind.FAILED_PRECONDITION:
        return errors.failed_precondition(error.message)
    if kind is rq.ErrorKind.NOT_READY:
        return errors.unavailable(error.message)
    if kind is rq.ErrorKind.RESOURCE_EXHAUSTED:
        return errors.concurrent_limit(error.message)
    return ServiceError(grpc.StatusCode.ALREADY_EXISTS, error.message)
