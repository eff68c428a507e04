"""UpdateActivityOptions, an operator's request to the history service, and the values it
carries (named in core/requests.py too, whose Request union includes it)."""

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


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
