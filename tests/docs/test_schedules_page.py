"""docs/schedules.md shows the overlap-policy timelines the simulator produces now."""

from __future__ import annotations

from pathlib import Path

from sim.schedule_timeline import timelines
from tests.conftest import script as load_script

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_timelines_on_the_page_are_generated() -> None:
    script = load_script("schedule_timelines")
    page = (ROOT / "docs/schedules.md").read_text(encoding="utf-8")
    assert script.START in page and script.END in page
    assert script.render(page, timelines()) == page, "run scripts/schedule_timelines.py"
