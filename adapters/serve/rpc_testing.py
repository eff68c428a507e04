"""TestService: the clock of a time-skipping server (what temporalio's
`WorkflowEnvironment.start_time_skipping` calls, after the Java SDK's test server,
`TestService.java` / `SelfAdvancingTimerImpl`).

Time skipping starts locked once, as the Java test server starts (so a client that
never unlocks sees real time); every LockTimeSkipping adds a hold and every
UnlockTimeSkipping removes one, and the clock jumps to the next durable timer only
while the holds and the tasks in flight add up to none (kernel.py).
`UnlockTimeSkippingWithSleep` unlocks for the duration of a sleep in skipped time and
locks again; `Sleep`/`SleepUntil` wait until the (possibly skipping) clock reaches the
time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.protobuf import empty_pb2
from temporalio.api.testservice.v1 import request_response_pb2 as ts

from . import convert, errors
from .frontend import Frontend

Context = grpc.aio.ServicerContext[Any, Any]


async def get_current_time(
    fe: Frontend, req: empty_pb2.Empty, context: Context
) -> ts.GetCurrentTimeResponse:
    out = ts.GetCurrentTimeResponse()
    out.time.CopyFrom(convert.timestamp(fe.now()))
    return out


async def lock_time_skipping(
    fe: Frontend, req: ts.LockTimeSkippingRequest, context: Context
) -> ts.LockTimeSkippingResponse:
    fe.runtime.kernel.locks += 1
    fe.runtime.kernel.poke()
    return ts.LockTimeSkippingResponse()


async def unlock_time_skipping(
    fe: Frontend, req: ts.UnlockTimeSkippingRequest, context: Context
) -> ts.UnlockTimeSkippingResponse:
    """Take one hold away. Refused only when nothing holds the clock at all: the Java
    test server counts its holds in one number, the locks and the tasks in flight
    alike (`SelfAdvancingTimerImpl.unlockTimeSkippingLockedInternal` fails when it is
    zero), so an unlock while a task holds the clock is taken even with no lock left
    (an SDK's environment that lost its own count, say after a test timed out while it
    was unlocked, goes on working)."""
    kernel = fe.runtime.kernel
    spare = max(0, -kernel.locks)  # holds the sleeping unlocks have taken away
    if kernel.locks + fe.runtime.in_flight(spare) <= 0:
        raise errors.ServiceError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "Time skipping is not locked: more unlock calls than lock calls",
        )
    kernel.locks -= 1
    kernel.poke()
    return ts.UnlockTimeSkippingResponse()


async def _sleep_until(fe: Frontend, until: int) -> None:
    kernel = fe.runtime.kernel
    wake = asyncio.Event()
    kernel.at(until, wake.set)
    if fe.runtime.kernel.skipping:
        fe.runtime.add_skip_target(until)
    try:
        await wake.wait()
    finally:
        fe.runtime.remove_skip_target(until)


async def sleep(fe: Frontend, req: ts.SleepRequest, context: Context) -> ts.SleepResponse:
    await _sleep_until(fe, fe.now() + convert.nanos(req.duration))
    return ts.SleepResponse()


async def sleep_until(
    fe: Frontend, req: ts.SleepUntilRequest, context: Context
) -> ts.SleepResponse:
    await _sleep_until(fe, convert.timestamp_ns(req.timestamp))
    return ts.SleepResponse()


async def unlock_time_skipping_with_sleep(
    fe: Frontend, req: ts.SleepRequest, context: Context
) -> ts.SleepResponse:
    """Unlock, sleep `duration` of (skipped) time, lock again. The lock is taken back by
    the kernel call that ends the sleep, at the very moment the clock reaches its end
    (`TestService.unlockTimeSkippingWhileSleep` locks inside the timer's callback), so
    the clock moves by the duration asked, firing the timers due on the way, and stops
    there: were it taken back when this handler resumes, the pump would already have
    jumped on to the next timer."""
    kernel = fe.runtime.kernel
    until = fe.now() + convert.nanos(req.duration)
    wake = asyncio.Event()
    relocked = False

    def lock_and_wake() -> None:
        nonlocal relocked
        if not relocked:
            relocked = True
            kernel.locks += 1
        wake.set()

    kernel.at(until, lock_and_wake)
    fe.runtime.add_skip_target(until)
    kernel.locks -= 1
    kernel.poke()
    try:
        await wake.wait()
    finally:
        fe.runtime.remove_skip_target(until)
        if not relocked:  # the caller went away before the end: keep the count even
            relocked = True
            kernel.locks += 1
            kernel.poke()
    return ts.SleepResponse()
