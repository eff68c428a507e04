"""Timestamps as RFC 3339 text, computed without the clock or `datetime`.

The history service writes a few timestamps inside values the model keeps as JSON
(auto-reset points); core may not import `datetime`, so the date is derived from the
day count with the proleptic Gregorian calendar (H. Hinnant's civil-from-days). The
fraction has 0, 3, 6 or 9 digits, the fewest that are exact, as protojson writes it.
"""

from __future__ import annotations

_NS = 1_000_000_000


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the day `days` after 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def rfc3339(ns: int) -> str:
    """`ns` since the epoch as "2026-11-28T04:13:02.442747716Z"."""
    seconds, nanos = divmod(ns, _NS)
    days, rest = divmod(seconds, 86_400)
    year, month, day = civil_from_days(days)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    if nanos == 0:
        fraction = ""
    elif nanos % 1_000_000 == 0:
        fraction = f".{nanos // 1_000_000:03d}"
    elif nanos % 1000 == 0:
        fraction = f".{nanos // 1000:06d}"
    else:
        fraction = f".{nanos:09d}"
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}Z"
