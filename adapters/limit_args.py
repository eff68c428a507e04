"""The `--limits` and `--limit KEY=VALUE` options: the server limits a history was
written under (`tmodel validate`, `tmodel lint`).

A limit is named by the server's own dynamic-config key
(core/statemachine/history/limits.py, `DYNAMIC_CONFIG_KEYS`), the one
`temporal server start-dev --dynamic-config-value KEY=VALUE` takes; a limit not named
keeps the server's default.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from core.statemachine.history.limits import (
    BOOL_KEYS,
    DEFAULT_LIMITS,
    DYNAMIC_CONFIG_KEYS,
    Limits,
    with_settings,
)

# The limits a history is checked against: every key but the switches (BOOL_KEYS), which
# are no limit and leave nothing to check in a history.
LIMIT_KEYS = tuple(key for key in DYNAMIC_CONFIG_KEYS if key not in BOOL_KEYS)


def limit_setting(text: str) -> tuple[str, int]:
    """One ``KEY=VALUE``: a known key and a whole number of at least 0."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"not KEY=VALUE: {text!r}")
    if key not in LIMIT_KEYS:
        raise argparse.ArgumentTypeError(
            f"unknown limit {key!r} (known: {', '.join(sorted(LIMIT_KEYS))})"
        )
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{key} takes a whole number, not {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{key} must be at least 0, not {number}")
    return key, number


def add_limit_options(parser: Any, always: bool = False) -> None:
    """`--limit KEY=VALUE` (repeatable) and, unless limits always apply, `--limits`."""
    if not always:
        parser.add_argument(
            "--limits",
            action="store_true",
            help="also check the LIMIT-* rules, at the server's default limits",
        )
    parser.add_argument(
        "--limit",
        action="append",
        type=limit_setting,
        default=[],
        metavar="KEY=VALUE",
        help="a server limit other than its default, by its dynamic-config key "
        "(e.g. limit.historyCount.error=20); implies --limits",
    )


def limits_of(args: argparse.Namespace) -> Limits | None:
    """The limits the options name, or None when no limit is to be checked."""
    settings: Sequence[tuple[str, int]] = args.limit
    if not settings and not getattr(args, "limits", True):
        return None
    return with_settings(DEFAULT_LIMITS, dict(settings))
