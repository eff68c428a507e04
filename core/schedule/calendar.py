"""Calendar specs: parsing the string forms and finding the next matching second.

A port of Temporal's service/worker/scheduler/calendar.go (the workflow-based
scheduler): `make_range` parses "*", "x", "x-z", "x-z/y", "x/y" and comma lists (month
and day-of-week names by prefix, Sunday as 0 or 7); `parse_cron_string` takes 5-7 field
cron strings, "@daily"-style names, "@every 14h/3h" and a leading "TZ=" or "CRON_TZ=";
`CompiledCalendar.next` walks the fields from the year inwards exactly as the Go loop
does. Times are UTC seconds; the zone is a fixed offset (core/schedule/civil.py), so the
Go loop's daylight-saving branches never run here and are left out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from core.fastinit import fast_init_all
from core.schedule.civil import Civil, days_in_month, from_civil, to_civil, weekday
from core.schedule.messages import (
    CalendarSpec,
    IntervalSpec,
    Range,
    Ranges,
    StructuredCalendarSpec,
)

MIN_CALENDAR_YEAR = 2000
MAX_CALENDAR_YEAR = 2100  # calendar.go: later years are never matched
MAX_COMMENT_LEN = 200
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
INT, YEAR, MONTH, DOW = "int", "year", "month", "dow"  # calendar.go's parse modes


class SpecError(ValueError):
    """An invalid schedule spec, with calendar.go's / spec.go's message."""


def parse_value(s: str, lo: int, hi: int, mode: str) -> int:
    names = MONTHS if mode == MONTH else DAYS if mode == DOW else ()
    if len(s) >= (3 if mode == MONTH else 2) and names:
        low = s.lower()
        for i, name in enumerate(names):
            if name.startswith(low):
                value = i + 1 if mode == MONTH else i
                if not lo <= value <= hi:
                    raise SpecError("out of range")
                return value
    value = _atoi(s)
    if not lo <= value <= hi:
        raise SpecError("out of range")
    return value


def _atoi(s: str) -> int:
    """Go's strconv.Atoi: an optional sign and decimal digits, nothing else."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not (digits.isascii() and digits.isdigit()):
        raise SpecError(f"invalid syntax {s!r}")
    return int(s)


def make_range(s: str, field: str, default: str, lo: int, hi: int, mode: str) -> Ranges:
    """The ranges a field string means (calendar.go makeRange)."""
    s = s.strip() or default
    if s == "*" and mode == YEAR:
        return ()  # all years is the empty list
    out: list[Range] = []
    for raw in s.split(","):
        part, step, has_step = raw, 1, False
        if raw.count("/") > 1:
            raise SpecError(f"{field} has too many slashes")
        if "/" in raw:
            part, step_text = raw.split("/")
            if not step_text:
                raise SpecError(f"{field} missing step value")
            step = _atoi(step_text)
            if step < 1:
                raise SpecError(f"{field} has invalid Step")
            has_step = True
        start, end = lo, hi
        if part != "*":
            start, end = _bounds(part, field, lo, hi, mode, has_step)
        # Sunday may be written 7: turn it into 0, adding a range when needed (calendar.go).
        if mode == DOW and end == 7:
            if (7 - start) % step == 0 and (step > 1 or start > 1):
                out.append(Range(0))
                if start == 7:
                    continue
            end = 6
        out.append(Range(start, 0 if start == end else end, 0 if step == 1 else step))
    return tuple(out)


def _bounds(part: str, field: str, lo: int, hi: int, mode: str, has_step: bool) -> tuple[int, int]:
    if "-" in part:
        if part.count("-") > 1:
            raise SpecError(f"{field} has too many dashes")
        a, b = part.split("-")
        try:
            start = parse_value(a, lo, hi, mode)
        except SpecError:
            raise SpecError(f"{field} Start is not in range [{lo}-{hi}]") from None
        try:
            return start, parse_value(b, start, hi, mode)
        except SpecError:
            raise SpecError(f"{field} End is before Start or not in range [{lo}-{hi}]") from None
    try:
        start = parse_value(part, lo, hi, mode)
    except SpecError:
        raise SpecError(f"{field} is not in range [{lo}-{hi}]") from None
    return start, hi if has_step else start


def parse_calendar(cal: CalendarSpec) -> StructuredCalendarSpec:
    """calendar.go parseCalendarToStructured, with its defaults per field."""
    errors: list[str] = []

    def rng(s: str, field: str, default: str, lo: int, hi: int, mode: str) -> Ranges:
        try:
            return make_range(s, field, default, lo, hi, mode)
        except SpecError as e:
            errors.append(str(e))
            return ()

    spec = StructuredCalendarSpec(
        second=rng(cal.second, "Second", "0", 0, 59, INT),
        minute=rng(cal.minute, "Minute", "0", 0, 59, INT),
        hour=rng(cal.hour, "Hour", "0", 0, 23, INT),
        day_of_month=rng(cal.day_of_month, "DayOfMonth", "*", 1, 31, INT),
        month=rng(cal.month, "Month", "*", 1, 12, MONTH),
        year=rng(cal.year, "Year", "*", MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR, YEAR),
        day_of_week=rng(cal.day_of_week, "DayOfWeek", "*", 0, 7, DOW),
        comment=cal.comment,
    )
    if errors:
        raise SpecError(", ".join(errors))
    return spec


# The robfig/cron names Temporal accepts for a cron string (schedules and cron workflows).
PREDEFINED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def parse_cron_string(
    c: str, parse_duration: Callable[[str], int]
) -> tuple[StructuredCalendarSpec | None, IntervalSpec | None, str]:
    """(calendar, interval, time-zone name) of a cron string (calendar.go parseCronString)."""
    c, tz = c.strip(), ""
    if c.startswith(("TZ=", "CRON_TZ=")):
        head, sep, rest = c.partition(" ")
        if not sep:
            raise SpecError("CronString has time zone but missing fields")
        c, tz = rest, head.partition("=")[2]
    c, _, comment = c.partition("#")
    c, comment = c.strip(), comment.strip()
    if c.startswith("@every"):
        _, sep, text = c.partition(" ")
        if not sep:
            raise SpecError("CronString does not have interval after @every")
        every, _, phase = text.partition("/")  # no phase after the slash: none named
        return (
            None,
            IntervalSpec(parse_duration(every), parse_duration(phase) if phase else None),
            "",
        )
    fields = PREDEFINED.get(c, c).split()
    names = {5: CRON5, 6: CRON6, 7: CRON7}.get(len(fields))
    if names is None:
        raise SpecError("CronString does not have 5-7 fields")
    cal = CalendarSpec(**dict(zip(names, fields, strict=True)), comment=comment)
    return parse_calendar(cal), None, tz


CRON5 = ("minute", "hour", "day_of_month", "month", "day_of_week")
CRON6 = (*CRON5, "year")
CRON7 = ("second", *CRON6)


def _values(ranges: Ranges) -> tuple[int, ...]:
    out: set[int] = set()
    for r in ranges:
        step = r.step or 1
        out.update(range(r.start, max(r.end, r.start) + 1, step))
    return tuple(sorted(out))


def _at_or_after(values: tuple[int, ...], v: int, past: int) -> int:
    """The least listed value >= v, or `past` (one beyond the field's range)."""
    i = bisect_left(values, v)
    return values[i] if i < len(values) else past


@dataclass(frozen=True, slots=True)
class CompiledCalendar:
    """One structured calendar in a zone `offset` seconds east of UTC."""

    offset: int
    years: tuple[int, ...] | None  # None: every year; otherwise each tuple is sorted
    months: tuple[int, ...]
    days: tuple[int, ...]
    weekdays: tuple[int, ...]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    seconds: tuple[int, ...]

    @staticmethod
    def of(cal: StructuredCalendarSpec, offset: int) -> CompiledCalendar:
        return CompiledCalendar(
            offset,
            _values(cal.year) if cal.year else None,
            _values(cal.month),
            _values(cal.day_of_month),
            _values(cal.day_of_week),
            _values(cal.hour),
            _values(cal.minute),
            _values(cal.second),
        )

    def _year(self, y: int) -> bool:
        return self.years is None or y in self.years

    def matches(self, seconds: int) -> bool:
        c = to_civil(seconds, self.offset)
        return (
            self._year(c.year)
            and c.month in self.months
            and c.day in self.days
            and weekday(c.year, c.month, c.day) in self.weekdays
            and c.hour in self.hours
            and c.minute in self.minutes
            and c.second in self.seconds
        )

    def next(self, after: int) -> int | None:
        """The first matching UTC second strictly after `after`, or None (up to 2100).

        calendar.go compiledCalendar.next walks each field up one step at a time; this
        jumps straight to the next listed value of a field (resetting the fields inside
        it, as each of those steps does), which reaches the same time."""
        y, mo, d, h, m, s = to_civil(after, self.offset)
        s += 1
        while True:  # the "Outer" loop
            if s >= 60:
                m, s = m + 1, 0
            if m >= 60:
                h, m = h + 1, 0
            if h >= 24:
                d, h = d + 1, 0
            if d > days_in_month(mo, y):
                mo, d = mo + 1, 1
            if mo > 12:
                y, mo = y + 1, 1
            if y > MAX_CALENDAR_YEAR:
                return None
            if not self._year(y):
                y, mo, d, h, m, s = y + 1, 1, 1, 0, 0, 0
                continue
            if mo not in self.months:
                mo, d, h, m, s = _at_or_after(self.months, mo, 13), 1, 0, 0, 0
                continue
            if d not in self.days or weekday(y, mo, d) not in self.weekdays:
                d, h, m, s = d + 1, 0, 0, 0
                continue
            if h not in self.hours:
                h, m, s = _at_or_after(self.hours, h, 24), 0, 0
                continue
            if m not in self.minutes:
                m, s = _at_or_after(self.minutes, m, 60), 0
                continue
            if s not in self.seconds:
                s = _at_or_after(self.seconds, s, 60)
                continue
            return from_civil(Civil(y, mo, d, h, m, s), self.offset)


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
