"""docs/schedules.md shows the overlap-policy timelines the simulator produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sim.schedule_timeline import timelines

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_timelines_on_the_page_are_generated() -> None:
    spec = importlib.util.spec_from_file_location(
        "timelines", ROOT / "scripts/schedule_timelines.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    page = (ROOT / "docs/schedules.md").read_text(encoding="utf-8")
    assert script.START in page and script.END in page
    assert script.render(page, timelines()) == page, "run scripts/schedule_timelines.py"
