"""Tiny models for checker tests, small enough to reason about by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping


class Grid:
    """A walk on a 5x5 grid from (0, 0): step right, step up, or jump two right from the
    diagonal. The invariant forbids (4, 2), reachable along paths of several lengths."""

    name = "grid"
    ACTIONS = ("right", "up", "jump")

    def __init__(self) -> None:
        self.invariants: Mapping[str, Callable[[tuple[int, int]], bool]] = {
            "NotFourTwo": lambda s: s != (4, 2)
        }

    def init_states(self) -> Iterable[tuple[int, int]]:
        return [(0, 0)]

    def actions(self, state: tuple[int, int]) -> Iterable[str]:
        return [a for a in self.ACTIONS if self.next_state(state, a) is not None]

    def next_state(self, state: tuple[int, int], action: str) -> tuple[int, int] | None:
        x, y = state
        if action == "right" and x < 4:
            return (x + 1, y)
        if action == "up" and y < 4:
            return (x, y + 1)
        if action == "jump" and x == y and x + 2 <= 4:
            return (x + 2, y)
        return None


class Toggle:
    """Two states a and b and a goal; ``toggle`` flips a <-> b forever, ``finish`` reaches
    the goal. With ``finish_in_b`` it is enabled in both a and b, otherwise only in a:
    then a weakly fair run may toggle forever (finish is never *continuously* enabled)."""

    name = "toggle"

    def __init__(self, finish_in_b: bool, stuck: bool = False) -> None:
        self.finish_in_b = finish_in_b
        self.stuck = stuck
        self.invariants: Mapping[str, Callable[[str], bool]] = {}
        self.eventually: Mapping[str, Callable[[str], bool]] = {"Done": lambda s: s == "done"}

    def init_states(self) -> Iterable[str]:
        return ["a"]

    def actions(self, state: str) -> Iterable[str]:
        return [a for a in ("toggle", "finish", "halt") if self.next_state(state, a) is not None]

    def next_state(self, state: str, action: str) -> str | None:
        if state in ("done", "halted"):
            return None
        if action == "toggle":
            return "b" if state == "a" else "a"
        if action == "finish" and (state == "a" or self.finish_in_b):
            return "done"
        if action == "halt" and self.stuck and state == "b":
            return "halted"
        return None
