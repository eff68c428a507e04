"""The cron schedule's reading where robfig/cron (`cron.ParseStandard`, which Temporal's
frontend and history use for a workflow's cron schedule) differs from the schedules'
calendar parser: "?" stands for "*", and a day field stepped by more than one is a
restricted field (robfig's `getRange` in parser.go drops `starBit` for it), so a day of
either field then matches."""

from __future__ import annotations

import pytest

from core.statemachine.history.service import cron

S = 1_000_000_000
# 2026-12-06T00:50:37.268759788Z, a Sunday
SUNDAY = 1_796_518_237_268_759_788
MONDAY_7TH = 1_796_601_600 * S  # 2026-12-07T00:00:00Z
MONDAY_21ST = MONDAY_7TH + 14 * 86_400 * S


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * ? * *", SUNDAY - SUNDAY % (60 * S) + 60 * S),  # the dev server accepts "?"
        ("0 0 21 ? *", MONDAY_21ST),  # "?" is a star: the 21st, whatever its weekday
        # day of month 1, 11, 21 or 31, or a Monday: the 7th is a Monday
        ("0 0 */10 * 1", MONDAY_7TH),
        # a step of one keeps the star: the 21st and any weekday
        ("0 0 21 * */1", MONDAY_21ST),
        # both restricted: the 21st or a Monday
        ("0 0 21 * 1", MONDAY_7TH),
        ("0 0 21,22 * mon", MONDAY_7TH),
    ],
)
def test_robfig_reading_of_the_day_fields(schedule: str, expected: int) -> None:
    assert cron.parses(schedule)
    assert cron.next_time(schedule, SUNDAY) == expected


@pytest.mark.parametrize("schedule", ["* * *", "* * * * * *", "60 * * * *", "@every x", "? ?"])
def test_what_robfig_refuses_does_not_parse(schedule: str) -> None:
    assert not cron.parses(schedule)
