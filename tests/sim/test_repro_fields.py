"""Every field of a repro file is checked for its type: a wrong one is a one-line
`ReproError` (exit 2 in `tmodel simulate --repro`), never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sim.config import FaultPlan, SimConfig
from sim.repro import Repro, ReproError, dumps, loads


def _doc(**changes: Any) -> str:
    config = SimConfig(seed=3, workflows=2, plan=FaultPlan(()))
    doc = json.loads(dumps(Repro(config, "INV-X", "0" * 64, ("workflows 9 -> 2",), 4)))
    doc.update(changes)
    return json.dumps(doc)


def test_a_well_formed_file_still_loads() -> None:
    repro = loads(_doc())
    assert repro.shrink_steps == ("workflows 9 -> 2",) and repro.simulations == 4
    assert loads(_doc(shrink={})).shrink_steps == ()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"shrink": {"steps": 5}}, '"steps" must be a list of strings'),
        ({"shrink": {"steps": {"a": 1}}}, '"steps" must be a list of strings'),
        ({"shrink": {"steps": ["a", 2]}}, '"steps" must be a list of strings'),
        ({"shrink": {"steps": [], "simulations": "x"}}, '"simulations" must be a whole'),
        ({"shrink": {"simulations": -1}}, '"simulations" must be a whole'),
        ({"shrink": {"simulations": True}}, '"simulations" must be a whole'),
        ({"shrink": []}, '"shrink" must be an object'),
        ({"version": True}, "version True"),
        ({"version": 1.0}, "version 1.0"),
        ({"version": "1"}, "version '1'"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_one_line_error(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ReproError, match=reason) as caught:
        loads(_doc(**changes))
    assert "\n" not in str(caught.value)


def test_a_run_of_no_workflow_is_refused() -> None:
    doc = json.loads(_doc())
    doc["config"]["only"] = []
    with pytest.raises(ReproError, match='"only" names no workflow'):
        loads(json.dumps(doc))
    doc["config"]["only"] = [1]
    assert loads(json.dumps(doc)).config.only == (1,)
