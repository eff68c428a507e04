"""The scenario library's workflows and activities, for tools that load them from
``scripts/`` (the SDK replayer of `tmodel bench replay`). They live in the package:
``adapters/conform/scenarios/``."""

from adapters.conform.scenarios.activities import ALL_ACTIVITIES
from adapters.conform.scenarios.workflows_runs import ALL_WORKFLOWS

__all__ = ["ALL_ACTIVITIES", "ALL_WORKFLOWS"]
