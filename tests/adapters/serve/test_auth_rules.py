"""The --auth file and the authorization rules of `tmodel serve`, without SDK clients:
the default authorizer's decisions (auth.py), claims from the bearer header, and a bad
file refused on one line with exit code 2, its tokens never echoed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.serve import auth
from tests.adapters.serve.serving import refused
from tests.adapters.serve.test_auth import GRANTS


def test_the_default_authorizers_rules() -> None:
    a = auth.Claims("a", 0, {"x": auth.ROLES["reader"]})
    w = auth.Claims("w", 0, {"x": auth.ROLES["worker"]})
    root = auth.Claims("root", auth.ROLES["admin"])
    ns_rpc = auth.allowed
    assert ns_rpc(a, "WorkflowService", "DescribeWorkflowExecution", "x")
    assert not ns_rpc(a, "WorkflowService", "DescribeWorkflowExecution", "y")
    assert not ns_rpc(a, "WorkflowService", "SignalWorkflowExecution", "x")
    assert ns_rpc(w, "WorkflowService", "PollActivityTaskQueue", "x")
    assert not ns_rpc(w, "WorkflowService", "DescribeWorkflowExecution", "x")
    assert not ns_rpc(w, "WorkflowService", "RespondActivityTaskCompletedById", "x")
    assert ns_rpc(root, "WorkflowService", "UpdateNamespace", "anything")
    assert ns_rpc(root, "TestService", "GetCurrentTime", "")
    assert not ns_rpc(a, "TestService", "GetCurrentTime", "")
    assert not ns_rpc(a, "WorkflowService", "ListNamespaces", "x")  # cluster scope
    assert not ns_rpc(root, "WorkflowService", "UpdateWorkerVersioningRules", "x")  # unknown
    assert ns_rpc(w, "WorkflowService", "PollNexusTaskQueue", "x")  # a worker's, a write
    assert ns_rpc(root, "WorkflowService", "CreateSchedule", "x")  # a write, as metadata.go
    assert not ns_rpc(a, "WorkflowService", "StartBatchOperation", "x")
    assert ns_rpc(a, "WorkflowService", "DescribeBatchOperation", "x")
    assert ns_rpc(None, "WorkflowService", "GetSystemInfo", "")
    assert ns_rpc(None, "grpc.health.v1.Health", "Check", "")
    assert not ns_rpc(None, "WorkflowService", "DescribeNamespace", "x")


def test_claims_come_from_a_bearer_header_only() -> None:
    authorizer = auth.parse(json.dumps(GRANTS), "grants")
    assert authorizer.claims([("authorization", "Bearer token-b")]) == auth.Claims(
        "b", 0, {"ns-b": 8}
    )
    for header in ("token-b", "Basic token-b", "Bearer token-x", "Bearer "):
        assert authorizer.claims([("authorization", header)]) is None
    assert authorizer.claims([]) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"tokens": {"s3cret": ', "not JSON"),
        ('{"tokens": {"s3cret": {"namespaces": {"x": "boss"}}}}', "unknown role 'boss'"),
        ('{"tokens": {"s3cret": {"roles": "admin"}}}', 'expected {"subject"'),
        ('{"tokens": {" s3cret": {}}}', "a token is a non-empty word"),
        ('{"tokens": {"s3cret": {"namespaces": {"": "reader"}}}}', "a namespace needs a name"),
        ('{"grants": {"s3cret": {}}}', 'expected {"tokens"'),
    ],
)
def test_a_bad_auth_file_is_one_line_and_exit_2(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "grants.json"
    path.write_text(content, encoding="utf-8")
    line = refused("--auth", str(path))
    assert problem in line
    assert "s3cret" not in line  # a token is a secret: never echoed
