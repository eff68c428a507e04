"""What the standalone executions served here (activities: standalone.py,
standalone_rpc.py; Nexus operations: standalone_nexus.py, standalone_nexus_rpc.py) share:
the long poll on a run's next change, and the visibility queries over their runs
(CHASM's ListExecutions and CountExecutions read one execution type's rows)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import grpc
from temporalio.api.common.v1 import message_pb2 as common_pb

from . import errors
from .query import Query, parse_query
from .rpc_reads import add_groups, group_value

T = TypeVar("T")


class Indexed(Protocol):
    """A run's entry as its kind's store keeps it."""

    namespace: str

    @property
    def business_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...


E = TypeVar("E", bound=Indexed)
LONG_POLL = 20.0  # {activity,nexusoperation}.longPollTimeout (common.DefaultLongPollTimeout), s
LONG_POLL_BUFFER = 1.0  # {activity,nexusoperation}.longPollBuffer: answer this long before


class RunIndex(Generic[E]):
    """One kind's runs: by namespace and business id (the activity or operation id),
    newest run last, and by run id (CHASM's execution keys)."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], list[E]] = {}
        self.by_run: dict[str, E] = {}

    def index(self, entry: E) -> None:
        self.runs.setdefault((entry.namespace, entry.business_id), []).append(entry)
        self.by_run[entry.run_id] = entry

    def unindex(self, entry: E) -> None:
        runs = self.runs.get((entry.namespace, entry.business_id), [])
        if entry in runs:
            runs.remove(entry)
        self.by_run.pop(entry.run_id, None)

    def named(self, namespace: str, business_id: str, run_id: str = "") -> E | None:
        """The run named (the newest when `run_id` is empty), or None."""
        entries = self.runs.get((namespace, business_id), [])
        if run_id:
            entries = [e for e in entries if e.run_id == run_id]
        return entries[-1] if entries else None

    def entries(self, namespace: str) -> list[E]:
        return [e for runs in self.runs.values() for e in runs if e.namespace == namespace]


def _not_modelled(message: str) -> errors.ServiceError:
    return errors.ServiceError(grpc.StatusCode.UNIMPLEMENTED, message)


CODES = {  # a core decision's error code -> the error the caller gets
    "NOT_FOUND": errors.not_found,
    "INVALID_ARGUMENT": errors.invalid,
    "FAILED_PRECONDITION": errors.failed_precondition,
    "UNIMPLEMENTED": _not_modelled,
}


def settle(
    waiters: list[asyncio.Future[None]], changed: bool, error: tuple[str, str] | None
) -> None:
    """After a decision: wake the run's long polls if it changed, then raise the error
    the decision names, if any."""
    if changed:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        waiters.clear()
    if error is not None:
        code, message = error
        raise CODES[code](message)


async def changed(waiters: list[asyncio.Future[None]], deadline: float | None) -> bool:
    """Wait until the run whose `waiters` these are changes (its store resolves them);
    False when the long poll's time is up first (the caller's deadline less a buffer,
    at most `LONG_POLL`)."""
    loop = asyncio.get_running_loop()
    limit = loop.time() + LONG_POLL
    if deadline is not None:
        limit = min(limit, deadline - LONG_POLL_BUFFER)
    waiter: asyncio.Future[None] = loop.create_future()
    waiters.append(waiter)
    try:
        await asyncio.wait_for(waiter, max(0.0, limit - loop.time()))
        return True
    except TimeoutError:
        return False
    finally:
        if waiter in waiters:
            waiters.remove(waiter)


class Row:
    """What a visibility query reads of a run: its system attributes, else the custom
    search attributes its start gave."""

    def __init__(self, system: dict[str, Any], custom: common_pb.SearchAttributes) -> None:
        self.system = system
        self.custom = custom

    def attribute(self, name: str) -> Any:
        if name in self.system:
            return self.system[name]
        field = self.custom.indexed_fields.get(name)
        if field is None:
            return None
        try:
            return json.loads(field.data)
        except ValueError:
            return None


def parsed(text: str, types: dict[str, str], order_by: bool = True) -> Query:
    """A List or Count query over one kind's runs (`types`: the attributes it may
    name). With `order_by` false an ORDER BY clause is refused, as the dev server
    refuses it on standalone Nexus operations' List and Count (measured: the query
    converter's not-supported error, common/persistence/visibility/store/query/
    converter.go). A GROUP BY is a count's; a list ignores it (measured on activities)."""
    query = parse_query(text, types)
    if query.order_by is not None and not order_by:
        raise errors.invalid("invalid query: operation is not supported: 'ORDER BY' clause")
    return query


def matching(
    entries: Iterable[T],
    text: str,
    types: dict[str, str],
    row: Callable[[T], Row],
    order_by: bool = True,
) -> list[T]:
    """The runs the query selects."""
    query = parsed(text, types, order_by)
    return [e for e in entries if query.matches(row(e))]


def counted(out: T, query: Query, rows: list[Row]) -> T:
    """A count response over the rows the query selected, grouped (by the value of its
    GROUP BY attribute, in value order) when it has a GROUP BY."""
    out.count = len(rows)  # type: ignore[attr-defined]
    if query.group_by is not None:
        values = [group_value(r, query.group_by) for r in rows]
        add_groups(out.groups, values)  # type: ignore[attr-defined]
    return out
