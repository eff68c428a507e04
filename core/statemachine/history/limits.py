"""The limits a Temporal server puts on one run, with its defaults, and their rule IDs.

Each limit is a namespace setting of the server's dynamic config
(common/dynamicconfig/constants.go); `Limits` holds one value of each, the server's
default unless set otherwise, and `DYNAMIC_CONFIG_KEYS` names each by the key
`temporal server start-dev --dynamic-config-value KEY=VALUE` takes. One setting kept
here is a switch rather than a limit: `system.enableActivityEagerExecution`, whether a
completion's activities may be started eagerly (service/eager_activity.py). The history service
(service/enforce.py) enforces them, the validator (limit_rules.py) checks what a history
shows of them, and `tmodel lint` warns of histories that come near them. The rules are
stated in spec/history.md (section "Limits"); their IDs are registered in spec/README.md.

The texts here are the server's own, since they are written into histories: the
reasons a run is terminated with (common/util.go) and the messages of a failed workflow
task (`workflowTaskFailedCause.Message` in
service/history/api/respondworkflowtaskcompleted/workflow_task_completed_handler.go).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from core.enums import SuggestContinueAsNewReason, WorkflowTaskFailedCause
from core.fastinit import fast_init_all, replace
from core.opaque import JsonValue, Opaque

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """One value of each limit; the defaults are the server's.

    A warn level only makes the server log; an error level refuses or terminates. A
    pending-entity limit of 0 or less means no limit, as on the server (`withinLimit`).
    """

    history_count_warn: int = 10 * KIB
    history_count_error: int = 50 * KIB
    history_count_suggest_continue_as_new: int = 4 * KIB
    history_size_warn: int = 10 * MIB
    history_size_error: int = 50 * MIB
    history_size_suggest_continue_as_new: int = 4 * MIB
    blob_size_warn: int = 512 * KIB
    blob_size_error: int = 2 * MIB
    memo_size_warn: int = 2 * KIB
    memo_size_error: int = 2 * MIB
    pending_activities: int = 2000
    pending_child_executions: int = 2000
    pending_signals: int = 2000
    pending_cancel_requests: int = 2000
    search_attribute_value_size: int = 2 * KIB
    search_attributes_total_size: int = 40 * KIB
    # system.enableActivityEagerExecution, on by default since the server's commit
    # 8d7bad68fe (EnableActivityEagerExecution, common/dynamicconfig/constants.go)
    activity_eager_execution: bool = True


DEFAULT_LIMITS = Limits()

# The server's dynamic-config key of each setting.
DYNAMIC_CONFIG_KEYS: dict[str, str] = {
    "limit.historyCount.warn": "history_count_warn",
    "limit.historyCount.error": "history_count_error",
    "limit.historyCount.suggestContinueAsNew": "history_count_suggest_continue_as_new",
    "limit.historySize.warn": "history_size_warn",
    "limit.historySize.error": "history_size_error",
    "limit.historySize.suggestContinueAsNew": "history_size_suggest_continue_as_new",
    "limit.blobSize.warn": "blob_size_warn",
    "limit.blobSize.error": "blob_size_error",
    "limit.memoSize.warn": "memo_size_warn",
    "limit.memoSize.error": "memo_size_error",
    "limit.numPendingActivities.error": "pending_activities",
    "limit.numPendingChildExecutions.error": "pending_child_executions",
    "limit.numPendingSignals.error": "pending_signals",
    "limit.numPendingCancelRequests.error": "pending_cancel_requests",
    "frontend.searchAttributesSizeOfValueLimit": "search_attribute_value_size",
    "frontend.searchAttributesTotalSizeLimit": "search_attributes_total_size",
    "system.enableActivityEagerExecution": "activity_eager_execution",
}

# The keys whose setting is true or false; every other key's is a whole number.
BOOL_KEYS = frozenset({"system.enableActivityEagerExecution"})

# What Go's strconv.ParseBool reads a string as: how the server takes a bool setting
# given as a string (convertBool, common/dynamicconfig/collection.go).
_PARSE_BOOL = {
    **dict.fromkeys(("1", "t", "T", "true", "True", "TRUE"), True),
    **dict.fromkeys(("0", "f", "F", "false", "False", "FALSE"), False),
}


def with_settings(limits: Limits, settings: Mapping[str, int | bool]) -> Limits:
    """`limits` with the given dynamic-config keys set; ValueError names an unknown key,
    or a value of the wrong kind (a bool key takes True or False, any other a whole
    number, not a bool)."""
    changes: dict[str, int | bool] = {}  # values of two kinds, each checked against its key
    for key, value in settings.items():
        name = DYNAMIC_CONFIG_KEYS.get(key)
        if name is None:
            raise ValueError(f"unknown limit {key!r} (known: {', '.join(DYNAMIC_CONFIG_KEYS)})")
        if (key in BOOL_KEYS) != isinstance(value, bool):
            wanted = "true or false" if key in BOOL_KEYS else "a whole number"
            raise ValueError(f"{key} takes {wanted}, not {value!r}")
        changes[name] = value
    return replace(limits, **changes)


def setting_value(key: str, text: str) -> int | bool:
    """The value `text` gives the setting `key`, read as the dev server reads
    `--dynamic-config-value KEY=VALUE`, whose value is JSON (`stringKeysJSONValues` in
    the temporal CLI): for a bool key, true or false, or a JSON string that
    strconv.ParseBool reads ("true", "0", ...); for any other key a whole number.
    ValueError when it is neither: the server would log it and keep its default."""
    if key not in BOOL_KEYS:
        return int(text)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, str):
        value = _PARSE_BOOL.get(value)
    if not isinstance(value, bool):
        raise ValueError(f"{key} takes true or false, not {text!r}")
    return value


# --- rule IDs (spec/history.md, "Limits") ------------------------------------------------

HISTORY_COUNT = "LIMIT-HISTORY-COUNT"
HISTORY_SIZE = "LIMIT-HISTORY-SIZE"
SUGGEST_CONTINUE_AS_NEW = "LIMIT-SUGGEST-CONTINUE-AS-NEW"
BLOB_SIZE = "LIMIT-BLOB-SIZE"
MEMO_SIZE = "LIMIT-MEMO-SIZE"
SEARCH_ATTRIBUTES_SIZE = "LIMIT-SEARCH-ATTRIBUTES-SIZE"
PENDING_ACTIVITIES = "LIMIT-PENDING-ACTIVITIES"
PENDING_CHILDREN = "LIMIT-PENDING-CHILDREN"
PENDING_SIGNALS = "LIMIT-PENDING-SIGNALS"
PENDING_CANCEL_REQUESTS = "LIMIT-PENDING-CANCEL-REQUESTS"

# --- the server's texts ----------------------------------------------------------------

HISTORY_COUNT_REASON = "Workflow history count exceeds limit."
HISTORY_SIZE_REASON = "Workflow history size exceeds limit."
BLOB_REFUSED = "Blob data size exceeds limit."
MEMO_REFUSED = "Memo size exceeds limit."
COMPLETE_RESULT_TOO_LARGE = "Complete result exceeds size limit."
FAILURE_TOO_LARGE = "Failure exceeds size limit."
CANCEL_DETAILS_TOO_LARGE = "Cancel details exceed size limit."
HEARTBEAT_TOO_LARGE = "Heartbeat details exceed size limit."


@dataclass(frozen=True, slots=True)
class Pending:
    """One kind of pending entity a run may have only so many of."""

    rule: str
    description: str  # the server's words in its message
    cause: WorkflowTaskFailedCause
    field: str  # the Limits field


PENDING_KINDS = (
    Pending(
        PENDING_ACTIVITIES,
        "pending activities",
        WorkflowTaskFailedCause.PENDING_ACTIVITIES_LIMIT_EXCEEDED,
        "pending_activities",
    ),
    Pending(
        PENDING_CHILDREN,
        "pending child workflow executions",
        WorkflowTaskFailedCause.PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED,
        "pending_child_executions",
    ),
    Pending(
        PENDING_SIGNALS,
        "pending signals to external workflows",
        WorkflowTaskFailedCause.PENDING_SIGNALS_LIMIT_EXCEEDED,
        "pending_signals",
    ),
    Pending(
        PENDING_CANCEL_REQUESTS,
        "pending requests to cancel external workflows",
        WorkflowTaskFailedCause.PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED,
        "pending_cancel_requests",
    ),
)
ACTIVITIES, CHILDREN, SIGNALS, CANCEL_REQUESTS = PENDING_KINDS


def limit_of(limits: Limits, kind: Pending) -> int:
    value: int = getattr(limits, kind.field)
    return value


def within(count: int, limit: int) -> bool:
    """Room for one more of `count` pending entities (`withinLimit`; <= 0: no limit)."""
    return limit <= 0 or count < limit


def pending_message(kind: Pending, count: int, limit: int) -> str:
    """`checkCountConstraint`'s error (workflow_size_checker.go)."""
    reached = f"has reached the per-workflow limit of {limit}"
    return f"the number of {kind.description}, {count}, {reached}"


def cause_name(cause: WorkflowTaskFailedCause) -> str:
    """The cause as Go's enum `String()` prints it: PENDING_ACTIVITIES_LIMIT_EXCEEDED ->
    PendingActivitiesLimitExceeded."""
    return "".join(word.capitalize() for word in cause.name.split("_"))


def task_failure_message(cause: WorkflowTaskFailedCause, error: str = "") -> str:
    """The message of a workflow task the server failed: "Cause: error", or the cause
    alone when it came with no error, such as "UnhandledCommand"
    (`workflowTaskFailedCause.Message` in workflow_task_completed_handler.go)."""
    return f"{cause_name(cause)}: {error}" if error else cause_name(cause)


def server_failure(message: str, non_retryable: bool) -> Opaque:
    """`failure.NewServerFailure(message, nonRetryable)` in protojson (common/failure)."""
    info: dict[str, JsonValue] = {"nonRetryable": True} if non_retryable else {}
    return Opaque.of({"message": message, "serverFailureInfo": info})


def search_attribute_value_message(name: str, size: int, limit: int) -> str:
    """The search-attribute validator's error (common/searchattribute/validator.go)."""
    return f"search attribute {name} value size {size} exceeds size limit {limit}"


def search_attributes_total_message(size: int, limit: int) -> str:
    return f"total size of search attributes {size} exceeds size limit {limit}"


def suggest_continue_as_new(
    limits: Limits, count: int, size: int
) -> tuple[SuggestContinueAsNewReason, ...]:
    """Why a workflow task started with the history at `count` events (the id the Started
    event gets) and `size` bytes suggests continue-as-new (`getHistorySizeInfo` in
    service/history/workflow/workflow_task_state_machine.go); () when it does not."""
    reasons: tuple[SuggestContinueAsNewReason, ...] = ()
    if size >= limits.history_size_suggest_continue_as_new:
        reasons += (SuggestContinueAsNewReason.HISTORY_SIZE_TOO_LARGE,)
    if count >= limits.history_count_suggest_continue_as_new:
        reasons += (SuggestContinueAsNewReason.TOO_MANY_HISTORY_EVENTS,)
    return reasons


# A payload the server takes for "no value" when merging an upsert into a memo or a
# search-attribute map, which removes the key: no data, or the JSON "null" or "[]"
# (base64 here; `isNilPayload` in common/payload/payload.go).
_NIL_DATA = frozenset({"", "bnVsbA==", "W10="})


def merged(current: Opaque | None, upsert: Opaque | None, key: str) -> Opaque | None:
    """The memo (`key` "fields") or search attributes (`key` "indexedFields") after an
    upsert: each upserted entry replaces the old one, a nil payload removes it
    (`payload.MergeMapOfPayload`). None when nothing is left."""
    if upsert is None:
        return current
    fields: dict[str, JsonValue] = {}
    old = current.value() if current is not None else None
    old_fields = old.get(key) if isinstance(old, dict) else None
    if isinstance(old_fields, dict):
        fields.update(old_fields)
    new = upsert.value()
    entries = new.get(key) if isinstance(new, dict) else None
    for name, payload in (entries if isinstance(entries, dict) else {}).items():
        data = payload.get("data", "") if isinstance(payload, dict) else ""
        if data in _NIL_DATA:
            fields.pop(name, None)
        else:
            fields[name] = payload
    return Opaque.of({key: fields}) if fields else None


def without_nil(value: Opaque | None, key: str) -> Opaque | None:
    """A start's, a continue-as-new's or a child's memo (`key` "fields") or search
    attributes (`key` "indexedFields") as its event keeps them: the entries holding a
    nil payload left out, and None when none is left (`FilterNilMemo` and
    `FilterNilSearchAttributes` in common/payload/payload.go, which event_factory.go
    applies to WorkflowExecutionStarted, WorkflowExecutionContinuedAsNew and
    StartChildWorkflowExecutionInitiated since server 1.31)."""
    if value is None:
        return None
    kept = merged(None, value, key)
    if kept is not None and kept.value() == value.value():
        return value  # nothing left out: the value as it came, byte for byte
    return kept


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
