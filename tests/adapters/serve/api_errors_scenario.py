"""What the frontend answers to bad and edge-case requests of the everyday RPCs: for
each request, "ok" or the gRPC status code, the message and the error details (their
message type and fields), normalised so that two servers can be compared (run ids and
other UUIDs become placeholders).

`python -m tests.adapters.serve.api_errors_scenario HOST:PORT` prints the transcript as
JSON; tests/fixtures/serve/api_errors_dev.json is its output against the real dev
server (`temporal server start-dev`, CLI 1.9.1 / server 1.32.0). The server must be
fresh: the scenario uses fixed workflow ids. Left out are requests a server holds until
the caller's deadline (a query of a run no worker serves, a valid poll): their answer
would be the client's own timeout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from temporalio.client import Client

from tests.adapters.serve.api_errors_reads import Reads
from tests.adapters.serve.api_errors_writes import Writes

# The dev server's dynamic config the record needs: a search attribute just added is
# usable at once (tests/fixtures/serve/api_errors_dev.json was recorded with it).
DEV_CONFIG = ("system.forceSearchAttributesCacheRefreshOnRead=true",)


def dev_args() -> list[str]:
    return [arg for value in DEV_CONFIG for arg in ("--dynamic-config-value", value)]


class Scenario(Writes, Reads):
    """Every part of the scenario, in `record`'s order."""


async def record(client: Client) -> dict[str, Any]:
    """Run the scenario on `client`'s server (which must not know its ids yet)."""
    scenario = Scenario(client)
    await scenario.setup()
    await scenario.starts()
    await scenario.signals()
    await scenario.signal_with_starts()
    await scenario.queries()
    await scenario.updates()
    await scenario.reads()
    await scenario.visibility()
    await scenario.tasks()
    await scenario.namespaces_and_queues()
    await scenario.lifecycle()
    await scenario.search_attributes()
    return scenario.log


async def _main(address: str) -> None:
    print(json.dumps(await record(await Client.connect(address)), indent=1, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
