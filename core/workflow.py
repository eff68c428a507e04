"""The workflow authoring API: write workflows the model can run and replay.

Concepts and names follow Temporal's Python SDK (temporalio `workflow.py`); the one
difference is that each workflow method receives the run's `Context` as ``wf`` instead
of reaching it through a context variable, because core keeps no ambient state (see
core/statemachine/replay/definition.py). Example:

```python
from core import workflow

@workflow.defn
class Greeting:
    @workflow.run
    async def run(self, wf: workflow.Context, name: str) -> str:
        greeting = await wf.execute_activity("greet", name, start_to_close_timeout=10)
        await wf.sleep(5)
        return greeting
```

`replay(Greeting, history)` re-runs it against a history and raises `Nondeterminism`
where they part; `answer_task` is the step of a live worker with a sticky cache.
There is no asyncio here: a small deterministic scheduler runs the coroutines.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.enums import ParentClosePolicy
from core.errors import Nondeterminism
from core.events import HistoryEvent
from core.statemachine.replay import driver
from core.statemachine.replay.context import Context
from core.statemachine.replay.definition import (
    MINUTE,
    SECOND,
    ActivityCancellationType,
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    ContinueAsNewError,
    Definition,
    ExternalWorkflowError,
    RetryPolicy,
    TimeoutFailure,
    WorkflowError,
    definition,
    defn,
    query,
    run,
    signal,
    update,
)
from core.statemachine.replay.driver import ReplayResult, answer_task
from core.statemachine.replay.engine import Execution, Guard, LocalActivityRunner
from core.statemachine.replay.entity import Activation
from core.statemachine.replay.handles import ActivityHandle, ChildHandle, Info
from core.statemachine.replay.scheduler import CancelledError, Future, Task

__all__ = [
    "MINUTE",
    "SECOND",
    "Activation",
    "ActivityCancellationType",
    "ActivityError",
    "ActivityHandle",
    "ApplicationError",
    "CancelledError",
    "ChildHandle",
    "ChildWorkflowError",
    "Context",
    "ContinueAsNewError",
    "Definition",
    "Execution",
    "ExternalWorkflowError",
    "Future",
    "Guard",
    "Info",
    "Nondeterminism",
    "ParentClosePolicy",
    "ReplayResult",
    "RetryPolicy",
    "Task",
    "TimeoutFailure",
    "WorkflowError",
    "answer_task",
    "definition",
    "defn",
    "query",
    "replay",
    "run",
    "signal",
    "update",
]


def replay(
    workflow: type | Definition,
    history: Sequence[HistoryEvent],
    *,
    workflow_id: str = "",
    run_local: LocalActivityRunner | None = None,
    guard: Guard | None = None,
) -> ReplayResult:
    """Replay `history` against a `@workflow.defn` class (or its Definition); `guard`
    bounds each activation (see `Execution`)."""
    target = workflow if isinstance(workflow, Definition) else definition(workflow)
    return driver.replay(target, history, workflow_id=workflow_id, run_local=run_local, guard=guard)
