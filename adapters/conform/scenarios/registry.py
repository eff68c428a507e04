"""The scenario library: each scenario's name, what it makes a server write, the
function that drives it, and the live fault it injects, if any.

`SCENARIOS` recorded the corpus of real histories (tests/fixtures/histories, with
`scripts/record_histories.py` against `temporal server start-dev`); `FAULT_SCENARIOS`,
which kill or restart a process mid-workflow, recorded tests/fixtures/histories/faults.
A scenario's histories are named `<scenario><suffix>.json` (`Capture.file_name`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.conform.scenarios import library_faults as faults
from adapters.conform.scenarios import library_features as features
from adapters.conform.scenarios import library_runs as runs
from adapters.conform.scenarios import library_tasks as tasks
from adapters.conform.scenarios.context import Ctx

ScenarioFn = Callable[[Ctx], Awaitable[None]]

# fault -> what it does
FAULTS: dict[str, str] = {
    "worker-kill-during-activity": "a worker process is killed (SIGKILL) while it runs an "
    "activity; the attempt ends by heartbeat timeout and another process retries it",
    "worker-restart": "a worker process is killed (SIGKILL) mid-workflow and another is "
    "started; the killed worker's sticky task times out and the new one replays",
    "server-restart": "the server is restarted, its state kept, mid-workflow (only for a "
    "target that declares durability)",
}
WORKER_FAULTS = ("worker-restart", "worker-kill-during-activity")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    run: ScenarioFn
    fault: str | None = None  # the live fault it injects (a key of FAULTS)
    # False where the history's shape is decided by a race between the worker's
    # concurrent activities: which finishes first, and how many workflow tasks their
    # completions are batched into (the real server itself varies from run to run). Such
    # a history is compared with the recorded one as a multiset of its other events.
    ordered: bool = True
    # Fields (JSON names) whose values the wall clock decides on the real server too (a
    # schedule's nominal start time): left out when the history is compared with the
    # recorded one.
    clock_fields: frozenset[str] = frozenset()


# Server features recorded after the first corpus (library_features.py).
_FEATURES = [
    Scenario(
        "eager-start",
        "started with request_eager_start: the first workflow task is started by the start",
        features.eager_start,
    ),
    Scenario(
        "cron",
        "cron schedule @every 2s: two runs continue as new (CronSchedule), the third is "
        "terminated during its first-workflow-task backoff",
        features.cron,
    ),
    Scenario(
        "run-timeout-retry",
        "run 1 outlives its 2 s run timeout and is retried (retry policy); run 2 completes",
        features.run_timeout_retry,
        # the chain's execution expiration: the start's wall-clock time plus 60 s
        clock_fields=frozenset({"workflowExecutionExpirationTime"}),
    ),
    Scenario(
        "schedule",
        "a paused schedule triggered once; the scheduler starts the workflow",
        features.schedule,
        # the nominal start time, also appended to the workflow id
        clock_fields=frozenset({"TemporalScheduledStartTime", "workflowId"}),
    ),
    Scenario(
        "update-async",
        "update accepted while the client waits only for ACCEPTED; completed after a signal",
        features.update_async,
    ),
    Scenario(
        "update-failed",
        "update accepted whose handler fails after an activity (failure outcome)",
        features.update_failed,
    ),
    Scenario(
        "child-cancelled",
        "parent cancels its child (WAIT_CANCELLATION_COMPLETED); the child cleans up",
        features.child_cancelled,
    ),
    Scenario(
        "child-terminated",
        "the client terminates a running child; the parent sees ChildWorkflowExecutionTerminated",
        features.child_terminated,
    ),
    Scenario(
        "child-timed-out",
        "a child with a 2s run timeout times out; the parent sees it",
        features.child_timed_out,
    ),
    Scenario(
        "child-abandoned",
        "parent completes with ParentClosePolicy ABANDON; the child runs on and completes",
        features.child_abandoned,
    ),
    Scenario(
        "wft-timeout",
        "a poller takes the first workflow task and never answers (start-to-close timeout)",
        features.wft_timeout,
    ),
    Scenario(
        "local-activity-backoff",
        "local activity retried with a backoff above its local retry threshold (a timer)",
        features.local_activity_backoff,
    ),
    Scenario(
        "heartbeat-details",
        "activity heartbeats progress, fails twice; each retry resumes from the details",
        features.heartbeat_details,
    ),
    Scenario(
        "signal-with-start-running",
        "signal-with-start twice on a workflow that is already running",
        features.signal_with_start_running,
    ),
    Scenario(
        "batch-terminate",
        "two workflows terminated by `temporal workflow terminate --query` (the batcher)",
        features.batch_terminate,
    ),
    Scenario(
        "options-updated",
        "`temporal workflow update-options` sets and unsets a versioning override",
        features.options_updated,
    ),
    Scenario(
        "nexus",
        "a workflow calls a sync Nexus operation and one backed by a workflow",
        features.nexus_operations,
    ),
    Scenario(
        "build-ids",
        "a worker with build id 1.0 starts the run, one with build id 2.0 continues it",
        features.build_ids,
    ),
]

_CORPUS = [
    Scenario("activity-single", "one activity scheduled, run and completed", tasks.activity_single),
    Scenario(
        "activity-retry", "activity fails twice (retryable) then succeeds", tasks.activity_retry
    ),
    Scenario(
        "activity-non-retryable",
        "non-retryable ApplicationError from the activity fails the workflow",
        tasks.activity_non_retryable,
    ),
    Scenario(
        "activity-start-to-close-timeout",
        "attempt 1 exceeds its 1s start-to-close timeout, attempt 2 succeeds",
        tasks.activity_start_to_close_timeout,
    ),
    Scenario(
        "activity-heartbeat-timeout",
        "attempt 1 heartbeats then goes silent (heartbeat timeout), attempt 2 succeeds",
        tasks.activity_heartbeat_timeout,
    ),
    Scenario(
        "activity-heartbeat-timeout-final",
        "heartbeat timeout with no retries left: ActivityTaskTimedOut, caught by the workflow",
        tasks.activity_heartbeat_timeout_final,
    ),
    Scenario(
        "activity-schedule-to-close-timeout",
        "activity outlives its 2s schedule-to-close timeout; workflow catches it",
        tasks.activity_schedule_to_close_timeout,
    ),
    Scenario(
        "activity-schedule-to-start-timeout",
        "activity on an unpolled task queue hits schedule-to-start; workflow catches it",
        tasks.activity_schedule_to_start_timeout,
    ),
    Scenario(
        "activity-cancel-try-cancel",
        "running heartbeating activity cancelled with TRY_CANCEL",
        tasks.activity_cancel_try,
    ),
    Scenario(
        "activity-cancel-wait-completed",
        "running heartbeating activity cancelled with WAIT_CANCELLATION_COMPLETED",
        tasks.activity_cancel_wait,
    ),
    Scenario(
        "activity-cancel-abandon",
        "running activity cancelled with ABANDON (no cancel request reaches the server)",
        tasks.activity_cancel_abandon,
    ),
    Scenario(
        "fan-out", "five activities started together and gathered", tasks.fan_out, ordered=False
    ),
    Scenario(
        "saga", "step 3 fails; steps 2 and 1 compensated in reverse; workflow fails", tasks.saga
    ),
    Scenario(
        "local-activities",
        "two local activities, the second retried twice inside the worker",
        tasks.local_activities,
    ),
    Scenario(
        "local-activity-long",
        "3.5s local activity with a 2s WFT timeout (WFT heartbeating)",
        tasks.local_activity_long,
    ),
    Scenario("timers", "two sequential timers then two concurrent ones", tasks.timers),
    Scenario(
        "timer-cancelled", "a long timer cancelled after a short one fires", tasks.timer_cancelled
    ),
    Scenario(
        "approval-signal",
        "wait_condition with a deadline satisfied by a signal (timer cancelled)",
        tasks.approval_signal,
    ),
    Scenario(
        "approval-expired",
        "wait_condition with a 1s deadline that expires (timer fires)",
        tasks.approval_expired,
    ),
    Scenario("signals", "workflow waits for three signals sent while it runs", tasks.signals),
    Scenario(
        "signals-before-worker",
        "three signals sent before any worker polls the first workflow task",
        tasks.signals_before_worker,
    ),
    Scenario(
        "signal-during-workflow-task",
        "signal arrives while a WFT is running; server buffers it until WFTCompleted",
        tasks.signal_during_workflow_task,
    ),
    Scenario(
        "signal-with-start",
        "started by signal-with-start, then one more signal",
        tasks.signal_with_start,
    ),
    Scenario("query", "queried mid-run (no history events), then signalled to finish", tasks.query),
    Scenario(
        "updates",
        "update accepted+completed, one rejected by the validator, one running an activity",
        tasks.updates,
    ),
    Scenario(
        "update-with-start",
        "started by update-with-start, then signalled to finish",
        tasks.update_with_start,
    ),
    Scenario("child-success", "parent runs a child workflow that completes", runs.child_success),
    Scenario(
        "child-failure",
        "parent runs a child workflow that fails; parent catches it",
        runs.child_failure,
    ),
    Scenario("continue-as-new", "three runs chained by continue-as-new", runs.continue_as_new),
    Scenario(
        "workflow-retry", "workflow retry policy: run 1 fails, run 2 succeeds", runs.workflow_retry
    ),
    Scenario("signal-external", "workflow signals another workflow", runs.signal_external),
    Scenario(
        "cancel-external",
        "workflow requests cancellation of another workflow",
        runs.cancel_external,
    ),
    Scenario(
        "workflow-cancel",
        "client cancels; workflow runs a cleanup activity and ends canceled",
        runs.workflow_cancel,
    ),
    Scenario("terminate", "client terminates a sleeping workflow", runs.terminate),
    Scenario("run-timeout", "2s run timeout while the workflow sleeps 30s", runs.run_timeout),
    Scenario(
        "workflow-failure",
        "workflow raises ApplicationError after an activity",
        runs.workflow_failure,
    ),
    Scenario("start-delay", "workflow started with a 1s start delay", runs.start_delay),
    Scenario("patched", "workflow.patched and deprecate_patch markers", runs.patched),
    Scenario(
        "search-attributes-memo",
        "search attribute and memo upserts (custom attributes, one unset)",
        runs.search_attributes_memo,
    ),
    Scenario(
        "wft-failure-fixed",
        "buggy worker fails workflow tasks; a fixed worker on the same queue completes it",
        runs.wft_failure_fixed,
    ),
    Scenario(
        "worker-killed",
        "worker process kill -9'd mid-activity; new process retries after heartbeat timeout",
        faults.worker_killed,
        fault="worker-kill-during-activity",
    ),
    Scenario(
        "sticky-restart",
        "sticky worker shut down mid-workflow; its sticky WFT times out, another worker resumes",
        runs.sticky_restart,
    ),
    Scenario(
        "reset", "running workflow reset to its first workflow task; signal reapplied", runs.reset
    ),
    *_FEATURES,
]
_FAULTS = [
    Scenario(
        "worker-restart",
        "worker process kill -9'd while the workflow sleeps; a new process replays and finishes it",
        faults.worker_restart,
        fault="worker-restart",
    ),
    Scenario(
        "server-restart",
        "server restarted (state kept) while the workflow waits for a signal; the signal "
        "arrives after the restart",
        faults.server_restart,
        fault="server-restart",
    ),
]
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _CORPUS}
FAULT_SCENARIOS: dict[str, Scenario] = {s.name: s for s in _FAULTS}
EVERY_SCENARIO: dict[str, Scenario] = {**SCENARIOS, **FAULT_SCENARIOS}
