"""Retry policies: parsing the JSON form, and the server's retry decision.

The decision follows `getBackoffInterval` in `service/history/workflow/retry.go` (and
`RetryActivity` in `activity.go`): no retry for a non-retryable failure (flagged by the
worker or listed by type in the policy), once `maximum_attempts` is reached, when a
cancel was requested, or when the next attempt would start after the
schedule-to-close deadline; otherwise wait
``min(initial_interval * backoff_coefficient ** (attempt - 1), maximum_interval)``, or
the next retry delay the failure asks for (`next_retry`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from core.enums import RetryState
from core.opaque import JsonValue, Opaque
from core.statemachine.history.service.state import RetryPolicy

_NS = 1_000_000_000
_DURATION = re.compile(r"(-?)(\d+)(?:\.(\d{1,9}))?s\Z")


def parse_duration(text: str) -> int:
    """Protojson duration text ("1.500s") to nanoseconds; ValueError if malformed."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    sign, seconds, fraction = match.groups()
    value = int(seconds) * _NS + int((fraction or "").ljust(9, "0") or 0)
    return -value if sign else value


@lru_cache(maxsize=1024)  # a workload's activities share a few policies; values are frozen
def retry_policy(raw: Opaque | None) -> RetryPolicy:
    """The policy an activity runs under: the given one with defaults filled in.

    The server fills in a default policy when none is given (command_attr_validator.go),
    so every activity has one: 1 s initial interval, coefficient 2, maximum interval
    100 x the initial interval, unlimited attempts.
    """
    value = raw.value() if raw is not None else {}
    if not isinstance(value, dict):
        raise ValueError("retry policy is not an object")
    initial = _duration_field(value, "initialInterval", _NS)
    coefficient = value.get("backoffCoefficient", 2.0)
    attempts = value.get("maximumAttempts", 0)
    kinds = value.get("nonRetryableErrorTypes", [])
    if not isinstance(coefficient, int | float) or not isinstance(attempts, int):
        raise ValueError("retry policy has a malformed number")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise ValueError("nonRetryableErrorTypes is not a list of strings")
    return RetryPolicy(
        initial_interval=initial,
        backoff_coefficient=float(coefficient) or 2.0,
        maximum_interval=_duration_field(value, "maximumInterval", 100 * initial),
        maximum_attempts=attempts,
        non_retryable_error_types=tuple(str(k) for k in kinds),
    )


def duration_text(ns: int) -> str:
    """Nanoseconds as protojson duration text: "1s", "0.200s", "1.000500s"."""
    seconds, fraction = divmod(abs(ns), _NS)
    sign = "-" if ns < 0 else ""
    if not fraction:
        return f"{sign}{seconds}s"
    for digits in (3, 6, 9):
        scale = 10 ** (9 - digits)
        if fraction % scale == 0:
            return f"{sign}{seconds}.{fraction // scale:0{digits}d}s"
    raise AssertionError(fraction)  # 9 digits always divide


@lru_cache(maxsize=1024)
def policy_json(policy: RetryPolicy) -> Opaque:
    """The policy as the server writes it into ActivityTaskScheduled: every default
    filled in (`retrypolicy.EnsureDefaults`), fields in protobuf number order, zero values
    left out as protojson leaves them out."""
    value: dict[str, JsonValue] = {
        "initialInterval": duration_text(policy.initial_interval),
        "backoffCoefficient": policy.backoff_coefficient,
        "maximumInterval": duration_text(policy.maximum_interval),
    }
    if policy.maximum_attempts:
        value["maximumAttempts"] = policy.maximum_attempts
    if policy.non_retryable_error_types:
        value["nonRetryableErrorTypes"] = list(policy.non_retryable_error_types)
    return Opaque.of(value)


def workflow_policy(raw: Opaque | None) -> Opaque | None:
    """A workflow's retry policy (a child's, a continued run's) as the server keeps it:
    none stays none (no retries), a given one gets its unset fields' defaults
    (`validateWorkflowRetryPolicy`, service/history/api/command_attr_validator.go:
    `retrypolicy.EnsureDefaults` with the workflow defaults, the activity ones)."""
    return None if raw is None else policy_json(retry_policy(raw))


def _duration_field(value: Mapping[str, object], key: str, default: int) -> int:
    raw = value.get(key)
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ValueError(f"{key} is not a duration")
    return parse_duration(raw) or default


def requested_delay(failure: Opaque | None) -> int | None:
    """The next retry delay a worker's failure asks for: its own (not a cause's)
    `applicationFailureInfo.nextRetryDelay`, in nanoseconds, or None (`nextRetryDelayFrom`
    in service/history/workflow/retry.go)."""
    return _requested_delay(_decoded(failure))


def _requested_delay(failure: JsonValue) -> int | None:
    """`requested_delay` of the failure's decoded value."""
    info = _info(failure, "applicationFailureInfo")
    raw = info.get("nextRetryDelay") if info is not None else None
    return parse_duration(raw) if isinstance(raw, str) else None


# The names a retry policy gives the timeouts it may list as non-retryable
# (TimeoutFailureTypePrefix and Go's TimeoutType.String(), common/retrypolicy).
_LISTABLE_TIMEOUTS = {
    "TIMEOUT_TYPE_START_TO_CLOSE": "TemporalTimeout:StartToClose",
    "TIMEOUT_TYPE_HEARTBEAT": "TemporalTimeout:Heartbeat",
}
_SCHEDULE_TIMEOUTS = ("TIMEOUT_TYPE_SCHEDULE_TO_START", "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE")


def _decoded(failure: Opaque | None) -> JsonValue:
    """The failure's value, decoded once for all the checks of one decision (a failure
    is JSON text: each `value()` parses it again)."""
    return failure.value() if failure is not None else None


def _info(failure: JsonValue, key: str) -> dict[str, JsonValue] | None:
    info = failure.get(key) if isinstance(failure, dict) else None
    return info if isinstance(info, dict) else None


def _timeout_type(failure: JsonValue) -> str | None:
    info = _info(failure, "timeoutFailureInfo")
    return None if info is None else str(info.get("timeoutType", ""))


def retryable(failure: Opaque | None, non_retryable_types: tuple[str, ...]) -> bool:
    """May `failure` be retried under a policy naming `non_retryable_types`?
    (`IsRetryableFailure` in common/retrypolicy/retry_policy.go.) A terminated or
    canceled failure never; a timeout only of the start-to-close or heartbeat kind,
    unless the policy lists it as TemporalTimeout:<kind>; a server failure unless it
    says non-retryable; an application failure unless it says so or the policy lists
    its type; any other kind (none, or an activity's or child's failure) may."""
    return _retryable(_decoded(failure), non_retryable_types)


def _retryable(failure: JsonValue, non_retryable_types: tuple[str, ...]) -> bool:
    """`retryable` of the failure's decoded value."""
    if _info(failure, "terminatedFailureInfo") is not None:
        return False
    if _info(failure, "canceledFailureInfo") is not None:
        return False
    kind = _timeout_type(failure)
    if kind is not None:
        name = _LISTABLE_TIMEOUTS.get(kind)
        return name is not None and name not in non_retryable_types
    server = _info(failure, "serverFailureInfo")
    if server is not None:
        return server.get("nonRetryable") is not True
    application = _info(failure, "applicationFailureInfo")
    if application is not None:
        flagged = application.get("nonRetryable") is True
        return not flagged and str(application.get("type", "")) not in non_retryable_types
    return True


def next_retry(
    policy: RetryPolicy,
    attempt: int,
    now: int,
    deadline: int,
    error_type: str = "",
    non_retryable: bool = False,
    cancel_requested: bool = False,
    delay_replaces_cap: bool = False,
    failure: Opaque | None = None,
    schedule_timeouts_end: bool = False,
) -> tuple[int | None, RetryState]:
    """Delay before attempt `attempt + 1`, or None and why there is no retry.

    `deadline` is the schedule-to-close deadline (0: none). The next retry delay
    `failure` asks for (`requested_delay`) takes the backoff's place
    (`MakeBackoffAlgorithm` in common/backoff/retry.go): an activity's replaces the
    policy's maximum interval too (`delay_replaces_cap`; `RetryActivity` in
    mutable_state_impl.go), a workflow's is capped by it (`getBackoffInterval`).
    Either way it must still leave the next attempt before the deadline.

    `failure`, the failure itself, is judged as `retryable` judges it; for an activity
    (`schedule_timeouts_end`) a schedule-to-start or schedule-to-close timeout failure,
    a deadline rather than a failure of the attempt, ends it with RETRY_STATE_TIMEOUT
    (`RetryActivity`, before any other check but the cancel's).
    """
    if cancel_requested:
        return None, RetryState.CANCEL_REQUESTED
    value = _decoded(failure)
    if schedule_timeouts_end and _timeout_type(value) in _SCHEDULE_TIMEOUTS:
        return None, RetryState.TIMEOUT
    types = policy.non_retryable_error_types
    if non_retryable or error_type in types or not _retryable(value, types):
        return None, RetryState.NON_RETRYABLE_FAILURE
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return None, RetryState.MAXIMUM_ATTEMPTS_REACHED
    delay = _requested_delay(value)
    if delay is not None:
        # nextBackoffInterval: no cap and no delay is no retry; a cap bounds the delay
        cap = delay if delay_replaces_cap else policy.maximum_interval
        if not cap and delay <= 0:
            return None, RetryState.TIMEOUT
        delay_ns = cap if cap and (delay <= 0 or delay > cap) else delay
    else:
        backoff = policy.initial_interval * policy.backoff_coefficient ** (attempt - 1)
        # a maximum interval of 0 (only an updated policy has one) means no cap
        delay_ns = int(min(backoff, float(policy.maximum_interval or backoff)))
    if deadline and now + delay_ns >= deadline:
        return None, RetryState.TIMEOUT
    return delay_ns, RetryState.IN_PROGRESS
