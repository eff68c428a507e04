"""An operator's requests about pending activities to the history service
(UpdateActivityOptions and the values it carries; PauseActivity, UnpauseActivity,
ResetActivity), named in core/requests.py too, whose Request union includes them."""

from __future__ import annotations

from dataclasses import dataclass

from core.fastinit import fast_init_all


@dataclass(frozen=True, slots=True)
class RetryPolicyInput:
    """temporal.api.common.v1.RetryPolicy as given, nothing filled in (intervals in ns)."""

    initial_interval: int = 0
    backoff_coefficient: float = 0.0
    maximum_interval: int = 0
    maximum_attempts: int = 0


@dataclass(frozen=True, slots=True)
class ActivityOptionsInput:
    """temporal.api.activity.v1.ActivityOptions as given; None: the message is absent."""

    task_queue: str | None = None
    schedule_to_close_timeout: int = 0
    schedule_to_start_timeout: int = 0
    start_to_close_timeout: int = 0
    heartbeat_timeout: int = 0
    retry_policy: RetryPolicyInput | None = None


@dataclass(frozen=True, slots=True)
class UpdateActivityOptions:
    """An operator changes activities' options
    (service/history/api/updateactivityoptions/api.go). `mask` holds the update mask's
    paths as given (None: no mask); `restore_original` puts back the options each
    activity was scheduled with."""

    activity_id: str = ""
    activity_type: str = ""
    match_all: bool = False
    options: ActivityOptionsInput | None = None
    mask: tuple[str, ...] | None = None
    restore_original: bool = False


@dataclass(frozen=True, slots=True)
class PauseActivity:
    """An operator pauses the pending activity `activity_id`, or every pending one of
    `activity_type` (service/history/api/pauseactivity/api.go)."""

    activity_id: str = ""
    activity_type: str = ""
    identity: str = ""
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class UnpauseActivity:
    """An operator unpauses activities (service/history/api/unpauseactivity/api.go);
    `delay` is the jitter's random offset, drawn by the caller (ns)."""

    activity_id: str = ""
    activity_type: str = ""
    unpause_all: bool = False
    reset_attempts: bool = False
    reset_heartbeat: bool = False
    delay: int = 0


@dataclass(frozen=True, slots=True)
class ResetActivity:
    """An operator restarts activities from attempt 1
    (service/history/api/resetactivity/api.go); `delay` as for UnpauseActivity."""

    activity_id: str = ""
    activity_type: str = ""
    match_all: bool = False
    reset_heartbeat: bool = False
    keep_paused: bool = False
    delay: int = 0
    restore_original_options: bool = False


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
