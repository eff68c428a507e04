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
