"""Where a call lands, and whether its caller may land there (every RPC passes here).

`check` runs before each handler (server.py). It finds every namespace a request acts
in: the request's own `namespace` field; the namespace inside its task token, if it
carries one; the namespaces of ExecuteMultiOperation's operations; those of a
workflow task completion's commands that reach another namespace. With `--auth`, the
caller must be allowed the RPC on each (auth.py). Whatever the authorization, a task
token from another namespace than the request's is refused as Temporal's namespace
validator refuses it (`common/rpc/interceptor/namespace_validator.go`
errTaskTokenNamespaceMismatch), so is a request that names no namespace and carries no
token (errNamespaceNotSet), and so is an operation of ExecuteMultiOperation in another
namespace (`service/frontend/workflow_handler.go` errMultiOpNamespaceMismatch).
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.errordetails.v1 import message_pb2 as details_pb

from . import errors
from .auth import CROSS_NAMESPACE_COMMANDS, UNAUTHORIZED, Authorizer, allowed
from .errors import ServiceError
from .tokens import decode_task_token

TOKEN_MISMATCH = "Operation requested with a token from a different namespace."
MULTI_OP_MISMATCH = "Operation namespace did not match request's namespace."
DEFAULTED = frozenset({"AddSearchAttributes", "RemoveSearchAttributes", "ListSearchAttributes"})
# An empty namespace is refused by the namespace registry's lookup before the namespace
# validator gets to it (`GetNamespace` in common/namespace/nsregistry/registry.go), as
# the dev server answers (DescribeNamespace keeps errNamespaceNotSet: rpc_system.py).
NAMESPACE_NOT_SET = "Namespace is empty."
# Requests whose namespace may be empty (by id, or defaulted) or is checked by the handler.
OPTIONAL = DEFAULTED | {"DescribeNamespace", "RegisterNamespace"}


def _has_namespace(request: Any) -> bool:
    return "namespace" in request.DESCRIPTOR.fields_by_name


def denied() -> ServiceError:
    """serviceerror.NewPermissionDenied(RequestUnauthorized, ""): the generic refusal,
    which tells the caller nothing about what it asked for."""
    return ServiceError(
        grpc.StatusCode.PERMISSION_DENIED, UNAUTHORIZED, details_pb.PermissionDeniedFailure()
    )


def request_namespace(rpc: str, request: Any) -> str:
    """The namespace a request names (the search attribute RPCs default to "default",
    as their handlers do)."""
    namespace = getattr(request, "namespace", "")
    if not isinstance(namespace, str):
        return ""
    return namespace or ("default" if rpc in DEFAULTED else "")


def token_namespace(request: Any) -> str | None:
    """The namespace inside the request's task token; None when it has none (or one
    that does not decode: the handler refuses that)."""
    data = getattr(request, "task_token", b"")
    if not isinstance(data, bytes) or not data:
        return None
    try:
        return decode_task_token(data).namespace
    except ServiceError:
        return None


def targets(rpc: str, request: Any) -> list[tuple[str, str]]:
    """Every (RPC, namespace) the call needs a right for."""
    own = request_namespace(rpc, request)
    out = [(rpc, own)]
    token = token_namespace(request)
    if token is not None and token != own:
        out.append((rpc, token))
    if rpc == "ExecuteMultiOperation":
        for op in request.operations:
            if op.start_workflow.namespace:
                out.append(("StartWorkflowExecution", op.start_workflow.namespace))
            if op.update_workflow.namespace:
                out.append(("UpdateWorkflowExecution", op.update_workflow.namespace))
    if rpc == "RespondWorkflowTaskCompleted":
        for command in request.commands:
            for name, api in CROSS_NAMESPACE_COMMANDS.items():
                if command.HasField(name):
                    target = getattr(command, name).namespace
                    if target and target != own:
                        out.append((api, target))
    return out


def check(auth: Authorizer | None, service: str, rpc: str, request: Any, metadata: Any) -> None:
    """Raise the error the server gives before `rpc` runs, if any."""
    if auth is not None:
        claims = auth.claims(metadata or ())
        for api, namespace in targets(rpc, request):
            if not allowed(claims, service, api, namespace):
                raise denied()
    own = request_namespace(rpc, request)
    token = token_namespace(request)
    if token is not None and own and token != own:
        raise errors.invalid(TOKEN_MISMATCH)
    if not own and token is None and rpc not in OPTIONAL and _has_namespace(request):
        raise errors.invalid(NAMESPACE_NOT_SET)
    if rpc == "ExecuteMultiOperation":
        for op in request.operations:
            for part in (op.start_workflow, op.update_workflow):
                if part.namespace and part.namespace != own:
                    raise errors.invalid(MULTI_OP_MISMATCH)
