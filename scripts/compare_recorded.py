"""Compare histories recorded from one server with the dev server's recordings.

`scripts/record_unseen.py` recorded tests/fixtures/unseen-histories from the dev
server. Run it again against another server (`tmodel serve`, without the HTTP API:
`--http ''`), then

    python scripts/compare_recorded.py DIR [--verbose]

compares each `NAME.sdk.json` in DIR with the fixture `NAME.json` of
tests/fixtures/unseen-histories/ by the event types in order, which the workflows'
code and the server's rules decide (times, ids and sizes differ between any two
servers). Some recordings race (when a
signal lands, when a timer fires against a running task), and some need the dev
server's dynamic config (`limit.blobSize.*`, `limit.historyCount.suggestContinueAsNew`),
so a difference is a lead to read, not a verdict. Prints one line per history and a
summary; `--verbose` adds a diff for each difference.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "unseen-histories"


def kinds(path: Path) -> list[str]:
    events = json.loads(path.read_text())["events"]
    return [str(e["eventType"]).removeprefix("EVENT_TYPE_") for e in events]


def main(out: Path, verbose: bool) -> None:
    same = differing = unkept = 0
    for served in sorted(out.glob("*.sdk.json")):
        name = served.name.removesuffix(".sdk.json")
        recorded = FIXTURES / f"{name}.json"
        if not recorded.is_file():
            unkept += 1  # recorded by the scenario but not kept as a fixture
            continue
        theirs, ours = kinds(recorded), kinds(served)
        if theirs == ours:
            same += 1
            continue
        differing += 1
        print(f"DIFFERENT {name} ({len(theirs)} events recorded, {len(ours)} served)")
        if verbose:
            for line in difflib.unified_diff(theirs, ours, "dev server", "served", lineterm=""):
                print("    " + line)
    print(f"{same} with the dev server's event types, {differing} different, {unkept} not kept")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the --out folder of record_unseen.py")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    main(args.out, args.verbose)
