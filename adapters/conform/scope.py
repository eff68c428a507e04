"""What the model declares out of its scope, for `tmodel conform`.

A history that uses one of these features is reported "not modelled: REASON" rather
than as a difference. The same list, with the same IDs, is the table "Not modelled" in
spec/README.md (a test keeps the two equal); nothing else may be declared out of scope.
"""

from __future__ import annotations

from core.enums import EventType

E = EventType

# scope id -> why the model leaves it out
SCOPE: dict[str, str] = {
    "SCOPE-MODIFIED-EXTERNALLY": "changes made to a running workflow's or activity's "
    "properties from outside it (Workflow/ActivityPropertiesModifiedExternally) are not "
    "modelled",
    "SCOPE-PAUSE": "pausing and unpausing a workflow execution is not modelled",
    "SCOPE-TIME-SKIPPING": "the server's per-workflow time skipping (an experimental "
    "feature) is not modelled; `tmodel serve --time-skipping` skips time server-wide",
    "SCOPE-UPDATE-ADMITTED": "an UpdateAdmitted event outside a reset's reapplication "
    "(durable admission of an update) is not modelled",
}

# event type -> the scope declaration that covers it
SCOPE_OF_EVENT: dict[EventType, str] = {
    E.WORKFLOW_PROPERTIES_MODIFIED_EXTERNALLY: "SCOPE-MODIFIED-EXTERNALLY",
    E.ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY: "SCOPE-MODIFIED-EXTERNALLY",
    E.WORKFLOW_EXECUTION_PAUSED: "SCOPE-PAUSE",
    E.WORKFLOW_EXECUTION_UNPAUSED: "SCOPE-PAUSE",
    E.WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED: "SCOPE-TIME-SKIPPING",
    E.WORKFLOW_EXECUTION_UPDATE_ADMITTED: "SCOPE-UPDATE-ADMITTED",
}
