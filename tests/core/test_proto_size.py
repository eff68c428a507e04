"""core/proto_size.py against the protobuf runtime's own `ByteSize()`.

Every payload, memo, search-attribute map and failure of the recorded corpus, and
generated ones (empty values, unicode, large ids, nested causes, durations), must be
sized exactly as protobuf encodes them, and never above `upper_bound` of their JSON.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Memo, Payload, Payloads, SearchAttributes
from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.api.failure.v1 import (
    ActivityFailureInfo,
    ApplicationFailureInfo,
    Failure,
    ServerFailureInfo,
    TimeoutFailureInfo,
)

from core import proto_size
from core.opaque import Opaque
from tests.conftest import corpus_events, corpus_files

KINDS: dict[str, Any] = {
    "Payloads": Payloads,
    "Memo": Memo,
    "SearchAttributes": SearchAttributes,
    "Failure": Failure,
}
FIELDS = {
    "input": "Payloads",
    "result": "Payloads",
    "details": "Payloads",
    "lastCompletionResult": "Payloads",
    "memo": "Memo",
    "upsertedMemo": "Memo",
    "searchAttributes": "SearchAttributes",
    "failure": "Failure",
    "lastFailure": "Failure",
    "continuedFailure": "Failure",
}


def _agrees(kind: str, message: Any) -> None:
    document = json_format.MessageToDict(message)
    value = Opaque.of(document)
    size = proto_size.size_of(kind, value)
    assert size == message.ByteSize(), (kind, document)
    assert size <= proto_size.upper_bound(value.text)


def _corpus_values() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in FIELDS and isinstance(value, dict):
                    found.append((FIELDS[key], value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in corpus_files():
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def test_every_value_of_the_corpus_is_sized_as_protobuf_encodes_it() -> None:
    sized: set[str] = set()
    for kind, document in _corpus_values():
        try:  # (a marker's `details` is a map of Payloads, not Payloads: not this kind)
            message = json_format.ParseDict(document, KINDS[kind]())
        except json_format.ParseError:
            continue
        _agrees(kind, message)
        sized.add(json.dumps(document, sort_keys=True))
    assert len(sized) >= 100
    assert corpus_events("activity-single.json")  # the corpus is the one conftest reads


texts = st.text(max_size=40)
blobs = st.binary(max_size=300)
payloads = st.builds(
    lambda metadata, data: Payload(metadata=metadata, data=data),
    st.dictionaries(texts, blobs, max_size=3),
    blobs,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(payloads, max_size=4))
def test_payloads(items: list[Payload]) -> None:
    _agrees("Payloads", Payloads(payloads=items))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(texts, payloads, max_size=4))
def test_memo_and_search_attributes(fields: dict[str, Payload]) -> None:
    _agrees("Memo", Memo(fields=fields))
    _agrees("SearchAttributes", SearchAttributes(indexed_fields=fields))


def _failure(depth: int) -> st.SearchStrategy[Failure]:
    info = st.one_of(
        st.none(),
        st.builds(
            lambda kind, flag, details, seconds, nanos: ApplicationFailureInfo(
                type=kind,
                non_retryable=flag,
                details=Payloads(payloads=details),
                next_retry_delay=Duration(seconds=seconds, nanos=nanos),
            ),
            texts,
            st.booleans(),
            st.lists(payloads, max_size=2),
            st.integers(0, 10**6),
            st.integers(0, 999_999_999),
        ),
        st.builds(
            lambda kind: TimeoutFailureInfo(timeout_type=kind),
            st.sampled_from(list(TimeoutType.values())),
        ),
        st.builds(lambda flag: ServerFailureInfo(non_retryable=flag), st.booleans()),
        st.builds(
            lambda a, b, who, state: ActivityFailureInfo(
                scheduled_event_id=a, started_event_id=b, identity=who, retry_state=state
            ),
            st.integers(0, 2**62),
            st.integers(0, 2**40),
            texts,
            st.sampled_from(list(RetryState.values())),
        ),
    )
    cause = _failure(depth - 1) if depth > 0 else st.none()
    return st.builds(_make_failure, texts, texts, texts, info, st.one_of(st.none(), cause))


def _make_failure(message: str, source: str, stack: str, info: Any, cause: Any) -> Failure:
    failure = Failure(message=message, source=source, stack_trace=stack)
    if isinstance(info, ApplicationFailureInfo):
        failure.application_failure_info.CopyFrom(info)
    elif isinstance(info, TimeoutFailureInfo):
        failure.timeout_failure_info.CopyFrom(info)
    elif isinstance(info, ServerFailureInfo):
        failure.server_failure_info.CopyFrom(info)
    elif isinstance(info, ActivityFailureInfo):
        failure.activity_failure_info.CopyFrom(info)
    if cause is not None:
        failure.cause.CopyFrom(cause)
    return failure


@settings(max_examples=300, deadline=None)
@given(_failure(2))
def test_failures(failure: Failure) -> None:
    _agrees("Failure", failure)


def test_a_field_newer_than_the_model_is_estimated_not_refused() -> None:
    known = Opaque.of({"message": "boom"})
    newer = Opaque.of({"message": "boom", "someFutureField": {"x": 1}})
    assert proto_size.failure_size(newer) > proto_size.failure_size(known) == 6


def test_the_map_sizes_the_server_measures_upserts_and_markers_by() -> None:
    memo = json_format.MessageToDict(Memo(fields={"note": Payload(data=b"m" * 10)}))
    fields: Any = memo["fields"]
    assert proto_size.payload_map_data_size(fields) == len("note") + 10
    details: Any = {"result": json_format.MessageToDict(Payloads(payloads=[Payload(data=b"abc")]))}
    assert (
        proto_size.payloads_map_size(details)
        == len("result") + Payloads(payloads=[Payload(data=b"abc")]).ByteSize()
    )
