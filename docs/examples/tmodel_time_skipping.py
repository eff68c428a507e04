"""A pytest plugin for test suites that call `WorkflowEnvironment.start_time_skipping()`
with no arguments (the official samples do): it starts `tmodel-test-server` instead of
downloading the Java test server. Load it with `-p tmodel_time_skipping` and this
directory on PYTHONPATH."""

from __future__ import annotations

import shutil
from typing import Any

from temporalio.testing import WorkflowEnvironment

_start = WorkflowEnvironment.start_time_skipping  # the SDK's own, bound to its class


async def _start_tmodel(cls: type[WorkflowEnvironment], /, **kwargs: Any) -> WorkflowEnvironment:
    kwargs.setdefault("test_server_existing_path", shutil.which("tmodel-test-server"))
    return await _start(**kwargs)


WorkflowEnvironment.start_time_skipping = classmethod(_start_tmodel)  # type: ignore[method-assign, assignment]
