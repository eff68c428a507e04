"""Running scenarios of the library against a Temporal endpoint through the official SDK.

`connect` waits (bounded) until the endpoint answers on the default namespace;
`prepare` defines the library's custom search attributes where they are missing;
`run_scenario` drives one scenario and returns what it captured, or why it did not run
to the outcome it had on the real server, or why it does not apply to this target.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.runtime import Runtime

from adapters.conform.scenarios.context import (
    SCENARIO_TIMEOUT,
    Capture,
    Ctx,
    Restart,
    ScenarioFailed,
)
from adapters.conform.scenarios.registry import Scenario

CONNECT_TIMEOUT = 30.0
RESTART_COMMAND_TIMEOUT = 120.0
CLIENT_IDENTITY = "recorder-client"
# The custom search attributes the library's workflows set (temporal server start-dev
# takes them as `--search-attribute NAME=TYPE`).
SEARCH_ATTRIBUTES = {
    "RecorderStage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "RecorderCount": IndexedValueType.INDEXED_VALUE_TYPE_INT,
}


class Unreachable(Exception):
    """The endpoint did not answer as a Temporal server in time; one line."""


@dataclass
class ScenarioRun:
    """One scenario against a target: its captured runs, or why there are none."""

    scenario: Scenario
    captures: list[Capture] = field(default_factory=list)
    error: str | None = None  # it did not run to the outcome it had on the real server
    not_applicable: str | None = None  # it does not apply to this target
    seconds: float = 0.0


async def connect(
    address: str,
    runtime: Runtime,
    timeout: float = CONNECT_TIMEOUT,
    alive: Callable[[], bool] | None = None,
) -> Client:
    """A client of `address` once it answers on the default namespace; `alive` (if
    given) says whether the server process is still there to wait for."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise Unreachable(f"{address}: the server process exited")
        try:
            client = await Client.connect(address, runtime=runtime, identity=CLIENT_IDENTITY)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace="default")
            )
            return client
        except Exception as err:  # not up yet; the last reason is reported at the deadline
            last = _one_line(err)
            await asyncio.sleep(0.25)
    raise Unreachable(f"{address} did not answer as a Temporal server in {timeout:.0f}s: {last}")


async def server_version(client: Client) -> str:
    """The version GetSystemInfo reports, or "unknown" if the target does not say."""
    try:
        reply = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    except Exception:  # an implementation may leave GetSystemInfo out: no version then
        return "unknown"
    return str(reply.server_version) or "unknown"


async def prepare(client: Client) -> str | None:
    """Define the library's search attributes where missing; a note if it cannot."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {k: v for k, v in SEARCH_ATTRIBUTES.items() if k not in listed.custom_attributes}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
            )
    except Exception as err:  # the scenario that needs them then fails, saying why
        names = ", ".join(SEARCH_ATTRIBUTES)
        return f"could not define the search attributes {names}: {_one_line(err)}"
    return None


async def run_scenario(
    client: Client,
    address: str,
    scenario: Scenario,
    *,
    restart: Restart | None = None,
    verbose: bool = False,
) -> ScenarioRun:
    result = ScenarioRun(scenario)
    if scenario.fault == "server-restart" and restart is None:
        result.not_applicable = (
            "the target declares no durability (give the command that restarts it with "
            "its state kept: --restart-command)"
        )
        return result
    ctx = Ctx(client, address, scenario.name, scenario.description, verbose, restart)
    began = time.monotonic()
    try:
        await asyncio.wait_for(scenario.run(ctx), SCENARIO_TIMEOUT)
    except TimeoutError:
        result.error = f"did not finish within {SCENARIO_TIMEOUT:.0f}s"
    except Exception as err:  # reported in the scenario's row; the others go on
        result.error = _described(err)
    except asyncio.CancelledError as err:
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # this run is being stopped (Ctrl-C)
            raise
        # The SDK cancelled the scenario's task (a worker that gave up, for one, when the
        # server stopped answering): a failed scenario, with what went wrong before.
        cause = err.__context__
        result.error = "cancelled" + (f" after {_described(cause)}" if cause else "")
    result.seconds = time.monotonic() - began
    result.captures = ctx.captures
    return result


async def run_scenarios(
    client: Client,
    address: str,
    scenarios: Sequence[Scenario],
    *,
    restart: Restart | None = None,
    verbose: bool = False,
    done: Callable[[ScenarioRun], None] = lambda run: None,
) -> list[ScenarioRun]:
    runs = []
    for scenario in scenarios:
        run = await run_scenario(client, address, scenario, restart=restart, verbose=verbose)
        done(run)
        runs.append(run)
    return runs


def command_restart(command: Sequence[str], address: str, runtime: Runtime) -> Restart:
    """A restart hook that runs `command` (which must restart the target with its state
    kept, and exit 0) and waits until the target answers again."""

    async def restart() -> None:
        try:
            finished = await asyncio.to_thread(
                subprocess.run,
                list(command),
                capture_output=True,
                text=True,
                timeout=RESTART_COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ScenarioFailed(f"the restart command failed: {_one_line(err)}") from None
        if finished.returncode != 0:
            said = (finished.stderr.strip().splitlines() or [""])[-1]
            raise ScenarioFailed(f"the restart command exited {finished.returncode}: {said}")
        await connect(address, runtime)

    return restart


def _described(err: BaseException) -> str:
    return f"{type(err).__name__}: {_one_line(err)}"


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
