"""Bad input to adapters/temporal_json/: each malformed field is a one-line BadInput
naming the event and the field; unknown enum numbers, unknown keys and values protojson
cannot hold are handled as Temporal's JSON does; and fuzzed documents (a random
history with fields deleted, renamed, replaced or the text cut short, and random bytes)
either decode or raise BadInput, whichever way they are read.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.temporal_json import (
    BadInput,
    decode_event,
    decode_history,
    encode_event,
    encode_history,
    iter_events,
)
from core.enums import EventType, TaskQueueKind
from core.events import (
    HistoryEvent as ModelEvent,
)
from core.events import (
    TaskQueue,
    TimerFiredEventAttributes,
)
from core.opaque import Opaque
from tests.adapters.test_temporal_json import (
    canonical,
    legacy_history,
    random_history,
    same_json,
)

# ------------------------------------------------------------------------- errors


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventId": "7",
        "eventTime": "2024-01-01T00:00:00Z",
        "eventType": "EVENT_TYPE_TIMER_FIRED",
        "taskId": "1048576",
        "timerFiredEventAttributes": {"timerId": "t", "startedEventId": "5"},
    }
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eventType": "EVENT_TYPE_NOPE"}, r"eventType: unknown EventType value"),
        ({"eventType": 61}, r"eventType: EventType has no value 61"),
        ({"eventType": None}, r"eventType is missing"),
        ({"eventType": "EVENT_TYPE_UNSPECIFIED"}, r"eventType is missing"),
        ({"timerFiredEventAttributes": None}, r"timerFiredEventAttributes is missing"),
        (
            {"timerStartedEventAttributes": {}},
            r"timerStartedEventAttributes: a second attributes key",
        ),
        (
            {"timerFiredEventAttributes": None, "timerStartedEventAttributes": {}},
            r"timerStartedEventAttributes does not belong to EVENT_TYPE_TIMER_FIRED",
        ),
        ({"eventId": [1]}, r"eventId: expected int64, got an array"),
        ({"eventId": "1.5"}, r'eventId: expected int64, got "1.5"'),
        ({"eventId": str(2**63)}, r"eventId: 9223372036854775808 is out of int64 range"),
        ({"eventTime": "2024-02-30T00:00:00Z"}, r"eventTime: no such date"),
        ({"eventTime": 5}, r"eventTime: expected an RFC 3339 timestamp"),
        ({"workerMayIgnore": "yes"}, r"workerMayIgnore: expected true or false"),
        ({"links": {}}, r"links: expected an array"),
        (
            {"timerFiredEventAttributes": {"startedEventId": {"x": 1}}},
            r"timerFiredEventAttributes.startedEventId: expected int64, got an object",
        ),
    ],
)
def test_decode_errors_name_the_event_and_the_field(changes: dict[str, Any], message: str) -> None:
    good = _event()
    with pytest.raises(BadInput, match=r"^events\[1\] \(eventId [^)]+\): " + message):
        decode_history({"events": [good, _event(**changes)]})


def test_unknown_enum_numbers_are_bad_input_but_known_numbers_decode() -> None:
    attributes = {"taskQueue": {"name": "q", "kind": 9}}
    bad = _event(
        eventType="EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        timerFiredEventAttributes=None,
        workflowTaskScheduledEventAttributes=attributes,
    )
    with pytest.raises(BadInput, match=r"taskQueue.kind: TaskQueueKind has no value 9"):
        decode_history([bad])
    attributes["taskQueue"]["kind"] = 2
    event = decode_history([bad]).events[0]
    assert event.attributes.task_queue == TaskQueue("q", TaskQueueKind.STICKY)  # type: ignore[union-attr]


def test_numbers_for_int64_and_proto_names_are_accepted() -> None:
    event = decode_event(
        {
            "event_id": 7,
            "eventType": 18,
            "timer_fired_event_attributes": {"timer_id": "t", "startedEventId": 5.0},
        }
    )
    assert event == ModelEvent(7, EventType.TIMER_FIRED, TimerFiredEventAttributes("t", 5))


def test_unknown_keys_are_kept_and_written_back_last() -> None:
    raw = _event(futureField={"a": [1, 2]})
    raw["timerFiredEventAttributes"]["newThing"] = "x"
    event = decode_history([raw]).events[0]
    assert event.unknown == Opaque.of({"futureField": {"a": [1, 2]}})
    assert event.attributes.unknown == Opaque.of({"newThing": "x"})  # type: ignore[union-attr]
    assert same_json(encode_history([event])["events"], [raw])
    known = encode_history([event], include_unknown=False)["events"]
    assert isinstance(known, list) and isinstance(known[0], dict)
    assert "futureField" not in known[0] and "newThing" not in str(known)


def test_encode_rejects_values_protojson_cannot_hold() -> None:
    event = ModelEvent(1, EventType.TIMER_FIRED, TimerFiredEventAttributes("t", 2**63))
    with pytest.raises(BadInput, match=r"startedEventId: 9223372036854775808 is not an int64"):
        encode_history([event])
    late = ModelEvent(1, EventType.TIMER_FIRED, TimerFiredEventAttributes(), event_time=10**30)
    with pytest.raises(BadInput, match=r"eventTime: timestamp .* out of range"):
        encode_event(late)


def test_decode_does_not_mutate_its_input() -> None:
    legacy = legacy_history(canonical(random_history(9)))
    snapshot = json.dumps(legacy)
    decode_history(legacy)
    assert json.dumps(legacy) == snapshot


# ------------------------------------------------------------------------- fuzzing

_SEED_DOCUMENT = canonical(random_history(42, dense=0.6))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


_ALL_PATHS = [p for p in _paths(_SEED_DOCUMENT) if len(p) >= 2]
_ODD_SCALARS: list[Any] = [None, True, 0, -1, 2**64, -(2**80), 1.5, 1e308, "", "x"]
_ODD_TEXTS = ["EVENT_TYPE_NOPE", "Normal", "TimerFired", "99999999999999999999999", "NaN"]
_ODD_TEXTS += ["1970-13-01T00:00:00Z", "-5.5s", "Infinity", "2024-01-01T00:00:00+25:00"]
_REPLACEMENTS = st.sampled_from([*_ODD_SCALARS, *_ODD_TEXTS, [], [None], {}, {"a": 1}])


def _mutate(document: Any, data: st.DataObject) -> Any:
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(_ALL_PATHS))
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = data.draw(st.sampled_from(["delete", "replace", "rename"]))
            if action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif action == "rename" and isinstance(parent, dict) and path[-1] in parent:
                parent[path[-1] + "X"] = parent.pop(path[-1])
            else:
                parent[path[-1]] = data.draw(_REPLACEMENTS)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    return document


def _decode_all_ways(document: Any, text: bytes) -> None:
    for attempt in (
        lambda: decode_history(document),
        lambda: decode_history(text),
        lambda: tuple(iter_events(io.BytesIO(text), chunk_size=97)),
    ):
        try:
            result = attempt()
        except BadInput as exc:
            assert "\n" not in str(exc)
            continue
        events = result.events if hasattr(result, "events") else result
        with contextlib.suppress(BadInput):
            encode_history(events)
        with contextlib.suppress(BadInput):
            encode_history(events, "legacy")


def _fuzz(data: st.DataObject) -> None:
    document = _mutate(_SEED_DOCUMENT, data)
    text = json.dumps(document).encode()
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut]
    _decode_all_ways(document, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_input_decodes_or_raises_bad_input(data: st.DataObject) -> None:
    _fuzz(data)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_input_decodes_or_raises_bad_input_long(data: st.DataObject) -> None:
    _fuzz(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_decode_or_raise_bad_input(blob: bytes) -> None:
    _decode_all_ways(None, b'{"events":[' + blob)
    _decode_all_ways(None, blob)
