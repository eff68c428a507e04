"""The history host builds outbox tasks and mutations with `sim.persistence`'s builders:
each must make exactly the value the class's own constructor makes, still frozen."""

from __future__ import annotations

import dataclasses

import pytest

from core import requests as rq
from sim.persistence import (
    Commit,
    Mutation,
    OutboxTask,
    _builder,
    new_mutation,
    new_outbox_task,
)


def test_a_built_outbox_task_is_the_constructed_one() -> None:
    task = rq.UserTimerTask("t", 5, 1_000)
    built = new_outbox_task(7, "run", "wf", task, "default")
    made = OutboxTask(7, "run", "wf", task, "default")
    assert type(built) is OutboxTask
    assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.task_id = 8  # type: ignore[misc]


def test_a_built_mutation_is_the_constructed_one() -> None:
    state: object = object()
    built = new_mutation("run", "wf", 3, state, ())  # type: ignore[arg-type]
    made = Mutation("run", "wf", 3, state, ())  # type: ignore[arg-type]
    assert type(built) is Mutation and built == made
    assert [getattr(built, f.name) for f in dataclasses.fields(Mutation)] == [
        "run",
        "wf",
        3,
        state,
        (),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.events = ()  # type: ignore[misc]


def test_the_builder_refuses_what_it_cannot_build_the_same() -> None:
    with pytest.raises(TypeError):
        _builder(Commit)  # not frozen
