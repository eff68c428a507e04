"""`tmodel serve --dynamic-config-value KEY=VALUE`: the dev server's own flag, so the
lists of settings that SDK test suites start `temporal server start-dev` with can be
given to `tmodel serve` as they are.

As `temporal server start-dev` reads it (the CLI's commands.server.go), KEY is a
dynamic-config key and VALUE a JSON value (a string in double quotes). A key falls in
one of three groups:

- applied: serve changes what it does (`APPLIED`: the history limits it takes, which
  `--limit` sets too, and eager activity execution, on unless set false);
- already so: serve always behaves as the key set to this value does (`ALWAYS`): the
  setting is accepted and changes nothing; the opposite value is refused, since serve
  cannot behave that way;
- any other key: not modelled. The dev server takes any key; serve notes each such
  key on stderr, once, and goes on without it.

A malformed pair, a value that is not JSON, or a value of the wrong kind for a key serve
applies or knows is bad input (one line, exit 2), as the dev server refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import BadInput
from core.statemachine.history.limits import BOOL_KEYS, setting_value

MAX_INT64 = (1 << 63) - 1

# The limits serve applies, each a whole number (core/statemachine/history/limits.py): the
# ones the history service reads when it starts a workflow task, so every request of the
# served model honours them. `--limit` takes these too.
APPLIED_LIMITS: tuple[str, ...] = (
    "limit.historyCount.suggestContinueAsNew",
    "limit.historySize.suggestContinueAsNew",
)
# Keys serve applies: those limits, and switches (true or false, or a string Go's
# strconv.ParseBool reads, as the server converts one).
APPLIED: tuple[str, ...] = (*APPLIED_LIMITS, "system.enableActivityEagerExecution")

JsonScalar = bool | int | float | str

# Keys whose behaviour serve always has, with the value that names it. Each is served as
# docs/serve.md describes: the settings' own names are from the server's dynamic config
# (common/dynamicconfig/constants.go) and the CLI's defaults.
ALWAYS: dict[str, JsonScalar] = {
    # the dev server's defaults: new search attributes and Nexus endpoints are read at once
    "system.forceSearchAttributesCacheRefreshOnRead": True,
    "system.forceNexusEndpointRefreshOnRead": True,
    "system.enableEagerWorkflowStart": True,
    "frontend.enableExecuteMultiOperation": True,
    "frontend.enableUpdateWorkflowExecution": True,
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted": True,
    "frontend.activityAPIsEnabled": True,  # PauseActivity, ResetActivity, ...
    "activity.enableStandalone": True,
    "activity.enableCallbacks": True,  # a standalone activity's completion callbacks
    "nexusoperation.enableStandalone": True,
    "component.nexusoperations.recordCancelRequestCompletionEvents": True,
    "frontend.workerVersioningDataAPIs": True,  # compatible version sets
    "system.enableDeployments": True,
    "system.enableDeploymentVersions": True,
    "frontend.WorkerHeartbeatsEnabled": True,
    "frontend.ListWorkersEnabled": True,
}


@dataclass(frozen=True)
class DynamicConfig:
    """What a command line's --dynamic-config-value pairs come to."""

    applied: tuple[tuple[str, int | bool], ...] = ()  # (key, value) of APPLIED keys, in order
    ignored: tuple[str, ...] = ()  # keys not modelled, in the order first given


def parse_pair(text: str) -> tuple[str, JsonScalar]:
    """One ``KEY=VALUE`` with VALUE a JSON scalar; `BadInput` if it is not one."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BadInput(f"--dynamic-config-value {text!r}: not KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadInput(
            f"--dynamic-config-value {key}: the value must be JSON "
            f'(a string in double quotes, e.g. {key}="value"), not {raw!r}'
        ) from None
    if not isinstance(value, bool | int | float | str):
        raise BadInput(f"--dynamic-config-value {key}: a list or object is not modelled")
    return key, value


def settle(pairs: Sequence[tuple[str, JsonScalar]]) -> DynamicConfig:
    """Sort the given pairs into applied and ignored keys; `BadInput` for a value serve
    cannot take. A key given twice takes its last value, as the dev server's map does."""
    last = dict(pairs)
    applied: list[tuple[str, int | bool]] = []
    ignored: list[str] = []
    for key, value in last.items():
        if key in BOOL_KEYS:
            try:
                applied.append((key, setting_value(key, json.dumps(value))))
            except ValueError as exc:
                raise BadInput(f"--dynamic-config-value {exc}") from None
        elif key in APPLIED:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadInput(f"--dynamic-config-value {key}: a whole number, not {value!r}")
            if value > MAX_INT64:
                raise BadInput(f"--dynamic-config-value {key}: at most {MAX_INT64}")
            applied.append((key, value))
        elif key in ALWAYS:
            always = ALWAYS[key]
            if value != always or type(value) is not type(always):
                raise BadInput(
                    f"--dynamic-config-value {key}={json.dumps(value)}: not modelled; "
                    f"serve always behaves as {key}={json.dumps(always)}"
                )
        else:
            ignored.append(key)
    return DynamicConfig(tuple(applied), tuple(ignored))


def notes(config: DynamicConfig) -> list[str]:
    """The lines serve prints on stderr for the keys it does not model."""
    return [
        f"tmodel serve: --dynamic-config-value {key}: not modelled here; ignored"
        for key in config.ignored
    ]
