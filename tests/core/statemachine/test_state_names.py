"""One vocabulary of entity states per side: no state enum name is shared between the
history side (validator and service) and the SDK side (replay)."""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum
from types import ModuleType

import pytest

import core.statemachine.history as history
import core.statemachine.replay as replay


def _state_enums(package: ModuleType) -> dict[str, str]:
    found: dict[str, str] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            is_state = isinstance(value, type) and issubclass(value, Enum)
            if is_state and name.endswith("State") and value.__module__ == info.name:
                found[name] = info.name
    return found


def test_no_state_enum_name_is_on_both_sides() -> None:
    history_side, sdk_side = _state_enums(history), _state_enums(replay)
    assert history_side and sdk_side
    assert set(history_side) & set(sdk_side) == set()
    assert all(name.startswith("Sdk") for name in sdk_side), sdk_side
    service = {n for n, m in history_side.items() if ".service." in m}
    assert all(name.startswith("Pending") for name in service), service


def test_the_check_sees_a_shared_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A history module declaring an SDK-side name is caught."""
    import core.statemachine.history.timer as history_timer

    class SdkTimerState(Enum):
        X = "x"

    SdkTimerState.__module__ = history_timer.__name__
    monkeypatch.setattr(history_timer, "SdkTimerState", SdkTimerState, raising=False)
    assert set(_state_enums(history)) & set(_state_enums(replay)) == {"SdkTimerState"}
