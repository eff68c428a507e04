"""Where payloads sit in a history event, for reading shorthand payloads (shorthand.py).

Message full name -> its fields that hold payloads at some depth: (JSON name and proto
name, what the field holds: Payload, Payloads or a message with payloads further down,
and how: one, a list or a map's values). Printed from temporalio's descriptors by
`shorthand.print_table()`; a test checks it against them.
"""

from __future__ import annotations

from typing import Final, Literal

Container = Literal["single", "list", "map"]

PAYLOAD_SITES: Final[dict[str, tuple[tuple[tuple[str, ...], str, Container], ...]]] = {
    "temporal.api.common.v1.Callback": (
        (
            ("nexusHandler", "nexus_handler"),
            "temporal.api.common.v1.Callback.NexusHandler",
            "single",
        ),
    ),
    "temporal.api.common.v1.Callback.NexusHandler": (
        (("sourceContext", "source_context"), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.common.v1.Header": ((("fields",), "temporal.api.common.v1.Payload", "map"),),
    "temporal.api.common.v1.Header.FieldsEntry": (
        (("value",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.common.v1.Memo": ((("fields",), "temporal.api.common.v1.Payload", "map"),),
    "temporal.api.common.v1.Memo.FieldsEntry": (
        (("value",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.common.v1.SearchAttributes": (
        (("indexedFields", "indexed_fields"), "temporal.api.common.v1.Payload", "map"),
    ),
    "temporal.api.common.v1.SearchAttributes.IndexedFieldsEntry": (
        (("value",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.failure.v1.ApplicationFailureInfo": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.failure.v1.CanceledFailureInfo": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.failure.v1.Failure": (
        (("encodedAttributes", "encoded_attributes"), "temporal.api.common.v1.Payload", "single"),
        (("cause",), "temporal.api.failure.v1.Failure", "single"),
        (
            ("applicationFailureInfo", "application_failure_info"),
            "temporal.api.failure.v1.ApplicationFailureInfo",
            "single",
        ),
        (
            ("timeoutFailureInfo", "timeout_failure_info"),
            "temporal.api.failure.v1.TimeoutFailureInfo",
            "single",
        ),
        (
            ("canceledFailureInfo", "canceled_failure_info"),
            "temporal.api.failure.v1.CanceledFailureInfo",
            "single",
        ),
        (
            ("resetWorkflowFailureInfo", "reset_workflow_failure_info"),
            "temporal.api.failure.v1.ResetWorkflowFailureInfo",
            "single",
        ),
    ),
    "temporal.api.failure.v1.ResetWorkflowFailureInfo": (
        (
            ("lastHeartbeatDetails", "last_heartbeat_details"),
            "temporal.api.common.v1.Payloads",
            "single",
        ),
    ),
    "temporal.api.failure.v1.TimeoutFailureInfo": (
        (
            ("lastHeartbeatDetails", "last_heartbeat_details"),
            "temporal.api.common.v1.Payloads",
            "single",
        ),
    ),
    "temporal.api.history.v1.ActivityTaskCanceledEventAttributes": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.ActivityTaskCompletedEventAttributes": (
        (("result",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.ActivityTaskFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.ActivityTaskScheduledEventAttributes": (
        (("header",), "temporal.api.common.v1.Header", "single"),
        (("input",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.ActivityTaskStartedEventAttributes": (
        (("lastFailure", "last_failure"), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.ActivityTaskTimedOutEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.ChildWorkflowExecutionCanceledEventAttributes": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.ChildWorkflowExecutionCompletedEventAttributes": (
        (("result",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.ChildWorkflowExecutionFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.ChildWorkflowExecutionStartedEventAttributes": (
        (("header",), "temporal.api.common.v1.Header", "single"),
    ),
    "temporal.api.history.v1.HistoryEvent": (
        (("userMetadata", "user_metadata"), "temporal.api.sdk.v1.UserMetadata", "single"),
        (
            ("eventGroupMarkers", "event_group_markers"),
            "temporal.api.sdk.v1.EventGroupMarker",
            "list",
        ),
        (
            (
                "workflowExecutionStartedEventAttributes",
                "workflow_execution_started_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionStartedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionCompletedEventAttributes",
                "workflow_execution_completed_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionCompletedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionFailedEventAttributes",
                "workflow_execution_failed_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionFailedEventAttributes",
            "single",
        ),
        (
            ("workflowTaskFailedEventAttributes", "workflow_task_failed_event_attributes"),
            "temporal.api.history.v1.WorkflowTaskFailedEventAttributes",
            "single",
        ),
        (
            ("activityTaskScheduledEventAttributes", "activity_task_scheduled_event_attributes"),
            "temporal.api.history.v1.ActivityTaskScheduledEventAttributes",
            "single",
        ),
        (
            ("activityTaskStartedEventAttributes", "activity_task_started_event_attributes"),
            "temporal.api.history.v1.ActivityTaskStartedEventAttributes",
            "single",
        ),
        (
            ("activityTaskCompletedEventAttributes", "activity_task_completed_event_attributes"),
            "temporal.api.history.v1.ActivityTaskCompletedEventAttributes",
            "single",
        ),
        (
            ("activityTaskFailedEventAttributes", "activity_task_failed_event_attributes"),
            "temporal.api.history.v1.ActivityTaskFailedEventAttributes",
            "single",
        ),
        (
            ("activityTaskTimedOutEventAttributes", "activity_task_timed_out_event_attributes"),
            "temporal.api.history.v1.ActivityTaskTimedOutEventAttributes",
            "single",
        ),
        (
            ("activityTaskCanceledEventAttributes", "activity_task_canceled_event_attributes"),
            "temporal.api.history.v1.ActivityTaskCanceledEventAttributes",
            "single",
        ),
        (
            ("markerRecordedEventAttributes", "marker_recorded_event_attributes"),
            "temporal.api.history.v1.MarkerRecordedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionSignaledEventAttributes",
                "workflow_execution_signaled_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionSignaledEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionTerminatedEventAttributes",
                "workflow_execution_terminated_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionTerminatedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionCanceledEventAttributes",
                "workflow_execution_canceled_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionCanceledEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionContinuedAsNewEventAttributes",
                "workflow_execution_continued_as_new_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionContinuedAsNewEventAttributes",
            "single",
        ),
        (
            (
                "startChildWorkflowExecutionInitiatedEventAttributes",
                "start_child_workflow_execution_initiated_event_attributes",
            ),
            "temporal.api.history.v1.StartChildWorkflowExecutionInitiatedEventAttributes",
            "single",
        ),
        (
            (
                "childWorkflowExecutionStartedEventAttributes",
                "child_workflow_execution_started_event_attributes",
            ),
            "temporal.api.history.v1.ChildWorkflowExecutionStartedEventAttributes",
            "single",
        ),
        (
            (
                "childWorkflowExecutionCompletedEventAttributes",
                "child_workflow_execution_completed_event_attributes",
            ),
            "temporal.api.history.v1.ChildWorkflowExecutionCompletedEventAttributes",
            "single",
        ),
        (
            (
                "childWorkflowExecutionFailedEventAttributes",
                "child_workflow_execution_failed_event_attributes",
            ),
            "temporal.api.history.v1.ChildWorkflowExecutionFailedEventAttributes",
            "single",
        ),
        (
            (
                "childWorkflowExecutionCanceledEventAttributes",
                "child_workflow_execution_canceled_event_attributes",
            ),
            "temporal.api.history.v1.ChildWorkflowExecutionCanceledEventAttributes",
            "single",
        ),
        (
            (
                "signalExternalWorkflowExecutionInitiatedEventAttributes",
                "signal_external_workflow_execution_initiated_event_attributes",
            ),
            "temporal.api.history.v1.SignalExternalWorkflowExecutionInitiatedEventAttributes",
            "single",
        ),
        (
            (
                "upsertWorkflowSearchAttributesEventAttributes",
                "upsert_workflow_search_attributes_event_attributes",
            ),
            "temporal.api.history.v1.UpsertWorkflowSearchAttributesEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionUpdateAcceptedEventAttributes",
                "workflow_execution_update_accepted_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionUpdateAcceptedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionUpdateRejectedEventAttributes",
                "workflow_execution_update_rejected_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionUpdateRejectedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionUpdateCompletedEventAttributes",
                "workflow_execution_update_completed_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionUpdateCompletedEventAttributes",
            "single",
        ),
        (
            (
                "workflowPropertiesModifiedExternallyEventAttributes",
                "workflow_properties_modified_externally_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowPropertiesModifiedExternallyEventAttributes",
            "single",
        ),
        (
            (
                "workflowPropertiesModifiedEventAttributes",
                "workflow_properties_modified_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowPropertiesModifiedEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionUpdateAdmittedEventAttributes",
                "workflow_execution_update_admitted_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionUpdateAdmittedEventAttributes",
            "single",
        ),
        (
            (
                "nexusOperationScheduledEventAttributes",
                "nexus_operation_scheduled_event_attributes",
            ),
            "temporal.api.history.v1.NexusOperationScheduledEventAttributes",
            "single",
        ),
        (
            (
                "nexusOperationCompletedEventAttributes",
                "nexus_operation_completed_event_attributes",
            ),
            "temporal.api.history.v1.NexusOperationCompletedEventAttributes",
            "single",
        ),
        (
            ("nexusOperationFailedEventAttributes", "nexus_operation_failed_event_attributes"),
            "temporal.api.history.v1.NexusOperationFailedEventAttributes",
            "single",
        ),
        (
            ("nexusOperationCanceledEventAttributes", "nexus_operation_canceled_event_attributes"),
            "temporal.api.history.v1.NexusOperationCanceledEventAttributes",
            "single",
        ),
        (
            ("nexusOperationTimedOutEventAttributes", "nexus_operation_timed_out_event_attributes"),
            "temporal.api.history.v1.NexusOperationTimedOutEventAttributes",
            "single",
        ),
        (
            (
                "workflowExecutionOptionsUpdatedEventAttributes",
                "workflow_execution_options_updated_event_attributes",
            ),
            "temporal.api.history.v1.WorkflowExecutionOptionsUpdatedEventAttributes",
            "single",
        ),
        (
            (
                "nexusOperationCancelRequestFailedEventAttributes",
                "nexus_operation_cancel_request_failed_event_attributes",
            ),
            "temporal.api.history.v1.NexusOperationCancelRequestFailedEventAttributes",
            "single",
        ),
    ),
    "temporal.api.history.v1.MarkerRecordedEventAttributes": (
        (("details",), "temporal.api.common.v1.Payloads", "map"),
        (("header",), "temporal.api.common.v1.Header", "single"),
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.MarkerRecordedEventAttributes.DetailsEntry": (
        (("value",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.NexusOperationCancelRequestFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.NexusOperationCanceledEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.NexusOperationCompletedEventAttributes": (
        (("result",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.history.v1.NexusOperationFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.NexusOperationScheduledEventAttributes": (
        (("input",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.history.v1.NexusOperationTimedOutEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.SignalExternalWorkflowExecutionInitiatedEventAttributes": (
        (("input",), "temporal.api.common.v1.Payloads", "single"),
        (("header",), "temporal.api.common.v1.Header", "single"),
    ),
    "temporal.api.history.v1.StartChildWorkflowExecutionInitiatedEventAttributes": (
        (("input",), "temporal.api.common.v1.Payloads", "single"),
        (("header",), "temporal.api.common.v1.Header", "single"),
        (("memo",), "temporal.api.common.v1.Memo", "single"),
        (
            ("searchAttributes", "search_attributes"),
            "temporal.api.common.v1.SearchAttributes",
            "single",
        ),
    ),
    "temporal.api.history.v1.UpsertWorkflowSearchAttributesEventAttributes": (
        (
            ("searchAttributes", "search_attributes"),
            "temporal.api.common.v1.SearchAttributes",
            "single",
        ),
    ),
    "temporal.api.history.v1.WorkflowExecutionCanceledEventAttributes": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionCompletedEventAttributes": (
        (("result",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionContinuedAsNewEventAttributes": (
        (("input",), "temporal.api.common.v1.Payloads", "single"),
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
        (
            ("lastCompletionResult", "last_completion_result"),
            "temporal.api.common.v1.Payloads",
            "single",
        ),
        (("header",), "temporal.api.common.v1.Header", "single"),
        (("memo",), "temporal.api.common.v1.Memo", "single"),
        (
            ("searchAttributes", "search_attributes"),
            "temporal.api.common.v1.SearchAttributes",
            "single",
        ),
    ),
    "temporal.api.history.v1.WorkflowExecutionFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionOptionsUpdatedEventAttributes": (
        (
            ("attachedCompletionCallbacks", "attached_completion_callbacks"),
            "temporal.api.common.v1.Callback",
            "list",
        ),
        (
            ("workflowUpdateOptions", "workflow_update_options"),
            "temporal.api.history.v1.WorkflowExecutionOptionsUpdatedEventAttributes.WorkflowUpdateOptionsUpdate",
            "list",
        ),
    ),
    "temporal.api.history.v1.WorkflowExecutionOptionsUpdatedEventAttributes.WorkflowUpdateOptionsUpdate": (  # noqa: E501
        (
            ("attachedCompletionCallbacks", "attached_completion_callbacks"),
            "temporal.api.common.v1.Callback",
            "list",
        ),
    ),
    "temporal.api.history.v1.WorkflowExecutionSignaledEventAttributes": (
        (("input",), "temporal.api.common.v1.Payloads", "single"),
        (("header",), "temporal.api.common.v1.Header", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionStartedEventAttributes": (
        (("input",), "temporal.api.common.v1.Payloads", "single"),
        (("continuedFailure", "continued_failure"), "temporal.api.failure.v1.Failure", "single"),
        (
            ("lastCompletionResult", "last_completion_result"),
            "temporal.api.common.v1.Payloads",
            "single",
        ),
        (("memo",), "temporal.api.common.v1.Memo", "single"),
        (
            ("searchAttributes", "search_attributes"),
            "temporal.api.common.v1.SearchAttributes",
            "single",
        ),
        (("header",), "temporal.api.common.v1.Header", "single"),
        (
            ("completionCallbacks", "completion_callbacks"),
            "temporal.api.common.v1.Callback",
            "list",
        ),
    ),
    "temporal.api.history.v1.WorkflowExecutionTerminatedEventAttributes": (
        (("details",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionUpdateAcceptedEventAttributes": (
        (("acceptedRequest", "accepted_request"), "temporal.api.update.v1.Request", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionUpdateAdmittedEventAttributes": (
        (("request",), "temporal.api.update.v1.Request", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionUpdateCompletedEventAttributes": (
        (("outcome",), "temporal.api.update.v1.Outcome", "single"),
    ),
    "temporal.api.history.v1.WorkflowExecutionUpdateRejectedEventAttributes": (
        (("rejectedRequest", "rejected_request"), "temporal.api.update.v1.Request", "single"),
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.history.v1.WorkflowPropertiesModifiedEventAttributes": (
        (("upsertedMemo", "upserted_memo"), "temporal.api.common.v1.Memo", "single"),
    ),
    "temporal.api.history.v1.WorkflowPropertiesModifiedExternallyEventAttributes": (
        (("upsertedMemo", "upserted_memo"), "temporal.api.common.v1.Memo", "single"),
    ),
    "temporal.api.history.v1.WorkflowTaskFailedEventAttributes": (
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.sdk.v1.EventGroupMarker": (
        (("label",), "temporal.api.sdk.v1.EventGroupMarker.Label", "single"),
    ),
    "temporal.api.sdk.v1.EventGroupMarker.Label": (
        (("label",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.sdk.v1.UserMetadata": (
        (("summary",), "temporal.api.common.v1.Payload", "single"),
        (("details",), "temporal.api.common.v1.Payload", "single"),
    ),
    "temporal.api.update.v1.Input": (
        (("header",), "temporal.api.common.v1.Header", "single"),
        (("args",), "temporal.api.common.v1.Payloads", "single"),
    ),
    "temporal.api.update.v1.Outcome": (
        (("success",), "temporal.api.common.v1.Payloads", "single"),
        (("failure",), "temporal.api.failure.v1.Failure", "single"),
    ),
    "temporal.api.update.v1.Request": (
        (("input",), "temporal.api.update.v1.Input", "single"),
        (
            ("completionCallbacks", "completion_callbacks"),
            "temporal.api.common.v1.Callback",
            "list",
        ),
    ),
}
