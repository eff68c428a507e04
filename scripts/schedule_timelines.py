"""Write the overlap-policy timelines of docs/schedules.md from simulator runs.

A dev tool, never imported by the packages: it runs `sim.schedule_timeline` and
replaces the text between the page's timeline markers. tests/docs/test_schedules_page.py
fails when the page and the code disagree.

    python scripts/schedule_timelines.py
"""

from __future__ import annotations

from pathlib import Path

from sim.schedule_timeline import timelines

PAGE = Path(__file__).resolve().parent.parent / "docs" / "schedules.md"
START, END = "<!-- timelines:start -->", "<!-- timelines:end -->"


def render(page: str, rows: list[str]) -> str:
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    return head + START + "\n\n" + "\n".join(rows) + "\n\n" + END + tail


def main() -> None:
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8"), timelines()), encoding="utf-8")


if __name__ == "__main__":
    main()
