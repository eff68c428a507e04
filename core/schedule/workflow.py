"""The scheduler workflow (Temporal's service/worker/scheduler/workflow.go `run`).

Each iteration: take the actions due since the last processed time, apply the signals
that came (patch, then update), queue backfills, start what the buffer allows under
the overlap policies (core/schedule/scheduler.py decides), then sleep until the next
action time, a signal, or a watched workflow closing; after 50 iterations with no
signal pending, continue-as-new with the state as input. An idle schedule (no more
times, not paused) ends after its retention (7 days from its last event).

A start passes on the action's options and the last completion result and continued
failure of the runs before it (processWatcherResult keeps them from the watched run's
close); an update's search attributes are upserted on the scheduler's own run
(updateCustomSearchAttributes); continue-as-new carries the run's memo and search
attributes, as the Go SDK does.

Differences from Temporal, all forced by the model's shape: the StartWorkflow, Cancel,
Terminate and refresh calls are ordinary activities on the per-namespace task queue,
not local activities (the simulator runs local activities synchronously, and these
calls go through the frontend); next times are computed inline rather than inside
SideEffect markers (core's spec code is deterministic), and of the memo and search
attributes the scheduler writes on its own run for ListSchedules only
TemporalSchedulePaused is written, not the ScheduleInfo memo (sim/schedule_client.py
reads from TemporalSchedulePaused when a pause took effect).
"""

from __future__ import annotations

import contextlib

from core import payloads
from core.errors import BadInput, BadPayload
from core.opaque import JsonValue, Opaque
from core.schedule import api
from core.schedule.api import FullUpdateRequest, StartScheduleArgs
from core.schedule.buffer import BufferedStart
from core.schedule.calendar import SpecError
from core.schedule.codec import get_obj, get_str
from core.schedule.messages import OverlapPolicy, SchedulePatch
from core.schedule.scheduler import ITERATIONS_BEFORE_CONTINUE_AS_NEW, Scheduler
from core.schedule.spec import SECOND
from core.statemachine.replay.context import Context
from core.statemachine.replay.definition import (
    ActivityError,
    RetryPolicy,
    defn,
    query,
    run,
    signal,
)
from core.statemachine.replay.handles import ActivityHandle
from core.statemachine.replay.scheduler import Future, Task

RETRY = RetryPolicy(initial_interval=SECOND, maximum_interval=60 * SECOND)
WATCH_RETRY = RetryPolicy(initial_interval=SECOND, maximum_interval=30 * SECOND)


@defn(name=api.WORKFLOW_TYPE)
class SchedulerWorkflow:
    def __init__(self) -> None:
        self.s: Scheduler | None = None
        # Patches wait in the signal channel, one taken per wake-up (workflow.go sleep:
        # a Receive on the patch channel), so none overwrites another.
        self.patches: list[SchedulePatch] = []
        self.pending_update: FullUpdateRequest | None = None
        self.refresh = False
        self.timer: Task[None] | None = None
        self.timer_deadline = 0
        self.watcher: ActivityHandle | None = None
        self.watching = ""
        self.paused_written: bool | None = None  # TemporalSchedulePaused as last upserted
        # The search attributes this run has upserted (protojson payloads; None:
        # removed); over the ones it started with, they are what Go's
        # workflow.GetInfo(ctx).SearchAttributes holds.
        self.upserted: dict[str, JsonValue] = {}

    @run
    async def run(self, wf: Context, args_json: JsonValue) -> None:
        args = StartScheduleArgs.from_json(args_json)
        s = self.s = Scheduler(args)
        if s.last_processed is None:
            s.last_processed = s.create_time = wf.now()
            s.conflict_token = 1
        # workflow.go run: the initial patch is taken first; a patch signalled before
        # this first task waits in the signal channel behind it (the handlers ran
        # already, so it is in self.patches), never dropped.
        if args.initial_patch is not None:
            self.patches.insert(0, args.initial_patch)
        iterations = ITERATIONS_BEFORE_CONTINUE_AS_NEW
        while True:
            suggest_can = iterations <= 0
            iterations -= 1
            if suggest_can and self._nothing_pending():
                break
            t1 = s.last_processed
            t2 = max(wf.now(), t1)
            wake, s.last_processed = s.process_time_range(t1, t2, OverlapPolicy.UNSPECIFIED, False)
            if self._process_signals(wf):
                wake, _ = s.process_time_range(
                    s.last_processed, t2, OverlapPolicy.UNSPECIFIED, False
                )
            s.process_backfills()
            while await self._process_buffer(wf):
                pass
            self._write_paused(wf)
            expiry = s.retention_expiration(wake)
            if expiry is not None and expiry <= wf.now():
                return
            await self._sleep(wf, wake)
        # The Go SDK's continue-as-new carries the run's memo and search attributes (as
        # upserted, null ones left out) to the next run (sdk-go internal_task_handlers.go,
        # the ContinueAsNew command from workflowInfo), so the schedule stays listed
        # with its own ones.
        wf.continue_as_new(
            s.to_args().to_json(),
            memo=wf.info().memo,
            search_attributes=Opaque.of({"indexedFields": self._search_attributes(wf)}),
        )

    def _write_paused(self, wf: Context) -> None:
        """workflow.go updateMemoAndSearchAttributes: upsert TemporalSchedulePaused when
        it differs from the value the run last wrote. Each run writes it at its first
        iteration (a Temporal run inherits its predecessor's and writes on change only)."""
        assert self.s is not None
        paused = self.s.schedule.state.paused
        if paused != self.paused_written:
            wf.upsert_search_attributes({api.SCHEDULE_PAUSED: paused})
            self.paused_written = paused
            self.upserted[api.SCHEDULE_PAUSED] = payloads.payload(paused)

    def _nothing_pending(self) -> bool:
        return not self.patches and self.pending_update is None

    def _process_signals(self, wf: Context) -> bool:
        assert self.s is not None
        if self.refresh:
            self.s.need_refresh, self.refresh = True, False
        if self.patches:
            self.s.process_patch(self.patches.pop(0), wf.now())
        if self.pending_update is not None:
            update, self.pending_update = self.pending_update, None
            applied = self.s.process_update(update.schedule, update.conflict_token, wf.now())
            if applied and update.search_attributes is not None:
                self._update_search_attributes(wf, update.search_attributes)
            return applied
        return False

    def _update_search_attributes(self, wf: Context, new: Opaque) -> None:
        """workflow.go processUpdate -> updateCustomSearchAttributes: upsert the
        schedule's own custom search attributes to `new` (a payload the converter cannot
        read leaves them as they were, as Temporal logs the error and returns)."""
        live: JsonValue = self._search_attributes(wf)
        try:
            upsert = api.custom_search_attribute_upsert(Opaque.of({"indexedFields": live}), new)
        except BadPayload:
            return
        if upsert:
            wf.upsert_search_attributes(upsert)
            self.upserted.update(
                {k: None if v is None else payloads.payload(v) for k, v in upsert.items()}
            )

    def _search_attributes(self, wf: Context) -> dict[str, JsonValue]:
        """The run's search attributes now (Go's workflow.GetInfo(ctx).SearchAttributes):
        those it started with, as this run has upserted them."""
        started = wf.info().search_attributes
        body = started.value() if started is not None else None
        fields = body.get("indexedFields") if isinstance(body, dict) else None
        current: dict[str, JsonValue] = dict(fields) if isinstance(fields, dict) else {}
        current.update(self.upserted)
        return {k: v for k, v in current.items() if v is not None}

    # -- signals and queries ---------------------------------------------------------------
    @signal(name=api.SIGNAL_PATCH)
    def patch(self, wf: Context, value: JsonValue) -> None:
        with contextlib.suppress(BadInput):  # a malformed patch is dropped
            self.patches.append(SchedulePatch.from_json(get_obj(value, "patch")))

    @signal(name=api.SIGNAL_UPDATE)
    def update(self, wf: Context, value: JsonValue) -> None:
        with contextlib.suppress(BadInput):
            self.pending_update = FullUpdateRequest.from_json(value)

    @signal(name=api.SIGNAL_REFRESH)
    def refresh_signal(self, wf: Context, *_: object) -> None:
        self.refresh = True

    @query(name=api.QUERY_DESCRIBE)
    def describe(self, wf: Context) -> JsonValue:
        return None if self.s is None else self.s.describe()

    @query(name=api.QUERY_LIST_MATCHING_TIMES)
    def list_matching_times(self, wf: Context, value: JsonValue) -> JsonValue:
        if self.s is None:
            return None
        start, end = api.matching_times_range(value)
        try:
            return {"startTime": self.s.list_matching_times(start, end)}
        except SpecError as e:
            return {"error": str(e)}

    # -- the buffer ------------------------------------------------------------------------
    async def _process_buffer(self, wf: Context) -> bool:
        """workflow.go processBuffer; True if it should run again at once."""
        s = self.s
        assert s is not None
        if s.need_refresh:
            await self._refresh(wf)
            s.need_refresh = False
        action = s.take_from_buffer()
        if action is None:
            return False
        try_again = False
        starts = [*action.overlapping_starts]
        if action.non_overlapping_start is not None:
            starts.append(action.non_overlapping_start)
        for start in starts:
            if not s.can_take_scheduled_action(start.manual, True):
                try_again = True
                continue
            if not await self._start(wf, start, start is action.non_overlapping_start):
                try_again = True
        if action.need_terminate or action.need_cancel:
            kind = api.ACTIVITY_TERMINATE if action.need_terminate else api.ACTIVITY_CANCEL
            for wid, run_id in list(s.running):
                await self._call(wf, kind, {"workflowId": wid, "runId": run_id})
        if s.buffer and self.watcher is None and s.running:
            wid, run_id = s.running[0]
            self.watching = wid
            self.watcher = wf.start_activity(
                api.ACTIVITY_WATCH,
                {"workflowId": wid, "firstExecutionRunId": run_id, "longPoll": True},
                task_queue=api.TASK_QUEUE,
                start_to_close_timeout=365 * 86_400,
                heartbeat_timeout=65,
                retry_policy=WATCH_RETRY,
            )
        return try_again

    async def _start(self, wf: Context, start: BufferedStart, non_overlapping: bool) -> bool:
        s = self.s
        assert s is not None and s.schedule.action is not None
        action = s.schedule.action
        wid = s.workflow_id_for(start)
        whole = start.nominal_time - start.nominal_time % SECOND
        # workflow.go startWorkflow: the action's options go through as given, with
        # the scheduler's two search attributes added.
        request: JsonValue = {
            **action.options(),
            "workflowId": wid,
            "workflowType": action.workflow_type,
            "taskQueue": action.task_queue,
            "args": list(action.args),
            "requestId": wf.uuid4(),
            "identity": f"temporal-scheduler-{s.namespace}-{s.schedule_id}",
            "workflowIdReusePolicy": "ALLOW_DUPLICATE" if start.manual else "REJECT_DUPLICATE",
            "searchAttributes": api.scheduled_search_attributes(
                action.search_attributes, whole, s.schedule_id
            ),
            **s.carried_outcome(start),
        }
        try:
            result = await wf.execute_activity(
                api.ACTIVITY_START,
                request,
                task_queue=api.TASK_QUEUE,
                schedule_to_close_timeout=s.start_deadline(start, wf.now()) / SECOND,
                start_to_close_timeout=5,
                retry_policy=RETRY,
            )
        except ActivityError:
            return False  # already started, or out of time: this start is dropped
        run_id = get_str(get_obj(_json(result), "StartWorkflow result"), "runId")
        s.record_action(start, non_overlapping, wid, run_id, wf.now())
        return True

    async def _call(self, wf: Context, kind: str, request: JsonValue) -> JsonValue:
        try:
            result = await wf.execute_activity(
                kind,
                request,
                task_queue=api.TASK_QUEUE,
                schedule_to_close_timeout=3600,
                start_to_close_timeout=5,
                retry_policy=RETRY,
            )
        except ActivityError:
            return None  # tried again the next time an action is due (workflow.go)
        return _json(result)

    async def _refresh(self, wf: Context) -> None:
        """Ask for the status of every running workflow at once (workflow.go
        refreshWorkflows starts all the watches, then reads them in order)."""
        s = self.s
        assert s is not None
        running = list(s.running)
        requests: list[JsonValue] = [
            {"workflowId": wid, "firstExecutionRunId": run_id, "longPoll": False}
            for wid, run_id in running
        ]
        results = await wf.gather(*(self._call(wf, api.ACTIVITY_WATCH, r) for r in requests))
        for (wid, _), result in zip(running, results, strict=True):
            self._watched(result, wid)

    def _watched(self, result: JsonValue, wid: str) -> None:
        if not isinstance(result, dict) or self.s is None:
            return
        status = result.get("status")
        if isinstance(status, str) and status != "Running":
            # WatchWorkflowResponse: a completed run's result (Payloads) or a failed
            # run's failure (Failure), both protojson.
            failure = _message(result, "failure")
            body = failure.value() if failure is not None else None
            message = body.get("message") if isinstance(body, dict) else None
            self.s.workflow_closed(wid, status, message if isinstance(message, str) else "")
            # workflow.go processWatcherResult: kept for the starts after it.
            self.s.record_outcome(_message(result, "result"), failure)

    # -- sleeping --------------------------------------------------------------------------
    async def _sleep(self, wf: Context, wake: int | None) -> None:
        s = self.s
        assert s is not None
        now = wf.now()
        deadline = s.wakeup(wake, now)
        if deadline is not None and deadline <= now:
            return  # a zero-length timer fires at once (AllowZeroSleep)
        signalled = wf.create_task(wf.wait_condition(self._woken), "signals")
        waits: list[Future[object] | Task[None]] = [signalled]
        if deadline is not None:
            if self.timer is None or self.timer_deadline != deadline:  # ReuseTimer
                self.timer = wf.create_task(wf.sleep((deadline - now) / SECOND), "timer")
                self.timer_deadline = deadline
            waits.append(self.timer)
        if self.watcher is not None:
            waits.append(self.watcher)
        await wf.wait(waits)
        if not signalled.done():
            signalled.cancel()
        if self.timer is not None and self.timer.done():
            self.timer = None
        if self.watcher is not None and self.watcher.done():
            watcher, self.watcher = self.watcher, None
            with contextlib.suppress(ActivityError):
                self._watched(_json(watcher.result()), self.watching)
            self.watching = ""

    def _woken(self) -> bool:
        return bool(self.patches) or self.pending_update is not None or self.refresh


def _json(value: object) -> JsonValue:
    """An activity result as the JSON value it is (None if it is not an object)."""
    return {str(k): v for k, v in value.items() if _is_json(v)} if isinstance(value, dict) else None


def _message(result: dict[str, JsonValue], key: str) -> Opaque | None:
    value = result.get(key)
    return Opaque.of(value) if isinstance(value, dict) else None


def _is_json(v: object) -> bool:
    return v is None or isinstance(v, (bool, int, float, str, list, dict))
