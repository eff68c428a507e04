"""State diagrams are drawn from the driving tables: a changed row changes the diagram."""

from __future__ import annotations

from adapters.diagrams import to_svg
from core.statemachine import fsm
from core.statemachine.history.service import activity


def _with_rows(rows: list[fsm.Row[activity.PendingActivityState, activity.ActivityInput]]) -> str:
    table = fsm.make_table(
        activity.TABLE.name,
        activity.TABLE.rule,
        activity.PendingActivityState,
        activity.ActivityInput,
        activity.TABLE.initial,
        rows,
    )
    return to_svg(table)


def test_the_diagram_shows_guards_and_handlers() -> None:
    svg = to_svg(activity.TABLE)
    assert "RecordActivityTaskStarted [stale stamp] / obsolete" in svg
    assert "RespondActivityTaskCompleted / complete" in svg


def test_a_changed_row_changes_the_diagram() -> None:
    rows = list(activity.TABLE.rows)
    assert _with_rows(rows) == to_svg(activity.TABLE)
    i = next(n for n, r in enumerate(rows) if r.handler == "complete")
    rows[i] = fsm.Row(rows[i].source, rows[i].input, rows[i].target, handler="complete_twice")
    changed = _with_rows(rows)
    assert changed != to_svg(activity.TABLE)
    assert "RespondActivityTaskCompleted / complete_twice" in changed
