"""Payload encoding: the remembered fast path for scalars gives exactly the plain encoding,
keeps equal-but-different values apart, and hands out values callers may mutate."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import payloads
from core.errors import BadPayload
from core.opaque import JsonValue, Opaque
from core.statemachine.replay.definition import RetryPolicy

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@given(st.lists(values, min_size=1, max_size=4))
def test_encoding_equals_the_plain_encoder_and_round_trips(items: list[JsonValue]) -> None:
    encoded = payloads.to_payloads(items)
    assert encoded == payloads._encode(items)  # the cache changes nothing
    assert payloads.to_payloads(items) == encoded  # a second, remembered call too
    assert payloads.from_payloads(encoded) == items
    assert payloads.from_payloads(encoded) == payloads._decode(encoded)


@pytest.mark.parametrize("equal", [(1, 1.0, True), (0, 0.0, False)])
def test_equal_values_of_different_types_are_not_confused(equal: tuple[object, ...]) -> None:
    texts = [payloads.to_payloads([v]) for v in equal]
    assert len({t.text for t in texts if t is not None}) == 3
    decoded = [payloads.from_payloads(t)[0] for t in texts]
    assert [type(v) for v in decoded] == [type(v) for v in equal]


def test_decoded_values_are_fresh_copies() -> None:
    scalar = payloads.to_payloads(["a", 1])
    first = payloads.from_payloads(scalar)
    first.append("mutated")
    assert payloads.from_payloads(scalar) == ["a", 1]
    nested = payloads.to_payloads([{"k": [1, 2]}])
    got = payloads.from_payloads(nested)
    inner = got[0]
    assert isinstance(inner, dict)
    inner["k"] = "mutated"
    assert payloads.from_payloads(nested) == [{"k": [1, 2]}]


def test_retry_policy_encoding_is_remembered_per_coefficient_type() -> None:
    as_int = RetryPolicy(backoff_coefficient=2)
    as_float = RetryPolicy(backoff_coefficient=2.0)
    assert as_int == as_float  # equal dataclasses ...
    assert as_int.to_opaque() == Opaque('{"backoffCoefficient":2}')  # ... encoded apart
    assert as_float.to_opaque() == Opaque('{"backoffCoefficient":2.0}')
    assert as_float.to_opaque() is as_float.to_opaque()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


JSON_PLAIN = {"encoding": _b64("json/plain")}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"payloads": [{"metadata": JSON_PLAIN, "data": "abc"}]}, "not base64 of UTF-8 text"),
        ({"payloads": [{"metadata": JSON_PLAIN, "data": _b64("{no")}]}, "data is not JSON"),
        ({"payloads": [{"metadata": JSON_PLAIN, "data": "/w=="}]}, "not base64 of UTF-8 text"),
        ({"payloads": [{"metadata": JSON_PLAIN, "data": 5}]}, "data must be base64 text"),
        ({"payloads": [{"metadata": JSON_PLAIN, "data": _b64("[" * 10**5)}]}, "too deeply"),
        ({"payloads": [{"data": "e30="}]}, "payload encoding missing"),
        ({"payloads": [{"metadata": {"encoding": _b64("binary/x")}}]}, "encoding 'binary/x'"),
        ({"payloads": [{"metadata": {"encoding": 3}}]}, "encoding not base64 text"),
        ({"payloads": {"0": {}}}, "payloads must be a list"),
        ({"payloads": [5]}, "a payload must be an object"),
    ],
)
def test_a_payload_the_converter_cannot_read_is_bad_payload(body: JsonValue, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        payloads.from_payloads(Opaque.of(body))


def test_a_body_that_is_not_an_object_holds_no_payloads() -> None:
    assert payloads.from_payloads(Opaque.of("ok")) == []  # the simulator's activity results
    assert payloads.from_payloads(Opaque.of(None)) == []
