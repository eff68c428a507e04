"""GetSystemInfo's reply, in a module that needs no protobuf code.

The gate (gate.py) answers GetSystemInfo while the model is still loading, because SDK
test environments call it to decide the server is up; so the reply is kept here as the
capability names with their field numbers in `GetSystemInfoResponse.Capabilities`
(temporal/api/workflowservice/v1/request_response.proto) and encoded by hand.
rpc_system.get_system_info decodes these same bytes, so both paths answer alike.

Only what this server does is claimed: SDKs switch features on from these flags, so a
capability claimed but missing would break them. Schedules are served
(adapters/serve/rpc_schedules.py) and claimed, as the dev server claims them. `nexus`
is not: the dev server sets it when its HTTP API is on (GetSystemInfo in
service/frontend/workflow_handler.go), and this server has no HTTP API, though Nexus
endpoints and operations are served over gRPC (docs/serve.md). Nor is
`server_scaled_deployments` (worker deployments the server scales), not modelled.
`build_id_based_versioning` is claimed, as the dev server claims it (GetSystemInfo in
`service/frontend/workflow_handler.go`): only then do SDK workers send their build id
as a WorkerVersionStamp with each poll and completion (sdk-core's
`worker/client.rs`), which the history records on the task events, Describe as the
most recent stamp and visibility as `BuildIds`
(core/statemachine/history/service/worker_versions.py). Versioning rules, which route
tasks by build id, are not served; they are configured through RPCs this server
answers UNIMPLEMENTED.
"""

from __future__ import annotations

SERVER_VERSION = "1.32.0"  # the Temporal release whose behaviour the model follows
METHOD = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"

CAPABILITIES = {  # name -> field number
    "signal_and_query_header": 1,
    "internal_error_differentiation": 2,
    "activity_failure_include_heartbeat": 3,
    "supports_schedules": 4,
    "encoded_failure_attributes": 5,
    "build_id_based_versioning": 6,
    "upsert_memo": 7,
    "eager_workflow_start": 8,
    "sdk_metadata": 9,
    "count_group_by_execution_status": 10,
}


def _length_delimited(field: int, payload: bytes) -> bytes:
    assert len(payload) < 128  # a one-byte length is all these messages need
    return bytes((field << 3 | 2, len(payload))) + payload


def reply() -> bytes:
    """The serialized GetSystemInfoResponse: server_version (1) and capabilities (2),
    each claimed capability a bool field set to true."""
    flags = b"".join(bytes((number << 3, 1)) for number in sorted(CAPABILITIES.values()))
    return _length_delimited(1, SERVER_VERSION.encode()) + _length_delimited(2, flags)
