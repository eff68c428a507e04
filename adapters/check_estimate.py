"""`tmodel check`: is the state space a parameter asks for one this machine can explore?

The checker keeps every distinct state in memory and visits each once, so a model's
cost is its number of states, and that grows exponentially in its size parameters
(`proofs.models.SIZES`): two-phase commit has 288 states with 3 resource managers,
296,448 with 7 and some billions with 12. Nothing in the model says how many states a
setting has except exploring it - so before a search with any size parameter above its
default, `estimate` explores smaller settings for a few seconds and extrapolates.

The smaller settings lie on a path from every size parameter at its lowest to the
values asked for, raising one parameter by one at each step, the one furthest behind
first (so all of them rise together). Each setting on the path is explored until the
time budget runs out. The growth per step is taken from the last steps measured - a
whole round, one step of each parameter that is rising, so that a cheap parameter and
an expensive one are averaged - and applied to the steps not measured. State spaces
grow faster than that as they get bigger, so the figure is a floor, not a ceiling. The
rate is the one measured on the largest setting explored.

`check_cmd` warns on stderr, and searches anyway, when the estimate is above
`STATE_LIMIT` states or `TIME_LIMIT` seconds, naming the measurements it comes from and
the largest setting on the path that would stay within both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from adapters.console import duration
from proofs.checker import check
from proofs.models import MODELS, SIZES, Size

STATE_LIMIT = 10**8  # more states than a Python process holds in memory comfortably
TIME_LIMIT = 3600.0  # seconds: a search longer than an hour deserves a warning
BUDGET_SECONDS = 3.0  # spent measuring smaller settings before a big search
Setting = tuple[tuple[str, int], ...]  # (key, value) for each size parameter
Measure = Callable[[Setting, float], tuple[int, float, bool]]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An extrapolated state count and search time, and what they come from."""

    states: float
    seconds: float
    measured: tuple[Point, ...]  # the settings it comes from
    per_step: float  # states grow by this factor per step on the path
    steps_left: int  # steps from the last setting measured to the one asked for
    within: Setting | None  # the largest setting on the path within both limits
    target: Setting = ()  # the setting asked for

    def too_big(self) -> bool:
        return self.states > STATE_LIMIT or self.seconds > TIME_LIMIT


def path(sizes: Sequence[Size], wanted: Mapping[str, int]) -> list[Setting]:
    """The settings from every parameter at its lowest to `wanted`, one step at a time,
    raising the parameter that is furthest behind (the first, on a tie)."""
    now = {s.key: min(s.low, wanted[s.key]) for s in sizes}
    todo = {s.key: wanted[s.key] - now[s.key] for s in sizes}
    out = [tuple(now.items())]
    while any(now[s.key] < wanted[s.key] for s in sizes):
        rising = [s for s in sizes if now[s.key] < wanted[s.key]]
        key = min(rising, key=lambda s: (now[s.key] - s.low) / todo[s.key]).key
        now[key] += 1
        out.append(tuple(now.items()))
    return out


def estimate(
    model: str,
    params: Mapping[str, str],
    symmetry: bool = False,
    budget: float = BUDGET_SECONDS,
    measure: Measure | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Estimate | None:
    """The estimate for `model` with `params`, or None when no size parameter is above its
    default or too little could be measured to extrapolate from. `measure(setting,
    seconds)` explores a setting for at most that long and gives (states, seconds,
    finished) - when it did not finish, the states it had reached (by default, the real
    checker)."""
    sizes = SIZES.get(model, ())
    wanted = {s.key: s.read(params) for s in sizes}
    if all(wanted[s.key] <= s.default for s in sizes):
        return None
    explore = measure or _measurer(model, params, symmetry)
    steps = path(sizes, wanted)
    deadline = clock() + budget
    measured: list[Point] = []
    for setting in steps:
        left = deadline - clock()
        if left <= 0:
            break
        measured.append(Point(setting, *explore(setting, left)))
        if not measured[-1].finished:
            break
    return _extrapolate(steps, measured)


@dataclass(frozen=True, slots=True)
class Point:
    """A setting explored: the states it has (or, unfinished, reached at least)."""

    setting: Setting
    states: int
    seconds: float
    finished: bool


def _extrapolate(steps: Sequence[Setting], measured: Sequence[Point]) -> Estimate | None:
    """The larger of two extrapolations: from the settings that finished, and from the
    one cut short (whose count is a floor); the rate is the one measured last, at the
    largest scale."""
    finished = [p for p in measured if p.finished]
    found = [e for e in (_from(steps, finished), _from(steps, measured)) if e is not None]
    if not found:
        return None
    best = max(found, key=lambda e: e.states)
    last = measured[-1]
    rate = last.states / last.seconds if last.seconds > 0 else math.inf
    within = _within(steps, best, rate)
    return replace(best, seconds=best.states / rate, within=within, target=steps[-1])


def _from(steps: Sequence[Setting], measured: Sequence[Point]) -> Estimate | None:
    """From the last point, growing per step as the last round of steps did (a round:
    one step of each parameter that rises, so cheap and dear parameters average out)."""
    start = dict(steps[0])
    rising = sum(1 for key, value in steps[-1] if value > start[key])
    back = min(rising, len(measured) - 1)
    if back < 1 or measured[-1 - back].states <= 0:
        return None
    base, last = measured[-1 - back], measured[-1]
    per_step = max((last.states / base.states) ** (1 / back), 1.0)
    steps_left = len(steps) - len(measured)
    states = last.states * per_step**steps_left
    return Estimate(states, 0.0, tuple(measured[-1 - back :]), per_step, steps_left, None)


def _within(steps: Sequence[Setting], found: Estimate, rate: float) -> Setting | None:
    """The largest setting on the path whose extrapolated size stays within the limits."""
    last = found.measured[-1]
    done = len(steps) - found.steps_left  # settings up to and including `last`
    for k in range(found.steps_left, -1, -1):
        guess = last.states * found.per_step**k
        if guess <= STATE_LIMIT and guess / rate <= TIME_LIMIT and (k or last.finished):
            return steps[done - 1 + k]
    return None


def _measurer(model: str, params: Mapping[str, str], symmetry: bool) -> Measure:
    factory = MODELS[model]

    class OutOfTime(Exception):
        pass

    def measure(setting: Setting, seconds: float) -> tuple[int, float, bool]:
        instance = factory({**params, **{key: str(value) for key, value in setting}})
        start = time.perf_counter()
        reached = [0]

        def tick(states: int) -> None:
            reached[0] = states
            if time.perf_counter() - start > seconds:
                raise OutOfTime

        try:
            result = check(instance, symmetry=symmetry, progress=tick, progress_every=500)
        except OutOfTime:
            return reached[0], time.perf_counter() - start, False
        return result.distinct_states, result.seconds, True

    return measure


def describe(setting: Setting) -> str:
    return " ".join(f"{key}={value}" for key, value in setting)


def warning(found: Estimate, rate_unit: str = "states/s") -> list[str]:
    """The warning `check_cmd` prints before a search that looks infeasible."""
    measured = " and ".join(
        f"{describe(p.setting)}: {'' if p.finished else 'at least '}{p.states:,}"
        for p in found.measured
    )
    last = found.measured[-1]
    rate = last.states / last.seconds if last.seconds > 0 else math.inf
    lines = [
        f"warning: {describe(found.target)} looks infeasible: about {_big(found.states)} "
        f"states, {duration(found.seconds)} at the {rate:,.0f} {rate_unit} measured.",
        f"  Extrapolated from {measured} states, x{found.per_step:.3g} per step for "
        f"{found.steps_left} more step{'s' * (found.steps_left != 1)} (a floor: growth "
        "speeds up as a model grows).",
    ]
    if found.within is not None:
        lines.append(
            f"  {describe(found.within)} would stay under {_big(STATE_LIMIT)} states and an "
            "hour. Searching anyway; Ctrl-C stops it."
        )
    else:
        lines.append("  Searching anyway; Ctrl-C stops it.")
    return lines


def _big(count: float) -> str:
    """``8,832``, or ``1.8e9`` for a number too long to read."""
    if count < 1e6:
        return f"{count:,.0f}"
    exponent = math.floor(math.log10(count))
    return f"{count / 10**exponent:.2g}e{exponent}"
