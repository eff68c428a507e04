"""A pytest plugin for running temporalio's own test suite against `tmodel serve`
(docs/serve.md, "The SDK's own tests against tmodel serve"). It changes no test:

- workers' default workflow sandbox passes the `tests` package through, so a workflow
  run does not import the SDK's 9,000-line test module again (on a loaded 2-core machine
  that took 6 s a run, over the 10 s workflow task timeout once a worker was busy);
- `WorkflowEnvironment.start_time_skipping()` starts `tmodel-test-server` (the model in
  the shape of the Java test server) instead of downloading Java's.

Load it with `-p tmodel_plugin` and this directory on PYTHONPATH.
"""

from __future__ import annotations

import importlib
import shutil
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
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
    server = shutil.which("tmodel-test-server")
    if server is not None:
        start: Any = WorkflowEnvironment.start_time_skipping
        _set_default(start.__func__, "test_server_existing_path", server)
