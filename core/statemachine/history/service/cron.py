"""Cron workflows: when the next run of a cron chain starts.

A run started with a cron schedule, once it completes (or fails with no retry left),
hands over to a new run of the chain whose first workflow task waits until the next
time the schedule names (`GetCronBackoffDuration` in
service/history/workflow/mutable_state_impl.go, `GetBackoffForNextSchedule` in
common/backoff/cron.go): the first schedule time after the run's execution time that
is not before now, less now, rounded up to whole seconds.

The schedule is robfig/cron's standard form (`cron.ParseStandard`): five fields
(minute hour day-of-month month day-of-week), a "@daily"-style name, or
"@every DURATION", optionally after "TZ=ZONE " or "CRON_TZ=ZONE ". The fields are read
with the schedules' calendar parser (core/schedule/calendar.py); where robfig differs
from it this module follows robfig: when both day fields are restricted (neither
starts with "*") a day matching either one matches, and "@every D" counts D, rounded
down to whole seconds and at least one, from the previous time rather than from the
epoch (robfig's `ConstantDelaySchedule.Next`).
"""

from __future__ import annotations

from core.schedule.calendar import (
    CRON5,
    PREDEFINED,
    CompiledCalendar,
    SpecError,
    parse_calendar,
)
from core.schedule.civil import UnknownZone, zone_offset
from core.schedule.go_duration import parse_go_duration
from core.schedule.messages import CalendarSpec

SECOND = 1_000_000_000


def cron_backoff(schedule: str, execution_time: int, now: int) -> int | None:
    """The first-task backoff (ns) of the run after one whose execution time was
    `execution_time`, closing at `now`; None when the schedule names no next time or
    does not parse (backoff.NoBackoff: the chain ends)."""
    following = _next_function(schedule)
    if following is None:
        return None
    if now < execution_time:
        at: int | None = execution_time
    else:
        at = following(execution_time)
        while at is not None and at < now:
            at = following(at)
    if at is None:
        return None
    return -(-(at - now) // SECOND) * SECOND  # rounded up to whole seconds


def parses(schedule: str) -> bool:
    """Whether robfig's `cron.ParseStandard` accepts the schedule (the frontend's
    `backoff.ValidateSchedule`, common/backoff/cron.go)."""
    return _next_function(schedule) is not None


def next_time(schedule: str, after: int) -> int | None:
    """The schedule's first time after `after` (ns); None when there is none or the
    schedule does not parse."""
    following = _next_function(schedule)
    return following(after) if following is not None else None


def _star(field: str) -> bool:
    """Whether robfig marks a day field unrestricted (`starBit`)."""
    for part in field.split(","):
        low, _, step = part.partition("/")
        if low.split("-")[0] in ("*", "?") and step in ("", "0", "1"):
            return True
    return False


def _next_function(schedule: str) -> _Next | None:
    text, zone = schedule.strip(), ""
    if text.startswith(("TZ=", "CRON_TZ=")):
        head, _, text = text.partition(" ")
        zone = head.partition("=")[2]
    text = text.strip()
    if text.startswith("@every "):
        try:
            delay = parse_go_duration(text.removeprefix("@every ").strip())
        except ValueError:
            return None
        return _Every(max(delay - delay % SECOND, SECOND))
    fields = PREDEFINED.get(text, text).split()
    if len(fields) != len(CRON5):
        return None
    star = _star(fields[2]) or _star(fields[4])
    fields = [f.replace("?", "*") for f in fields]
    try:
        offset = zone_offset(zone)
        if star:
            return _Calendars((_compiled(fields, offset),))
        either = (
            _compiled([*fields[:4], "*"], offset),
            _compiled([*fields[:2], "*", *fields[3:]], offset),
        )
        return _Calendars(either)
    except (SpecError, UnknownZone):
        return None


def _compiled(fields: list[str], offset: int) -> CompiledCalendar:
    spec = CalendarSpec(second="0", **dict(zip(CRON5, fields, strict=True)))
    return CompiledCalendar.of(parse_calendar(spec), offset)


class _Next:
    def __call__(self, after: int) -> int | None:
        raise NotImplementedError


class _Every(_Next):
    def __init__(self, delay: int) -> None:
        self.delay = delay

    def __call__(self, after: int) -> int | None:
        return after + self.delay - after % SECOND


class _Calendars(_Next):
    def __init__(self, calendars: tuple[CompiledCalendar, ...]) -> None:
        self.calendars = calendars

    def __call__(self, after: int) -> int | None:
        times = [t for c in self.calendars if (t := c.next(after // SECOND)) is not None]
        return min(times) * SECOND if times else None
