"""Temporal's visibility query language: parsing a List/CountWorkflowExecutions query
into a condition over a run's search attributes (evaluated in query_eval.py).

The language is the SQL-like subset Temporal's visibility accepts
(`common/persistence/visibility/store/query/converter.go` and the SQL store's
`common/persistence/visibility/store/sql/query_converter.go`): a comparison `= != <> >
>= < <=` of a search attribute with a value, `[NOT] IN (...)`, `[NOT] BETWEEN ... AND
...`, `[NOT] STARTS_WITH`, `IS [NOT] NULL`, combined with NOT, AND, OR (AND binds
tighter than OR) and parentheses, then an optional `GROUP BY attr` and an optional
`ORDER BY attr [ASC|DESC]`.

Values are checked against the attribute's type as the server checks them (a Keyword
takes a string, an Int a number, a Bool true/false, a Datetime an RFC 3339 string or
Unix nanoseconds; ExecutionStatus a status name or number), and an unset attribute is
SQL's NULL: a comparison with it is unknown, NOT of unknown is unknown, and only rows
whose condition is true are listed (three-valued logic). A KeywordList compares by
membership, an unset list being empty. A Text attribute takes `=` and `!=` only, and
they compare words, as the dev server's full-text index does (fulltext.py). Every error
is INVALID_ARGUMENT with the server's "invalid query: " prefix; where the measured
`temporal server start-dev` (1.32.0) gives a specific message, this gives the same one.

GROUP BY takes one attribute, ExecutionStatus or TemporalNamespaceDivision (naming the
latter, like filtering on it, lets the system workflows in); a count groups by it and a
list ignores it, as the dev server's SQL store does (its BuildSelectStmt leaves the
grouping out). ORDER BY is accepted, as Elasticsearch-backed visibility accepts it (the
dev server's SQLite store answers "operation is not supported: 'ORDER BY' clause").

A syntax error is reported as the dev server's SQL parser (vitess sqlparser, behind
`convertWhereString` in converter.go) reports it: "malformed SQL query: syntax error at
position N [near 'T']", N counted in the statement `select * from table1 where QUERY`
(the query trimmed; without the "where " when the query opens with "group by" or
"order by"), one past the end of the token the parser stopped at (its lexer has
read one character ahead), or one past the end at the end of the query; T is that
token's text when it has one (a name, a keyword in lower case, a string's contents, a
number, a character the lexer does not know), none for an operator or a parenthesis.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from . import errors, fulltext
from .query_eval import (
    OPERATORS,
    Predicate,
    Row,
    Value,
    all_of,
    any_of,
    between,
    compare,
    is_null,
    maybe_not,
    negation,
    starts_with,
    within,
)

# temporal.api.enums.v1.WorkflowExecutionStatus names as visibility stores them, by number
EXECUTION_STATUSES = (
    "Running",
    "Completed",
    "Failed",
    "Canceled",
    "Terminated",
    "ContinuedAsNew",
    "TimedOut",
)
UNSUPPORTED = ("LIKE", "REGEXP", "RLIKE")  # operators the parser knows, the server refuses
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
      | (?P<word>`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_SQL_PREFIX = len("select * from table1 where ")
# A query that opens with its GROUP BY or ORDER BY clause is parsed without the "where "
# (convertWhereString, converter.go: only "group by" or "order by" with one space).
_SQL_CLAUSE_PREFIX = len("select * from table1 ")
_CLAUSE_OPENINGS = ("group by", "order by")
# Keywords of the SQL grammar a name may not be (the lexer gives them in lower case).
_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "ORDER", "BY", "ASC", "DESC"}
    | {"LIMIT", "LIKE", "REGEXP", "RLIKE", "SELECT", "FROM", "WHERE", "GROUP", "HAVING"}
)
# What GROUP BY may name (IsGroupByFieldAllowed, converter.go), besides the
# TemporalLowCardinalityKeyword attributes.
_GROUPABLE = ("ExecutionStatus", "TemporalNamespaceDivision")
# The types a BETWEEN may compare (supportedTypesRangeCond, converter.go).
_RANGED = ("DATETIME", "DOUBLE", "INT", "KEYWORD")
# Characters the lexer reads as tokens of their own, with no text to show.
_BARE_CHARS = frozenset("~!^&|+-*/%.?:=<>(),")


@dataclass(slots=True)
class Query:
    predicate: Predicate
    order_by: str | None = None
    descending: bool = False
    names: set[str] = field(default_factory=set)  # every search attribute it names
    group_by: str | None = None  # what a count groups by (a list ignores it)
    # SQLite's complaint about a Text comparison's FTS5 query (fulltext.failure): the
    # store fails the statement once it is run, whatever rows there are
    store_error: str | None = None

    def matches(self, row: Row) -> bool:
        return self.predicate(row) is True


def parse_query(text: str, types: dict[str, str]) -> Query:
    """Parse `text` against the namespace's search attribute types (name -> KEYWORD,
    INT, ...); raises INVALID_ARGUMENT as the server does."""
    return _Parser(text, types).parse()


def _bad(message: str) -> errors.ServiceError:
    return errors.invalid(f"invalid query: {message}")


def _syntax(end: int, near: str = "", prefix: int = _SQL_PREFIX) -> errors.ServiceError:
    """The SQL parser's syntax error for a token ending at `end` in the query (`prefix`:
    the length of the statement before the query)."""
    shown = f" near '{near}'" if near else ""
    return _bad(f"malformed SQL query: syntax error at position {prefix + end + 1}{shown}")


def _near(kind: str, text: str) -> str:
    if kind == "str":
        return _unquote(text)
    if kind == "word":
        return text.lower() if text.upper() in _KEYWORDS else text.strip("`")
    return text if kind == "num" else ""


def _lexical_error(text: str, pos: int, prefix: int) -> errors.ServiceError:
    """A character the tokens cannot start with: a string never closed (the parser
    stops at the end, showing what it read of it) or a character of its own."""
    char = text[pos]
    if char in "'\"":
        return _syntax(len(text), _unquote(text[pos:] + char), prefix)
    return _syntax(pos + 1, "" if char in _BARE_CHARS else char, prefix)


def _type_name(kind: str) -> str:
    """KEYWORD_LIST -> KeywordList: the type as the server's messages name it."""
    return "".join(word.capitalize() for word in kind.split("_"))


def _go(value: str | int | float | bool) -> tuple[str, str]:
    """A literal as Go prints it (%#v) and its Go type, for the server's type errors."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int64"
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)), "float64"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', "string"


def _unquote(token: str) -> str:
    quote, body = token[0], token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        elif char == quote and body[i + 1 : i + 2] == quote:
            out.append(quote)  # SQL's doubled quote
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def parse_datetime(text: str) -> int | None:
    """An RFC 3339 time (Go's time.RFC3339Nano) as ns since the epoch, or None."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        tz = datetime.UTC
        if zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = datetime.timezone(sign * offset)
        moment = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None
    nanos = int((fraction or "0").ljust(9, "0"))
    return int(moment.timestamp()) * 1_000_000_000 + nanos


_T = TypeVar("_T")


class _Parser:
    def __init__(self, text: str, types: dict[str, str]) -> None:
        self.types = types
        self.names: set[str] = set()
        self.tokens: list[tuple[str, str]] = []
        self.ends: list[int] = []  # where each token ends in the text
        self.store_error: str | None = None  # the first Text comparison FTS5 fails on
        pos = 0
        text = self.text = text.strip()
        self.clause_first = text.lower().startswith(_CLAUSE_OPENINGS)
        self.prefix = _SQL_CLAUSE_PREFIX if self.clause_first else _SQL_PREFIX
        while pos < len(text):
            if text.startswith(("#", "-- "), pos):  # a comment, to the end of the line
                newline = text.find("\n", pos)
                pos = len(text) if newline < 0 else newline
                continue
            if text[pos] == ";" and not text[pos + 1 :].strip():  # the statement's end
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _lexical_error(text, pos, self.prefix)
            kind = m.lastgroup or ""
            if kind == "str" and text.startswith(text[m.start()], m.end()):
                # a doubled quote in a string never closed
                raise _lexical_error(text, m.start(), self.prefix)
            if (
                kind == "num"
                and m.end() < len(text)
                and (text[m.end()].isalpha() or text[m.end()] == "_")
            ):
                raise _syntax(m.end(), m.group(kind), self.prefix)  # a number run into a name
            self.tokens.append((kind, m.group(kind)))
            self.ends.append(m.end())
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def syntax_error(self, index: int | None = None) -> errors.ServiceError:
        """The parser's error at token `index` (None: at the end of the query)."""
        if index is None or index >= len(self.tokens):
            return _syntax(len(self.text), "", self.prefix)
        kind, text = self.tokens[index]
        return _syntax(self.ends[index], _near(kind, text), self.prefix)

    # -- tokens ---------------------------------------------------------------------
    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.syntax_error()
        self.i += 1
        return token

    def comma_list(self, item: Callable[[], _T]) -> list[_T]:
        """`item`, and again after each comma that follows."""
        items = [item()]
        while self.peek() == ("op", ","):
            self.take()
            items.append(item())
        return items

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        _, got = self.take()
        if got.upper() != value:
            raise self.syntax_error(self.i - 1)

    # -- grammar --------------------------------------------------------------------
    def parse(self) -> Query:
        """The statement `select * from table1 [where QUERY]`: its condition, then
        GROUP BY, HAVING, ORDER BY; the clauses' names are checked once the whole query
        has parsed, after LIMIT is refused and in the converter's order (converter.go
        convertSelectStmt: GROUP BY before ORDER BY)."""
        query = Query(lambda row: True)
        query.names = self.names
        if self.tokens and not self.clause_first:
            query.predicate = self.disjunction()
        grouped: list[tuple[str, str]] = []
        if self.keyword("GROUP"):
            self.expect("BY")
            grouped = self.comma_list(self.group_item)
        if self.keyword("HAVING"):
            # The converter ignores HAVING, so its condition counts for nothing; its
            # tokens are skipped unchecked (the server's parser checks its syntax, and
            # takes the `*` of count(*), a character this lexer refuses).
            self.take()
            while self.peek() is not None and not self.at_word("ORDER", "LIMIT"):
                self.take()
        ordered = ""
        if self.keyword("ORDER"):
            self.expect("BY")
            kind, ordered = self.take()
            if kind != "word" or ordered.upper() in _KEYWORDS:
                raise self.syntax_error(self.i - 1)
            if self.keyword("DESC"):
                query.descending = True
            else:
                self.keyword("ASC")
        if self.at_word("LIMIT"):
            raise _bad("operation is not supported: 'LIMIT' clause")
        if self.peek() is not None:
            raise self.syntax_error(self.i)
        query.group_by = self.group_field(grouped)
        if ordered:
            query.order_by = self.resolve(ordered)
        query.store_error = self.store_error
        return query

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].upper() in words

    def group_item(self) -> tuple[str, str]:
        """One expression of GROUP BY: a name or a literal (checked in group_field)."""
        kind, text = self.take()
        if kind == "op" or (kind == "word" and text.upper() in _KEYWORDS - {"NULL"}):
            raise self.syntax_error(self.i - 1)
        return kind, text

    def group_field(self, grouped: list[tuple[str, str]]) -> str | None:
        """The one search attribute GROUP BY names, as the converter allows it
        (converter.go convertSelectStmt and IsGroupByFieldAllowed)."""
        if not grouped:
            return None
        if len(grouped) > 1:
            raise _bad("operation is not supported: 'GROUP BY' clause supports only a single field")
        kind, text = grouped[0]
        if kind != "word":
            shown = "*sqlparser.SQLVal"  # the expression's Go type, as %T prints it
        elif text.upper() in ("TRUE", "FALSE"):
            shown = "sqlparser.BoolVal"
        elif text.upper() == "NULL":
            shown = "*sqlparser.NullVal"
        else:
            name = self.resolve(text)
            if name in _GROUPABLE or name.startswith("TemporalLowCardinalityKeyword"):
                return name
            raise _bad(
                "operation is not supported: 'GROUP BY' clause is not supported for search "
                f"attribute {name}"
            )
        raise _bad(f"invalid expression: must be a column name but was {shown}")

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else any_of(parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else all_of(parts)

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            return negation(self.negation())
        if self.peek() == ("op", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.condition()

    def attribute(self) -> str:
        kind, name = self.take()
        if kind != "word" or name.upper() in _KEYWORDS:
            raise self.syntax_error(self.i - 1)
        return self.resolve(name)

    def resolve(self, name: str) -> str:
        """A name as a search attribute of the namespace, or the server's error."""
        name = name.strip("`")
        if name not in self.types:
            raise _bad(f"invalid search attribute: {name}")
        self.names.add(name)
        return name

    def condition(self) -> Predicate:
        name = self.attribute()
        kind = self.types[name]
        after = self.peek()
        if (
            after is None
            or after == ("op", ")")
            or (
                after[0] == "word" and after[1].upper() in ("AND", "OR", "ORDER", "GROUP", "HAVING")
            )
        ):
            # a name alone is an expression to the parser, but not a condition
            raise _bad("invalid expression: incomplete expression")
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            self.expect("NULL")
            return lambda row: is_null(row.attribute(name), kind) != negate
        negate = self.keyword("NOT")
        token = self.peek()
        word = token[1].upper() if token is not None and token[0] == "word" else ""
        if word in UNSUPPORTED:
            self.refuse(("NOT " if negate else "") + word, name)
        if self.keyword("IN"):
            self.expect("(")
            options = self.comma_list(lambda: self.value(name))
            self.expect(")")
            if kind == "TEXT":  # the converter reads the values before the operator
                self.refuse(("NOT " if negate else "") + "IN", name)
            return maybe_not(lambda row: within(row.attribute(name), kind, options), negate)
        if self.keyword("BETWEEN"):
            if kind not in _RANGED:
                raise _bad(
                    "invalid expression: cannot do range condition on search attribute "
                    f"'{name}' of type {_type_name(kind)}"
                )
            low = self.value(name)
            self.expect("AND")
            high = self.value(name)
            return maybe_not(lambda row: between(row.attribute(name), low, high), negate)
        if self.keyword("STARTS_WITH"):
            if kind != "KEYWORD":
                self.refuse(("NOT " if negate else "") + "STARTS_WITH", name)
            prefix = self.value(name)
            return maybe_not(lambda row: starts_with(row.attribute(name), prefix), negate)
        if negate:  # NOT goes with IN, BETWEEN or STARTS_WITH only
            raise self.syntax_error(self.i)
        op_kind, op = self.take()
        if op_kind != "op" or op not in OPERATORS:
            raise self.syntax_error(self.i - 1)
        if kind == "KEYWORD_LIST" and op not in ("=", "!=", "<>"):
            self.refuse(op, name)
        right = self.value(name)
        if kind == "TEXT":
            return self.text_comparison(name, op, right)
        return lambda row: compare(row.attribute(name), kind, op, right)

    def text_comparison(self, name: str, op: str, right: Value) -> Predicate:
        """A Text attribute `=` or `!=` a value: whether the run's value holds one of
        the value's words or phrases (fulltext.py), never unknown: `!=` holds for a run
        without the attribute."""
        if op not in ("=", "!=", "<>"):
            self.refuse(op, name)
        assert isinstance(right, str)  # _typed checked it
        if self.store_error is None:
            self.store_error = fulltext.failure(right)
        wanted = fulltext.phrases(right)
        equal = op == "="
        return lambda row: fulltext.matches(row.attribute(name), wanted) == equal

    def refuse(self, operator: str, name: str) -> None:
        raise _bad(
            f"operation is not supported: operator '{operator}' not supported for "
            f"{_type_name(self.types[name])} type search attribute '{name}'"
        )

    def value(self, name: str) -> Value:
        kind, text = self.take()
        literal: str | int | float | bool
        if kind == "str":
            literal = _unquote(text)
        elif kind == "num":
            literal = float(text) if any(c in text for c in ".eE") else int(text)
        elif kind == "word" and text.upper() in ("TRUE", "FALSE"):
            literal = text.upper() == "TRUE"
        elif kind == "word" and text.strip("`") in self.types:
            raise _bad(
                "operation is not supported: column name on the right side of comparison "
                f'expression (did you forget to quote "{text.strip("`")}"?)'
            )
        elif kind == "op":
            raise self.syntax_error(self.i - 1)
        else:
            raise _bad(f"expected a value for {name}, got {text!r}")
        return _typed(name, self.types[name], literal)


def _typed(name: str, kind: str, literal: str | int | float | bool) -> Value:
    """`literal` as a value of the attribute's type, or the server's error."""
    if name == "ExecutionStatus":
        return _status(literal)
    if name == "ExecutionDuration" and isinstance(literal, str):
        nanos = parse_duration(literal)
        if nanos is None:
            raise _bad(
                "invalid expression: invalid duration value for search attribute "
                f"ExecutionDuration: {literal}"
            )
        return nanos
    number = isinstance(literal, int | float) and not isinstance(literal, bool)
    if kind == "TEXT" and isinstance(literal, str) and not literal.strip():
        raise _bad(
            f"invalid expression: no tokens found filtering on Text type search attribute {name}"
        )
    if kind in ("KEYWORD", "TEXT", "KEYWORD_LIST") and isinstance(literal, str):
        return literal
    if kind in ("INT", "DOUBLE") and number:
        return literal
    if kind == "BOOL" and isinstance(literal, bool):
        return literal
    if kind == "DATETIME" and isinstance(literal, str):
        when = parse_datetime(literal)
        if when is None:
            raise _bad(f"invalid expression: unable to parse datetime '{literal}'")
        return when
    if kind == "DATETIME" and isinstance(literal, int) and not isinstance(literal, bool):
        return literal  # Unix nanoseconds
    shown, go_type = _go(literal)
    raise _bad(
        f"invalid expression: invalid value type for search attribute {name} of type "
        f"{_type_name(kind)}: {shown} (type: {go_type})"
    )


_GO_DURATION = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|ms|s|m|h|d)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9}
_UNIT_NS.update({"m": 60 * 10**9, "h": 3_600 * 10**9, "d": 86_400 * 10**9})


def parse_duration(text: str) -> int | None:
    """An ExecutionDuration's value in a query, in nanoseconds, as the server reads it
    (`ParseExecutionDurationStr`, visibility/store/query/util.go): an integer of
    nanoseconds, a Go duration ("300ms", "-1.5h", "2h45m", with "d" for days), or
    "hh:mm:ss"; None when it is none of them."""
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text.removeprefix("+"))
    if body == "0":
        return 0
    parts = _GO_DURATION.findall(body)
    if (
        body
        and "".join(n + u for n, u in parts) == body
        and all(n not in ("", ".") for n, _ in parts)
    ):
        return sign * round(sum(float(n) * _UNIT_NS[u] for n, u in parts))
    clock = re.fullmatch(r"([0-9]+):([0-9]{2}):([0-9]{2})", text)
    if clock is not None:
        hours, minutes, seconds = (int(x) for x in clock.groups())
        if minutes < 60 and seconds < 60:
            return ((hours * 60 + minutes) * 60 + seconds) * 10**9
    return None


def _status(literal: str | int | float | bool) -> str:
    if isinstance(literal, str):
        if literal in EXECUTION_STATUSES:
            return literal
        raise _bad(f"invalid expression: invalid ExecutionStatus value '{literal}'")
    if isinstance(literal, int) and not isinstance(literal, bool):
        if 1 <= literal <= len(EXECUTION_STATUSES):
            return EXECUTION_STATUSES[literal - 1]
        raise _bad(f"invalid expression: invalid ExecutionStatus value {literal}")
    shown, go_type = _go(literal)
    raise _bad(
        "invalid expression: invalid value type for search attribute ExecutionStatus of "
        f"type Keyword: {shown} (type: {go_type})"
    )


__all__ = ["EXECUTION_STATUSES", "Query", "Row", "Value", "parse_datetime", "parse_query"]
