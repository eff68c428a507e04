"""List/CountWorkflowExecutions on `tmodel serve` through temporalio's client, in a
namespace of their own: query forms (AND, OR, parentheses, IN, BETWEEN, STARTS_WITH,
IS NULL, ORDER BY), ExecutionStatus, StartTime ranges, custom search attributes and
GROUP BY ExecutionStatus; the semantics are the real server's (test_visibility.py holds
the measured cases of the query language itself).
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import request_response_pb2 as ws
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from tests.adapters.serve.sdk import (
    IDLE,
    Waiter,
    bounded,
    execution,
    rpc_error,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERVE_ARGS = (
    "--namespace",
    "default",
    "--namespace",
    "listing",
    "--search-attribute",
    "Stage=Keyword",
    "--search-attribute",
    "Count=Int",
)
STAGE = SearchAttributeKey.for_keyword("Stage")
COUNT = SearchAttributeKey.for_int("Count")


def _rfc3339(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def listing(address: str) -> AsyncIterator[tuple[Client, list[int]]]:
    """ls-0..ls-3 in namespace "listing": Stage/Count alpha/1, beta/2, alphabet/3 (then
    terminated), none (of type Other); and their start times in ns."""
    ns_client = await Client.connect(address, namespace="listing")
    starts = []
    for i, (stage, count) in enumerate([("alpha", 1), ("beta", 2), ("alphabet", 3)]):
        attributes = TypedSearchAttributes(
            [SearchAttributePair(STAGE, stage), SearchAttributePair(COUNT, count)]
        )
        await ns_client.start_workflow(
            Waiter.run, "x", id=f"ls-{i}", task_queue=IDLE, search_attributes=attributes
        )
    await ns_client.get_workflow_handle("ls-2").terminate()
    await ns_client.start_workflow("Other", id="ls-3", task_queue=IDLE)
    for i in range(4):
        described = await ns_client.workflow_service.describe_workflow_execution(
            ws.DescribeWorkflowExecutionRequest(namespace="listing", execution=execution(f"ls-{i}"))
        )
        start = described.workflow_execution_info.start_time
        starts.append(start.seconds * 1_000_000_000 + start.nanos)
    yield ns_client, starts


async def _ids(ns_client: Client, query: str) -> list[str]:
    return [w.id async for w in ns_client.list_workflows(query)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Stage = 'alpha' OR Stage = 'beta'", {"ls-0", "ls-1"}),
        ("(Stage = 'alpha' OR Stage = 'beta') AND Count > 1", {"ls-1"}),
        ("Stage = 'alpha' OR Stage = 'beta' AND Count > 1", {"ls-0", "ls-1"}),
        ("Stage IN ('alpha', 'alphabet')", {"ls-0", "ls-2"}),
        ("Stage NOT IN ('alpha', 'alphabet')", {"ls-1"}),
        ("Count BETWEEN 2 AND 3", {"ls-1", "ls-2"}),
        ("Stage STARTS_WITH 'alpha'", {"ls-0", "ls-2"}),
        ("ExecutionStatus = 'Terminated'", {"ls-2"}),
        ("ExecutionStatus = 'Running' AND WorkflowType = 'Waiter'", {"ls-0", "ls-1"}),
        ("WorkflowType = 'Other'", {"ls-3"}),
        ("Stage IS NULL", {"ls-3"}),
        ("WorkflowId = 'ls-1'", {"ls-1"}),
        ("", {"ls-0", "ls-1", "ls-2", "ls-3"}),
    ],
)
@bounded
async def test_list_and_count_agree_on_a_query(
    listing: tuple[Client, list[int]], query: str, expected: set[str]
) -> None:
    ns_client, _ = listing
    found = await _ids(ns_client, query)
    assert (sorted(found), len(found)) == (sorted(expected), len(expected))
    assert (await ns_client.count_workflows(query)).count == len(expected)


@bounded
async def test_start_time_ranges(listing: tuple[Client, list[int]]) -> None:
    ns_client, starts = listing
    assert sorted(await _ids(ns_client, f"StartTime >= '{_rfc3339(starts[1])}'")) == [
        "ls-1",
        "ls-2",
        "ls-3",
    ]
    between = f"StartTime BETWEEN '{_rfc3339(starts[0])}' AND '{_rfc3339(starts[1])}'"
    assert sorted(await _ids(ns_client, between)) == ["ls-0", "ls-1"]
    assert await _ids(ns_client, f"StartTime < '{_rfc3339(starts[0])}'") == []


@bounded
async def test_order_by(listing: tuple[Client, list[int]]) -> None:
    ns_client, _ = listing
    assert await _ids(ns_client, "Count > 0 ORDER BY Count DESC") == ["ls-2", "ls-1", "ls-0"]
    assert await _ids(ns_client, "Count > 0 ORDER BY Count") == ["ls-0", "ls-1", "ls-2"]
    # by default, newest first
    assert await _ids(ns_client, "ExecutionStatus = 'Running'") == ["ls-3", "ls-1", "ls-0"]


@bounded
async def test_listed_runs_carry_their_search_attributes(
    listing: tuple[Client, list[int]],
) -> None:
    ns_client, _ = listing
    (run,) = [w async for w in ns_client.list_workflows("WorkflowId = 'ls-2'")]
    assert run.typed_search_attributes.get(STAGE) == "alphabet"
    assert run.typed_search_attributes.get(COUNT) == 3
    assert run.status == WorkflowExecutionStatus.TERMINATED
    assert run.close_time is not None


@bounded
async def test_count_grouped_by_execution_status(listing: tuple[Client, list[int]]) -> None:
    ns_client, _ = listing
    counted = await ns_client.workflow_service.count_workflow_executions(
        ws.CountWorkflowExecutionsRequest(namespace="listing", query="GROUP BY ExecutionStatus")
    )
    groups = {g.group_values[0].data.decode(): g.count for g in counted.groups}
    assert (counted.count, groups) == (4, {'"Running"': 3, '"Terminated"': 1})
    filtered = await ns_client.count_workflows("Count > 1 GROUP BY ExecutionStatus")
    assert filtered.count == 2
    assert sorted((g.group_values[0], g.count) for g in filtered.groups) == [
        ("Running", 1),
        ("Terminated", 1),
    ]
    error = await rpc_error(
        ns_client.workflow_service.count_workflow_executions(
            ws.CountWorkflowExecutionsRequest(namespace="listing", query="GROUP BY WorkflowType")
        )
    )
    assert error.message == (
        "invalid query: operation is not supported: 'GROUP BY' clause is not supported for "
        "search attribute WorkflowType"
    )
