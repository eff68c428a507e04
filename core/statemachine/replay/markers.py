"""Marker-backed operations: patches, side effects, and search-attribute upserts.

`patched(id)` is true on new code paths and, on replay, only where the history holds
the ``core_patch`` marker for `id`; its answer is remembered for the rest of the run,
as the SDKs do. Like temporalio, a patch also upserts the ``TemporalChangeVersion``
search attribute. `side_effect(fn)` runs `fn` live and, on replay, reads the value its
marker recorded instead (the Go SDK's SideEffect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core import payloads
from core.commands import (
    Command,
    RecordMarkerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from core.enums import CommandType
from core.opaque import JsonValue, Opaque
from core.statemachine.replay import marker
from core.statemachine.replay.entity import Entity
from core.statemachine.replay.handles import body
from core.statemachine.replay.matching import marker_key
from core.statemachine.replay.recorded import patch_data

if TYPE_CHECKING:
    from core.statemachine.replay.engine import Execution

C = CommandType


def patch(ex: Execution, patch_id: str, deprecated: bool) -> bool:
    if patch_id in ex.patches:
        return ex.patches[patch_id]
    recorded = any(
        (data := patch_data(getattr(e.attributes, "details", None))) is not None
        and data[0] == patch_id
        for e in ex.lookahead
    )
    use = recorded or not ex.replaying
    ex.patches[patch_id] = use
    if use:
        details: dict[str, JsonValue] = {
            "patch-data": body({"id": patch_id, "deprecated": deprecated})
        }
        record(ex, marker.PATCH_MARKER, details, "patch")
        upsert(ex, {"TemporalChangeVersion": [patch_id]})
    return use


def side_effect(ex: Execution, fn: Callable[[], object]) -> object:
    seq = ex.next_seq("side_effect")
    value: object = None
    if ex.replaying:
        for event in ex.lookahead:
            details = getattr(event.attributes, "details", None)
            if isinstance(details, Opaque) and marker_key(details) == f"side-effect-id={seq}":
                found = details.value()
                data = found.get("data") if isinstance(found, dict) else None
                value = payloads.first(Opaque.of(data)) if isinstance(data, dict) else None
    else:
        value = fn()
    record(
        ex,
        marker.SIDE_EFFECT_MARKER,
        {"side-effect-id": body(seq), "data": body(value)},
        "side_effect",
    )
    return value


def record(ex: Execution, name: str, details: dict[str, JsonValue], kind: str) -> None:
    entity = Entity(kind, marker.TABLE, marker.TABLE.initial, marker.MARKER_EVENT_INPUTS)
    attributes = RecordMarkerCommandAttributes(marker_name=name, details=Opaque.of(details))
    ex.add(entity, Command(C.RECORD_MARKER, attributes))


def upsert(ex: Execution, attributes: dict[str, object]) -> None:
    fields: dict[str, JsonValue] = {k: payloads.payload(v) for k, v in sorted(attributes.items())}
    entity = Entity("upsert", marker.TABLE, marker.TABLE.initial, marker.MARKER_EVENT_INPUTS)
    command = Command(
        C.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        UpsertWorkflowSearchAttributesCommandAttributes(
            search_attributes=Opaque.of({"indexedFields": fields})
        ),
    )
    ex.add(entity, command)
