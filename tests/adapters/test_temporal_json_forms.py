"""Every form in which Temporal histories are exported decodes to the same events.

tests/fixtures/forms holds histories recorded from the real dev server (temporal CLI
1.9.1, server 1.32.0, temporalio 1.35.0 workers, scenarios of adapters/conform): for
each run, `temporal workflow show --output json` (`NAME.cli.json`) beside the server
HTTP API's answer for the same run, `GET /api/v1/namespaces/default/workflows/ID/history`
(`NAME.http.json`, payloads shorthand as it writes them by default;
`NAME.http-noshort.json` with `?noPayloadShorthand`; `activity-single.http-reverse.json`
from `.../history-reverse`; `activity-single.http-page1.json` with `maximumPageSize=4`,
the first page, its `nextPageToken` set).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from adapters.temporal_json import (
    BadInput,
    decode_history,
    decode_history_generic,
    encode_history,
    iter_events,
)
from adapters.temporal_json.shorthand import _go_json, _sites, schema_sites
from tests.conftest import FIXTURES, HISTORIES, corpus_files, fault_files

FORMS = FIXTURES / "forms"
RECORDED = sorted(p.name.removesuffix(".cli.json") for p in FORMS.glob("*.cli.json"))
# Runs whose shorthand form cannot give back the exact events, and why (the server's
# marshaler, api-go common/v1/payload_json.go, loses it before we read a byte).
LOSSY = {
    # The SDK core writes a local activity's marker data with its keys unsorted; the
    # server parses the data and writes it again with the keys sorted.
    "local-activities": "marker data key order",
    # A search attribute removed by an upsert is a binary/null payload with a `type`
    # metadata entry; the server writes a binary/null payload with its encoding alone.
    "search-attributes-memo": "binary/null metadata",
}
Json = Any


def _read(path: Path) -> Any:
    return decode_history(path.read_bytes())


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _normal(value: Json) -> Json:
    """A JSON tree with every payload's data as the value it holds (json encodings) and
    binary/null payloads as their encoding alone: the parts of a payload the shorthand
    form keeps. Found by shape, without the schema the decoder uses."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if not isinstance(value, dict):
        return value
    metadata = value.get("metadata")
    if isinstance(metadata, dict) and "encoding" in metadata and set(value) <= {"metadata", "data"}:
        encoding = _b64(metadata["encoding"])
        if encoding == b"binary/null":
            return {"encoding": "binary/null"}
        if encoding in (b"json/plain", b"json/protobuf"):
            return {
                "metadata": {k: _b64(v).decode() for k, v in metadata.items()},
                "data": json.loads(_b64(value.get("data", ""))),
            }
    return {k: _normal(v) for k, v in value.items()}


def test_forms_fixtures_exist() -> None:
    assert len(RECORDED) >= 6
    for name in RECORDED:
        assert (FORMS / f"{name}.http.json").is_file()
    assert set(LOSSY) <= set(RECORDED)


@pytest.mark.parametrize("name", RECORDED)
def test_http_shorthand_decodes_to_the_cli_export(name: str) -> None:
    """The HTTP API's default form gives the CLI export's events: exactly, unless the
    server lost something (LOSSY); then equal once payload data is read as values."""
    cli = _read(FORMS / f"{name}.cli.json")
    http = _read(FORMS / f"{name}.http.json")
    assert http.rebuilt_payloads > 0
    assert len(http.events) == len(cli.events)
    normal = _normal(encode_history(http.events))
    assert normal == _normal(encode_history(cli.events))
    if name in LOSSY:
        assert http.events != cli.events, f"{name} is listed lossy but decodes exactly"
    else:
        assert http.events == cli.events
    # The generic decoder (a parsed object) reads the form as the streaming one does.
    text = (FORMS / f"{name}.http.json").read_text(encoding="utf-8")
    generic = decode_history_generic(json.loads(text))
    assert generic.events == http.events
    assert generic.rebuilt_payloads == http.rebuilt_payloads


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.http-noshort.json")), ids=lambda p: p.name)
def test_http_without_shorthand_decodes_exactly(path: Path) -> None:
    cli = _read(FORMS / path.name.replace(".http-noshort.json", ".cli.json"))
    http = _read(path)
    assert http.rebuilt_payloads == 0
    assert http.events == cli.events


def test_http_reverse_is_put_back_in_order() -> None:
    cli = _read(FORMS / "activity-single.cli.json")
    raw = json.loads((FORMS / "activity-single.http-reverse.json").read_text(encoding="utf-8"))
    ids = [int(e["eventId"]) for e in raw["history"]["events"]]
    assert ids == sorted(ids, reverse=True)  # the file really is newest first
    assert _read(FORMS / "activity-single.http-reverse.json").events == cli.events
    assert decode_history_generic(raw).events == cli.events


def test_cli_reverse_is_put_back_in_order() -> None:
    """`temporal workflow show --reverse --output json`, recorded with the UI fixtures."""
    ui = FIXTURES / "forms" / "ui"
    cli = _read(ui / "activity-single.cli.json")
    path = ui / "activity-single.cli-reverse.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert [int(e["eventId"]) for e in raw["events"]][:2] == [11, 10]
    assert _read(path).events == cli.events
    assert decode_history_generic(raw).events == cli.events
    assert tuple(iter_events(io.BytesIO(path.read_bytes()))) == cli.events


def test_events_out_of_order_otherwise_are_left_for_the_validator() -> None:
    cli = _read(FORMS / "activity-single.cli.json")
    raw = json.loads((FORMS / "activity-single.cli.json").read_text(encoding="utf-8"))
    raw["events"][3], raw["events"][4] = raw["events"][4], raw["events"][3]
    assert [e.event_id for e in decode_history(json.dumps(raw)).events][3:5] == [5, 4]
    raw["events"].reverse()  # falling but for one pair: not a reversed export
    events = decode_history(json.dumps(raw)).events
    assert [e.event_id for e in events] != sorted(e.event_id for e in cli.events)


def test_one_page_of_a_longer_history_is_refused() -> None:
    path = FORMS / "activity-single.http-page1.json"
    assert json.loads(path.read_text(encoding="utf-8"))["nextPageToken"]
    with pytest.raises(BadInput, match="nextPageToken is set: this is one page"):
        _read(path)
    with pytest.raises(BadInput, match="nextPageToken is set"):
        decode_history_generic(json.loads(path.read_text(encoding="utf-8")))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adapters.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def assert_bad_input(text: str, message: str, tmp_path: Path) -> None:
    """Both decoders refuse `text` with `message`, and `tmodel validate` exits 2 on it
    without a traceback."""
    with pytest.raises(BadInput, match=message):
        decode_history(text)
    with pytest.raises(BadInput, match=message):
        decode_history_generic(json.loads(text))
    path = tmp_path / "h.json"
    path.write_text(text, encoding="utf-8")
    result = _cli("validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["validate", "conform", "lint"])
def test_a_partial_page_is_one_line_and_exit_2(command: str) -> None:
    result = _cli(command, str(FORMS / "activity-single.http-page1.json"))
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if "nextPageToken" in line]
    assert len(errors) == 1


def test_conform_says_payloads_were_rebuilt(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["conform", "--json", str(FORMS / "workflow-failure.http.json")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    (history,) = doc["histories"]
    assert history["reproduced"]
    assert "shorthand JSON" in history["note"]
    code = main(["conform", str(FORMS / "workflow-failure.cli.json")])
    assert code == 0
    assert "note:" not in capsys.readouterr().out


EVENT = {
    "eventId": "1",
    "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
    "workflowExecutionStartedEventAttributes": {"input": ["x"]},
}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"history": [EVENT]}, "history: expected an object"),
        ({"history": {"events": [EVENT], "x": 1}}, 'unexpected key "x"'),
        ({"history": {"events": [EVENT]}, "rawHistory": [{"data": "AA=="}]}, "rawHistory holds"),
        ({"history": {"events": [EVENT]}, "archived": "no"}, "archived: expected true or false"),
        ({"history": {"events": [EVENT]}, "events": [EVENT]}, 'unexpected top-level key "events"'),
        ({"nextPageToken": "", "archived": False}, 'top-level key "nextPageToken"'),
        ({"history": {"events": [EVENT]}, "extra": 1}, 'unexpected top-level key "extra"'),
        (
            {"history": {"events": [{**EVENT, "eventType": "EVENT_TYPE_NO_SUCH_THING"}]}},
            "EVENT_TYPE_NO_SUCH_THING",
        ),
        (
            {"history": {"events": [{**EVENT, "eventId": "99999999999999999999"}]}},
            "eventId",
        ),
    ],
)
def test_bad_http_forms_are_bad_input(document: Json, message: str, tmp_path: Path) -> None:
    assert_bad_input(json.dumps(document), message, tmp_path)


@pytest.mark.parametrize("cut", [10, 200, 1000, 2000])
def test_a_truncated_http_file_is_bad_input(cut: int) -> None:
    data = (FORMS / "activity-single.http.json").read_bytes()[:cut]
    with pytest.raises(BadInput):
        decode_history(data)


def test_a_shorthand_number_out_of_float_range_is_bad_input() -> None:
    # api-go reads a number as int64, else as float64; 1e400 is neither.
    event = {**EVENT, "workflowExecutionStartedEventAttributes": {"input": [1e400]}}
    text = json.dumps({"history": {"events": [event]}}).replace("Infinity", "1e400")
    with pytest.raises(BadInput, match="input"):
        decode_history(text)


@pytest.mark.parametrize(
    ("value", "go"),
    [
        # What Go's json.Marshal writes for the interface{} api-go's reader builds
        # (encoding/json: sorted map keys, HTMLEscape, float64 'f' or 'e' formats).
        ({"b": 1, "a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e","b":1}'),
        ("tab\there\n\u2028\x01", '"tab\\there\\n\\u2028\\u0001"'),
        ("é", '"é"'),
        ([1.0, 2.5, -0.0], "[1,2.5,0]"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (12345678901234567890, "12345678901234567000"),
        (None, "null"),
        ([True, False, {}], "[true,false,{}]"),
    ],
)
def test_go_json_writes_as_go_does(value: Json, go: str) -> None:
    assert _go_json(value) == go


def test_shorthand_values_become_the_payloads_api_go_reads() -> None:
    attributes = {
        "input": [{"b": 1, "a": [1, 2]}, None, {"_protoMessageType": "x.Y", "f": 1}],
        "header": {"fields": {"h": "v"}},
    }
    event = {**EVENT, "workflowExecutionStartedEventAttributes": attributes}
    decoded = decode_history(json.dumps({"history": {"events": [event]}}))
    assert decoded.rebuilt_payloads == 4
    events: Any = encode_history(decoded.events)["events"]
    out = events[0]["workflowExecutionStartedEventAttributes"]
    plain, null, proto = out["input"]["payloads"]
    assert _b64(plain["metadata"]["encoding"]) == b"json/plain"
    assert _b64(plain["data"]) == b'{"a":[1,2],"b":1}'
    assert null == {"metadata": {"encoding": base64.b64encode(b"binary/null").decode()}}
    assert _b64(proto["metadata"]["messageType"]) == b"x.Y"
    assert _b64(proto["data"]) == b'{"f":1}'
    assert _b64(out["header"]["fields"]["h"]["data"]) == b'"v"'


def _unwrapped_without_first_payloads() -> str:
    """`jq .history` of an HTTP answer, with the first event's payloads removed, so
    that shorthand first shows up on a later event."""
    doc = json.loads((FORMS / "activity-single.http.json").read_text(encoding="utf-8"))
    events = doc["history"]["events"]
    del events[0]["workflowExecutionStartedEventAttributes"]["input"]
    return json.dumps({"events": events})


def test_shorthand_without_the_wrapper_is_read_as_shorthand() -> None:
    cli = _read(FORMS / "activity-single.cli.json")
    doc = json.loads((FORMS / "activity-single.http.json").read_text(encoding="utf-8"))
    unwrapped = json.dumps(doc["history"])  # jq .history
    assert decode_history(unwrapped).events == cli.events
    assert decode_history_generic(doc["history"]).events == cli.events
    # The first event without payloads: shorthand is found later, and whole-file
    # readers read the file again as shorthand.
    text = _unwrapped_without_first_payloads()
    late = decode_history(text)
    assert late.rebuilt_payloads == 3
    assert late.events[1:] == cli.events[1:]
    assert decode_history_generic(json.loads(text)).events == late.events
    stream = iter_events(io.BytesIO(text.encode()))
    assert [e.event_id for e in stream] == [e.event_id for e in cli.events]
    assert stream.late_shorthand


def test_late_shorthand_gets_the_same_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "late.json"
    path.write_text(_unwrapped_without_first_payloads(), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert main(["conform", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "3 payloads" in doc["histories"][0]["note"]


# ------------------------------------------------------------------ the corpus, every form


def _shorthand(value: Json) -> Json:
    """The server's shorthand of a JSON tree (api-go: toJSONShorthand), by shape."""
    if isinstance(value, list):
        return [_shorthand(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"payloads"} and isinstance(value["payloads"], list):
        shorts = [_short_payload(p) for p in value["payloads"]]
        if all(s is not _KEEP for s in shorts):
            return [s[0] for s in shorts]
    short = _short_payload(value)
    if short is not _KEEP:
        return short[0]
    return {k: _shorthand(v) for k, v in value.items()}


_KEEP = object()


def _short_payload(value: Json) -> Any:
    """(shorthand value,) for a payload the server shortens, else _KEEP."""
    metadata = value.get("metadata") if isinstance(value, dict) else None
    if not isinstance(metadata, dict) or not set(value) <= {"metadata", "data"}:
        return _KEEP
    meta = {k: _b64(v) for k, v in metadata.items()}
    data = _b64(value.get("data", ""))
    if meta.get("encoding") == b"binary/null":
        return ({"metadata": {"encoding": metadata["encoding"]}},)
    if meta == {"encoding": b"json/plain"}:
        return (json.loads(data),)
    if set(meta) == {"encoding", "messageType"} and meta["encoding"] == b"json/protobuf":
        return ({**json.loads(data), "_protoMessageType": meta["messageType"].decode()},)
    return _KEEP


def _numbers(events: list[Json]) -> list[Json]:
    """int64 ids as JSON numbers and the event type as its enum number (protobuf JSON
    readers take both)."""
    from core.enums import EventType

    out = []
    for event in events:
        event = dict(event)
        for key in ("eventId", "taskId"):
            if key in event:
                event[key] = int(event[key])
        event["eventType"] = EventType[event["eventType"].removeprefix("EVENT_TYPE_")].value
        out.append(event)
    return out


# sdk-java's WorkflowExecutionHistory.toJson (internal/common/HistoryJsonUtils.java):
# protobuf JSON with the enums at these places, and only these, in short names.
_JAVA_SHORT = {
    "kind": "TASK_QUEUE_KIND_",
    "parentClosePolicy": "PARENT_CLOSE_POLICY_",
    "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_",
    "initiator": "CONTINUE_AS_NEW_INITIATOR_",
    "retryState": "RETRY_STATE_",
}


def _pascal(name: str, prefix: str) -> str:
    return "".join(w.capitalize() for w in name.removeprefix(prefix).split("_"))


def _java(events: list[Json]) -> list[Json]:
    out = copy.deepcopy(events)
    for event in out:
        event["eventType"] = _pascal(event["eventType"], "EVENT_TYPE_")
        for attributes in event.values():
            if not isinstance(attributes, dict):
                continue
            places = [(attributes.get("taskQueue"), "kind")]  # $.events.*.*.taskQueue.kind
            places += [(attributes, key) for key in _JAVA_SHORT if key != "kind"]
            places += [(v, "retryState") for v in attributes.values()]  # $.events.*.*.*
            for holder, key in places:
                if isinstance(holder, dict) and isinstance(holder.get(key), str):
                    holder[key] = _pascal(holder[key], _JAVA_SHORT[key])
    return out


def _go_struct(events: list[Json]) -> list[Json]:
    """Go's encoding/json of api-go's structs (the Web UI's raw history), built from the
    official protobuf messages: proto names, oneofs wrapped in their Go names, int64 and
    enums as numbers, Timestamp and Duration as {seconds, nanos} without zeros."""
    from google.protobuf import json_format
    from temporalio.api.history.v1 import message_pb2

    def go(name: str) -> str:
        return "".join(p[:1].upper() + p[1:] for p in name.split("_"))

    def value(field: Any, v: Any) -> Any:
        if field.message_type is None:
            if field.type == field.TYPE_BYTES:
                return base64.b64encode(v).decode()
            return v
        name = field.message_type.full_name
        if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            return {k: x for k, x in (("seconds", v.seconds), ("nanos", v.nanos)) if x}
        return message(v)

    def message(m: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, v in m.ListFields():
            oneof = field.containing_oneof
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                entry = field.message_type.fields_by_name["value"]
                item: Any = {k: value(entry, x) for k, x in v.items()}
            elif field.is_repeated:
                item = [value(field, x) for x in v]
            else:
                item = value(field, v)
            if oneof is not None and not oneof.name.startswith("_"):
                out[go(oneof.name)] = {go(field.name): item}
            else:
                out[field.name] = item
        return out

    return [message(json_format.ParseDict(e, message_pb2.HistoryEvent())) for e in events]


FORM_WRITERS = {
    "compact": lambda ev: json.dumps({"events": ev}, separators=(",", ":")),
    "bare-list": lambda ev: json.dumps(ev),
    "ui-download": lambda ev: json.dumps({"events": ev}, indent=2, ensure_ascii=False),
    "sorted-keys": lambda ev: json.dumps({"events": ev}, sort_keys=True),
    "numbers": lambda ev: json.dumps({"events": _numbers(ev)}),
    "cli-reverse": lambda ev: json.dumps({"events": ev[::-1]}, indent=2),
    "http-noshort": lambda ev: json.dumps({"history": {"events": ev}}),
    "http": lambda ev: json.dumps({"history": {"events": _shorthand(ev)}}),
    "http-reverse": lambda ev: json.dumps({"history": {"events": _shorthand(ev[::-1])}}),
    "java": lambda ev: json.dumps({"events": _java(ev)}, indent=2),
    "ui-raw": lambda ev: json.dumps(_go_struct(ev)),
    # `jq .history` of the HTTP answer: the wrapper gone, the shorthand kept
    "http-unwrapped": lambda ev: json.dumps({"events": _shorthand(ev)}),
}


def _corpus() -> list[Path]:
    return corpus_files() + fault_files()


def _verdicts(
    command: str, base: Path, paths: list[str], capsys: pytest.CaptureFixture[str]
) -> Json:
    """Each file's row of `tmodel COMMAND --json`, by its name under `base`, without
    the path and the note on rebuilt payloads."""
    main([command, "--json", *paths])
    doc = json.loads(capsys.readouterr().out)
    rows = doc["files"] if command == "validate" else doc["histories"]
    return {
        str(Path(row["path"]).relative_to(base)): {
            k: v for k, v in row.items() if k not in ("path", "note")
        }
        for row in rows
    }


@pytest.mark.parametrize("form", sorted(FORM_WRITERS))
def test_every_corpus_history_in_every_form_gets_the_same_verdicts(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    originals, written = [], []
    for path in _corpus():
        relative = path.relative_to(HISTORIES)
        events = json.loads(path.read_text(encoding="utf-8"))["events"]
        target = tmp_path / form / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(FORM_WRITERS[form](events), encoding="utf-8")
        copy = tmp_path / "canonical" / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
        originals.append(str(copy))
        written.append(str(target))
    assert len(written) > 80
    for command in ("validate", "conform"):
        expected = _verdicts(command, tmp_path / "canonical", originals, capsys)
        got = _verdicts(command, tmp_path / form, written, capsys)
        assert len(got) == len(written)
        assert got == expected, command
    # Decoded, each form gives the canonical events: exactly where it keeps every
    # byte; with opaque values' keys in another order (sorted-keys, and ui-raw whose
    # maps Go writes sorted, where the corpus has them as Python wrote them); with
    # payload data the same values (shorthand, which rewrites it).
    for original, name in zip(originals, written, strict=True):
        want = decode_history(Path(original).read_bytes()).events
        got_events = decode_history(Path(name).read_bytes()).events
        if form in ("sorted-keys", "ui-raw"):  # Go's encoding/json sorts map keys
            assert encode_history(got_events) == encode_history(want), name
        elif form in ("http", "http-reverse", "http-unwrapped"):
            assert _normal(encode_history(got_events)) == _normal(encode_history(want)), name
        else:
            assert got_events == want, name


def test_the_payload_sites_table_is_the_schemas() -> None:
    assert _sites() == schema_sites()
    assert "temporal.api.history.v1.HistoryEvent" in _sites()


def test_reading_protobuf_json_does_not_load_the_schema() -> None:
    """The readers use the payload sites table, not temporalio's descriptors (0.3 s to
    import), for the common forms."""
    probe = (
        "import sys\n"
        "from adapters.cli import main\n"
        f"main(['validate', {str(HISTORIES / 'timers.json')!r}])\n"
        "print('temporalio' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
