"""Civil (calendar) time from seconds since the epoch, with no clock and no tz database.

Core may not read the system's time-zone database (zoneinfo reads files), so a schedule's
time zone is modelled as a fixed offset east of UTC, in seconds: "UTC", "" (UTC, as
Temporal's empty name loads UTC) and the tz database's own fixed-offset zones
("Etc/GMT+5" is five hours *west*, as in the database). Zones with daylight-saving rules
are not modelled; `zone_offset` rejects them by name.

The day arithmetic (core/timefmt.py) is on the proleptic Gregorian calendar, as Go's
`time.Date` computes it.
"""

from __future__ import annotations

from typing import NamedTuple

from core.timefmt import civil_from_days, days_from_civil

DAY = 86_400


class Civil(NamedTuple):
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int


def to_civil(seconds: int, offset: int) -> Civil:
    """The wall-clock fields of UTC `seconds` in a zone `offset` seconds east of UTC."""
    local = seconds + offset
    days, rest = divmod(local, DAY)
    year, month, day = civil_from_days(days)
    return Civil(year, month, day, rest // 3600, rest // 60 % 60, rest % 60)


def from_civil(c: Civil, offset: int) -> int:
    """UTC seconds of wall-clock fields in a zone `offset` seconds east of UTC."""
    days = days_from_civil(c.year, c.month, c.day)
    return days * DAY + c.hour * 3600 + c.minute * 60 + c.second - offset


def weekday(year: int, month: int, day: int) -> int:
    """0 = Sunday .. 6 = Saturday (Go's time.Weekday); 1970-01-01 was a Thursday."""
    return (days_from_civil(year, month, day) + 4) % 7


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(month: int, year: int) -> int:
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 + ((0b1010110101010 >> month) & 1)  # calendar.go daysInMonth


class UnknownZone(ValueError):
    """A time-zone name the model does not carry (only UTC and fixed offsets)."""


def zone_offset(name: str) -> int:
    """Seconds east of UTC for a modelled zone name; UnknownZone for any other."""
    if name in ("", "UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu"):
        return 0
    if name.startswith("Etc/GMT") and len(name) > 7 and name[7] in "+-":
        digits = name[8:]
        if digits.isdigit() and str(int(digits)) == digits:
            hours = int(digits)
            # The database's POSIX-style sign: Etc/GMT+5 is UTC-5; it spans -14..+12.
            if (name[7] == "+" and hours <= 12) or (name[7] == "-" and hours <= 14):
                return -hours * 3600 if name[7] == "+" else hours * 3600
    raise UnknownZone(f"time zone {name!r} is not modelled (UTC and Etc/GMT±N only)")
