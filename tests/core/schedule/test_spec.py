"""Spec math (core/schedule: civil.py, calendar.py, spec.py, farm.py) against independent oracles:
Python's datetime for civil time, brute-force search for next times, go-farm's own
test vectors for the jitter hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.schedule.calendar import CompiledCalendar, SpecError, make_range, parse_cron_string
from core.schedule.civil import UnknownZone, to_civil, weekday, zone_offset
from core.schedule.farm import fingerprint32, jitter
from core.schedule.go_duration import parse_go_duration
from core.schedule.messages import (
    CalendarSpec,
    IntervalSpec,
    Range,
    ScheduleSpec,
    StructuredCalendarSpec,
)
from core.schedule.spec import SECOND, compile_spec

T2026 = 1_767_225_600  # 2026-01-01T00:00:00Z
MS = 1_000_000


def _values(ranges: tuple[Range, ...]) -> list[int]:
    out: list[int] = []
    for r in ranges:
        out += range(r.start, max(r.end, r.start) + 1, r.step or 1)
    return sorted(set(out))


@given(st.integers(-(10**10), 4 * 10**9), st.integers(-14 * 3600, 14 * 3600))
def test_civil_matches_datetime(seconds: int, offset: int) -> None:
    d = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds + offset)
    c = to_civil(seconds, offset)
    assert (c.year, c.month, c.day, c.hour, c.minute, c.second) == (
        d.year,
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second,
    )
    assert weekday(c.year, c.month, c.day) == (d.weekday() + 1) % 7  # Go: Sunday = 0


def test_fixed_offset_zones_only() -> None:
    assert zone_offset("") == zone_offset("UTC") == 0
    assert zone_offset("Etc/GMT+5") == -5 * 3600  # the database's inverted sign
    assert zone_offset("Etc/GMT-14") == 14 * 3600
    for name in ("America/New_York", "Etc/GMT+13", "Etc/GMT-15", "Etc/GMT+05", "Local"):
        with pytest.raises(UnknownZone):
            zone_offset(name)


@pytest.mark.parametrize(
    ("text", "values"),
    [  # the examples of calendar.go makeRange's doc comment (max 30 for the "3/5" one)
        ("1-5", [1, 2, 3, 4, 5]),
        ("1-5/2", [1, 3, 5]),
        ("3/5", [3, 8, 13, 18, 23, 28]),
        ("1-5/2,8", [1, 3, 5, 8]),
        ("1-5/2,8-11", [1, 3, 5, 8, 9, 10, 11]),
        ("1-5/2,8-16/3,2", [1, 2, 3, 5, 8, 11, 14]),
    ],
)
def test_make_range_doc_examples(text: str, values: list[int]) -> None:
    assert _values(make_range(text, "F", "*", 0, 30, "int")) == values


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", [1, 2, 3, 4, 5]),
        ("0-7", [0, 1, 2, 3, 4, 5, 6]),
        ("3-7", [0, 3, 4, 5, 6]),
        ("1-7/2", [0, 1, 3, 5]),
        ("3-7/3", [3, 6]),
        ("7", [0]),
        ("SUNDAY,sat", [0, 6]),
    ],
)
def test_sunday_is_0_or_7(text: str, days: list[int]) -> None:
    assert _values(make_range(text, "DayOfWeek", "*", 0, 7, "dow")) == days


@pytest.mark.parametrize("bad", ["3/5/7", "5/", "1-5-7", "61", "a", "5-3", "1/0", "1,,2"])
def test_make_range_rejects(bad: str) -> None:
    with pytest.raises(SpecError):
        make_range(bad, "Minute", "0", 0, 59, "int")


def test_cron_strings() -> None:
    cal, interval, tz = parse_cron_string(
        "CRON_TZ=Etc/GMT-2 30 9 * * mon # standup", parse_go_duration
    )
    assert tz == "Etc/GMT-2" and interval is None and cal is not None
    assert (_values(cal.minute), _values(cal.hour), _values(cal.day_of_week)) == ([30], [9], [1])
    assert cal.comment == "standup" and _values(cal.second) == [0]
    _, every, _ = parse_cron_string("@every 14h/3h", parse_go_duration)
    assert every == IntervalSpec(14 * 3600 * SECOND, 3 * 3600 * SECOND)
    with pytest.raises(SpecError):
        parse_cron_string("* * *", parse_go_duration)


def test_cron_time_zones_must_agree() -> None:
    with pytest.raises(SpecError):
        compile_spec(ScheduleSpec(cron_string=("TZ=UTC @daily", "TZ=Etc/GMT+1 @hourly")))


def test_invalid_specs_say_why() -> None:
    with pytest.raises(SpecError, match="interval is too small"):
        compile_spec(ScheduleSpec(interval=(IntervalSpec(SECOND // 2),)))
    with pytest.raises(SpecError, match="phase cannot be greater"):
        compile_spec(ScheduleSpec(interval=(IntervalSpec(60 * SECOND, 60 * SECOND),)))
    with pytest.raises(SpecError, match="Hour Start is not in range"):
        compile_spec(ScheduleSpec(structured_calendar=(StructuredCalendarSpec(hour=(Range(24),)),)))
    with pytest.raises(SpecError, match="not modelled"):
        compile_spec(ScheduleSpec(timezone_name="Europe/Paris"))


subsets = st.sets(st.integers(0, 59), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None)
@given(
    minutes=subsets,
    hours=st.sets(st.integers(0, 23), min_size=1, max_size=4),
    days=st.sets(st.integers(0, 6), min_size=1, max_size=7),
    start=st.integers(0, 400 * 86_400),
    offset=st.sampled_from([0, 3600, -5 * 3600, 14 * 3600]),
)
def test_calendar_next_is_first_match(
    minutes: set[int], hours: set[int], days: set[int], start: int, offset: int
) -> None:
    """SCHED-NOMINAL-TIMES: the next time is the first later second whose wall-clock
    fields (by datetime, in the zone) are all listed - found here minute by minute."""
    cal = StructuredCalendarSpec(
        second=(Range(0),),
        minute=tuple(Range(m) for m in sorted(minutes)),
        hour=tuple(Range(h) for h in sorted(hours)),
        day_of_month=(Range(1, 31),),
        month=(Range(1, 12),),
        day_of_week=tuple(Range(d) for d in sorted(days)),
    )
    after = T2026 + start
    got = CompiledCalendar.of(cal, offset).next(after)
    zone = timezone(timedelta(seconds=offset))
    t = after - after % 60 + 60
    while True:
        d = datetime.fromtimestamp(t, zone)
        if d.minute in minutes and d.hour in hours and (d.weekday() + 1) % 7 in days:
            break
        t += 60
    assert got == t


@settings(max_examples=40, deadline=None)
@given(
    months=st.sets(st.integers(1, 12), min_size=1, max_size=3),
    monthdays=st.sets(st.integers(1, 31), min_size=1, max_size=3),
    hour=st.integers(0, 23),
    start=st.integers(0, 3 * 365 * 86_400),
)
def test_calendar_next_over_months_and_days(
    months: set[int], monthdays: set[int], hour: int, start: int
) -> None:
    """The same oracle day by day: months and days of the month (31 in February never
    matches; the search gives up after 2100)."""
    cal = StructuredCalendarSpec(
        second=(Range(0),),
        minute=(Range(0),),
        hour=(Range(hour),),
        day_of_month=tuple(Range(d) for d in sorted(monthdays)),
        month=tuple(Range(m) for m in sorted(months)),
        day_of_week=(Range(0, 6),),
    )
    after = T2026 + start
    got = CompiledCalendar.of(cal, 0).next(after)
    d = datetime.fromtimestamp(after - after % 86_400, UTC).replace(hour=hour)
    while d.timestamp() <= after or d.month not in months or d.day not in monthdays:
        d += timedelta(days=1)
        if d.year > 2100:
            assert got is None
            return
    assert got == int(d.timestamp())


@given(every=st.integers(1, 10**6), phase_frac=st.floats(0, 0.999), after=st.integers(0, 4 * 10**9))
def test_interval_next_is_phase_aligned(every: int, phase_frac: float, after: int) -> None:
    phase = int(every * phase_frac)
    spec = compile_spec(ScheduleSpec(interval=(IntervalSpec(every * SECOND, phase * SECOND),)))
    got = spec.get_next_time("", after * SECOND).nominal
    assert got is not None and got % SECOND == 0
    t = got // SECOND
    assert t > after and (t - phase) % every == 0 and t - every <= after


def test_start_and_end_time_bound_the_times() -> None:
    day = 86_400 * SECOND
    spec = compile_spec(
        ScheduleSpec(
            cron_string=("@daily",),
            start_time=T2026 * SECOND + 2 * day,
            end_time=T2026 * SECOND + 4 * day,
        )
    )
    times, t = [], 0
    while (n := spec.get_next_time("", t).next) is not None:
        times.append(n)
        t = n
    # The start time itself matches (the search begins one second before it).
    assert times == [T2026 * SECOND + k * day for k in (2, 3, 4)]


def test_exclude_calendar_skips_weekends() -> None:
    spec = compile_spec(
        ScheduleSpec(
            cron_string=("0 12 * * *",),
            exclude_calendar=(
                CalendarSpec(hour="*", minute="*", second="*", day_of_week="sat,sun"),
            ),
        )
    )
    t, seen = T2026 * SECOND, []
    for _ in range(7):
        n = spec.get_next_time("", t).next
        assert n is not None
        seen.append(datetime.fromtimestamp(n // SECOND, UTC).strftime("%a"))
        t = n
    assert seen == ["Thu", "Fri", "Mon", "Tue", "Wed", "Thu", "Fri"]


# go-farm farmhash_test.go: Fingerprint32 of these inputs (the first member of each row).
FARM_VECTORS = [
    (b"", 0xDC56D17A),
    (b"a", 0x3C973D4D),
    (b"abcde", 0xA3F366AC),
    (b"0123456789", 0x9741CA1A),
    (b"0123456789~01", 0x0D92CAFB),
    (b"size:  a.out:  bad magic", 0xC6246B8D),
    (b"For every action there is an equal and opposite government program.", 0xA5812AC8),
    (b"It's a tiny change to the code and not completely disgusting. - Bob Manchek", 0xCC3D0FF2),
]


@pytest.mark.parametrize(("data", "want"), FARM_VECTORS)
def test_fingerprint32_go_farm_vectors(data: bytes, want: int) -> None:
    assert fingerprint32(data) == want


@settings(max_examples=40)
@given(st.integers(0, 4 * 10**9), st.integers(0, 3 * 86_400_000), st.text(max_size=20))
def test_jitter_is_bounded_and_deterministic(nominal_s: int, max_ms: int, seed: str) -> None:
    nominal = nominal_s * SECOND
    got = jitter(seed, nominal, max_ms * MS)
    assert got == jitter(seed, nominal, max_ms * MS)
    assert nominal <= got <= nominal + max(max_ms - 1, 0) * MS and (got - nominal) % MS == 0


def test_jitter_never_passes_the_following_time() -> None:
    spec = compile_spec(ScheduleSpec(interval=(IntervalSpec(60 * SECOND),), jitter=3600 * SECOND))
    t, jittered = T2026 * SECOND, 0
    for _ in range(200):
        r = spec.get_next_time("ns-id-sched", t)
        assert r.nominal is not None and r.next is not None
        assert r.nominal <= r.next < r.nominal + 60 * SECOND
        jittered += r.next != r.nominal
        t = r.next
    assert jittered > 150  # jitter is drawn, not always zero


def test_no_times_after_2100() -> None:
    spec = compile_spec(ScheduleSpec(interval=(IntervalSpec(SECOND),)))
    last = 4_133_980_799 * SECOND  # 2100-12-31T23:59:59Z
    assert spec.get_next_time("", last - SECOND).next == last
    assert spec.get_next_time("", last).next is None


def test_an_interval_without_a_phase_has_none_in_its_json() -> None:
    # The dev server answers a spec that named no phase without one (the official
    # TypeScript schedules sample's Describe); a set phase is kept.
    hour = 3600 * 10**9
    assert IntervalSpec(hour).to_json() == {"interval": "3600s"}
    assert IntervalSpec(hour, 60 * 10**9).to_json() == {"interval": "3600s", "phase": "60s"}
