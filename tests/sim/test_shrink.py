"""Shrinking and repro files.

The search itself is tested against a stand-in simulator whose failure condition is
known (so the minimum is known too); then against the real simulator with a mutant,
where the shrunk config must still violate the same invariant and its repro must replay
to the same trace hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from sim.config import FaultItem, FaultPlan, SimConfig
from sim.kernel import SECOND
from sim.repro import FORMAT, Repro, ReproError, dumps, loads, replay
from sim.run import RunResult, Violation, simulate
from sim.shrink import shrink

KINDS = ("drop", "delay", "shard-move", "worker-crash", "duplicate", "clock-skew")


# A target and parameters each kind accepts (sim.config.PARAMS, sim.cluster.check_config).
SHAPES: dict[str, tuple[str, tuple[tuple[str, float | int | str], ...]]] = {
    "drop": ("*", (("rate", 0.1),)),
    "delay": ("*", (("rate", 0.1), ("max_ns", SECOND))),
    "shard-move": ("shard-1", ()),
    "worker-crash": ("wworker-0", ()),
    "duplicate": ("*", (("rate", 0.1),)),
    "clock-skew": ("history-0", (("skew_ns", SECOND),)),
}


def _plan(n: int) -> FaultPlan:
    return FaultPlan(
        tuple(
            FaultItem(KINDS[k % len(KINDS)], k * SECOND, 8 * SECOND, *SHAPES[KINDS[k % len(KINDS)]])
            for k in range(n)
        )
    )


class FakeSimulator:
    """Fails with INV-FAKE when the plan holds a shard-move and a worker-crash lasting
    at least 2 s, with workflows 5 and 130 among those started; the violation is seen at
    t=30 s."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, config: SimConfig) -> RunResult:
        self.calls += 1
        items = config.plan.items if config.plan is not None else _plan(12).items
        kinds = {i.kind for i in items if i.kind != "worker-crash" or i.duration >= 2 * SECOND}
        fails = {"shard-move", "worker-crash"} <= kinds and {5, 130} <= set(config.started())
        violations = (Violation("INV-FAKE", "broken", 30 * SECOND, "run-1"),) if fails else ()
        digest = hashlib.sha256(repr(config).encode()).hexdigest()
        return RunResult(
            seed=config.seed,
            trace_hash=digest,
            workflows=len(config.started()),
            events=10 * len(config.started()),
            faults={},
            violations=violations,
            virtual_ns=min(config.max_virtual_time, 100 * SECOND),
            plan=FaultPlan(items),
            swarm={},
            histories={},
            trace=(),
            workflow_ids={},
            requests=0,
        )


def test_shrinking_finds_the_minimum_within_budget() -> None:
    fake = FakeSimulator()
    config = SimConfig(seed=3, workflows=200)
    result = fake(config)
    assert result.violations
    shrunk = shrink(config, result, run=fake)
    assert shrunk.violation.id == "INV-FAKE"
    # No prefix shorter than 131 holds both; 256 is past 200, so ddmin does the work.
    assert shrunk.config.started() == (5, 130)
    plan = shrunk.config.plan
    assert plan is not None and sorted(i.kind for i in plan.items) == [
        "shard-move",
        "worker-crash",
    ]
    crash = next(i for i in plan.items if i.kind == "worker-crash")
    assert crash.duration == 2 * SECOND  # 8 s halved twice; 1 s no longer fails
    assert shrunk.config.max_virtual_time == 31 * SECOND  # cut one second after t=30 s
    assert shrunk.simulations == fake.calls - 1 <= 150
    assert "workflows 200 -> 2: wf-5, wf-130" in shrunk.steps
    assert fake(shrunk.config).violations  # the shrunk config fails on its own


def test_shrinking_is_deterministic_and_bounded() -> None:
    config = SimConfig(seed=3, workflows=200)
    first = shrink(config, FakeSimulator()(config), run=FakeSimulator())
    second = shrink(config, FakeSimulator()(config), run=FakeSimulator())
    assert first == second
    tight = FakeSimulator()
    bounded = shrink(config, tight(config), budget=5, run=tight)
    assert bounded.simulations <= 5 and tight.calls <= 6
    assert bounded.violation.id == "INV-FAKE"  # whatever was reached still fails


def test_a_violation_found_at_the_end_keeps_the_whole_run() -> None:
    def at_end(config: SimConfig) -> RunResult:
        result = FakeSimulator()(config)
        if not result.violations:
            return result
        late = Violation("INV-FAKE", "never closed", result.virtual_ns, None)
        return replace(result, violations=(late,))

    config = SimConfig(workflows=200)
    shrunk = shrink(config, at_end(config), run=at_end)
    assert shrunk.config.max_virtual_time == config.max_virtual_time


def test_shrinking_a_clean_run_is_refused() -> None:
    config = SimConfig(workflows=1, plan=FaultPlan(()))
    with pytest.raises(ValueError, match="nothing to shrink"):
        shrink(config, FakeSimulator()(config), run=FakeSimulator())


def test_repro_text_round_trip() -> None:
    config = SimConfig(seed=7, workflows=3, plan=_plan(2), mutant="no-range-check")
    repro = Repro(config, "INV-FAKE", "ab" * 32, ("workflows 200 -> 3",), 17)
    text = dumps(repro)
    doc = json.loads(text)
    assert doc["format"] == FORMAT and doc["version"] == 1
    assert doc["expect"] == {"violation": "INV-FAKE", "trace_hash": "ab" * 32}
    assert loads(text) == repro
    assert dumps(loads(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not JSON"),
        ("[]", "not a repro file"),
        ('{"format": "tmodel-simulate-repro", "version": 99}', "version 99"),
        ('{"format": "tmodel-simulate-repro", "version": 1}', "config"),
        (
            '{"format": "tmodel-simulate-repro", "version": 1, "config": {"workflows": "x"},'
            ' "expect": {"violation": "INV-X", "trace_hash": "00"}}',
            "bad config",
        ),
        (
            '{"format": "tmodel-simulate-repro", "version": 1, "config": {},'
            ' "expect": {"violation": 3}}',
            "violation",
        ),
    ],
)
def test_malformed_repro_text_is_a_one_line_error(text: str, reason: str) -> None:
    with pytest.raises(ReproError, match=reason) as caught:
        loads(text)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- real runs

MUTANT = "no-range-check"


def _failing_mutant_run() -> tuple[SimConfig, RunResult]:
    for seed in range(20):
        config = SimConfig(seed=seed, workflows=40, mutant=MUTANT)
        result = simulate(config)
        if result.violations:
            return config, result
    raise AssertionError(f"the {MUTANT} mutant broke no invariant in 20 seeds")


def test_shrinking_a_mutant_run_keeps_its_violation_and_replays() -> None:
    config, result = _failing_mutant_run()
    target = result.violations[0].id
    shrunk = shrink(config, result, budget=60)
    assert shrunk.violation.id == target
    faults_before = len(result.plan.items)
    faults_after = len(shrunk.config.plan.items) if shrunk.config.plan else 0
    assert len(shrunk.config.started()) < config.workflows or faults_after < faults_before
    repro = Repro(shrunk.config, target, shrunk.result.trace_hash, shrunk.steps)
    replayed = replay(loads(dumps(repro)))
    assert replayed.same_trace and replayed.violated
    clean = simulate(replace(shrunk.config, mutant=None))
    assert target not in {v.id for v in clean.violations}  # the mutant is the cause
