#!/usr/bin/env python3
"""Save the history of every workflow run a Temporal server keeps, one JSON file per run,
for `tmodel validate` and `tmodel conform`.

    python scripts/export_histories.py --address HOST:PORT --out DIR
        [--namespace NAME ...] [--query QUERY]

For each namespace (every namespace the server lists, or those named), the runs that
ListWorkflowExecutions gives (all of them, or those the visibility QUERY selects) are
read with GetWorkflowExecutionHistory and written as the server's JSON history to
`DIR/NAMESPACE__TYPE__WORKFLOWID__RUNID.json` (characters other than letters, digits,
`-`, `_` and `.` become `_`). A file already there is overwritten. A run read while it
runs ends with the events of its pending workflow task, as the SDKs' clients see it;
`tmodel conform` reads them as such (docs/conformance.md).

Run it after any workload against a real server (an SDK's test suite, the samples, an
application's tests) to judge what that server wrote, or against another
implementation to judge it. It needs `temporalio` (the project's `dev` extra).
Prints one line per namespace and a total; an unreachable server or a bad argument is
one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

CONCURRENT_READS = 8  # histories fetched at once


def file_name(namespace: str, workflow_type: str, workflow_id: str, run_id: str) -> str:
    """The file a run's history is written to (one per run, safe on any filesystem)."""
    stem = "__".join((namespace, workflow_type, workflow_id, run_id))
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:240] + ".json"


async def export(address: str, out: Path, namespaces: Sequence[str], query: str) -> int:
    """Writes the histories; the number written."""
    from temporalio.api.workflowservice.v1 import ListNamespacesRequest
    from temporalio.client import Client

    client = await Client.connect(address)
    if not namespaces:
        listed = await client.workflow_service.list_namespaces(
            ListNamespacesRequest(page_size=1000)
        )
        namespaces = [n.namespace_info.name for n in listed.namespaces]
    out.mkdir(parents=True, exist_ok=True)
    gate = asyncio.Semaphore(CONCURRENT_READS)
    total = 0

    async def save(scoped: Client, namespace: str, kind: str, wid: str, rid: str) -> None:
        async with gate:
            history = await scoped.get_workflow_handle(wid, run_id=rid).fetch_history()
        (out / file_name(namespace, kind, wid, rid)).write_text(history.to_json())

    for namespace in namespaces:
        scoped = await Client.connect(address, namespace=namespace)
        runs = [
            save(scoped, namespace, run.workflow_type, run.id, run.run_id)
            async for run in scoped.list_workflows(query or None)
        ]
        await asyncio.gather(*runs)
        print(f"{namespace}: {len(runs)} histories")
        total += len(runs)
    print(f"{total} histories written to {out}")
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True, help="the server's HOST:PORT")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write to")
    parser.add_argument(
        "--namespace", action="append", default=[], help="a namespace (default: all)"
    )
    parser.add_argument("--query", default="", help="a visibility query selecting the runs")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        print(f"export_histories: --out {args.out}: not a directory", file=sys.stderr)
        return 2
    from temporalio.service import RPCError

    try:
        asyncio.run(export(args.address, args.out, args.namespace, args.query))
    except (RPCError, RuntimeError, OSError) as exc:  # refused calls, no connection, files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"export_histories: {args.address}: {first}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # After a failed connect the SDK's native runtime can abort the interpreter's exit
    # ("PyGILState_Release ... must be current"): leave without finalising.
    os._exit(status)
