"""The model's few typed errors.

One base class, so a caller can catch everything the model raises on purpose and
nothing else. Adapters turn `BadInput` into exit code 2 with a one-line message.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class of every error the model raises deliberately."""


class BadInput(ModelError):
    """Input at the adapter boundary is malformed (JSON, types, arguments)."""


class InvalidTransition(ModelError):
    """A machine was given an input its transition table does not allow."""

    def __init__(self, machine: str, state: str, input_: str) -> None:
        super().__init__(f"{machine}: no transition from {state} on {input_}")
        self.machine = machine
        self.state = state
        self.input = input_


class InvalidDefinition(ModelError):
    """A transition table or workflow definition is malformed."""


class Nondeterminism(ModelError):
    """Workflow code and its history disagree (THM-3.1's premise fails).

    `event_id` is the history event where they part; `expected` describes what the
    history holds there and `produced` what the code did instead.
    """

    def __init__(self, event_id: int, expected: str, produced: str) -> None:
        super().__init__(
            f"nondeterminism at event {event_id}: history has {expected}, "
            f"the workflow produced {produced}"
        )
        self.event_id = event_id
        self.expected = expected
        self.produced = produced


class BadPayload(BadInput):
    """A payload the model's data converter cannot decode: its data is not base64 or not
    JSON, or its encoding is neither ``json/plain`` nor ``binary/null`` (core/payloads.py)."""


class PotentialDeadlock(BaseException):
    """Workflow code ran for longer than its runner allows without yielding.

    The SDKs bound each workflow activation by wall-clock time and fail the workflow
    task when code neither finishes nor awaits within it (temporalio runs each
    activation in a thread and waits 2 s for it, temporalio/worker/_workflow.py,
    `_deadlock_timeout_seconds` and `_DeadlockError`; rule TMPRL1101). Core reads no
    clock, so it cannot notice this itself: the runner injects a guard into the replay
    engine (`Execution(guard=...)`), and the guard raises this error into the spinning
    code. Like `KeyboardInterrupt` it is a `BaseException`, so workflow code's
    ``except Exception`` and the scheduler, which keep the code's own errors, let it
    pass. `where` says which workflow task it was, once the driver knows.
    """

    def __init__(self, seconds: float, where: str = "") -> None:
        self.seconds = seconds
        self.where = where
        text = f"potential deadlock (TMPRL1101): workflow code ran {seconds:g} s without yielding"
        super().__init__(f"{text} in {where}" if where else text)
