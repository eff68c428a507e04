"""The reserved `__temporal_system` Nexus endpoint: operations the server runs itself.

A workflow schedules an operation on this endpoint (temporalio's
`workflow.signal_with_start_workflow`, for one) without any registered endpoint: the
command handler skips the registry lookup, refuses a Nexus header, and checks the
service and operation against the processors the server registers
(components/nexusoperations/workflow/commands.go HandleScheduleCommand;
chasm/nexus_operation_processor.go NexusEndpointProcessor.ProcessInput;
chasm/lib/workflow/nexus_service.go registers SignalWithStartWorkflowExecution of
temporal.api.workflowservice.v1.WorkflowService). The Scheduled event then names no
endpoint id. Running the operation is the host's (`tmodel serve`:
adapters/serve/nexus_system.py); decoding and validating the input, which the server's
processor also does at this point, is left to it there.
"""

from __future__ import annotations

import json

from core.opaque import JsonValue

SYSTEM_ENDPOINT = "__temporal_system"  # common/nexus/constants.go SystemEndpoint
WORKFLOW_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
SIGNAL_WITH_START = "SignalWithStartWorkflowExecution"
# the system endpoint's services and their operations
OPERATIONS: dict[str, tuple[str, ...]] = {WORKFLOW_SERVICE: (SIGNAL_WITH_START,)}


def refusal(attributes: dict[str, JsonValue]) -> str | None:
    """Why the workflow task fails (BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES) for a
    ScheduleNexusOperation command on the system endpoint, or None if it passes."""
    header = attributes.get("nexusHeader")
    if isinstance(header, dict) and header:
        return (
            "ScheduleNexusOperationCommandAttributes.NexusHeader must be empty when "
            f"using {SYSTEM_ENDPOINT} endpoint"
        )
    service = attributes.get("service")
    operations = OPERATIONS.get(service) if isinstance(service, str) else None
    if operations is None:
        return f"service {json.dumps(service if isinstance(service, str) else '')} not found"
    operation = attributes.get("operation")
    if operation not in operations:
        name = operation if isinstance(operation, str) else ""
        return f"operation {json.dumps(name)} not found"
    return None
