"""The gRPC server: WorkflowService, OperatorService and TestService over the runtime.

Each service is served through the servicer base class and `add_*_to_server` function
that temporalio ships (`temporalio.api.*.v1.service_pb2_grpc`). Every RPC the service
descriptor declares gets a method: the ones this server implements call their handler,
the rest answer UNIMPLEMENTED naming the RPC. Every handler runs inside one boundary
that turns a `ServiceError` into its status code, message and Temporal error details,
and anything unexpected into INTERNAL (logged with its traceback, never leaked).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import grpc
from google.protobuf import wrappers_pb2
from temporalio.api.operatorservice.v1 import service_pb2 as op_service
from temporalio.api.operatorservice.v1 import service_pb2_grpc as op_grpc
from temporalio.api.testservice.v1 import service_pb2 as test_service
from temporalio.api.testservice.v1 import service_pb2_grpc as test_grpc
from temporalio.api.workflowservice.v1 import service_pb2 as wf_service
from temporalio.api.workflowservice.v1 import service_pb2_grpc as wf_grpc

from core.schedule import api as schedule_api
from core.statemachine.replay.definition import definition

from ..archive.filestore import FileArchive
from . import (
    access,
    activity_callbacks,
    batcher,
    errors,
    report,
    rpc_activity_exec,
    rpc_activity_ops,
    rpc_batch,
    rpc_build_ids,
    rpc_deployments,
    rpc_executions,
    rpc_interact,
    rpc_nexus_endpoints,
    rpc_nexus_tasks,
    rpc_pause,
    rpc_queries,
    rpc_reads,
    rpc_schedules,
    rpc_system,
    rpc_tasks,
    rpc_testing,
    rpc_workers,
    standalone_nexus_rpc,
    standalone_rpc,
)
from .auth import Authorizer
from .chaos import LiveFaults, Spec
from .frontend import Frontend
from .gate import Collector, Listener
from .internal_worker import InternalWorker
from .nexus_callbacks import NexusCallbacks
from .nexus_tasks import NexusTasks
from .retention import Retention
from .rpc_queries import Queries
from .runtime import Runtime
from .schedule_activities import ScheduleActivities
from .standalone import StandaloneActivities
from .standalone_nexus import StandaloneNexus
from .store import StoreError

log = logging.getLogger("tmodel.serve")
Handler = Callable[[Frontend, Any, Any], Awaitable[Any]]
__all__ = ["Server", "StoreError", "report"]

WORKFLOW_HANDLERS: tuple[Any, ...] = (
    rpc_activity_exec,
    rpc_activity_ops,
    rpc_batch,
    rpc_build_ids,
    rpc_deployments,
    rpc_executions,
    rpc_interact,
    rpc_nexus_tasks,
    rpc_pause,
    rpc_queries,
    rpc_reads,
    rpc_schedules,
    rpc_system,
    rpc_tasks,
    rpc_workers,
    standalone_nexus_rpc,
    standalone_rpc,
)
OPERATOR_RPCS = (
    "AddSearchAttributes",
    "ListSearchAttributes",
    "RemoveSearchAttributes",
    "CreateNexusEndpoint",
    "GetNexusEndpoint",
    "ListNexusEndpoints",
    "UpdateNexusEndpoint",
    "DeleteNexusEndpoint",
)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _find(modules: tuple[Any, ...], rpc: str) -> Handler | None:
    for module in modules:
        handler = getattr(module, snake(rpc), None)
        if handler is not None:
            return handler  # type: ignore[no-any-return]
    return None


def _method(
    fe: Frontend, service: str, rpc: str, handler: Handler | None
) -> Callable[..., Awaitable[Any]]:
    async def call(self: object, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            access.check(fe.auth, service, rpc, request, context.invocation_metadata())
            if handler is None:
                raise errors.unimplemented(rpc)
            with fe.concurrency.call(rpc, access.request_namespace(rpc, request), request):
                return await handler(fe, request, context)
        except errors.ServiceError as exc:
            await context.abort_with_status(exc.status())
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("internal error in %s", rpc)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {rpc}")
        raise AssertionError("unreachable")

    call.__name__ = rpc
    return call


def servicer(
    base: type,
    descriptor: Any,
    fe: Frontend,
    modules: tuple[Any, ...],
    only: tuple[str, ...] | None = None,
) -> Any:
    """An instance of `base` whose every RPC is authorized (access.py), then routed to
    its handler (or declined)."""
    methods = {}
    for method in descriptor.methods:
        handler = _find(modules, method.name)
        if only is not None and method.name not in only:
            handler = None
        methods[method.name] = _method(fe, descriptor.name, method.name, handler)
    return type(f"Tmodel{base.__name__}", (base,), methods)()


def implemented(descriptor: Any, modules: tuple[Any, ...]) -> list[str]:
    """The RPCs of a service this server implements (the rest are UNIMPLEMENTED)."""
    return [m.name for m in descriptor.methods if _find(modules, m.name) is not None]


# The services a health check answers SERVING for. The frontend's grpc-go health server
# (`health.NewServer()`, provided in `common/resource/fx.go`) knows "" (the whole
# server) from the start, and each handler adds its own name when it starts
# (`service/frontend/workflow_handler.go`, `operator_handler.go`, `admin_handler.go`;
# the names in `service/frontend/interface.go`); any other name is answered NOT_FOUND
# "unknown service" (grpc-go `health/server.go` Check). These are the services this
# server registers: AdminService, which it does not serve, is left out (the dev server
# answers SERVING for it), and TestService, which it does serve, is in.
HEALTHY = frozenset(
    {
        "",
        "temporal.api.workflowservice.v1.WorkflowService",
        "temporal.api.operatorservice.v1.OperatorService",
        "temporal.api.testservice.v1.TestService",
    }
)


async def _health_check(service: str, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
    """grpc.health.v1.Health/Check (the `temporal` CLI and the SDKs' check_health ask
    it). HealthCheckRequest is one string field, number 1, so it decodes as a
    StringValue; the reply is HealthCheckResponse {status: SERVING} (field 1, varint 1),
    encoded by hand to need no generated code."""
    if service not in HEALTHY:
        await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    return b"\x08\x01"


def _service_name(request: bytes) -> str:
    return wrappers_pb2.StringValue.FromString(request).value


HEALTH = grpc.method_handlers_generic_handler(
    "grpc.health.v1.Health",
    {
        "Check": grpc.unary_unary_rpc_method_handler(
            _health_check, request_deserializer=_service_name
        )
    },
)


class Server:
    """A `tmodel serve` instance: runtime, frontend and gRPC listener, started together.
    Given a listener already started (see gate.py), `start` opens its gate."""

    def __init__(
        self,
        address: str = "127.0.0.1:7233",
        namespaces: tuple[str, ...] = ("default",),
        time_skipping: bool = False,
        locked: bool = False,
        seed: int = 0,
        listener: Listener | None = None,
        auth: Authorizer | None = None,
        store: str | None = None,
        mutant: str | None = None,
        faults: Spec | None = None,
        archive: str | None = None,
        timer_shift: int = 0,
        limits: Mapping[str, int | bool] | None = None,
    ) -> None:
        self.address = address
        self.seed = seed
        self.started = time.monotonic()
        self.runtime = Runtime(
            namespaces, time_skipping, seed, locked, store, mutant, timer_shift, limits
        )
        self.faults = LiveFaults(self.runtime, faults, seed) if faults is not None else None
        self.frontend = Frontend(self.runtime, list(namespaces))
        self.frontend.auth = auth
        self.frontend.queries = Queries(self.frontend)
        self.frontend.nexus_tasks = NexusTasks(self.frontend)
        self.frontend.deployments.install(self.runtime)  # tasks routed by version
        self.nexus_callbacks = NexusCallbacks(self.frontend)  # async operations' completions
        self.frontend.standalone = StandaloneActivities(self.frontend)  # standalone activities
        # a standalone activity's completion callbacks (activity_callbacks.py)
        self.frontend.standalone.on_close.append(activity_callbacks.listener(self.nexus_callbacks))
        self.frontend.standalone_nexus = StandaloneNexus(
            self.frontend
        )  # standalone Nexus operations
        try:
            self.frontend.archive = FileArchive(archive) if archive is not None else None
        except OSError as exc:
            raise StoreError(f"cannot use archive directory {archive}: {exc}") from None
        self.retention = Retention(self.frontend, self.frontend.archive)
        self.internal = InternalWorker(  # the system workflows (internal_worker.py)
            self.runtime,
            {
                batcher.WORKFLOW_TYPE: definition(batcher.BatchWorkflow),
                schedule_api.WORKFLOW_TYPE: rpc_schedules.DEFINITION,
            },
            {
                batcher.ACTIVITY_TYPE: batcher.BatchActivity(self.frontend),
                **ScheduleActivities(self.frontend).table(),
            },
        )
        self.frontend.internal = self.internal
        self.listener = listener if listener is not None else Listener(address)
        fe = self.frontend
        services = (  # (servicer base, descriptor, handler modules, RPCs served or all, add)
            (
                wf_grpc.WorkflowServiceServicer,
                wf_service,
                "WorkflowService",
                WORKFLOW_HANDLERS,
                None,
                wf_grpc.add_WorkflowServiceServicer_to_server,
            ),
            (
                op_grpc.OperatorServiceServicer,
                op_service,
                "OperatorService",
                (rpc_system, rpc_nexus_endpoints),
                OPERATOR_RPCS,
                op_grpc.add_OperatorServiceServicer_to_server,
            ),
            (
                test_grpc.TestServiceServicer,
                test_service,
                "TestService",
                (rpc_testing,),
                None,
                test_grpc.add_TestServiceServicer_to_server,
            ),
        )
        self.handlers = Collector()
        for base, module, name, modules, only, add in services:
            descriptor = module.DESCRIPTOR.services_by_name[name]
            add(servicer(base, descriptor, fe, modules, only), cast(grpc.Server, self.handlers))
        self.handlers.add_generic_rpc_handlers((HEALTH,))

    @property
    def port(self) -> int:
        return self.listener.port

    async def start(self) -> int:
        """Start serving; the port actually bound (the address may ask for port 0)."""
        await self.runtime.start()
        self.internal.start(list(self.frontend.namespaces))
        self.retention.start()
        if self.faults is not None:
            self.faults.start()
        if self.listener.port == 0:
            await self.listener.start()
        self.frontend.host = f"{self.listener.address.rpartition(':')[0]}:{self.listener.port}"
        self.listener.gate.open(self.handlers.handlers)
        return self.listener.port

    def report(self) -> dict[str, Any]:
        """The invariant report (report.py): the end checks, then every verdict."""
        self.retention.recheck()
        report.final_checks(self.runtime)
        return report.build(self.runtime, self.faults, self.seed, self.started)

    async def stop(self, grace: float = 0.5) -> None:
        await self.listener.stop(grace)
        await self.internal.stop()
        await self.runtime.stop()

    async def wait(self) -> None:
        await self.listener.grpc.wait_for_termination()
