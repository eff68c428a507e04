"""Small values of the authoring API: durations, run info, and handles on futures."""

from __future__ import annotations

from dataclasses import dataclass

from core import payloads
from core.fastinit import fast_init_all
from core.opaque import JsonValue, Opaque
from core.statemachine.replay.scheduler import Future

Duration = float | int  # seconds
"""Durations are seconds (a float or an int); the model keeps nanoseconds inside."""


def ns(duration: Duration | None) -> int:
    """A duration in seconds as nanoseconds (0 for None)."""
    if duration is None:
        return 0
    return round(duration * 1_000_000_000)


@dataclass(frozen=True, slots=True)
class Info:
    """Facts about the running workflow (the SDK's `workflow.info()`)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    attempt: int
    first_execution_run_id: str
    # The search attributes the run was started with (protojson SearchAttributes), as
    # the Go SDK's workflow.GetInfo(ctx).SearchAttributes holds them before any upsert.
    search_attributes: Opaque | None = None
    memo: Opaque | None = None  # the memo the run was started with (protojson Memo)


class ActivityHandle(Future[object]):
    """A scheduled activity: await it for the result, `cancel()` to cancel it."""


class ChildHandle(Future[object]):
    """A started child workflow: await it for the result; `id` and `run_id` name it."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__()
        self.id = workflow_id
        self.run_id = ""


def body(value: object) -> JsonValue:
    """A one-value `Payloads` message as a JSON value (for marker details)."""
    return payloads.one_value(value)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
