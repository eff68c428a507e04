"""A standalone activity's completion callbacks: when a standalone activity started with
completion callbacks (a Nexus handler's `temporal_operation` starting one for its
operation) closes, its completion reaches the operation's caller, a standalone
operation or a caller workflow (nexus_callbacks.py carries it, as it does a handler
run's).

The completion is the activity's (chasm/lib/activity activity.go GetNexusCompletion):
the first payload of a completed run's result; otherwise the run's failure, the
operation failed or, for a canceled run, canceled (the server wraps it in an operation
error its receiver unwraps again, MarkAsWrapperError); a link to the activity; its
schedule time as the start time. Only callbacks to this server (`temporal://system`)
are accepted (standalone_rpc.py); delivered once, in memory, as nexus_callbacks.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from temporalio.api.activity.v1 import message_pb2 as activity_pb

from core.opaque import JsonValue, Opaque
from core.statemachine.standalone import activity as sa

from . import convert
from .nexus_describe import callback_state

if TYPE_CHECKING:
    from .frontend import Frontend
    from .nexus_callbacks import NexusCallbacks
    from .standalone import Entry


def _first_payload(result: Opaque | None) -> Opaque | None:
    value = result.value() if result is not None else None
    payloads = value.get("payloads") if isinstance(value, dict) else None
    return Opaque.of(payloads[0]) if isinstance(payloads, list) and payloads else None


def outcome(record: sa.StandaloneActivity) -> tuple[str, Opaque | None, Opaque | None]:
    """The completion a closed run's callbacks report."""
    if record.status is sa.Status.COMPLETED:
        return "completed", _first_payload(record.result), None
    kind = "canceled" if record.status is sa.Status.CANCELED else "failed"
    return kind, None, record.outcome_failure


def listener(callbacks: NexusCallbacks) -> Callable[[Entry], None]:
    """What StandaloneActivities tells when a run closes (its `on_close`)."""

    def closed(entry: Entry) -> None:
        request, record = entry.request, entry.activity
        if not request.completion_callbacks:
            return
        listed = Opaque.of([convert.to_json(c) for c in request.completion_callbacks])
        link: JsonValue = {
            "activity": {
                "namespace": entry.namespace,
                "activityId": record.activity_id,
                "runId": record.run_id,
            }
        }
        callbacks.complete(record.run_id, listed, outcome(record), link, record.schedule_time)

    return closed


def described(fe: Frontend, entry: Entry) -> list[activity_pb.CallbackInfo]:
    """DescribeActivityExecution's callbacks: each as given, triggered by the close,
    registered at the start, in the state its call left it (nexus_describe.py)."""
    record = entry.activity
    out = []
    for index, callback in enumerate(entry.request.completion_callbacks):
        info = activity_pb.CallbackInfo()
        info.trigger.activity_closed.SetInParent()
        info.info.callback.CopyFrom(callback)
        info.info.registration_time.CopyFrom(convert.timestamp(record.schedule_time))
        callback_state(fe, info.info, (record.run_id, index), record.running)
        out.append(info)
    return out
