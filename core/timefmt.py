"""Timestamps as RFC 3339 text, computed without the clock or `datetime`.

The history service writes a few timestamps inside values the model keeps as JSON
(auto-reset points), and reads them back when it rebuilds a run; core may not import
`datetime`, so the date is derived from the day count with the proleptic Gregorian
calendar (H. Hinnant's civil-from-days and days-from-civil). The
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


def days_from_civil(year: int, month: int, day: int) -> int:
    """The day count since 1970-01-01 of a proleptic Gregorian date (the inverse of
    `civil_from_days`)."""
    year -= 1 if month <= 2 else 0
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def parse_rfc3339(text: str) -> int:
    """ "2026-11-28T04:13:02.442747716Z" as ns since the epoch (UTC, "Z" only, as
    protojson writes timestamps); ValueError if it is not that form."""
    if len(text) < 20 or text[-1] != "Z" or text[4] + text[7] + text[10] != "--T":
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    date, clock = text[:10], text[11:-1]
    whole, _, fraction = clock.partition(".")
    if (fraction and not fraction.isdigit()) or len(fraction) > 9:
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    year, month, day = (int(part) for part in date.split("-"))
    hour, minute, second = (int(part) for part in whole.split(":"))
    seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    return seconds * _NS + int(fraction.ljust(9, "0") or 0)
