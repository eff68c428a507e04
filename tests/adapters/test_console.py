"""Progress on stderr: a line every few seconds when it is not a terminal, a bar when it
is; both driven here by a fake clock and stream, never by sleeping."""

from __future__ import annotations

import io

from adapters.console import duration, progress, running_total


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_a_line_every_five_seconds_and_a_last_one() -> None:
    clock, out = Clock(), io.StringIO()
    with progress("simulate", 10, unit="seeds", stream=out, clock=clock) as advance:
        for t in (1.0, 2.0, 4.9):  # nothing before the first period is over
            clock.now = 100 + t
            advance(1)
        assert out.getvalue() == ""
        clock.now = 105.0
        advance(1)  # 4 of 10 after 5 s: 7.5 s to go
        clock.now = 107.0
        advance(1)  # within the next period: quiet
        clock.now = 110.5
        advance(5)
    assert out.getvalue().splitlines() == [
        "simulate: 4/10 seeds after 5 s, about 8 s to go",
        "simulate: 10/10 seeds after 10 s, about 0 s to go",
        "simulate: 10/10 seeds after 10 s, done",
    ]


def test_without_a_total_the_line_gives_the_rate() -> None:
    clock, out = Clock(), io.StringIO()
    with progress("check m", None, unit="states", stream=out, clock=clock) as advance:
        update = running_total(advance)
        clock.now = 106.0
        update(12_000)  # a running total: moves the count to 12,000
    assert out.getvalue().splitlines()[0] == "check m: 12,000 states after 6 s, 2,000 states/s"


def test_a_rate_below_one_a_second_is_given_as_time_per_item() -> None:
    """Shrinking runs a whole simulation per step: "0 simulations/s" would say nothing."""
    clock, out = Clock(), io.StringIO()
    with progress("shrinking", None, unit="simulations", stream=out, clock=clock) as advance:
        clock.now = 152.0
        advance(4)
    assert out.getvalue().splitlines()[0] == (
        "shrinking: 4 simulations after 52 s, 13 s per simulation"
    )


def test_a_short_run_prints_nothing() -> None:
    clock, out = Clock(), io.StringIO()
    with progress("quick", 3, stream=out, clock=clock) as advance:
        clock.now = 101.0
        advance(3)
    assert out.getvalue() == ""


def test_disabled_prints_nothing_however_long() -> None:
    clock, out = Clock(), io.StringIO()
    with progress("off", 3, enabled=False, stream=out, clock=clock) as advance:
        clock.now = 1000.0
        advance(3)
    assert out.getvalue() == ""


def test_a_terminal_gets_a_bar_instead_of_lines() -> None:
    clock, out = Clock(), Terminal()
    with progress("simulate seed 3", 4, unit="workflows closed", stream=out, clock=clock) as a:
        clock.now = 200.0
        a(4)
    drawn = out.getvalue()
    assert "simulate seed 3" in drawn and "4/4" in drawn
    assert "after" not in drawn  # not the line format


def test_durations_read_as_a_person_would_say_them() -> None:
    assert [duration(s) for s in (4.6, 65, 3 * 3600 + 120, 5 * 86400)] == [
        "5 s",
        "1 min 5 s",
        "3 h 2 min",
        "5 days",
    ]
