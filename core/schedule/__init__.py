"""Schedules: Temporal's scheduler as pure functions and a workflow (issue 19).

Modelled on the workflow-based scheduler of Temporal's service/worker/scheduler (newer
servers move schedules to CHASM; the model follows the workflow version):

- `messages`: the schedule's messages (api/schedule/v1 names) and their protojson forms;
- `civil`, `calendar`, `spec`, `farm`, `go_duration`: spec compilation and next times
  (calendar.go, spec.go), jitter as Temporal derives it;
- `api`: the scheduler workflow's names, input, signals and queries;
- `buffer`, `scheduler`: overlap policies and the scheduler's decisions (buffer.go,
  workflow.go);
- `workflow`: the scheduler workflow itself, on `core.workflow`.

Time zones are UTC and fixed offsets only: core reads no time-zone database.
"""
