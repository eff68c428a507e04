"""Go duration strings ("1h30m", "1.5s", "2d") as ns, for cron "@every" intervals.

Temporal parses those with common/primitives/timestamp.ParseDuration: Go's
time.ParseDuration plus a "d" (24h) unit. A sign, then one or more decimal numbers
each with a unit; "0" alone is allowed.
"""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")


def parse_go_duration(text: str) -> int:
    """ns of a Go duration string; ValueError if it is not one."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0, 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if m is None:
            raise ValueError(f"invalid duration {text!r}")
        whole, _, fraction = m.group(1).partition(".")
        unit = _UNITS[m.group(2)]
        total += int(whole or 0) * unit + int(fraction or 0) * unit // 10 ** len(fraction)
        pos = m.end()
    return -total if text.startswith("-") else total
