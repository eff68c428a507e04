"""What the standalone executions served here (activities: standalone.py,
standalone_rpc.py; Nexus operations: standalone_nexus.py, standalone_nexus_rpc.py) share:
the long poll on a run's next change, and the visibility queries over their runs
(CHASM's ListExecutions and CountExecutions read one execution type's rows)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from temporalio.api.common.v1 import message_pb2 as common_pb

from .query import parse_query
from .rpc_reads import add_status_groups, split_group_by

T = TypeVar("T")
LONG_POLL = 20.0  # {activity,nexusoperation}.longPollTimeout (common.DefaultLongPollTimeout), s
LONG_POLL_BUFFER = 1.0  # {activity,nexusoperation}.longPollBuffer: answer this long before


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


def matching(
    entries: Iterable[T], text: str, types: dict[str, str], row: Callable[[T], Row]
) -> list[T]:
    """The runs the query selects (`types`: the attributes it may name)."""
    query = parse_query(text, types)
    return [e for e in entries if query.matches(row(e))]


def counted(out: T, text: str, select: Callable[[str], list[str]]) -> T:
    """A count response: the runs the query selects (`select` gives each one's status
    keyword), grouped by status when it says `GROUP BY ExecutionStatus`."""
    query, grouped = split_group_by(text)
    statuses = select(query)
    out.count = len(statuses)  # type: ignore[attr-defined]
    if grouped:
        add_status_groups(out.groups, statuses)  # type: ignore[attr-defined]
    return out
