"""The typed decoder (adapters/temporal_json/typed.py) against the generic one.

The typed decoder reads events through msgspec structs and leaves every event it cannot
read exactly as protojson means it to the generic decoder (codec.py). The oracle here is
the generic decoder: on every recorded history, on random histories of every event type
in every style and key order, and on mutated input, the typed reader must give the same
events, style and key order, or refuse input the generic decoder refuses. Other tests
check that the typed path really is the one taken, and its pieces (twin constructors,
batched timestamps, integers in strings, opaque text) one by one.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.temporal_json import (
    BadInput,
    DecodedHistory,
    codec,
    decode_history,
    decode_history_generic,
    iter_events,
    scalars,
    stream,
    typed,
    write_events,
)
from adapters.temporal_json.builders import builder
from adapters.temporal_json.errors import _Bad
from adapters.temporal_json.stream import read_history
from adapters.validate_cmd import check_file
from core.events import ATTRIBUTES, HistoryEvent, ProtoMessage, TaskQueue
from core.opaque import Opaque
from core.statemachine.history.validator import validate
from sim.synthetic import synthetic_history
from tests.adapters.test_temporal_json import (
    HISTORIES,
    LEGACY,
    canonical,
    go_style,
    legacy_history,
    random_history,
)
from tests.adapters.test_temporal_json_errors import _ALL_PATHS, _SEED_DOCUMENT


def _texts(document: Any) -> list[bytes]:
    """The ways histories are written: pretty (the SDK, `temporal workflow show`), on
    one line with spaces, compact, and one event per line (`write_events`)."""
    return [
        json.dumps(document, indent=2, ensure_ascii=False).encode(),
        json.dumps(document).encode(),
        json.dumps(document, separators=(",", ":")).encode(),
        (
            json.dumps(document, separators=(",", ":")).replace('},{"eventId"', '},\n{"eventId"')
        ).encode(),
    ]


def _same(text: bytes, chunk_size: int = 1 << 20) -> DecodedHistory:
    """Assert that the typed reader decodes `text` as the generic decoder does, or
    refuses it as the generic decoder does; the result, if any."""
    try:
        expected = decode_history_generic(text)
    except BadInput:
        with pytest.raises(BadInput):
            read_history(text, chunk_size)
        with pytest.raises(BadInput):
            decode_history(text)
        return DecodedHistory((), "canonical", "number")
    assert read_history(text, chunk_size) == expected
    assert decode_history(text) == expected
    assert tuple(iter_events(io.BytesIO(text), chunk_size)) == expected.events
    return expected


def _recorded() -> list[Path]:
    files = [p for p in HISTORIES.glob("*.json") if p.name != "manifest.json"]
    return sorted([*files, *LEGACY.glob("*.json")])


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.name)
def test_every_recorded_history_decodes_as_the_generic_decoder_decodes_it(path: Path) -> None:
    document = json.loads(path.read_bytes())
    for text in [path.read_bytes(), *_texts(document)]:
        assert _same(text).events
    assert _same(json.dumps(go_style(document)).encode(), chunk_size=512).events


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.name)
def test_every_recorded_history_gets_one_verdict_from_either_decoder(path: Path) -> None:
    with open(path, "rb") as stream:
        typed_verdict = validate(iter_events(stream))
    with open(path, "rb") as stream:
        generic_verdict = validate(iter_events(stream, typed=False))
    assert typed_verdict == generic_verdict and typed_verdict.events > 0
    report = check_file(str(path))  # what `tmodel validate` runs
    assert (report.events, report.violations) == (typed_verdict.events, typed_verdict.violations)


@pytest.mark.parametrize("seed", range(8))
def test_random_histories_decode_as_the_generic_decoder_decodes_them(seed: int) -> None:
    document = canonical(random_history(300 + seed, dense=[0.3, 0.7, 1.0][seed % 3]))
    assert _same(_texts(document)[seed % 4], chunk_size=[64, 4096, 1 << 20][seed % 3]).events
    go = _same(json.dumps(go_style(document)).encode())
    assert go.field_order == "declaration"
    legacy = _same(json.dumps(legacy_history(document)).encode())
    assert legacy.style == "legacy"


# ------------------------------------------------------------- mutated input

_ODD: list[Any] = [
    *["1e3", "10.0", "100e-2", "1E+2", "-0", "007", " 5", "+5", "1.5", "1e-1", "0x1"],
    *["9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e19"],
    *[7.0, 7.5, 1e30, -0.0, 0.1, 1e16, 2**64, -(2**63), None, True, "", "x", [], {}],
    *["EVENT_TYPE_TIMER_FIRED", "TimerFired", "Normal", 3, "NaN", "Infinity", "1.5s"],
    *["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z", "2024-01-01t00:00:00z"],
    *["2024-01-01T00:00:00+01:00", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00.Z"],
    *[{"a": 1.5}, {"a": [1, 2.0, {"b": 1e-7}]}, [{"x": None}], "\u2028\x7f\x00"],
]


def _mutated(data: st.DataObject) -> Any:
    document = json.loads(json.dumps(_SEED_DOCUMENT))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_ALL_PATHS))
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent[path[-1] + "X"] = parent.pop(path[-1])  # an unknown key
            else:
                parent[path[-1]] = data.draw(st.sampled_from(_ODD))
        except (KeyError, IndexError, TypeError):
            continue
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_histories_decode_as_the_generic_decoder_decodes_them(data: st.DataObject) -> None:
    document = _mutated(data)
    _same(_texts(document)[data.draw(st.integers(0, 3))], data.draw(st.sampled_from([97, 4096])))


# ------------------------------------------------------- the typed path is taken


def _generic_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    generic = codec._decode_event

    def counted(raw: object, ctx: scalars._Ctx) -> HistoryEvent:
        calls.append(raw)
        return generic(raw, ctx)

    monkeypatch.setattr(stream, "_decode_event", counted)
    return calls


def test_a_generated_history_is_read_by_the_typed_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    count = write_events(synthetic_history(5000), out)
    calls = _generic_calls(monkeypatch)
    events = iter_events(io.BytesIO(out.getvalue()), chunk_size=1 << 14)
    assert sum(1 for _ in events) == count == events.count
    assert len(calls) == 1  # the first event, read before the separator is known


def test_only_the_events_the_typed_decoder_refuses_are_read_generically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = json.loads(write_events_text(synthetic_history(400)))["events"]
    events[100]["futureField"] = 1  # unknown: refused
    events[200]["eventId"] = "2.01e2"  # 201 as Go reads it: typed
    events[300]["taskId"] = 5  # a number: typed
    calls = _generic_calls(monkeypatch)
    decoded = read_history(json.dumps({"events": events}, indent=2).encode())
    assert [c["eventId"] for c in calls if isinstance(c, dict)] == ["1", "101"]
    assert decoded.events[200].event_id == 201 and decoded.events[300].task_id == 5
    assert decoded.events[100].unknown == Opaque.of({"futureField": 1})


def write_events_text(events: Any) -> bytes:
    out = io.BytesIO()
    write_events(events, out)
    return out.getvalue()


def test_refused_events_do_not_pile_up_in_memory() -> None:
    import tracemalloc

    event = json.loads(write_events_text(synthetic_history(3)))["events"][1]
    event["futureField"] = {"a": [1, 2]}  # every event refused
    line = json.dumps(event).encode()
    data = b'{"events": [' + b",\n".join([line] * 10_000) + b"]}"
    tracemalloc.start()
    count = sum(1 for _ in iter_events(io.BytesIO(data), chunk_size=1 << 16))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 10_000
    assert peak < len(data) / 4, (peak, len(data))


def test_events_before_a_bad_one_are_handed_out_and_counted() -> None:
    events = json.loads(write_events_text(synthetic_history(300)))["events"]
    events[250]["eventTime"] = "yesterday"
    stream_ = iter_events(io.BytesIO(json.dumps({"events": events}).encode()))
    seen = []
    with pytest.raises(BadInput, match=r"^events\[250\] \(eventId \"251\"\): eventTime"):
        for event in stream_:
            seen.append(event)
    assert len(seen) == stream_.count == 250


# ------------------------------------------------------------------ the pieces


def _classes() -> list[type[ProtoMessage]]:
    found = {HistoryEvent, TaskQueue}
    for spec in ATTRIBUTES.values():
        if issubclass(spec.cls, ProtoMessage):
            found.add(spec.cls)
    return sorted(found, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", _classes(), ids=lambda cls: cls.__name__)
def test_a_twin_builds_what_the_class_builds(cls: type[ProtoMessage]) -> None:
    twin = builder(cls)
    assert twin is not cls
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    values = [object() for _ in fields]
    built = twin(*values)
    assert type(built) is cls
    assert [getattr(built, f.name) for f in fields] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.unknown = None  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    """A frozen dataclass without slots: no twin fits it."""

    a: int
    b: str = "b"


def test_a_class_no_twin_fits_keeps_its_own_constructor() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    assert builder(_NoSlots) is _NoSlots
    assert builder(Factory) is Factory


def _built_by_source(cls: type, values: dict[str, object]) -> object:
    """What the lines `typed._Source.build` writes for `cls` leave, given `values`."""
    source = typed._Source("make")
    fields = {name: source.ref(value, "value") for name, value in values.items()}
    return source.compile([], [], source.build(cls, fields, "made"), "made", "")()


@pytest.mark.parametrize("cls", [TaskQueue, HistoryEvent], ids=lambda cls: cls.__name__)
def test_the_converters_inline_build_makes_what_the_class_makes(cls: type) -> None:
    fields = dataclasses.fields(cls)
    required = {f.name: object() for f in fields if f.default is dataclasses.MISSING}
    built = _built_by_source(cls, required)
    assert type(built) is cls
    for f in fields:  # the values given, and each default for the rest
        expected = required.get(f.name, f.default)
        assert getattr(built, f.name) is expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.unknown = None  # type: ignore[attr-defined]


def test_the_converters_build_calls_a_class_no_twin_fits() -> None:
    built = _built_by_source(_NoSlots, {"a": 1})
    assert built == _NoSlots(1) and type(built) is _NoSlots


_PREFIXES = ["2024-01-01T00:00:00", "2024-01-01T00:00:01", "1970-01-01T00:00:00"]
_TAILS = ["Z", ".5Z", ".123Z", ".123456Z", ".123456789Z", ".1234567890Z", "z", ".Z", "+01:00"]
_TAILS += [".12 Z", ".\u0663Z", "Q", ".123456789"]


@given(st.lists(st.tuples(st.sampled_from(_PREFIXES), st.sampled_from(_TAILS)), min_size=1))
def test_timestamps_read_together_are_read_as_one_by_one(parts: list[tuple[str, str]]) -> None:
    texts = [prefix + tail for prefix, tail in parts]
    ctx = scalars._Ctx(False)
    expected: list[int] | None = []
    for text in texts:
        try:
            expected.append(scalars._decode_timestamp(text, ctx))  # type: ignore[union-attr]
        except _Bad:
            expected = None
            break
    together = scalars._timestamps(texts)
    if together is not None:
        assert together == expected
    elif expected is not None:  # a shape only the one-by-one reader takes
        assert any(not text.endswith("Z") or "+" in text for text in texts)


def test_a_bad_text_with_an_unseen_prefix_leaves_the_batch_to_the_one_by_one_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Learning a new prefix must not raise: the batch answers None and the one-by-one
    reader words the error (found by Hypothesis: a non-ASCII digit after a new second)."""
    monkeypatch.setattr(scalars, "_PREFIX_NS", {})
    texts = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01.\u0663Z"]
    assert scalars._timestamps(texts) is None
    with pytest.raises(_Bad, match="RFC 3339"):
        scalars._decode_timestamp(texts[1], scalars._Ctx(False))


def test_the_timestamp_memo_is_emptied_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scalars, "_MAX_MEMO", 3)
    monkeypatch.setattr(scalars, "_PREFIX_NS", {})
    texts = [f"2024-01-01T00:00:{s:02d}.5Z" for s in range(10)]
    ctx = scalars._Ctx(False)
    expected = [scalars._decode_timestamp(t, ctx) for t in texts]
    assert len(scalars._PREFIX_NS) <= 3
    assert scalars._timestamps(texts) is None  # more seconds than the memo holds
    assert len(scalars._PREFIX_NS) <= 3
    assert scalars._timestamps(texts[4:6] * 3) == expected[4:6] * 3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("1e3", 1000), ("10.0", 10), ("100e-2", 1), ("1E+2", 100), ("-2.50e1", -25)],
        *[("-25.0e-1", None), ("0.0", 0), ("-0", 0), ("1.5", None), ("1e-1", None)],
        *[("1e21", None), ("01.0", None), (".5", None), ("1.", None), ("1e", None)],
    ],
)
def test_integers_in_number_notation_are_read_as_go_reads_them(text: str, value: object) -> None:
    assert scalars._integral(text) == value


@given(st.integers(-(10**19), 10**19), st.integers(-25, 25), st.integers(0, 3))
@example(10**18, 2, 3)  # 21 digits once its fraction's zeros are dropped (found by the full run)
def test_integral_agrees_with_decimal(mantissa: int, exponent: int, zeros: int) -> None:
    text = f"{mantissa}{'.' + '0' * zeros if zeros else ''}e{exponent}"
    exact = Decimal(text)
    integral = exact == exact.to_integral_value() and len(str(abs(int(exact)))) <= 20
    assert scalars._integral(text) == (int(exact) if integral else None)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=4), _JSON, max_size=4))
def test_opaque_values_read_by_msgspec_keep_the_standard_librarys_text(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=bool(len(value) % 2))
    parsed = msgspec.json.Decoder(Any, float_hook=typed._Float).decode(text)
    assert typed._opaque_text(parsed) == Opaque.of(json.loads(text))


def test_an_opaque_float_json_cannot_hold_is_left_to_the_generic_decoder() -> None:
    parsed = msgspec.json.Decoder(Any, float_hook=typed._Float).decode(b'{"a": 1e400}')
    with pytest.raises(typed.Refused):
        typed._opaque_text(parsed)
    assert math.isinf(json.loads('{"a": 1e400}')["a"])  # which json.loads would accept
