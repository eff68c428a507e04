"""Shrinking: the smallest run we can find that still breaks the same invariant.

Theory of operation. A failing simulation is rarely readable as found: hundreds of
workflows, a dozen faults, an hour of virtual time. `shrink` searches for a smaller
config for which the predicate "the run still violates invariant ID" holds, by delta
debugging (Zeller's ddmin) over the three things a run is made of:

1. the schedule - the run is cut off shortly after the violation (virtual time is what
   the seed's choices are spread over, so a shorter run makes fewer of them), and
   faults that start after the violation are dropped;
2. the workload - fewer workflows: the first 1, 2, 4, ... are tried in that order and
   the first prefix that still fails is kept (a run is not monotone in its size, so
   this is a search, not a bisection); then ddmin removes chunks of the workflows left.
   Each workflow's script, id and start time depend on the seed and its index alone,
   so a kept workflow runs as it did in the original (`SimConfig.only`);
3. the fault plan - ddmin removes chunks of fault items, halving the chunk size when no
   chunk can go; then each remaining fault's duration is halved while that still fails.

The passes repeat while any of them makes progress (fewer workflows often make faults
unnecessary, and the other way round). The first step pins the plan the run actually
used (`RunResult.plan`), so every candidate is a fully explicit config and replays
exactly; if the pinned plan no longer fails under the run's seed, the next few seeds are
tried with it (see `_pin`). Everything is deterministic - the candidates depend only on
the config and the results - and the number of `simulate` calls is bounded by `budget`;
`Shrunk.steps` says what was taken away, in order.

A candidate counts as failing only if it violates the target invariant and nothing the
original run did not violate: otherwise the search could slip from one bug to another
(a run cut short, for one, leaves workflows open and breaks INV-EVENTUALLY-CLOSED). For
the same reason a violation detected only when the run ends (a liveness property) is
never "shrunk" by cutting the run short.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sim.config import INSTANT_KINDS, FaultItem, FaultPlan, SimConfig
from sim.kernel import SECOND, T0
from sim.run import RunResult, Violation, simulate

DEFAULT_BUDGET = 150  # simulate calls
MARGIN = SECOND  # virtual time kept after the violation
MIN_DURATION = SECOND // 100  # a fault is not shortened below this
PIN_SEEDS = 8  # seeds tried with the pinned plan (see `_pin`)

Simulate = Callable[[SimConfig], RunResult]


@dataclass(frozen=True, slots=True)
class Shrunk:
    """The result of shrinking: the smallest failing config found and its run."""

    original: SimConfig
    config: SimConfig  # explicit plan; violates `violation`
    result: RunResult  # the run of `config`
    violation: Violation  # the first violation of `violation.id` in `result`
    steps: tuple[str, ...]  # each accepted reduction, in order
    simulations: int  # simulate calls made (the original run not counted)


class _Search:
    """Runs candidates against the predicate, within a budget, remembering answers."""

    def __init__(self, target: str, allowed: frozenset[str], budget: int, run: Simulate) -> None:
        self.target = target
        self.allowed = allowed
        self.budget = budget
        self.run = run
        self.calls = 0
        self.seen: dict[SimConfig, RunResult | None] = {}

    def fails(self, config: SimConfig) -> RunResult | None:
        """The run of `config` if it violates the target invariant and no invariant the
        original run kept (no slipping to another bug); else None."""
        if config in self.seen:
            return self.seen[config]
        if self.calls >= self.budget:
            return None
        self.calls += 1
        result = self.run(config)
        ids = {v.id for v in result.violations}
        found = result if self.target in ids and ids <= self.allowed else None
        self.seen[config] = found
        return found


def _first(result: RunResult, target: str) -> Violation | None:
    return next((v for v in result.violations if v.id == target), None)


def shrink(
    config: SimConfig,
    result: RunResult,
    violation: str | None = None,
    budget: int = DEFAULT_BUDGET,
    run: Simulate = simulate,
) -> Shrunk:
    """Shrink the failing run `result` of `config` (see the module docstring).

    `violation` is the invariant ID to keep (default: the run's first violation).
    """
    target = violation if violation is not None else _target(result)
    if _first(result, target) is None:
        raise ValueError(f"the run does not violate {target}")
    search = _Search(target, frozenset(v.id for v in result.violations), budget, run)
    steps: list[str] = []
    best, best_result = config, result
    if config.plan is None:
        pinned = _pin(search, config, result, steps)
        if pinned is None:  # no explicit config fails: the original run is the repro
            return Shrunk(config, config, result, _hit(result, target), (), search.calls)
        best, best_result = pinned
    for _ in range(8):  # rounds; each one that changes nothing ends the search
        before = best
        for step in (_cut_schedule, _fewer_workflows, _fewer_faults, _shorter_faults):
            best, best_result = step(search, best, best_result, steps)
        if best == before or search.calls >= budget:
            break
    return Shrunk(config, best, best_result, _hit(best_result, target), tuple(steps), search.calls)


def _pin(search: _Search, config: SimConfig, result: RunResult, log: list[str]) -> Step | None:
    """The run's fault plan made explicit, under the run's seed or one of the next few.

    The plan is still drawn when given explicitly (faults.plan_for), so under the same
    seed the pinned run keeps every later choice and fails as the original did. The next
    seeds are a fallback should it not (its config replays exactly, like any)."""
    for k in range(PIN_SEEDS):
        candidate = replace(config, plan=result.plan, seed=config.seed + k)
        found = search.fails(candidate)
        if found is not None:
            moved = f"; seed {config.seed} -> {candidate.seed}" if k else ""
            log.append(f"fault plan pinned ({len(result.plan.items)} faults){moved}")
            return candidate, found
    return None


def _target(result: RunResult) -> str:
    if not result.violations:
        raise ValueError("the run violates no invariant: nothing to shrink")
    return result.violations[0].id


def _hit(result: RunResult, target: str) -> Violation:
    found = _first(result, target)
    assert found is not None  # every accepted candidate violates the target
    return found


Step = tuple[SimConfig, RunResult]


def _cut_schedule(search: _Search, config: SimConfig, result: RunResult, log: list[str]) -> Step:
    """Stop the run soon after the violation; drop faults that start after it."""
    seen_at = elapsed(_hit(result, search.target).time)
    if seen_at >= result.virtual_ns:  # found at the end of the run: keep the run whole
        return config, result
    items = _items(config)
    early = tuple(item for item in items if item.at <= seen_at)
    if len(early) < len(items):
        candidate = replace(config, plan=FaultPlan(early))
        found = search.fails(candidate)
        if found is not None:
            log.append(f"faults {len(items)} -> {len(early)} (those starting after the violation)")
            config, result = candidate, found
    horizon = seen_at + MARGIN
    if horizon < config.max_virtual_time:
        candidate = replace(config, max_virtual_time=horizon)
        found = search.fails(candidate)
        if found is not None:
            log.append(f"virtual time {_secs(config.max_virtual_time)} -> {_secs(horizon)}")
            config, result = candidate, found
    return config, result


def _fewer_workflows(search: _Search, config: SimConfig, result: RunResult, log: list[str]) -> Step:
    """Fewer workflows: the shortest prefix of 1, 2, 4, ... that still fails, then ddmin
    over the workflows left. Any subset runs each kept workflow as it ran before (same
    script, id and start time: `SimConfig.only`)."""
    current = config.started()
    start = len(current)
    size = 1
    while size < len(current):
        candidate = replace(config, only=current[:size])
        found = search.fails(candidate)
        if found is not None:
            config, result, current = candidate, found, current[:size]
            break
        size *= 2
    base = config
    config, result, current = _ddmin(
        search, config, result, current, lambda keep: replace(base, only=keep)
    )
    if len(current) < start:
        kept = f": {', '.join(f'wf-{i}' for i in current)}" if len(current) <= 8 else ""
        log.append(f"workflows {start} -> {len(current)}{kept}")
    return config, result


def _fewer_faults(search: _Search, config: SimConfig, result: RunResult, log: list[str]) -> Step:
    """ddmin over the fault items: remove chunks while the run still fails."""
    items = _items(config)
    if not items:
        return config, result
    start = len(items)
    empty = replace(config, plan=FaultPlan(()))
    found = search.fails(empty)
    if found is not None:
        log.append(f"faults {start} -> 0")
        return empty, found
    base = config
    config, result, items = _ddmin(
        search, config, result, items, lambda keep: replace(base, plan=FaultPlan(keep))
    )
    if len(items) < start:
        log.append(f"faults {start} -> {len(items)}: {', '.join(i.kind for i in items)}")
    return config, result


T = TypeVar("T")


def _ddmin(
    search: _Search,
    config: SimConfig,
    result: RunResult,
    items: tuple[T, ...],
    make: Callable[[tuple[T, ...]], SimConfig],
) -> tuple[SimConfig, RunResult, tuple[T, ...]]:
    """Zeller's ddmin: remove chunks of `items` (halving the chunk size when none can go)
    while `make(kept items)` still fails; at least one item is kept."""
    chunks = 2
    while len(items) >= 2:
        size = -(-len(items) // chunks)  # ceiling division
        for lo in range(0, len(items), size):
            keep = items[:lo] + items[lo + size :]
            candidate = make(keep)
            found = search.fails(candidate)
            if found is not None:
                config, result, items = candidate, found, keep
                chunks = max(chunks - 1, 2)
                break
        else:
            if chunks >= len(items):
                break
            chunks = min(len(items), chunks * 2)
    return config, result, items


def _shorter_faults(search: _Search, config: SimConfig, result: RunResult, log: list[str]) -> Step:
    """Halve each remaining fault's duration while the run still fails (one log line per
    fault; a fault that happens at a moment, a shard move, has no duration to halve)."""
    items = list(_items(config))
    for k, item in enumerate(items):
        if item.kind in INSTANT_KINDS:
            continue
        before = item
        while item.duration // 2 >= MIN_DURATION:
            shorter = replace(item, duration=item.duration // 2)
            trial = (*items[:k], shorter, *items[k + 1 :])
            candidate = replace(config, plan=FaultPlan(trial))
            found = search.fails(candidate)
            if found is None:
                break
            items[k] = item = shorter
            config, result = candidate, found
        if item is not before:
            log.append(
                f"{item.kind} at {_secs(item.at)}: duration "
                f"{_secs(before.duration)} -> {_secs(item.duration)}"
            )
    return config, result


def elapsed(time: int) -> int:
    """Virtual ns since the run began: violations carry the kernel's clock (from T0),
    fault plans and trace lines count from the start of the run."""
    return time - T0 if time >= T0 else time


def _items(config: SimConfig) -> tuple[FaultItem, ...]:
    return config.plan.items if config.plan is not None else ()


def _secs(ns: int) -> str:
    return f"{ns / SECOND:g} s"
