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
