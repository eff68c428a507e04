"""The visibility query language (adapters/serve/query.py) and visibility records.

The rows below are the data of a measurement against `temporal server start-dev`
1.32.0 (CLI 1.9.1): three workflows with a Keyword `Stage` and an Int `Count`, one of
them terminated, and one with neither attribute. Every query's expected rows and every
error message with more than the "invalid query: " prefix is what that server answered
for the same data and query. Where the server's message is its SQL parser's ("malformed
SQL query: syntax error at position N", N counted in the SQL statement it builds around
the query), only the prefix and the code are asserted.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import grpc
import pytest

from adapters.serve.errors import ServiceError
from adapters.serve.frontend import SYSTEM_SEARCH_ATTRIBUTES
from adapters.serve.query import Value, parse_datetime, parse_query
from adapters.serve.visibility import Record, record_of
from core.statemachine.history.service.state import MutableState, RunStatus
from sim.persistence import RunRecord
from tests.conftest import corpus_events

TYPES = {
    **SYSTEM_SEARCH_ATTRIBUTES,
    "Stage": "KEYWORD",
    "Count": "INT",
    "Score": "DOUBLE",
    "Flag": "BOOL",
    "When": "DATETIME",
    "Notes": "TEXT",
}
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


@dataclass
class Row:
    name: str
    values: dict[str, Value] = field(default_factory=dict)

    def attribute(self, name: str) -> Value:
        return self.values.get(name)


ROWS = [
    Row("v0", {"Stage": "alpha", "Count": 1, "ExecutionStatus": "Running", "StartTime": T0}),
    Row("v1", {"Stage": "beta", "Count": 2, "ExecutionStatus": "Running", "StartTime": T0 + 1}),
    Row(
        "v2",
        {"Stage": "alphabet", "Count": 3, "ExecutionStatus": "Terminated", "StartTime": T0 + 2},
    ),
    Row("v3", {"ExecutionStatus": "Running", "StartTime": T0 + 3}),
]


def select(query: str, rows: list[Row] = ROWS) -> list[str]:
    parsed = parse_query(query, TYPES)
    return [row.name for row in rows if parsed.matches(row)]


def error(query: str) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        parse_query(query, TYPES)
    assert info.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details is None  # INVALID_ARGUMENT carries no error details
    return info.value


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["v0", "v1", "v2", "v3"]),
        ("Stage = 'alpha'", ["v0"]),
        ('Stage = "beta"', ["v1"]),
        ("`Stage` = 'beta'", ["v1"]),
        ("Stage != 'alpha'", ["v1", "v2"]),
        ("Stage <> 'alpha'", ["v1", "v2"]),
        ("Count != 1", ["v1", "v2"]),
        ("Stage > 'b'", ["v1"]),
        ("Stage <= 'alphabet'", ["v0", "v2"]),
        ("Count >= 2", ["v1", "v2"]),
        ("Count < 2.5", ["v0", "v1"]),
        ("Count = 2.0", ["v1"]),
        ("Count = 1.5e0", []),
        ("Count = -1", []),
        ("Stage STARTS_WITH 'alpha'", ["v0", "v2"]),
        ("Stage STARTS_WITH ''", ["v0", "v1", "v2"]),
        ("Stage STARTS_WITH 'al%'", []),
        ("Stage NOT STARTS_WITH 'al'", ["v1"]),
        ("Count BETWEEN 2 AND 3", ["v1", "v2"]),
        ("Count BETWEEN 3 AND 2", []),
        ("Count NOT BETWEEN 2 AND 3", ["v0"]),
        ("NOT Count BETWEEN 1 AND 2", ["v2"]),
        ("Stage IN ('alpha','beta')", ["v0", "v1"]),
        ("Stage NOT IN ('alpha', 'beta')", ["v2"]),
        ("Stage IN ('alpha') OR Count IN (2, 3)", ["v0", "v1", "v2"]),
        ("Stage IS NULL", ["v3"]),
        ("Stage IS NOT NULL", ["v0", "v1", "v2"]),
        ("Count IS NULL", ["v3"]),
        ("NOT Stage = 'alpha'", ["v1", "v2"]),
        ("NOT NOT Stage = 'alpha'", ["v0"]),
        ("Stage = 'alpha' OR NOT Stage = 'beta'", ["v0", "v2"]),
        ("NOT (Stage = 'a' OR Count = 1)", ["v1", "v2"]),
        ("(Stage = 'alpha')", ["v0"]),
        ("((Stage = 'alpha') OR (Count = 2))", ["v0", "v1"]),
        # AND binds tighter than OR
        ("Count > 1 OR Stage = 'alpha' AND Count = 3", ["v1", "v2"]),
        ("(Count > 1 OR Stage = 'alpha') AND Count = 3", ["v2"]),
        ("Stage = 'alpha' AND Count = 1 OR Count = 2", ["v0", "v1"]),
        ("Count = 1 AND (Stage = 'beta' OR Stage = 'alpha')", ["v0"]),
        ("Stage = 'alpha' and Count = 1", ["v0"]),
        ("ExecutionStatus = 'Terminated'", ["v2"]),
        ("ExecutionStatus != 'Running'", ["v2"]),
        ("ExecutionStatus = 1", ["v0", "v1", "v3"]),
        ("ExecutionStatus = 5", ["v2"]),
        ("ExecutionStatus IN (1, 'Terminated')", ["v0", "v1", "v2", "v3"]),
        ("StartTime > 0", ["v0", "v1", "v2", "v3"]),
        (f"StartTime >= {T0 + 2}", ["v2", "v3"]),
        ("StartTime > '2023-11-14T22:13:20.000000001Z'", ["v2", "v3"]),
        (
            "StartTime BETWEEN '2023-11-14T23:13:20+01:00' AND '2023-11-14T22:13:20.000000002Z'",
            ["v0", "v1", "v2"],
        ),
        ("ORDER BY Count", ["v0", "v1", "v2", "v3"]),
    ],
)
def test_a_query_selects_the_rows_the_real_server_selects(query: str, expected: list[str]) -> None:
    assert select(query) == expected


def test_a_comparison_with_an_unset_attribute_is_unknown_not_false() -> None:
    # SQL's three-valued logic: NOT of unknown stays unknown, so the row without Stage
    # is in neither the query nor its negation.
    assert "v3" not in select("Stage = 'alpha'")
    assert "v3" not in select("NOT Stage = 'alpha'")
    assert "v3" not in select("NOT (Stage = 'alpha' AND Count = 1)")
    assert "v3" in select("NOT (Stage = 'alpha' AND Count IS NOT NULL)")  # false AND ... = false


def test_a_keyword_list_compares_by_membership_and_unset_is_empty() -> None:
    rows = [Row("tagged", {"BuildIds": ["x", "y"]}), Row("bare")]
    assert select("BuildIds = 'x'", rows) == ["tagged"]
    assert select("BuildIds != 'x'", rows) == ["bare"]
    assert select("BuildIds IN ('y', 'z')", rows) == ["tagged"]
    assert select("BuildIds NOT IN ('x')", rows) == ["bare"]
    assert select("BuildIds IS NULL", rows) == ["bare"]


def test_values_of_the_other_types() -> None:
    rows = [
        Row("a", {"Flag": True, "Score": 2.5, "Notes": "it's", "When": T0}),
        Row("b", {"Flag": False, "Score": 1.0, "Notes": "a'b"}),
    ]
    assert select("Flag = true", rows) == ["a"]
    assert select("Flag = FALSE", rows) == ["b"]
    assert select("Score > 1", rows) == ["a"]
    assert select("Score <= 1.0", rows) == ["b"]
    assert select("Notes = 'it''s'", rows) == ["a"]  # SQL's doubled quote
    assert select("Notes = 'a\\'b'", rows) == ["b"]  # a backslash escape
    assert select("When = '2023-11-14T22:13:20Z'", rows) == ["a"]
    assert select("When IS NULL", rows) == ["b"]


def test_order_by_is_parsed_with_its_direction() -> None:
    ascending = parse_query("Count > 0 ORDER BY Count", TYPES)
    assert (ascending.order_by, ascending.descending) == ("Count", False)
    descending = parse_query("ORDER BY StartTime DESC", TYPES)
    assert (descending.order_by, descending.descending) == ("StartTime", True)
    assert parse_query("ORDER BY `Stage` ASC", TYPES).order_by == "Stage"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("NoSuchAttribute = 1", "invalid search attribute: NoSuchAttribute"),
        ("stage = 'a'", "invalid search attribute: stage"),
        ("ORDER BY Nope", "invalid search attribute: Nope"),
        (
            "ExecutionStatus = 'terminated'",
            "invalid expression: invalid ExecutionStatus value 'terminated'",
        ),
        ("ExecutionStatus = 'Bogus'", "invalid expression: invalid ExecutionStatus value 'Bogus'"),
        (
            "ExecutionStatus STARTS_WITH 'Run'",
            "invalid expression: invalid ExecutionStatus value 'Run'",
        ),
        ("ExecutionStatus = 9", "invalid expression: invalid ExecutionStatus value 9"),
        (
            "ExecutionStatus = true",
            "invalid expression: invalid value type for search "
            "attribute ExecutionStatus of type Keyword: true (type: bool)",
        ),
        (
            "Count = 'x'",
            "invalid expression: invalid value type for search attribute Count "
            'of type Int: "x" (type: string)',
        ),
        (
            "Count BETWEEN 1 AND 'x'",
            "invalid expression: invalid value type for search "
            'attribute Count of type Int: "x" (type: string)',
        ),
        (
            "Count = true",
            "invalid expression: invalid value type for search attribute Count "
            "of type Int: true (type: bool)",
        ),
        (
            "Stage = 1",
            "invalid expression: invalid value type for search attribute Stage of "
            "type Keyword: 1 (type: int64)",
        ),
        (
            "Stage IN ('a', 1)",
            "invalid expression: invalid value type for search attribute "
            "Stage of type Keyword: 1 (type: int64)",
        ),
        (
            "Stage = 1.5",
            "invalid expression: invalid value type for search attribute Stage "
            "of type Keyword: 1.5 (type: float64)",
        ),
        (
            "TemporalSchedulePaused = 'true'",
            "invalid expression: invalid value type for "
            'search attribute TemporalSchedulePaused of type Bool: "true" (type: string)',
        ),
        (
            "TemporalSchedulePaused = 1",
            "invalid expression: invalid value type for search "
            "attribute TemporalSchedulePaused of type Bool: 1 (type: int64)",
        ),
        (
            "StartTime > 1.5",
            "invalid expression: invalid value type for search attribute "
            "StartTime of type Datetime: 1.5 (type: float64)",
        ),
        ("StartTime > 'garbage'", "invalid expression: unable to parse datetime 'garbage'"),
        ("StartTime > '2020-01-01'", "invalid expression: unable to parse datetime '2020-01-01'"),
        (
            "StartTime > '2020-01-01T00:00:00'",
            "invalid expression: unable to parse datetime '2020-01-01T00:00:00'",
        ),
        (
            "StartTime > '2020-01-01 00:00:00Z'",
            "invalid expression: unable to parse datetime '2020-01-01 00:00:00Z'",
        ),
        (
            "StartTime > '2020-01-01T00:00:00z'",
            "invalid expression: unable to parse datetime '2020-01-01T00:00:00z'",
        ),
        (
            "Count STARTS_WITH 1",
            "operation is not supported: operator 'STARTS_WITH' not "
            "supported for Int type search attribute 'Count'",
        ),
        (
            "StartTime STARTS_WITH '2020-01-01T00:00:00Z'",
            "operation is not supported: operator "
            "'STARTS_WITH' not supported for Datetime type search attribute 'StartTime'",
        ),
        (
            "BuildIds > 'x'",
            "operation is not supported: operator '>' not supported for "
            "KeywordList type search attribute 'BuildIds'",
        ),
        (
            "BuildIds BETWEEN 'a' AND 'b'",
            "invalid expression: cannot do range condition on "
            "search attribute 'BuildIds' of type KeywordList",
        ),
        (
            "Stage LIKE 'a%'",
            "operation is not supported: operator 'LIKE' not supported for "
            "Keyword type search attribute 'Stage'",
        ),
        (
            "Count LIKE 1",
            "operation is not supported: operator 'LIKE' not supported for Int "
            "type search attribute 'Count'",
        ),
        (
            "Stage NOT LIKE 'a'",
            "operation is not supported: operator 'NOT LIKE' not supported "
            "for Keyword type search attribute 'Stage'",
        ),
        (
            "Stage REGEXP 'a'",
            "operation is not supported: operator 'REGEXP' not supported for "
            "Keyword type search attribute 'Stage'",
        ),
        (
            "Stage = Count",
            "operation is not supported: column name on the right side of "
            'comparison expression (did you forget to quote "Count"?)',
        ),
    ],
)
def test_an_invalid_query_gets_the_real_servers_message(query: str, message: str) -> None:
    assert error(query).message == f"invalid query: {message}"


@pytest.mark.parametrize(
    "query",
    [
        "Stage = ",
        "Stage = 'a' AND",
        "Stage = 'a' Count = 1",
        "Stage",
        "Stage IN ()",
        "Stage = 'a')",
        "Stage = 'a' AND (Count = 1",
        "Count + 1 = 2",
        "Stage = NULL",
        "Stage IS 'a'",
        "Stage NOT = 'a'",
        "ORDER Stage",
        "Stage = 'a' ORDER BY",
        "Stage = 'unterminated",
    ],
)
def test_a_syntax_error_is_invalid_argument_with_the_prefix(query: str) -> None:
    assert error(query).message.startswith("invalid query: ")


def test_datetimes_keep_nanoseconds_and_offsets() -> None:
    assert parse_datetime("2023-11-14T22:13:20Z") == T0
    assert parse_datetime("2023-11-14T22:13:20.5Z") == T0 + 500_000_000
    assert parse_datetime("2023-11-14T22:13:20.000000007Z") == T0 + 7
    assert parse_datetime("2023-11-15T00:13:20+02:00") == T0
    assert parse_datetime("2023-02-30T00:00:00Z") is None
    assert parse_datetime("2023-11-14T22:13:20") is None


def _record(history: str, status: RunStatus) -> Record:
    events = list(corpus_events(history))
    state = MutableState("default", "wf", "run", "Wf", "tq", T0, 0, 0, 0, status=status)
    return record_of(RunRecord(0, "wf", state, events))


def test_a_record_has_the_attributes_and_memo_that_history_leaves() -> None:
    # search-attributes-memo.json (recorded from the real server): RecorderStage set at
    # start, both attributes upserted, then RecorderCount removed (a null upsert) and
    # RecorderStage changed; the memo (owner, initial) loses "initial" and gains "stage".
    record = _record("search-attributes-memo.json", RunStatus.COMPLETED)
    assert record.attribute("RecorderStage") == "done"
    assert record.attribute("RecorderCount") is None
    assert sorted(record.memo) == ["owner", "stage"]
    assert record.attribute("ExecutionStatus") == "Completed"
    assert record.close_time > 0
    types = {**TYPES, "RecorderStage": "KEYWORD", "RecorderCount": "INT"}
    query = parse_query("RecorderStage = 'done' AND RecorderCount IS NULL", types)
    assert query.matches(record)
    assert not parse_query("RecorderStage = 'queued'", types).matches(record)


def test_a_datetime_attribute_is_compared_as_a_time() -> None:
    record = _record("search-attributes-memo.json", RunStatus.RUNNING)
    text = json.dumps("2023-11-14T23:13:20+01:00").encode()
    record.search_attributes["When"] = {
        "metadata": {"type": base64.b64encode(b"Datetime").decode()},
        "data": base64.b64encode(text).decode(),
    }
    assert record.attribute("When") == T0
    assert parse_query("When < '2023-11-14T22:13:21Z'", TYPES).matches(record)
    assert record.attribute("CloseTime") is None
