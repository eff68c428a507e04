"""Compiling a ScheduleSpec and finding its next times (Temporal's spec.go).

`compile_spec` canonicalizes a spec as spec.go `canonicalizeSpec` does (calendar
strings, exclude calendars and cron strings become structured calendars and intervals;
the cron strings must agree on a time zone), validates it, and loads its zone (a fixed
offset: core/schedule/civil.py). `CompiledSpec.get_next_time(seed, after)` is spec.go
`GetNextTime`: the earliest matching time after `after` that no exclude calendar
matches, inside [start_time, end_time] and before 2101, and that time plus a jitter
drawn from FarmHash of the time and the seed (core/schedule/farm.py), capped so it does
not pass the following nominal time. All times are ns since the epoch; matching is at
one-second resolution, as in Temporal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.fastinit import fast_init_all
from core.schedule.calendar import (
    MAX_CALENDAR_YEAR,
    MAX_COMMENT_LEN,
    MIN_CALENDAR_YEAR,
    CompiledCalendar,
    SpecError,
    parse_calendar,
    parse_cron_string,
)
from core.schedule.civil import UnknownZone, to_civil, zone_offset
from core.schedule.farm import jitter
from core.schedule.go_duration import parse_go_duration
from core.schedule.messages import IntervalSpec, Ranges, ScheduleSpec, StructuredCalendarSpec

SECOND = 1_000_000_000
# spec.go DefaultWarnIterations; the hard bound is off by default (dynamic config).
MAX_ITERATIONS = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class NextTime:
    """`nominal` matches the spec; `next` is it with jitter. Both None: no more times."""

    nominal: int | None
    next: int | None


def canonicalize(spec: ScheduleSpec) -> ScheduleSpec:
    """spec.go canonicalizeSpec; raises SpecError with Temporal's message."""
    structured = list(spec.structured_calendar)
    structured += [parse_calendar(c) for c in spec.calendar]
    excludes = list(spec.exclude_structured_calendar)
    excludes += [parse_calendar(c) for c in spec.exclude_calendar]
    intervals = list(spec.interval)
    cron_tz: str | None = None
    for text in spec.cron_string:
        cal, interval, tz = parse_cron_string(text, _parse_duration)
        if cron_tz is not None and tz != cron_tz:
            raise SpecError("conflicting timezone names")
        cron_tz = tz
        structured += [cal] if cal is not None else []
        intervals += [interval] if interval is not None else []
    timezone = spec.timezone_name
    if cron_tz:
        if timezone and timezone != cron_tz:
            raise SpecError("conflicting timezone names")
        timezone = cron_tz
    for cal in structured:
        _validate_calendar(cal)
    for interval in intervals:
        _validate_interval(interval)
    return replace(
        spec,
        structured_calendar=tuple(structured),
        calendar=(),
        exclude_structured_calendar=tuple(excludes),
        exclude_calendar=(),
        cron_string=(),
        interval=tuple(intervals),
        timezone_name=timezone,
    )


def _parse_duration(text: str) -> int:
    try:
        return parse_go_duration(text)
    except ValueError as e:
        raise SpecError(str(e)) from None


_LIMITS = (
    ("second", "Second", 0, 59),
    ("minute", "Minute", 0, 59),
    ("hour", "Hour", 0, 23),
    ("day_of_month", "DayOfMonth", 1, 31),
    ("month", "Month", 1, 12),
    ("year", "Year", MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR),
    ("day_of_week", "DayOfWeek", 0, 6),
)


def _validate_calendar(cal: StructuredCalendarSpec) -> None:
    errors: list[str] = []
    for attr, name, lo, hi in _LIMITS:
        ranges: Ranges = getattr(cal, attr)
        for r in ranges:
            if not lo <= r.start <= hi:
                errors.append(f"{name} Start is not in range [{lo}-{hi}]")
            if r.end != 0 and (r.end < r.start or r.end > hi):
                errors.append(f"{name} End is before Start or not in range [{lo}-{hi}]")
            if r.step < 0:
                errors.append(f"{name} has invalid Step")
    if len(cal.comment) > MAX_COMMENT_LEN:
        errors.append("comment is too long")
    if errors:
        raise SpecError("invalid calendar spec: " + ", ".join(errors))


def _validate_interval(interval: IntervalSpec) -> None:
    if interval.interval < SECOND:
        raise SpecError("interval is too small")
    phase = interval.phase or 0
    if phase < 0:
        raise SpecError("phase is negative")
    if phase >= interval.interval:
        raise SpecError("phase cannot be greater than Interval")


@dataclass(frozen=True, slots=True)
class CompiledSpec:
    spec: ScheduleSpec  # canonical
    calendars: tuple[CompiledCalendar, ...]
    excludes: tuple[CompiledCalendar, ...]
    offset: int

    def get_next_time(self, seed: str, after: int) -> NextTime:
        """spec.go GetNextTime (ns in, ns out)."""
        spec = self.spec
        after = max(after, (spec.start_time or 0) - SECOND)
        nominal: int | None = None
        for _ in range(MAX_ITERATIONS + 1):
            nominal = self._raw_next(after)
            if nominal is None or self._past_end(nominal):
                return NextTime(None, None)
            if not self._excluded(nominal):
                break
            after = nominal
        else:
            return NextTime(None, None)  # spec.go's compute limit, as end-of-schedule
        max_jitter = spec.jitter or 0
        following = self._raw_next(nominal)
        if following is not None:
            max_jitter = min(max_jitter, following - nominal)
        return NextTime(nominal, jitter(seed, nominal, max_jitter))

    def _past_end(self, t: int) -> bool:
        end = self.spec.end_time
        return (end is not None and t > end) or to_civil(t // SECOND, 0).year > MAX_CALENDAR_YEAR

    def _raw_next(self, after: int) -> int | None:
        """spec.go rawNextTime: the earliest calendar or interval time after `after`."""
        ts = after // SECOND  # Go's Unix(): seconds, rounded down
        candidates = [t for c in self.calendars if (t := c.next(ts)) is not None]
        for iv in self.spec.interval:
            interval = max(iv.interval // SECOND, 1)
            phase = max((iv.phase or 0) // SECOND, 0)
            candidates.append(((ts - phase) // interval + 1) * interval + phase)
        return min(candidates) * SECOND if candidates else None

    def _excluded(self, nominal: int) -> bool:
        return any(c.matches(nominal // SECOND) for c in self.excludes)


def compile_spec(spec: ScheduleSpec) -> CompiledSpec:
    """Canonicalize, validate and compile; SpecError if the spec is invalid."""
    canonical = canonicalize(spec)
    try:
        offset = zone_offset(canonical.timezone_name)
    except UnknownZone as e:
        raise SpecError(str(e)) from None
    return CompiledSpec(
        canonical,
        tuple(CompiledCalendar.of(c, offset) for c in canonical.structured_calendar),
        tuple(CompiledCalendar.of(c, offset) for c in canonical.exclude_structured_calendar),
        offset,
    )


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
