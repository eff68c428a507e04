"""Compare what the TypeScript workflows wrote on a server with what the dev server wrote.

Run `node worker.js` and `HH_ADDRESS=... node hunt2.js` against any server (edit the
address in worker.js), then

    python scripts/unseen_ts/compare_served.py --address HOST:PORT [--out DIR]

fetches the histories of those runs from that server and prints, for each, whether its
event types, in order, are those of the dev server's recording of the same workflow in
tests/fixtures/unseen-histories (ts-*.json), with a diff where they are not. Timestamps,
ids and timings differ between any two servers; the sequence of event types is what the
workflows' code and the server's rules decide. Exit code 1 if any differs.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
from pathlib import Path

from temporalio.client import Client

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "unseen-histories"
ONE_RUN = (
    ("ts-mixed.child0", "hh-ts-mixed-c0"),
    ("ts-mixed.badchild0", "hh-ts-mixed-bad0"),
    ("ts-fails", "hh-ts-fails"),
    ("ts-cancels", "hh-ts-cancels"),
    ("ts-cancels.child", "hh-ts-cancels-req"),
    ("ts-badcode", "hh-ts-badcode"),
    ("ts-signalled", "hh-ts-signalled"),
)


def kinds(history_json: str) -> list[str]:
    events = json.loads(history_json)["events"]
    return [str(e["eventType"]).removeprefix("EVENT_TYPE_") for e in events]


async def chain(client: Client, workflow_id: str) -> list[str]:
    """The run ids of a workflow's continue-as-new chain, first run first."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    runs = [history.run_id]
    while True:
        first = history.events[0].workflow_execution_started_event_attributes
        if not first.continued_execution_run_id:
            return runs[::-1]
        runs.append(first.continued_execution_run_id)
        handle = client.get_workflow_handle(workflow_id, run_id=runs[-1])
        history = await handle.fetch_history()


async def main(address: str, out: Path | None) -> int:
    client = await Client.connect(address)
    mixed = await chain(client, "hh-ts-mixed")
    hunt2 = await chain(client, "hh-ts-hunt2")
    runs = [
        ("ts-mixed.run1", "hh-ts-mixed", mixed[0]),
        ("ts-mixed.run2", "hh-ts-mixed", mixed[-1]),
        ("ts-hunt2.run1", "hh-ts-hunt2", hunt2[0]),
        ("ts-hunt2.run2", "hh-ts-hunt2", hunt2[-1]),
    ]
    runs += [(name, workflow_id, "") for name, workflow_id in ONE_RUN]
    differing = 0
    for name, workflow_id, run_id in runs:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id or None)
        served = (await handle.fetch_history()).to_json()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(served)
        theirs = kinds((FIXTURES / f"{name}.json").read_text())
        ours = kinds(served)
        same = ours == theirs
        differing += not same
        print(f"{'same' if same else 'DIFFERENT':9} {name} ({len(ours)} events)")
        if not same:
            for line in difflib.unified_diff(theirs, ours, "dev server", "served", lineterm=""):
                print("    " + line)
    print(f"{len(runs) - differing} of {len(runs)} histories have the dev server's event types")
    return 1 if differing else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:7233")
    parser.add_argument("--out", type=Path, help="also save the served histories here")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.address, args.out)))
