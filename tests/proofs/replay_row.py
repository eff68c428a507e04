"""The replay-row mutation of the mutation matrix (tests/mutation), in-process: the SDK
side's activity table without ``CancelRequested --ActivityTaskStarted--> CancelRequested``,
patched where the replay engine looks it up (`Context.start_activity` reads
``activity.TABLE`` when it creates an entity)."""

from __future__ import annotations

import pytest

from core.statemachine.fsm import make_table
from core.statemachine.replay import activity

S, I = activity.SdkActivityState, activity.ActivityInput  # noqa: E741 - as in activity.py


def remove_started_after_cancel_row(monkeypatch: pytest.MonkeyPatch) -> None:
    table = activity.TABLE
    rows = [r for r in table.rows if (r.source, r.input) != (S.CANCEL_REQUESTED, I.STARTED)]
    assert len(rows) == len(table.rows) - 1
    broken = make_table(table.name, table.rule, S, I, table.initial, rows)
    monkeypatch.setattr(activity, "TABLE", broken)
