"""Two visibility answers the 1.32 dev server gives and serve did not.

A Text search attribute compared with `=` or `!=` matches on words in the dev server's
SQLite store (an FTS5 index, adapters/serve/fulltext.py): `= 'hello world'` is any run
whose value has the word "hello" or the word "world", `= 'hello-world'` the two words
together, case and accents aside; `!=` is every other run, one without the attribute
too. Serve compared the whole value.

ListWorkflowExecutions takes a GROUP BY (the one a count takes) and ignores it, listing
what the condition before it selects. Serve refused it as a syntax error.

Each scenario runs against `tmodel serve` and, in its slow twin, against the dev server
(both started with the Text attribute `MyText`)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from tests.adapters.serve.sdk import bounded, connected

SERVE_ARGS = ("--search-attribute", "MyText=Text")
DEV_ARGS = SERVE_ARGS
TEXT = SearchAttributeKey.for_text("MyText")
Answer = dict[str, object]

VALUES = {
    "a": "hello world",
    "b": "Hello-World foo",
    "c": "helloworld",
    "d": "world hello",
    "e": "Héllo Wörld",
    "f": "HELLO",
    "g": "foo_bar baz.qux",
    "h": "it's fine",
    "j": None,  # no MyText
}
NO_TOKENS = (
    "INVALID_ARGUMENT: invalid query: invalid expression: no tokens found filtering on "
    "Text type search attribute MyText"
)
UNSUPPORTED = "INVALID_ARGUMENT: invalid query: operation is not supported: "


def _fts5(message: str) -> Answer:
    """The answers of a query whose FTS5 statement SQLite refuses."""
    return {
        rpc: f"UNAVAILABLE: {rpc}WorkflowExecutions operation failed.: SQL logic error: "
        f"{message} (1)"
        for rpc in ("List", "Count")
    }


TEXT_EXPECTED: dict[str, Answer | str] = {
    "MyText = 'hello'": {"runs": "a b d e f", "count": 5},
    "MyText = 'HELLO'": {"runs": "a b d e f", "count": 5},
    "MyText = 'hello world'": {"runs": "a b d e f", "count": 5},  # either word
    "MyText = 'nothing world'": {"runs": "a b d e", "count": 4},
    "MyText = 'hello-world'": {"runs": "a b e", "count": 3},  # the phrase
    "MyText = 'world-hello'": {"runs": "d", "count": 1},
    "MyText = 'hel'": {"runs": "", "count": 0},
    "MyText = 'helloworld'": {"runs": "c", "count": 1},
    "MyText = 'bar'": {"runs": "g", "count": 1},
    "MyText = 'baz.qux'": {"runs": "g", "count": 1},
    "MyText = 'it''s'": {"runs": "h", "count": 1},
    "MyText = 'world\\thello'": {"runs": "", "count": 0},  # the tab escaped: "world thello"
    "MyText = '!'": {"runs": "", "count": 0},
    "MyText != 'hello'": {"runs": "c g h j", "count": 4},  # a run without it too
    "NOT MyText = 'hello'": {"runs": "c g h j", "count": 4},
    "MyText = 'hello' AND MyText != 'world'": {"runs": "f", "count": 1},
    "MyText = ''": NO_TOKENS,
    "MyText = '   '": NO_TOKENS,
    "MyText IN ('hello')": UNSUPPORTED
    + "operator 'IN' not supported for Text type search attribute 'MyText'",
    "MyText NOT STARTS_WITH 'h'": UNSUPPORTED
    + "operator 'NOT STARTS_WITH' not supported for Text type search attribute 'MyText'",
    "MyText BETWEEN 'a' AND 'b'": "INVALID_ARGUMENT: invalid query: invalid expression: "
    "cannot do range condition on search attribute 'MyText' of type Text",
    "MyText = 'say \"hi\"'": _fts5('fts5: syntax error near "\\"'),
    "MyText = 'hello\"'": _fts5("unterminated string"),
}


def _error(error: RPCError) -> str:
    return f"{error.status.name}: {error.message}"


async def _ask(client: Client, query: str, prefix: str) -> Answer | str:
    """The runs of `prefix` a List answers `query` with (their labels) and the Count's
    answer (its groups when it has them), or the error both give (each one's when they
    differ)."""
    out: Answer = {}
    errors: dict[str, str] = {}
    listed = ws.ListWorkflowExecutionsRequest(namespace="default", query=query, page_size=1000)
    try:
        found = (await client.workflow_service.list_workflow_executions(listed)).executions
        ids = sorted(e.execution.workflow_id for e in found)
        out["runs"] = " ".join(i.removeprefix(f"{prefix}-") for i in ids if i.startswith(prefix))
    except RPCError as error:
        errors["List"] = _error(error)
    counted = ws.CountWorkflowExecutionsRequest(namespace="default", query=query)
    try:
        answer = await client.workflow_service.count_workflow_executions(counted)
        out["count"] = answer.count
        if answer.groups:
            out["groups"] = [(json.loads(g.group_values[0].data), g.count) for g in answer.groups]
    except RPCError as error:
        errors["Count"] = _error(error)
    if errors and len(set(errors.values())) == 1 and not out:
        return next(iter(errors.values()))
    return {**out, **errors}


async def _settled(client: Client, query: str, count: int) -> None:
    """Wait until visibility counts `count` runs for `query` (the dev server's
    visibility catches up with starts and closes a moment later)."""
    request = ws.CountWorkflowExecutionsRequest(namespace="default", query=query)
    for _ in range(100):
        if (await client.workflow_service.count_workflow_executions(request)).count == count:
            return
        await asyncio.sleep(0.1)


async def text_answers(address: str) -> dict[str, Answer | str]:
    """Each Text query's answers over runs of a fresh prefix with the VALUES."""
    client = await connected(address)
    prefix = f"txt-{uuid.uuid4().hex[:8]}"
    for label, value in VALUES.items():
        pairs = [] if value is None else [SearchAttributePair(TEXT, value)]
        await client.start_workflow(
            "Idle",
            id=f"{prefix}-{label}",
            task_queue=f"{prefix}-idle",
            search_attributes=TypedSearchAttributes(pairs),
        )
    scope = f"WorkflowId STARTS_WITH '{prefix}'"
    await _settled(client, f"{scope} AND MyText IS NOT NULL", len(VALUES) - 1)
    out = {q: await _ask(client, f"{scope} AND ({q})", prefix) for q in TEXT_EXPECTED}
    for label in VALUES:
        await client.get_workflow_handle(f"{prefix}-{label}").terminate()
    return out


GROUP_QUERIES = {  # {s}: the scope, WorkflowId STARTS_WITH the prefix
    "{s} GROUP BY ExecutionStatus": {
        "runs": "x1 x2 x3",
        "count": 3,
        "groups": [("Running", 2), ("Terminated", 1)],
    },
    "{s} AND WorkflowType = 'Alpha' GROUP BY ExecutionStatus": {
        "runs": "x1 x2",
        "count": 2,
        "groups": [("Running", 1), ("Terminated", 1)],
    },
    "{s} group by `ExecutionStatus`": {
        "runs": "x1 x2 x3",
        "count": 3,
        "groups": [("Running", 2), ("Terminated", 1)],
    },
    "{s} GROUP BY TemporalNamespaceDivision": {
        "runs": "x1 x2 x3",
        "count": 3,
        "groups": [("", 3)],
    },
    "{s} GROUP BY WorkflowType": UNSUPPORTED
    + "'GROUP BY' clause is not supported for search attribute WorkflowType",
    "{s} GROUP BY Foo, ExecutionStatus": UNSUPPORTED
    + "'GROUP BY' clause supports only a single field",
    "{s} GROUP BY Foo": "INVALID_ARGUMENT: invalid query: invalid search attribute: Foo",
    "{s} GROUP BY 'ExecutionStatus'": "INVALID_ARGUMENT: invalid query: invalid expression: "
    "must be a column name but was *sqlparser.SQLVal",
    "{s} GROUP BY WorkflowType LIMIT 1": UNSUPPORTED + "'LIMIT' clause",
    "{s} GROUP BY ExecutionStatus DESC": "INVALID_ARGUMENT: invalid query: malformed SQL "
    "query: syntax error at position 95 near 'desc'",
    "GROUP BY": "INVALID_ARGUMENT: invalid query: malformed SQL query: syntax error at position 30",
    "GROUP  BY ExecutionStatus": "INVALID_ARGUMENT: invalid query: malformed SQL query: "
    "syntax error at position 33 near 'group'",
}


async def group_by_answers(address: str) -> dict[str, Answer | str]:
    """Each GROUP BY query's answers over three runs of a fresh prefix: two of type
    Alpha (one running, one terminated) and one of type Beta, running."""
    client = await connected(address)
    prefix = f"grp-{uuid.uuid4().hex[:8]}"
    for label, kind in (("x1", "Alpha"), ("x2", "Alpha"), ("x3", "Beta")):
        await client.start_workflow(kind, id=f"{prefix}-{label}", task_queue=f"{prefix}-idle")
    await client.get_workflow_handle(f"{prefix}-x2").terminate()
    scope = f"WorkflowId STARTS_WITH '{prefix}'"
    await _settled(client, f"{scope} AND ExecutionStatus = 'Terminated'", 1)
    out = {q: await _ask(client, q.format(s=scope), prefix) for q in GROUP_QUERIES}
    for label in ("x1", "x3"):
        await client.get_workflow_handle(f"{prefix}-{label}").terminate()
    return out


@pytest.mark.asyncio
@bounded
async def test_text_is_compared_by_words(address: str) -> None:
    assert await text_answers(address) == TEXT_EXPECTED


@pytest.mark.asyncio
@bounded
async def test_a_list_takes_group_by_and_ignores_it(address: str) -> None:
    assert await group_by_answers(address) == GROUP_QUERIES


@pytest.mark.slow
def test_the_dev_server_compares_text_by_words(dev_address: str) -> None:
    assert asyncio.run(text_answers(dev_address)) == TEXT_EXPECTED


@pytest.mark.slow
def test_the_dev_server_lists_with_group_by(dev_address: str) -> None:
    assert asyncio.run(group_by_answers(dev_address)) == GROUP_QUERIES
