"""Nexus links and Temporal links: a link to a workflow event travels between caller
and handler as a Nexus link (a `temporal:///namespaces/NS/workflows/WF/RUN/history?...`
URL with a type), and is written into history as a temporal.api.common.v1.Link
(common/nexus/link_converter.go, ConvertLinkWorkflowEventToNexusLink and its inverse).
Only workflow-event links are converted; a link of another type is left out (the
server converts Nexus-operation and activity links too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from core.opaque import JsonValue, Opaque

WORKFLOW_EVENT = "temporal.api.common.v1.Link.WorkflowEvent"
_PATH = re.compile(r"^/namespaces/([^/]+)/workflows/([^/]+)/([^/]+)/history$")
_GO_PATH_SAFE = "$&+,;=:@"  # what Go's url.PathEscape leaves as is, besides unreserved


def _camel(event_type: str) -> str:
    """EVENT_TYPE_NEXUS_OPERATION_SCHEDULED -> NexusOperationScheduled."""
    words = event_type.removeprefix("EVENT_TYPE_").split("_")
    return "".join(w.capitalize() for w in words)


def _enum(camel: str) -> str:
    """NexusOperationScheduled -> EVENT_TYPE_NEXUS_OPERATION_SCHEDULED."""
    return "EVENT_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def event_url(namespace: str, workflow_id: str, run_id: str, event_id: int, event_type: str) -> str:
    """The URL of a link to one event (an EventReference)."""
    ns, wf, run = (quote(p, safe=_GO_PATH_SAFE) for p in (namespace, workflow_id, run_id))
    query = f"eventID={event_id}&eventType={_camel(event_type)}&referenceType=EventReference"
    return f"temporal:///namespaces/{ns}/workflows/{wf}/{run}/history?{query}"


def proto_link(url: str, link_type: str) -> dict[str, JsonValue] | None:
    """A Nexus link as a temporal.api.common.v1.Link (protojson), or None."""
    if link_type != WORKFLOW_EVENT:
        return None
    parts = urlsplit(url)
    match = _PATH.match(parts.path)
    if parts.scheme != "temporal" or match is None:
        return None
    namespace, workflow_id, run_id = (unquote(g) for g in match.groups())
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    event: dict[str, JsonValue] = {
        "namespace": namespace,
        "workflowId": workflow_id,
        "runId": run_id,
    }
    kind = query.get("referenceType", "")
    event_type = _enum(query.get("eventType", "")) if query.get("eventType") else None
    if kind == "EventReference":
        ref: dict[str, JsonValue] = {}
        if query.get("eventID", "0") not in ("", "0"):
            ref["eventId"] = query["eventID"]
        if event_type is not None:
            ref["eventType"] = event_type
        event["eventRef"] = ref
    elif kind == "RequestIdReference":
        ref = {"requestId": query.get("requestID", "")}
        if event_type is not None:
            ref["eventType"] = event_type
        event["requestIdRef"] = ref
    return {"workflowEvent": event}


def proto_links(links: Iterable[Any]) -> Opaque | None:
    """Nexus links (messages with `url` and `type`) as a history event's links."""
    converted = [proto_link(link.url, link.type) for link in links]
    kept: list[JsonValue] = [c for c in converted if c is not None]
    return Opaque.of(kept) if kept else None
