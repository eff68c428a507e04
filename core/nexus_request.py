"""RecordNexusOperationResult, the request that brings a Nexus operation's outcome to the
caller run's history service (service/nexus.py handles it), NexusTimeoutTask, the timer
task of one of an operation's timeouts, and AttachToRun, a start that met a running
workflow under USE_EXISTING and attaches itself to it (service/attach.py). All are
named in core/requests.py too, whose Request and TimerTask unions include them."""

from __future__ import annotations

from dataclasses import dataclass

from core.fastinit import fast_init_all
from core.opaque import Opaque


@dataclass(frozen=True, slots=True)
class RecordNexusOperationResult:
    """The handler's answer to the start ("started" with an operation token,
    "completed" with a Payload, "failed" or "canceled" with the Failure that caused it),
    or the completion the handler run's callback delivers (with the token, the links and
    the start time of the handler run, for a Started event written first), or the
    handler's answer to the caller's cancel request ("cancel_completed", or
    "cancel_failed" with the Failure)."""

    scheduled_event_id: int
    request_id: str
    outcome: str
    result: Opaque | None = None
    failure: Opaque | None = None
    operation_token: str = ""
    links: Opaque | None = None  # the event's temporal.api.common.v1.Link list
    start_time: int | None = None


@dataclass(frozen=True, slots=True)
class NexusTimeoutTask:
    """A timer task of the outbox: one of an operation's timeouts (the schedule-to-close
    and schedule-to-start ones armed by its schedule, the start-to-close one by its
    start; statemachine.go's TimeoutTask, ScheduleToStartTimeoutTask and
    StartToCloseTimeoutTask). `outcome` is the RecordNexusOperationResult outcome its
    firing reports ("schedule_to_close_timed_out", ...); the request id tells the
    operation it was armed for from a later one at the same event id."""

    scheduled_event_id: int
    request_id: str
    outcome: str
    fire_time: int


@dataclass(frozen=True, slots=True)
class AttachToRun:
    """A start refused by a running workflow under the USE_EXISTING conflict policy whose
    OnConflictOptions ask to attach its request id, its completion callbacks and its
    links to that run (the empty ones are not attached)."""

    request_id: str = ""
    completion_callbacks: Opaque | None = None
    links: Opaque | None = None


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
