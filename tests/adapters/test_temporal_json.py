"""Tests of adapters/temporal_json/ against Temporal's own protobufs.

The oracle is the official `temporalio` SDK: random `History` messages covering every
event type, every field (timestamps with nanoseconds, durations, payloads, failures,
enums, maps), serialized by `google.protobuf.json_format.MessageToDict` exactly as
`WorkflowHistory.to_json()` does. Decoding must recover the protobuf's values and
encoding must give back the same JSON, key order included; a Go-style (declaration
order) rendering and the legacy short-enum form must round-trip too. Recorded real
histories (tests/fixtures/histories) are cross-checked with `ParseDict`.

Regenerate tests/fixtures/legacy/ with `python -m tests.adapters.test_temporal_json`.
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import string
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType as PbEventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import _history_from_json

from adapters.temporal_json import (
    BadInput,
    decode_event,
    decode_history,
    encode_event,
    encode_history,
    iter_events,
    write_events,
)
from core.enums import EventType, TimeoutType
from core.events import (
    ATTRIBUTES,
    FieldSpec,
    Kind,
    OpaqueAttributes,
    ProtoMessage,
    WorkflowTaskTimedOutEventAttributes,
)
from core.events import (
    HistoryEvent as ModelEvent,
)
from core.opaque import Opaque

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HISTORIES = FIXTURES / "histories"
LEGACY = FIXTURES / "legacy"
F = FieldDescriptor

# --------------------------------------------------------------- random protobufs

_TEXT = string.ascii_letters + string.digits + ' "\\/\n\t\u00e9\u4e2d\U0001f600\u0000'
_SKIPPED_WELL_KNOWN = (
    "google.protobuf.Any",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.FieldMask",
)


def _scalar(field: Any, rng: random.Random) -> Any:
    t = field.type
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return rng.choice([1, -1, 2**63 - 1, -(2**63), rng.randint(-(2**63), 2**63 - 1)])
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return rng.choice([1, 2**64 - 1, rng.randint(0, 2**64 - 1)])
    if t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return rng.choice([1, -1, 2**31 - 1, rng.randint(-(2**31), 2**31 - 1)])
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return rng.randint(1, 2**32 - 1)
    if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return rng.choice([0.5, 2.0, -1.25, 1e20])
    if t == F.TYPE_BOOL:
        return True
    if t == F.TYPE_STRING:
        return "".join(rng.choice(_TEXT) for _ in range(rng.randint(1, 12)))
    if t == F.TYPE_BYTES:
        return rng.randbytes(rng.randint(1, 9))
    if t == F.TYPE_ENUM:
        return rng.choice([v.number for v in field.enum_type.values[1:]])
    raise AssertionError(field.full_name)


def _fill_well_known(message: Any, rng: random.Random) -> None:
    name = message.DESCRIPTOR.full_name
    nanos = rng.choice([0, 5, 120_000_000, 123_456_000, 999_999_999, 1_000])
    if name == "google.protobuf.Timestamp":
        message.seconds = rng.randint(-62135596800, 253402300799)
        message.nanos = nanos
    elif name == "google.protobuf.Duration":
        sign = rng.choice([1, -1, 1])
        message.seconds = sign * rng.choice([0, 1, 10, 315576000000])
        message.nanos = sign * nanos if message.seconds or sign > 0 else -nanos
    else:
        message.SetInParent()


def fill(message: Any, rng: random.Random, depth: int = 0, dense: float = 0.7) -> None:
    """Set a random subset of `message`'s fields (every kind of field) to random values."""
    if message.DESCRIPTOR.full_name.startswith("google.protobuf."):
        _fill_well_known(message, rng)
        return
    chosen = {}
    for oneof in message.DESCRIPTOR.oneofs:
        if not (len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name):
            chosen[oneof.name] = rng.choice(oneof.fields).name
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.name in chosen and chosen[oneof.name] != field.name:
            continue
        if rng.random() > dense:
            continue
        _fill_field(message, field, rng, depth, dense)


def _fill_field(message: Any, field: Any, rng: random.Random, depth: int, dense: float) -> None:
    sub = field.message_type
    if sub is not None and sub.full_name in _SKIPPED_WELL_KNOWN:
        return
    if sub is not None and not sub.GetOptions().map_entry and depth >= 3:
        return
    container = getattr(message, field.name)
    if sub is not None and sub.GetOptions().map_entry:
        value_field = sub.fields_by_name["value"]
        for _ in range(rng.randint(1, 2)):
            key = "".join(rng.choice(string.ascii_lowercase) for _ in range(4))
            if sub.fields_by_name["key"].type != F.TYPE_STRING:
                key = rng.randint(1, 100)  # type: ignore[assignment]
            if value_field.message_type is not None:
                fill(container[key], rng, depth + 1, dense)
            else:
                container[key] = _scalar(value_field, rng)
    elif field.is_repeated:
        for _ in range(rng.randint(1, 2)):
            if sub is not None:
                fill(container.add(), rng, depth + 1, dense)
            else:
                container.append(_scalar(field, rng))
    elif sub is not None:
        container.SetInParent()
        fill(container, rng, depth + 1, dense)
    else:
        setattr(message, field.name, _scalar(field, rng))


def event_types() -> list[int]:
    return [v.number for v in PbEventType.DESCRIPTOR.values[1:]]


def random_history(seed: int, dense: float = 0.7, types: list[int] | None = None) -> History:
    """One event of every type (or of `types`), every field family exercised."""
    rng = random.Random(seed)
    history = History()
    for number in types or event_types():
        event: Any = history.events.add()
        fill(event, rng, 0, dense)
        event.event_type = number
        value_name = PbEventType.DESCRIPTOR.values_by_number[number].name
        name = value_name[len("EVENT_TYPE_") :].lower() + "_event_attributes"
        attributes = getattr(event, name)
        attributes.SetInParent()
        fill(attributes, rng, 1, dense)
    return history


def canonical(history: History) -> dict[str, Any]:
    return MessageToDict(history)  # what WorkflowHistory.to_json() writes


def declaration_ordered(value: Any, descriptor: Descriptor) -> Any:
    """`value` with each object's keys in proto declaration order, as Go writes them."""
    if not isinstance(value, dict) or descriptor.full_name.startswith("google.protobuf."):
        return value
    out = {}
    for field in descriptor.fields:
        if field.json_name not in value:
            continue
        item, sub = value[field.json_name], field.message_type
        if sub is not None and sub.GetOptions().map_entry:
            inner = sub.fields_by_name["value"].message_type
            if inner is not None:
                item = {k: declaration_ordered(v, inner) for k, v in item.items()}
        elif sub is not None and field.is_repeated:
            item = [declaration_ordered(v, sub) for v in item]
        elif sub is not None:
            item = declaration_ordered(item, sub)
        out[field.json_name] = item
    return out


def go_style(history: dict[str, Any]) -> dict[str, Any]:
    return {"events": [declaration_ordered(e, HistoryEvent.DESCRIPTOR) for e in history["events"]]}


def same_json(a: object, b: object) -> bool:
    """Equal values with keys in the same order."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


# ---------------------------------------------------- model values vs the protobuf


def assert_matches(ours: object, pb: Message, path: str) -> None:
    """Every typed field of `ours` equals the protobuf's value; opaque ones its JSON."""
    assert isinstance(ours, ProtoMessage), path
    for spec in ours.FIELDS:
        _assert_field(getattr(ours, spec.name), pb, spec, f"{path}.{spec.name}")
    assert getattr(ours, "unknown", None) is None, path


def _assert_field(value: object, pb: Message, spec: FieldSpec, path: str) -> None:
    pb_value = getattr(pb, spec.name)
    if spec.kind is Kind.OPAQUE:
        if spec.is_map or spec.repeated:
            expected = MessageToDict(pb).get(spec.json_name)
        else:
            expected = MessageToDict(pb_value) if pb.HasField(spec.name) else None
        assert (value.value() if isinstance(value, Opaque) else value) == expected, path
    elif spec.kind in (Kind.TIMESTAMP, Kind.DURATION, Kind.MESSAGE):
        if not pb.HasField(spec.name):
            assert value is None, path
        elif spec.kind is Kind.MESSAGE:
            assert_matches(value, pb_value, path)
        else:
            assert value == pb_value.ToNanoseconds(), path
    elif spec.kind is Kind.BYTES:
        assert value == base64.b64encode(pb_value).decode(), path
    elif spec.repeated:
        assert list(value) == list(pb_value), path  # type: ignore[call-overload]
    else:
        assert value == pb_value, path
        if spec.kind is Kind.ENUM:
            assert type(value) is spec.enum, path
        elif spec.kind is not Kind.DOUBLE:
            assert type(value) is type(pb_value), path


def assert_history_matches(events: tuple[ModelEvent, ...], history: History) -> None:
    assert len(events) == len(history.events)
    for ours, pb in zip(events, history.events, strict=True):
        assert int(ours.event_type) == int(pb.event_type)
        assert_matches(ours, pb, f"event {pb.event_id}")
        spec = ATTRIBUTES[ours.event_type]
        oneof = pb.WhichOneof("attributes")
        assert oneof is not None
        pb_attributes = getattr(pb, oneof)
        if isinstance(ours.attributes, OpaqueAttributes):
            assert ours.attributes.json_key == spec.json_key
            assert ours.attributes.value.value() == MessageToDict(pb_attributes)
        else:
            assert_matches(ours.attributes, pb_attributes, spec.json_key)


# ------------------------------------------------------------- protobuf round trip


@pytest.mark.parametrize("seed", range(12))
def test_random_history_decodes_to_the_protobuf_values_and_encodes_back(seed: int) -> None:
    history = random_history(seed, dense=[0.3, 0.7, 1.0][seed % 3])
    expected = canonical(history)
    decoded = decode_history(json.dumps(expected))
    assert decoded.style == "canonical"
    assert decoded.field_order == "number"
    assert_history_matches(decoded.events, history)
    assert same_json(encode_history(decoded.events), expected)


@pytest.mark.parametrize("seed", range(6))
def test_go_declaration_order_is_detected_and_written_back(seed: int) -> None:
    expected = go_style(canonical(random_history(100 + seed, dense=1.0)))
    decoded = decode_history(expected)
    assert decoded.field_order == "declaration"
    assert same_json(encode_history(decoded.events, field_order="declaration"), expected)
    assert not same_json(encode_history(decoded.events), expected)  # orders do differ


def test_every_event_type_is_covered_with_its_own_attributes_class() -> None:
    decoded = decode_history(canonical(random_history(7)))
    assert [int(e.event_type) for e in decoded.events] == event_types()
    for event in decoded.events:
        assert type(event.attributes) is ATTRIBUTES[event.event_type].cls
    assert sum(isinstance(e.attributes, OpaqueAttributes) for e in decoded.events) == 13


def test_encode_matches_protobuf_for_hand_built_events() -> None:
    event = ModelEvent(
        5,
        EventType.WORKFLOW_TASK_TIMED_OUT,
        WorkflowTaskTimedOutEventAttributes(3, 4, TimeoutType.START_TO_CLOSE),
        event_time=-1,
        version=-7,
        task_id=2**63 - 1,
    )
    pb: Any = HistoryEvent(event_id=5, version=-7, task_id=2**63 - 1)
    pb.event_type = 8
    pb.event_time.FromNanoseconds(-1)
    pb.workflow_task_timed_out_event_attributes.scheduled_event_id = 3
    pb.workflow_task_timed_out_event_attributes.started_event_id = 4
    pb.workflow_task_timed_out_event_attributes.timeout_type = 1
    assert same_json(encode_event(event), MessageToDict(pb))
    assert encode_event(event)["eventTime"] == "1969-12-31T23:59:59.999999999Z"


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=-62135596800 * 10**9, max_value=253402300799 * 10**9 + 999999999),
    st.integers(min_value=-315576000000 * 10**9, max_value=315576000000 * 10**9 + 999999999),
)
def test_timestamps_and_durations_print_like_protobuf(ts: int, duration: int) -> None:
    pb: Any = HistoryEvent(event_id=1)
    pb.event_type = 5
    pb.event_time.FromNanoseconds(ts)
    pb.workflow_task_scheduled_event_attributes.start_to_close_timeout.FromNanoseconds(duration)
    expected = {"events": [MessageToDict(pb)]}
    decoded = decode_history(expected).events[0]
    assert decoded.event_time == ts
    assert decoded.attributes.start_to_close_timeout == duration  # type: ignore[union-attr]
    assert encode_history([decoded]) == expected


@pytest.mark.parametrize(
    ("timestamp", "duration"),
    [
        ("2024-01-01T01:30:00+01:30", "1.5s"),
        ("2024-02-29T23:59:59.5Z", "-0.000000001s"),
        ("1970-01-01T00:00:00.123456789-08:00", "315576000000s"),
        ("0001-01-01T00:00:00Z", "0s"),
        ("9999-12-31T23:59:59.999999999Z", "-1.100s"),
    ],
)
def test_non_canonical_times_parse_like_protobuf(timestamp: str, duration: str) -> None:
    from google.protobuf.duration_pb2 import Duration
    from google.protobuf.timestamp_pb2 import Timestamp

    pb_timestamp, pb_duration = Timestamp(), Duration()
    pb_timestamp.FromJsonString(timestamp)
    pb_duration.FromJsonString(duration)
    raw = {
        "eventTime": timestamp,
        "eventType": "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "workflowTaskScheduledEventAttributes": {"startToCloseTimeout": duration},
    }
    event = decode_event(raw)
    assert event.event_time == pb_timestamp.ToNanoseconds()
    assert event.attributes.start_to_close_timeout == pb_duration.ToNanoseconds()  # type: ignore[union-attr]
    written = encode_event(event)
    assert written["eventTime"] == pb_timestamp.ToJsonString()
    assert written["workflowTaskScheduledEventAttributes"] == {
        "startToCloseTimeout": pb_duration.ToJsonString()
    }


# ------------------------------------------------------------------- real fixtures


def _fixture_files() -> list[Path]:
    # manifest.json describes the recordings; it is not a history.
    return sorted(p for p in HISTORIES.glob("*.json") if p.name != "manifest.json")


def test_recorded_fixtures_exist() -> None:
    assert _fixture_files(), f"no recorded histories in {HISTORIES}"


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_recorded_fixture_round_trips_exactly(path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    decoded = decode_history(path.read_bytes())
    again = encode_history(decoded.events, decoded.style, decoded.field_order)
    assert again == original
    assert same_json(again, original)
    with path.open("rb") as stream:
        assert tuple(iter_events(stream, chunk_size=4096)) == decoded.events


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_recorded_fixture_agrees_with_official_protobufs(path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    history = _history_from_json(original)  # the SDK's parser: canonical or legacy
    decoded = decode_history(original)
    ours = encode_history(decoded.events, include_unknown=False)
    assert ours == MessageToDict(ParseDict(ours, History(), ignore_unknown_fields=True))
    assert ours == MessageToDict(history)


# --------------------------------------------------------------------- legacy form


def _prefix(enum_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"


def to_legacy(value: Any, descriptor: Descriptor) -> Any:
    """Independent converter: every enum value along the protobuf schema, full -> short."""
    if not isinstance(value, dict) or descriptor.full_name.startswith("google.protobuf."):
        return value
    out = {}
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key)
        sub = field.message_type if field is not None else None
        if field is None:
            pass
        elif sub is not None and sub.GetOptions().map_entry:
            inner = sub.fields_by_name["value"]
            item = {k: _legacy_item(v, inner) for k, v in item.items()}
        elif field.is_repeated:
            item = [_legacy_item(v, field) for v in item]
        else:
            item = _legacy_item(item, field)
        out[key] = item
    return out


def _legacy_item(item: Any, field: FieldDescriptor) -> Any:
    if field.enum_type is not None and isinstance(item, str):
        member = item[len(_prefix(field.enum_type.name)) :]
        return "".join(word.capitalize() for word in member.split("_"))
    if field.message_type is not None:
        return to_legacy(item, field.message_type)
    return item


def legacy_history(history: dict[str, Any]) -> dict[str, Any]:
    return {"events": [to_legacy(e, HistoryEvent.DESCRIPTOR) for e in history["events"]]}


def _legacy_pairs() -> list[tuple[Path, Path]]:
    legacy = sorted(LEGACY.glob("*.legacy.json"))
    return [(p, p.with_name(p.name.replace(".legacy.", ".canonical."))) for p in legacy]


def test_legacy_fixtures_exist() -> None:
    names = [legacy.name for legacy, _ in _legacy_pairs()]
    assert len(names) >= 3 and "hand-written.legacy.json" in names


@pytest.mark.parametrize("pair", _legacy_pairs(), ids=lambda pair: pair[0].name)
def test_legacy_fixture_decodes_like_its_canonical_twin(pair: tuple[Path, Path]) -> None:
    legacy_path, canonical_path = pair
    legacy = json.loads(legacy_path.read_text(encoding="utf-8"))
    twin = json.loads(canonical_path.read_text(encoding="utf-8"))
    assert legacy != twin
    assert legacy == legacy_history(twin)  # fixture and converter agree
    decoded, decoded_twin = decode_history(legacy), decode_history(twin)
    assert (decoded.style, decoded_twin.style) == ("legacy", "canonical")
    assert decoded.events == decoded_twin.events
    assert same_json(encode_history(decoded.events, "legacy"), legacy)
    assert same_json(encode_history(decoded.events), twin)
    if legacy_path.name.startswith("hand-written"):
        # The official SDK reads it to the same protobuf. (It rewrites only the enum
        # keys old exports used, so it cannot read the generated files, which hold
        # every enum of the API.)
        assert MessageToDict(_history_from_json(legacy)) == encode_history(decoded.events)
    with legacy_path.open("rb") as stream:
        assert tuple(iter_events(stream, chunk_size=64)) == decoded.events


@pytest.mark.parametrize("seed", range(4))
def test_random_legacy_history_round_trips(seed: int) -> None:
    twin = canonical(random_history(200 + seed, dense=0.8))
    legacy = legacy_history(twin)
    decoded = decode_history(legacy)
    assert decoded.style == "legacy"
    assert decoded.events == decode_history(twin).events
    assert same_json(encode_history(decoded.events, "legacy"), legacy)


def test_legacy_short_names_inside_opaque_failures_are_expanded() -> None:
    legacy = json.loads((LEGACY / "hand-written.legacy.json").read_text(encoding="utf-8"))
    events = decode_history(legacy).events
    texts = " ".join(
        e.attributes.failure.text  # type: ignore[union-attr]
        for e in events
        if getattr(e.attributes, "failure", None) is not None
    )
    assert "TIMEOUT_TYPE_START_TO_CLOSE" in texts and "RETRY_STATE_TIMEOUT" in texts
    assert '"StartToClose"' not in texts


# ---------------------------------------------------------------------- streaming


def test_iter_events_matches_decode_history_at_every_chunk_size() -> None:
    data = json.dumps(canonical(random_history(11)), indent=1).encode()
    expected = decode_history(data).events
    for chunk in (1, 2, 3, 7, 64, 1000, 1 << 20):
        assert tuple(iter_events(io.BytesIO(data), chunk_size=chunk)) == expected


def test_iter_events_accepts_a_bare_list_and_an_empty_history() -> None:
    one = canonical(random_history(3, types=[18]))["events"]
    assert len(tuple(iter_events(io.BytesIO(json.dumps(one).encode())))) == 1
    assert tuple(iter_events(io.BytesIO(b' { "events" : [ ] } '))) == ()
    assert tuple(iter_events(io.BytesIO(b"{}"))) == ()
    assert decode_history("[]").events == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "empty file"),
        (b'{"events": [', "events[0]"),
        (b'{"events": [{"eventId": "1"', "truncated"),
        (b'{"events": [] } x', "after the history"),
        (b'{"nextPageToken": ""}', "top-level key"),
        (b'{"events": [1]}', "expected an event object"),
        (b'{"events": [{}] ', "eventType is missing"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_iter_events_reports_bad_input(text: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        tuple(iter_events(io.BytesIO(text), chunk_size=3))


def test_write_events_streams_what_encode_history_builds() -> None:
    events = decode_history(canonical(random_history(5))).events
    out = io.BytesIO()
    assert write_events(events, out, field_order="declaration") == len(events)
    assert json.loads(out.getvalue()) == encode_history(events, field_order="declaration")
    assert tuple(iter_events(io.BytesIO(out.getvalue()))) == events


def test_iter_events_memory_is_bounded_by_the_chunk_not_the_file() -> None:
    import tracemalloc

    event = canonical(random_history(1, types=[10]))["events"][0]
    line = json.dumps(event).encode()
    n = 20_000
    data = b'{"events": [' + b",\n".join([line] * n) + b"]}"
    tracemalloc.start()
    count = 0
    for _ in iter_events(io.BytesIO(data), chunk_size=1 << 16):
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == n
    assert peak < len(data) / 10, (peak, len(data))


# ---------------------------------------------------------------- fixture writer


def write_legacy_fixtures() -> None:
    """Write generated canonical/legacy twins; the hand-written pair is kept as is."""
    LEGACY.mkdir(parents=True, exist_ok=True)
    failing = [3, 4, 8, 9, 13, 14, 23, 30, 36, 38, 40, 47]
    for name, history in (
        ("generated-all-types", random_history(1, dense=0.5)),
        ("generated-failures", random_history(2, dense=0.9, types=failing)),
    ):
        twin = canonical(history)
        for suffix, value in (("canonical", twin), ("legacy", legacy_history(twin))):
            path = LEGACY / f"{name}.{suffix}.json"
            path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", "utf-8")
            print(f"wrote {path}")


if __name__ == "__main__":
    write_legacy_fixtures()
    sys.exit(0)
