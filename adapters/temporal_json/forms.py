"""The top-level forms a history file comes in, and the one-line refusals of the rest.

- `{"events": [...]}`: a `History` message in protobuf JSON, as `temporal workflow
  show --output json` (pretty) or `--output jsonl` (one line), the SDKs'
  `fetch_history` / `to_json`, and the Web UI's "Download" with encoded payloads write
  it (ui: src/lib/utilities/export-history.ts writes `{events}` as the UI server's
  protobuf JSON gives them); its "Decoded" and "Human Readable" choices rewrite the
  payloads past recovery and are refused (`first_event_form`);
- any of these with payloads in shorthand outside the HTTP answer (`jq .history` of
  it): found on the first event that holds one, after which every event is read as
  shorthand; readers that hold the whole file read it again as shorthand from the
  start, so no earlier event keeps a shorthand value unexpanded;
- a bare array of events, also in Go's struct JSON as the Web UI's "View raw history"
  serves it (gostruct.py);
- `{"history": {"events": [...]}, ...}`: a whole `GetWorkflowExecutionHistoryResponse`
  as the server's HTTP API answers `GET /api/v1/namespaces/NS/workflows/ID/history`
  (temporal: service/frontend/http_api_server.go), payloads shorthand or not
  (shorthand.py). Its other fields say whether it is the whole history:
  `nextPageToken` set means more pages follow, and `rawHistory` holds binary history
  batches no JSON reader can see into; both are refused.

Any of these may come newest first (`temporal workflow show --reverse`, the HTTP API's
`history-reverse`): events whose ids strictly fall all the way are put back in order
(`in_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from core.errors import BadInput
from core.events import HistoryEvent

from .errors import _show
from .gostruct import is_go_struct
from .shorthand import has_shorthand, ui_decoded_payloads

UI_DECODED = (
    'payloads as the Web UI\'s "Decoded" or "Human Readable" download writes them '
    "(metadata in plain text, data decoded), which cannot be turned back into the "
    'history\'s payloads: download it with "Encoded" payloads, or export it with '
    "temporal workflow show --output json"
)
TOP_KEYS_EXPECTED = 'a history file has "events", or "history" as the HTTP API writes it'
# A history's JSON written as a JSON string: json.dumps of an SDK's to_json() (the
# Python SDK's WorkflowHistory.to_json returns the JSON text already).
ENCODED_TWICE = (
    'expected {"events": [...]} or a list of events, found a JSON string: a history '
    "encoded twice (json.dumps of an SDK's to_json(), say); write the string itself"
)
# The Web UI's own event objects (ui: src/lib/models/event-history, as its test
# fixtures events.*.json keep them): each event with its attributes decoded for display
# under `attributes`, and `classification`, `category`, `name`, `timestamp` beside.
UI_EVENT_OBJECTS = (
    "the Web UI's display objects of events (with classification and category, "
    "payloads decoded), not a history: download it from the UI with encoded payloads, "
    "or export it with temporal workflow show --output json"
)
# temporalio/features' harness keeps each feature's runs as a list of histories
# (harness/go/history: `Histories`, a JSON array of History objects).
LIST_OF_HISTORIES = (
    'a list of histories (objects with "events"), not a list of events: give each '
    "history a file of its own"
)

# GetWorkflowExecutionHistoryResponse (temporal/api/workflowservice/v1/
# request_response.proto): JSON and proto names of its fields -> the JSON name.
_RESPONSE_KEYS = {
    "history": "history",
    "rawHistory": "rawHistory",
    "raw_history": "rawHistory",
    "nextPageToken": "nextPageToken",
    "next_page_token": "nextPageToken",
    "archived": "archived",
}


def top_key(key: object) -> object:
    """The JSON name of a top-level key of the HTTP API's response, else the key."""
    return _RESPONSE_KEYS.get(key, key) if isinstance(key, str) else key


def check_response_field(name: object, value: object) -> None:
    """Refuse a response whose other fields say the history is not all there."""
    if name == "nextPageToken":
        if value not in (None, ""):
            raise BadInput(
                "nextPageToken is set: this is one page of a longer history; fetch every "
                "page and join their events, or export it with temporal workflow show "
                "--output json"
            )
    elif name == "rawHistory":
        if value not in (None, []):
            raise BadInput(
                "rawHistory holds binary history batches, which JSON cannot show; export "
                "the history with temporal workflow show --output json"
            )
    elif name == "archived":
        if value is not None and not isinstance(value, bool):
            raise BadInput(f"archived: expected true or false, got {_show(value)}")
    else:
        raise BadInput(f"unexpected top-level key {_show(name)} ({TOP_KEYS_EXPECTED})")


def in_order(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """The events oldest first: reversed if every id is below the one before (an
    export newest first), else as they are (the validator judges any other order)."""
    ids = [event.event_id for event in events]
    if len(ids) > 1 and all(a > b for a, b in pairwise(ids)):
        return list(reversed(events))
    return list(events)


def first_event_form(first_event: object, http: bool) -> tuple[bool, bool]:
    """What a history's first element tells of its form: (Go struct JSON, payloads
    shorthand). The HTTP API's answer (`http`) may hold shorthand anywhere; elsewhere a
    shorthand first event (`jq .history` of that answer) makes the whole file read as
    shorthand (a later one too: see the readers). A Web UI download with decoded
    payloads is refused, and so is a list of histories."""
    if isinstance(first_event, dict):
        if "events" in first_event and "eventType" not in first_event:
            raise BadInput(LIST_OF_HISTORIES)
        if "classification" in first_event and "category" in first_event:
            raise BadInput(UI_EVENT_OBJECTS)
    if is_go_struct(first_event):
        return True, False
    if http:
        return False, True
    if ui_decoded_payloads(first_event):
        raise BadInput(UI_DECODED)
    return False, has_shorthand(first_event)
