"""The workers that heartbeat to this server: the latest heartbeat of each worker, per
namespace, by its worker instance key, for ListWorkers, CountWorkers and DescribeWorker.

As Temporal's matching service keeps them (`service/matching/workers/registry_impl.go`,
with its defaults from `common/dynamicconfig/constants.go`, the `matching.workerRegistry*`
settings), in memory only (a restart forgets them):

- A heartbeat replaces the worker's last one as it came (the worker's own times,
  counters and status), and marks the worker seen now. A heartbeat with status
  SHUTDOWN removes the worker. (temporalio's workers end with SHUTTING_DOWN, which
  keeps them listed until they expire.)
- A worker on a `temporal-sys-` task queue is a system worker (no caller here is the
  server itself, `isSystemWorker`): ListWorkers and CountWorkers leave it out unless
  asked to include system workers.
- Eviction runs once a minute from the server's start: it removes the workers not seen
  for 5 minutes (the entry TTL), so a worker stays listed 5 to 6 minutes after its last
  heartbeat; then, while there are more than 1,000,000 workers in all, the least
  recently seen one, if seen at least a minute before. Here the rounds are applied when
  the registry is next used, which nobody can tell from running them on time, and the
  clock is the caller's (the server's real time: frontend.py).
- ListWorkers pages only when asked (a page size or a page token): then the workers,
  sorted by instance key, after the token's key (`{"l":"KEY"}`, an empty key meaning
  the start), as many as the page size (none: all); a token that is not that JSON is
  INVALID_ARGUMENT "invalid next_page_token", unless nothing matches. Unpaged, the
  server gives its map's order, which varies; here it is the instance keys' order.
- DescribeWorker of a key the namespace does not hold is NOT_FOUND "Worker KEY not
  found". (The registry answers NamespaceNotFound for a namespace no heartbeat has ever
  reached; on the dev server every namespace has the heartbeats of its system worker
  within seconds of being registered, which this server does not run, so it answers
  "Worker KEY not found" for any registered namespace, as the dev server is seen to.)
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import common_pb2 as enums
from temporalio.api.worker.v1 import message_pb2 as worker_pb

from . import errors, worker_query

MINUTE = 60 * 10**9
ENTRY_TTL = 5 * MINUTE  # matching.workerRegistryEntryTTL
EVICTION_INTERVAL = MINUTE  # matching.workerRegistryEvictionInterval
MIN_EVICT_AGE = MINUTE  # matching.workerRegistryMinEvictAge
MAX_ENTRIES = 1_000_000  # matching.workerRegistryMaxEntries
SYSTEM_QUEUE_PREFIX = "temporal-sys-"  # primitives.IsInternalTaskQueue
BAD_TOKEN = "invalid next_page_token"


@dataclass(slots=True)
class _Entry:
    namespace: str
    heartbeat: worker_pb.WorkerHeartbeat
    seen: int
    system: bool


class WorkerRegistry:
    """The latest heartbeat of every worker, by namespace and worker instance key."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.swept = clock()  # the time of the last eviction round
        self.namespaces: dict[str, dict[str, _Entry]] = {}
        self.order: OrderedDict[tuple[str, str], _Entry] = OrderedDict()  # least recent first

    def record(self, namespace: str, heartbeats: Iterable[worker_pb.WorkerHeartbeat]) -> None:
        now = self._sweep()
        workers = self.namespaces.setdefault(namespace, {})
        for heartbeat in heartbeats:
            key = heartbeat.worker_instance_key
            if heartbeat.status == enums.WORKER_STATUS_SHUTDOWN:
                if workers.pop(key, None) is not None:
                    del self.order[(namespace, key)]
                continue
            kept = worker_pb.WorkerHeartbeat()
            kept.CopyFrom(heartbeat)
            system = heartbeat.task_queue.startswith(SYSTEM_QUEUE_PREFIX)
            workers[key] = self.order[(namespace, key)] = _Entry(namespace, kept, now, system)
            self.order.move_to_end((namespace, key))

    def matching(
        self, namespace: str, query: str, include_system: bool
    ) -> list[worker_pb.WorkerHeartbeat]:
        """The heartbeats the query matches, in instance key order."""
        predicate = worker_query.parse(query)
        self._sweep()
        workers = self.namespaces.get(namespace, {})
        return [
            workers[key].heartbeat
            for key in sorted(workers)
            if (include_system or not workers[key].system) and predicate(workers[key].heartbeat)
        ]

    def page(
        self, namespace: str, query: str, include_system: bool, size: int, token: bytes
    ) -> tuple[list[worker_pb.WorkerHeartbeat], bytes]:
        """ListWorkers' page and the token of the next one (b"" when it is the last)."""
        found = self.matching(namespace, query, include_system)
        if not found or (size == 0 and not token):
            return found, b""
        start = 0
        cursor = _cursor(token) if token else ""
        if cursor:  # the first key after the cursor
            start = bisect.bisect_right([hb.worker_instance_key for hb in found], cursor)
            if start >= len(found):
                return [], b""
        end = len(found) if size <= 0 else min(start + size, len(found))
        more = _token(found[end - 1].worker_instance_key) if end < len(found) else b""
        return found[start:end], more

    def describe(self, namespace: str, key: str) -> worker_pb.WorkerHeartbeat:
        self._sweep()
        entry = self.namespaces.get(namespace, {}).get(key)
        if entry is None:
            raise errors.not_found(f"Worker {key} not found")
        return entry.heartbeat

    def _sweep(self) -> int:
        """Apply the eviction rounds due by now (only the latest matters: each removes
        what the ones before it would have); the current time."""
        now = self.clock()
        rounds = (now - self.swept) // EVICTION_INTERVAL
        if rounds <= 0:
            return now
        self.swept += rounds * EVICTION_INTERVAL
        while self.order:
            entry = next(iter(self.order.values()))
            if entry.seen >= self.swept - ENTRY_TTL:
                break
            self._drop(entry)
        while len(self.order) > MAX_ENTRIES:
            entry = next(iter(self.order.values()))
            if entry.seen >= self.swept - MIN_EVICT_AGE:
                break
            self._drop(entry)
        return now

    def _drop(self, entry: _Entry) -> None:
        key = entry.heartbeat.worker_instance_key
        del self.order[(entry.namespace, key)]
        del self.namespaces[entry.namespace][key]


def _cursor(token: bytes) -> str:
    """The instance key a page token names, read as Go's json.Unmarshal reads it into a
    struct with one string field "l" (null is nothing; the name matches
    case-insensitively)."""
    try:
        doc = json.loads(token.decode())
    except (UnicodeDecodeError, ValueError):
        raise errors.invalid(BAD_TOKEN) from None
    if doc is None:
        return ""
    if not isinstance(doc, dict):
        raise errors.invalid(BAD_TOKEN)
    cursor = ""
    for name, value in doc.items():
        if name.lower() != "l" or value is None:
            continue
        if not isinstance(value, str):
            raise errors.invalid(BAD_TOKEN)
        cursor = value
    return cursor


def _token(key: str) -> bytes:
    """`{"l":"KEY"}` as Go's json.Marshal writes it (HTML characters escaped)."""
    text = json.dumps({"l": key}, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
