"""`tmodel serve --auth FILE`: bearer tokens, per-namespace roles, every RPC authorized.

Theory of operation. Temporal's frontend authorizes each call in an interceptor
(`common/authorization/interceptor.go`) before any handler runs: a claim mapper turns
the caller's `authorization` header into `Claims` (a subject, a system role and a role
per namespace), and the default authorizer (`default_authorizer.go`) compares the role
the caller holds where the call lands with the role the RPC needs. Here the claim
mapper is a file of static tokens (the SDKs send their `api_key` as
``authorization: Bearer <key>``); the rest follows Temporal:

- Roles are bits, as in `roles.go`: worker 1, reader 2, writer 4, admin 8; a caller's
  role on a namespace is its system role OR its role there.
- Each RPC has a scope and an access level (`common/api/metadata.go`, copied below
  for the RPCs this server serves): a namespace RPC is checked against the role on the
  request's namespace, a cluster RPC against the system role; read-only needs reader,
  write needs writer, admin needs admin, compared as numbers (`hasRole >=
  getRequiredRole(access)`).
- Health checks (grpc.health.v1 Check and GetSystemInfo) are open to everyone; any
  other call without a known token is denied (`claims == nil`).
- A denial is PERMISSION_DENIED "Request unauthorized." with an empty reason
  (`errUnauthorized`): it names nothing of the namespace or what it holds.
- RespondWorkflowTaskCompleted's commands that reach another namespace (a child, an
  external signal or cancel) need the matching right there too
  (`authorizeTargetNamespaces`).

Two additions, because the model's tokens are plain JSON a caller could rewrite: a
task token's namespace is authorized like the request's (the real server finds the
namespace from the token and refuses a mismatch, `namespace_validator.go`), and the
operations inside ExecuteMultiOperation are authorized on their own namespaces. And one
reading: the default authorizer lets a bare worker bit (1, below reader) do nothing;
here it grants what an SDK worker calls on its namespace (`WORKER_RPCS`). TestService
(not Temporal's frontend) needs the system admin role.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ROLES = {"worker": 1, "reader": 2, "writer": 4, "admin": 8}  # roles.go
READ, WRITE, ADMIN = ROLES["reader"], ROLES["writer"], ROLES["admin"]
HEALTH_CHECKS = frozenset({"grpc.health.v1.Health/Check", "WorkflowService/GetSystemInfo"})
UNAUTHORIZED = "Request unauthorized."  # interceptor.go RequestUnauthorized
MAX_AUTH_FILE = 4 * 2**20

# RPC -> the role its access level needs (metadata.go: AccessReadOnly -> reader,
# AccessWrite -> writer, AccessAdmin -> admin); all are namespace-scoped except CLUSTER.
NAMESPACE_RPCS: dict[str, int] = {
    "RegisterNamespace": ADMIN,
    "DescribeNamespace": READ,
    "UpdateNamespace": ADMIN,
    "StartWorkflowExecution": WRITE,
    "GetWorkflowExecutionHistory": READ,
    "GetWorkflowExecutionHistoryReverse": READ,
    "PollWorkflowTaskQueue": WRITE,
    "RespondWorkflowTaskCompleted": WRITE,
    "RespondWorkflowTaskFailed": WRITE,
    "PollActivityTaskQueue": WRITE,
    "RecordActivityTaskHeartbeat": WRITE,
    "RecordActivityTaskHeartbeatById": WRITE,
    "RespondActivityTaskCompleted": WRITE,
    "RespondActivityTaskCompletedById": WRITE,
    "RespondActivityTaskFailed": WRITE,
    "RespondActivityTaskFailedById": WRITE,
    "RespondActivityTaskCanceled": WRITE,
    "RespondActivityTaskCanceledById": WRITE,
    "RequestCancelWorkflowExecution": WRITE,
    "SignalWorkflowExecution": WRITE,
    "SignalWithStartWorkflowExecution": WRITE,
    "ResetWorkflowExecution": WRITE,
    "TerminateWorkflowExecution": WRITE,
    "DeleteWorkflowExecution": WRITE,
    "ListWorkflowExecutions": READ,
    "CountWorkflowExecutions": READ,
    "RespondQueryTaskCompleted": WRITE,
    "ShutdownWorker": WRITE,
    "ResetStickyTaskQueue": WRITE,
    "PauseActivity": WRITE,
    "UnpauseActivity": WRITE,
    "ResetActivity": WRITE,
    "UpdateActivityOptions": WRITE,
    "ExecuteMultiOperation": WRITE,
    "QueryWorkflow": READ,
    "DescribeWorkflowExecution": READ,
    "DescribeTaskQueue": READ,
    "ListTaskQueuePartitions": READ,
    "PauseWorkflowExecution": WRITE,
    "UnpauseWorkflowExecution": WRITE,
    "UpdateWorkflowExecution": WRITE,
    "PollWorkflowExecutionUpdate": READ,
    "RecordWorkerHeartbeat": WRITE,
    "ListWorkers": READ,  # worker heartbeats (rpc_workers.py)
    "CountWorkers": READ,
    "DescribeWorker": READ,
    "StartBatchOperation": WRITE,
    "StopBatchOperation": WRITE,
    "DescribeBatchOperation": READ,
    "ListBatchOperations": READ,
    "CreateSchedule": WRITE,
    "UpdateSchedule": WRITE,
    "PatchSchedule": WRITE,
    "DeleteSchedule": WRITE,
    "DescribeSchedule": READ,
    "ListSchedules": READ,
    "ListScheduleMatchingTimes": READ,
    "PollNexusTaskQueue": WRITE,
    "RespondNexusTaskCompleted": WRITE,
    "RespondNexusTaskFailed": WRITE,
    # Worker Deployments (rpc_deployments.py)
    "DescribeWorkerDeployment": READ,
    "ListWorkerDeployments": READ,
    "DescribeWorkerDeploymentVersion": READ,
    "SetWorkerDeploymentCurrentVersion": WRITE,
    "SetWorkerDeploymentRampingVersion": WRITE,
    "DeleteWorkerDeploymentVersion": WRITE,
    "DeleteWorkerDeployment": WRITE,
    "UpdateWorkerDeploymentVersionMetadata": WRITE,
    "SetWorkerDeploymentManager": WRITE,
    "UpdateWorkflowExecutionOptions": WRITE,
    # worker versioning v1, compatible version sets (rpc_build_ids.py)
    "UpdateWorkerBuildIdCompatibility": WRITE,
    "GetWorkerBuildIdCompatibility": READ,
    "GetWorkerTaskReachability": READ,
    "StartActivityExecution": WRITE,  # standalone activities
    "DescribeActivityExecution": READ,
    "PollActivityExecution": READ,
    "ListActivityExecutions": READ,
    "CountActivityExecutions": READ,
    "RequestCancelActivityExecution": WRITE,
    "TerminateActivityExecution": WRITE,
    "DeleteActivityExecution": WRITE,
    "PauseActivityExecution": WRITE,
    "UnpauseActivityExecution": WRITE,
    "ResetActivityExecution": WRITE,
    "UpdateActivityExecutionOptions": WRITE,
    "StartNexusOperationExecution": WRITE,  # standalone Nexus operations
    "DescribeNexusOperationExecution": READ,
    "PollNexusOperationExecution": READ,
    "ListNexusOperationExecutions": READ,
    "CountNexusOperationExecutions": READ,
    "RequestCancelNexusOperationExecution": WRITE,
    "TerminateNexusOperationExecution": WRITE,
    "DeleteNexusOperationExecution": WRITE,
    # OperatorService
    "AddSearchAttributes": ADMIN,
    "RemoveSearchAttributes": ADMIN,
    "ListSearchAttributes": READ,
}
CLUSTER_RPCS: dict[str, int] = {
    "ListNamespaces": READ,
    "GetSearchAttributes": READ,
    "GetClusterInfo": READ,
    # the Nexus endpoint registry: cluster-wide, for a system admin (metadata.go)
    "CreateNexusEndpoint": ADMIN,
    "UpdateNexusEndpoint": ADMIN,
    "DeleteNexusEndpoint": ADMIN,
    "GetNexusEndpoint": ADMIN,
    "ListNexusEndpoints": ADMIN,
}
# What an SDK worker calls on its own namespace (tmodel's reading of the worker bit).
WORKER_RPCS = frozenset(
    {
        "DescribeNamespace",
        "PollWorkflowTaskQueue",
        "RespondWorkflowTaskCompleted",
        "RespondWorkflowTaskFailed",
        "PollActivityTaskQueue",
        "RecordActivityTaskHeartbeat",
        "RespondActivityTaskCompleted",
        "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled",
        "RespondQueryTaskCompleted",
        "ShutdownWorker",
        "RecordWorkerHeartbeat",
        "PollNexusTaskQueue",
        "RespondNexusTaskCompleted",
        "RespondNexusTaskFailed",
    }
)
# Commands of RespondWorkflowTaskCompleted that act in another namespace, by the field
# holding their attributes, and the RPC whose right they need there (interceptor.go).
CROSS_NAMESPACE_COMMANDS = {
    "signal_external_workflow_execution_command_attributes": "SignalWorkflowExecution",
    "start_child_workflow_execution_command_attributes": "StartWorkflowExecution",
    "request_cancel_external_workflow_execution_command_attributes": (
        "RequestCancelWorkflowExecution"
    ),
}


class AuthFileError(Exception):
    """The --auth file is not what it must be (one line for the user)."""


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    system: int = 0
    namespaces: Mapping[str, int] = field(default_factory=dict)

    def role(self, namespace: str) -> int:
        """`claims.System | claims.Namespaces[target.Namespace]`."""
        return self.system | self.namespaces.get(namespace, 0)


def allowed(claims: Claims | None, service: str, rpc: str, namespace: str) -> bool:
    """The default authorizer's decision for `rpc` of `service` on `namespace`."""
    if f"{service}/{rpc}" in HEALTH_CHECKS:
        return True
    if claims is None:
        return False
    if service == "TestService":
        return claims.system & ADMIN != 0
    if rpc in CLUSTER_RPCS:
        return claims.system >= CLUSTER_RPCS[rpc]
    needed = NAMESPACE_RPCS.get(rpc)
    if needed is None:
        return False  # unknown scope: metadata.go gives ScopeUnknown, which is denied
    role = claims.role(namespace)
    if role >= needed:
        return True
    return role & ROLES["worker"] != 0 and rpc in WORKER_RPCS


class Authorizer:
    """The tokens of one --auth file and the decisions made with them."""

    def __init__(self, tokens: Mapping[str, Claims]) -> None:
        self.tokens = dict(tokens)

    def claims(self, metadata: Iterable[tuple[str, str | bytes]]) -> Claims | None:
        """The caller's claims from its `authorization: Bearer <token>` header; None
        when it sends none, another scheme, or a token the file does not hold."""
        for key, value in metadata:
            if key.lower() != "authorization" or not isinstance(value, str):
                continue
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip() in self.tokens:
                return self.tokens[token.strip()]
            return None
        return None


def parse(text: str, name: str) -> Authorizer:
    """An `Authorizer` from the text of an --auth file; `AuthFileError` if malformed."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise AuthFileError(f"{name}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or set(doc) != {"tokens"} or not isinstance(doc["tokens"], dict):
        raise AuthFileError(f'{name}: expected {{"tokens": {{TOKEN: GRANT, ...}}}}')
    tokens: dict[str, Claims] = {}
    for index, (token, grant) in enumerate(doc["tokens"].items(), 1):
        where = f"{name}: token {index}"  # never the token itself: it is a secret
        if not token.strip() or token != token.strip() or any(c.isspace() for c in token):
            raise AuthFileError(f"{where}: a token is a non-empty word without spaces")
        tokens[token] = _claims(grant, where)
    return Authorizer(tokens)


def _claims(grant: object, where: str) -> Claims:
    if not isinstance(grant, dict) or not set(grant) <= {"subject", "system", "namespaces"}:
        raise AuthFileError(f'{where}: expected {{"subject", "system", "namespaces"}} keys')
    subject = grant.get("subject", "")
    if not isinstance(subject, str):
        raise AuthFileError(f"{where}: subject must be a string")
    system = _roles(grant.get("system", []), f"{where}: system")
    namespaces = grant.get("namespaces", {})
    if not isinstance(namespaces, dict):
        raise AuthFileError(f"{where}: namespaces must map a namespace to its roles")
    roles = {ns: _roles(r, f"{where}: namespace {ns!r}") for ns, r in namespaces.items()}
    if any(not ns for ns in roles):
        raise AuthFileError(f"{where}: a namespace needs a name")
    return Claims(subject, system, roles)


def _roles(value: object, where: str) -> int:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise AuthFileError(f"{where}: roles are a name or a list of names")
    bits = 0
    for role in names:
        if role not in ROLES:
            raise AuthFileError(f"{where}: unknown role {role!r} (known: {', '.join(ROLES)})")
        bits |= ROLES[role]
    return bits
