"""core/fastenum.py: state-machine enums hash by identity, in C, and behave as enums."""

from __future__ import annotations

import enum
import pickle

import pytest

from core.fastenum import Enum
from core.statemachine.fsm import Table
from core.statemachine.history.service import (
    activity,
    child,
    execution,
    external,
    nexus,
    timer,
    workflow_task,
)
from core.statemachine.history.validator import MACHINE_MODULES

# the history service's machines, whose tables it looks up on every request (not the
# update machine's, keyed by core.update_request's message kinds, a few per run)
SERVICE_MODULES = (activity, child, execution, external, nexus, timer, workflow_task)


class Light(Enum):
    RED = 1
    GREEN = 2


class Other(Enum):
    RED = 1


def test_members_hash_by_identity_and_compare_as_enum_members() -> None:
    assert vars(Enum)["__hash__"] is object.__hash__
    assert hash(Light.RED) == object.__hash__(Light.RED)
    red: object = Light.RED
    assert red != Other.RED and red != 1  # values do not make members equal
    assert {Light.RED: "stop"}[Light(1)] == "stop"
    assert Light["GREEN"] is Light.GREEN and list(Light) == [Light.RED, Light.GREEN]
    assert pickle.loads(pickle.dumps(Light.GREEN)) is Light.GREEN
    assert isinstance(Light.RED, enum.Enum)


def _tables() -> list[Table[enum.Enum, enum.Enum]]:
    return [
        value
        for module in (*MACHINE_MODULES, *SERVICE_MODULES)
        for value in vars(module).values()
        if isinstance(value, Table)
    ]


@pytest.mark.parametrize("table", _tables(), ids=lambda table: table.name)
def test_the_validators_and_services_machines_key_their_tables_by_fast_enums(
    table: Table[enum.Enum, enum.Enum],
) -> None:
    for member in (*table.states, *table.inputs):
        assert hash(member) == object.__hash__(member), f"{table.name}: {member!r}"
