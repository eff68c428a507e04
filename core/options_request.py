"""UpdateWorkflowExecutionOptions as the history service gets it, and its reply
(core/statemachine/history/service/options_update.py handles it)."""

from __future__ import annotations

from dataclasses import dataclass

from core.fastinit import fast_init_all
from core.opaque import Opaque
from core.replies import Ok


@dataclass(frozen=True, slots=True)
class UpdateWorkflowExecutionOptions:
    """Change a running run's options: `options` is the requested
    temporal.api.workflow.v1.WorkflowExecutionOptions (JSON), `paths` the update mask's
    paths in camelCase (`versioningOverride`, `priority`, `priority.priorityKey`,
    ...)."""

    options: Opaque
    paths: tuple[str, ...]
    identity: str = ""


@dataclass(frozen=True, slots=True)
class OptionsUpdated(Ok):
    """The run's options after the update (WorkflowExecutionOptions JSON)."""

    options: Opaque


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
