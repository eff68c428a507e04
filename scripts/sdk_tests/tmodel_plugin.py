"""A pytest plugin for running temporalio's own test suite against `tmodel serve`
(docs/serve.md, "The SDK's own tests against tmodel serve"). It changes no test:

- workers' default workflow sandbox passes the `tests` package through, so a workflow
  run does not import the SDK's 9,000-line test module again (on a loaded 2-core machine
  that took 6 s a run, over the 10 s workflow task timeout once a worker was busy).

Load it with `-p tmodel_plugin` and this directory on PYTHONPATH. For the time-skipping
tests, load `docs/examples/tmodel_time_skipping.py` beside it (`-p tmodel_time_skipping`):
it makes `WorkflowEnvironment.start_time_skipping()` start `tmodel-test-server`.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("tests")
)


def _set_default(function: Any, name: str, value: object) -> None:
    """Change the default of keyword-only parameter `name` of `function`."""
    defaults = function.__kwdefaults__
    if defaults is None or name not in defaults:
        raise RuntimeError(f"{function.__qualname__} has no keyword default {name!r}")
    defaults[name] = value


def pytest_configure(config: pytest.Config) -> None:
    helpers = importlib.import_module("tests.helpers")  # the SDK's (its rootdir is on path)
    _set_default(Worker.__init__, "workflow_runner", RUNNER)
    _set_default(helpers.new_worker, "workflow_runner", RUNNER)
