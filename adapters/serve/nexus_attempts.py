"""A Nexus operation's attempts to start it (and to cancel it): how many, when the last
ended and why it failed, and when the next one goes.

The server's outbound queue makes each attempt (components/nexusoperations/executors.go);
an attempt that fails with a retryable error, or whose request times out (the frontend
answers it as an UPSTREAM_TIMEOUT handler error, "upstream timeout"), moves the
operation to BACKING_OFF (statemachine.go, TransitionAttemptFailed: `recordAttempt`
counts it and notes its end, NextAttemptScheduleTime is that end plus the retry
policy's next delay, LastAttemptFailure the failure) and a backoff timer puts it back
to SCHEDULED, to be tried again (TransitionRescheduled). A start that succeeds counts
its attempt too (TransitionStarted). The retry policy is the component's
(components/nexusoperations/config.go): exponential from
`component.nexusoperations.retryPolicy.initialInterval`, 1 s, doubling
(common/backoff/retrypolicy.go's default coefficient) up to
`component.nexusoperations.retryPolicy.maxInterval`, 1 h, with no expiration and no
maximum of attempts, and the policy's jitter (`addJitter`: the delay is 80 % of the
interval plus a random part of up to 20 %).

DescribeWorkflowExecution lists them (service/history/api/describeworkflow/api.go,
buildPendingNexusOperationInfo; nexus_describe.py). Kept in memory, as the tasks are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.failure.v1 import message_pb2 as failure_pb

SECOND = 1_000_000_000
INITIAL_INTERVAL = SECOND  # component.nexusoperations.retryPolicy.initialInterval
MAXIMUM_INTERVAL = 3600 * SECOND  # component.nexusoperations.retryPolicy.maxInterval
COEFFICIENT = 2.0  # backoff.defaultBackoffCoefficient
UPSTREAM_TIMEOUT = "upstream timeout"  # the frontend's answer to a timed-out Nexus task


def next_delay(attempts: int, rng: random.Random) -> int:
    """ExponentialRetryPolicy.ComputeNextDelay after `attempts` attempts, in ns."""
    interval = min(INITIAL_INTERVAL * COEFFICIENT ** (attempts - 1), MAXIMUM_INTERVAL)
    portion = max(int(0.2 * interval), 1)
    return int(interval * 0.8) + rng.randrange(portion)


def timeout_failure() -> failure_pb.Failure:
    """The failure a timed-out attempt records (the frontend's handler error)."""
    out = failure_pb.Failure(message=UPSTREAM_TIMEOUT)
    out.nexus_handler_failure_info.type = "UPSTREAM_TIMEOUT"
    return out


@dataclass(slots=True)
class Attempts:
    """One operation's start (or cancel) attempts so far."""

    count: int = 0
    last_complete: int = 0  # ns: when the last attempt ended (0: none has)
    last_failure: failure_pb.Failure | None = None
    next_attempt: int = 0  # ns: when the next one goes, while backing off (0: not)


@dataclass(slots=True)
class AttemptLog:
    """Every operation's attempts, by (caller run id, scheduled event id, cancel?)."""

    rng: random.Random = field(default_factory=lambda: random.Random(0))
    records: dict[tuple[str, int, bool], Attempts] = field(default_factory=dict)

    def get(self, key: tuple[str, int, bool]) -> Attempts | None:
        return self.records.get(key)

    def failed(self, key: tuple[str, int, bool], now: int, failure: failure_pb.Failure) -> int:
        """An attempt failed (retryably) at `now`: the delay before the next, in ns."""
        record = self.records.setdefault(key, Attempts())
        record.count += 1
        record.last_complete = now
        record.last_failure = failure
        delay = next_delay(record.count, self.rng)
        record.next_attempt = now + delay
        return delay

    def rescheduled(self, key: tuple[str, int, bool]) -> None:
        """The backoff is over: the operation is scheduled again."""
        record = self.records.get(key)
        if record is not None:
            record.next_attempt = 0

    def succeeded(self, key: tuple[str, int, bool], now: int) -> None:
        """An attempt succeeded (recordAttempt): counted, its failure cleared."""
        record = self.records.setdefault(key, Attempts())
        record.count += 1
        record.last_complete = now
        record.last_failure = None
        record.next_attempt = 0

    def forget_closed(self, state: Any) -> None:
        """Drop the records of the run's operations no longer pending (all, once the run
        closed)."""
        pending = (
            {op.scheduled_event_id for op in state.nexus_operations} if state.running else set()
        )
        for key in [k for k in self.records if k[0] == state.run_id and k[1] not in pending]:
            del self.records[key]
