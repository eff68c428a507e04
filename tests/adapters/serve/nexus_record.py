"""What the Nexus tests against `tmodel serve` share: histories fetched with their stack
traces blanked (they name the recording machine's paths; the comparison checks only
that one is there, LEGITIMATE in adapters/history_compare.py), and the comparison of a
served transcript with the dev server's record, case by case."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from adapters.history_compare import compare

WALL_CLOCK = frozenset({"workflowExecutionExpirationTime"})
STACK_TRACE = "<a stack trace of the recording machine>"


def scrubbed(value: Any) -> Any:
    """`value` with every stack trace replaced by `STACK_TRACE`."""
    if isinstance(value, dict):
        return {k: STACK_TRACE if k == "stackTrace" else scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    return value


async def history(client: Client, workflow_id: str) -> list[Any]:
    """The workflow's history as JSON events, stack traces blanked."""
    fetched = await client.get_workflow_handle(workflow_id).fetch_history()
    events: list[Any] = scrubbed(fetched.to_json_dict()["events"])
    return events


def differences(seen: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Per recorded case: a missing case, a different result, or the first difference of
    the caller's or the handler's history."""
    wrong = []
    for case in want:
        if case not in seen:
            wrong.append(f"{case}: missing")
            continue
        if seen[case].get("result") != want[case].get("result"):
            wrong.append(f"{case}: result {seen[case].get('result')!r}")
        for side in ("history", "handler"):
            if side not in want[case]:
                continue
            found = compare(want[case][side], seen[case].get(side, []), ignore=WALL_CLOCK)
            if found is not None:
                wrong.append(f"{case} {side}: {found}")
    return wrong
