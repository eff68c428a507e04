"""What a run records of the builds that completed its workflow tasks (worker_versions.py):
the BuildIds search attribute's rule, the most recent stamp, and reset points that are
not resettable while a child is pending. The real server's values for one run are in
tests/fixtures/build-ids/replies.json (tests/adapters/serve/test_build_ids.py)."""

from __future__ import annotations

import base64

from core import requests as rq
from core.commands import Command, StartChildWorkflowExecutionCommandAttributes
from core.enums import CommandType, VersioningBehavior
from core.events import WorkflowType
from core.opaque import JsonValue, Opaque
from core.options_request import OptionsUpdated, UpdateWorkflowExecutionOptions
from core.statemachine.history.service.rebuild import rebuild
from core.statemachine.history.service.worker_versions import (
    UNVERSIONED,
    _encoded,
    _size_bound,
    build_ids_after,
    build_ids_payload,
)
from core.statemachine.matching.run_versioning import RunVersioning
from core.statemachine.matching.versioning import DeploymentVersion
from sim.service_run import ServiceRun
from tests.core.statemachine.coverage_scenarios import Run, activity, cancel

LIMIT = 2048  # frontend.searchAttributesSizeOfValueLimit's default
PINNED, AUTO = VersioningBehavior.PINNED, VersioningBehavior.AUTO_UPGRADE
V1 = DeploymentVersion("dep", "b1")


def stamp(build_id: str, use_versioning: bool = False) -> Opaque:
    value: dict[str, object] = {"buildId": build_id}
    if use_versioning:
        value["useVersioning"] = True
    return Opaque.of(value)  # type: ignore[arg-type]


def test_unversioned_builds_follow_the_sentinel_in_the_order_they_came() -> None:
    ids = build_ids_after((), stamp("1.0"), LIMIT)
    assert ids == (UNVERSIONED, "unversioned:1.0")
    ids = build_ids_after(ids, stamp("2.0"), LIMIT)
    ids = build_ids_after(ids, stamp("1.0"), LIMIT)  # known: not added twice
    assert ids == (UNVERSIONED, "unversioned:1.0", "unversioned:2.0")


def test_a_completion_without_a_build_id_leaves_only_the_sentinel() -> None:
    assert build_ids_after((), None, LIMIT) == (UNVERSIONED,)
    # A stamp with an empty build id names the entry "unversioned", which the rule
    # appends once more when the list did not have it yet and folds into the sentinel on
    # the next completion (Temporal's code does so; the dev server showed it:
    # tests/fixtures/build-ids/stamps.json).
    once = build_ids_after((), stamp(""), LIMIT)
    assert once == (UNVERSIONED, UNVERSIONED)
    assert build_ids_after(once, stamp(""), LIMIT) == (UNVERSIONED,)


def test_a_versioned_completion_drops_the_unversioned_sentinel() -> None:
    before = (UNVERSIONED, "unversioned:1.0")
    assert build_ids_after(before, stamp("2.0", True), LIMIT) == (
        "unversioned:1.0",
        "versioned:2.0",
    )


def test_a_list_over_the_value_limit_loses_its_oldest_builds_but_not_the_sentinel() -> None:
    ids: tuple[str, ...] = ()
    for n in range(200):
        ids = build_ids_after(ids, stamp(f"build-{n:03}"), LIMIT)
    assert ids[0] == UNVERSIONED and ids[-1] == "unversioned:build-199"
    assert "unversioned:build-000" not in ids
    payload = build_ids_payload(ids)
    assert payload is not None
    # the list is as long as the limit allows: one more entry would not fit
    data = base64.b64decode(str(payload["data"]))
    assert len(data) <= LIMIT < len(data) + len(',"unversioned:build-199"')


def test_the_keyword_list_is_encoded_as_go_encodes_it() -> None:
    payload = build_ids_payload((UNVERSIONED, "unversioned:a<b&c"))
    assert payload is not None
    assert base64.b64decode(str(payload["data"])) == (
        b'["unversioned","unversioned:a\\u003cb\\u0026c"]'
    )


def test_escaped_characters_count_at_their_encoded_size_against_the_limit() -> None:
    # each "<" is six bytes once encoded (\\u003c), one character before: a list that is
    # short in characters but one byte over the limit encoded still loses its oldest build
    long = "unversioned:" + "<" * 300
    size = len(f'["{UNVERSIONED}","{long}"]') + 5 * 300
    assert build_ids_after((UNVERSIONED, long), None, size) == (UNVERSIONED, long)
    assert build_ids_after((UNVERSIONED, long), None, size - 1) == (UNVERSIONED,)


def test_the_size_bound_is_never_below_the_encoded_size() -> None:
    # the values whose characters grow most when encoded: escapes, multi-byte UTF-8
    for text in ("", "a", '"\\', "\x00\x1f\n", "<>&\u2028\u2029", "\u00e9\u4e2d\U0001f600"):
        for values in ([text], [text, text * 3], [UNVERSIONED, text]):
            assert _size_bound(values) >= len(_encoded(values)), values


def _completed_by(run: Run, build_id: str | None, *commands: Command) -> None:
    version = stamp(build_id) if build_id is not None else None
    run.send(rq.RespondWorkflowTaskCompleted(run.poll(), commands, worker_version=version))


def test_each_completion_sets_the_most_recent_stamp_and_the_build_ids() -> None:
    run = Run()
    _completed_by(run, "1.0")
    assert run.state.most_recent_worker_version == stamp("1.0")
    assert run.state.build_ids == (UNVERSIONED, "unversioned:1.0")
    _completed_by(run, None)  # a worker that sends no stamp
    assert run.state.most_recent_worker_version is None
    assert run.state.build_ids == (UNVERSIONED, "unversioned:1.0")
    _completed_by(run, "2.0")
    rebuilt = rebuild(run.events, "default", "wf", "run-1", "start", 0).state
    for state in (run.state, rebuilt):
        assert state.most_recent_worker_version == stamp("2.0")
        assert state.build_ids == (UNVERSIONED, "unversioned:1.0", "unversioned:2.0")


def test_a_new_build_completing_while_a_child_is_pending_is_not_a_resettable_point() -> None:
    run = Run()
    child = Command(
        CommandType.START_CHILD_WORKFLOW_EXECUTION,
        StartChildWorkflowExecutionCommandAttributes(
            workflow_id="child", workflow_type=WorkflowType(name="Child")
        ),
    )
    _completed_by(run, "1.0", child)  # the child is initiated by this very task
    _completed_by(run, "2.0")  # ... and pending when build 2.0 completes one
    rebuilt = rebuild(run.events, "default", "wf", "run-1", "start", 0).state
    for state in (run.state, rebuilt):
        assert [(p.build_id, p.resettable) for p in state.reset_points] == [
            ("1.0", True),
            ("2.0", False),
        ]


def _started_stamps(run: Run) -> list[object]:
    """The workerVersion of each ActivityTaskStarted, in order."""
    return [
        getattr(e.attributes, "worker_version", None)
        for e in run.events
        if e.event_type.name == "ACTIVITY_TASK_STARTED"
    ]


def _start_with(run: Run, sid: int, build_id: str) -> rq.ActivityTaskToken:
    info = run.state.activity(sid)
    assert info is not None
    reply = run.send(
        rq.RecordActivityTaskStarted(sid, info.stamp, f"a{sid}", worker_version=stamp(build_id))
    )
    assert isinstance(reply, rq.ActivityTaskStarted)
    return reply.token


def test_an_activitys_started_event_carries_the_stamp_of_the_request_that_closed_it() -> None:
    """Completed or failed: the closing worker's stamp (not the poller's); timed out or
    cancelled: none, though a worker with a build id had started the attempt."""
    run = Run()
    for n in range(4):
        run.complete(activity(f"a{n}", attempts=1))
    sids = [e.event_id for e in run.events if e.event_type.name == "ACTIVITY_TASK_SCHEDULED"]
    done = _start_with(run, sids[0], "poller")
    run.send(rq.RespondActivityTaskCompleted(done, worker_version=stamp("closer")))
    failed = _start_with(run, sids[1], "poller")
    run.send(rq.RespondActivityTaskFailed(failed, error_type="X", worker_version=stamp("closer")))
    _start_with(run, sids[2], "poller")
    run.fire(rq.ActivityTimeoutTask, scheduled_event_id=sids[2])
    cancelled = _start_with(run, sids[3], "poller")
    run.complete(cancel(sids[3]))
    run.send(rq.RespondActivityTaskCanceled(cancelled))
    assert _started_stamps(run) == [stamp("closer"), stamp("closer"), None, None]


# --- runs on a Worker Deployment version (the dev server's lists: pinned.json) -------


def test_a_pinned_run_lists_its_version_first_and_no_sentinel() -> None:
    """`addBuildIdToLoadedSearchAttribute`: a run with a behavior gets no `unversioned`
    sentinel; a pinned one's `pinned:<deployment>:<build>` comes first."""
    pinned = RunVersioning(PINNED, V1)
    assert build_ids_after((), stamp("b1"), LIMIT, pinned) == ("pinned:dep:b1", "unversioned:b1")
    # the entry for the version it is pinned to now replaces an older pinned entry
    before = ("pinned:dep:b0", "unversioned:b0")
    assert build_ids_after(before, stamp("b1"), LIMIT, pinned) == (
        "pinned:dep:b1",
        "unversioned:b0",
        "unversioned:b1",
    )


def test_an_auto_upgrade_run_has_neither_sentinel_nor_pinned_entry() -> None:
    before = ("pinned:dep:b1", UNVERSIONED, "unversioned:b0")
    auto = RunVersioning(AUTO, V1)
    assert build_ids_after(before, stamp("b1"), LIMIT, auto) == ("unversioned:b0", "unversioned:b1")
    # with no stamp (an override change rewrites the list): only the pinned entry goes
    assert build_ids_after(before[:1] + before[2:], None, LIMIT, auto) == ("unversioned:b0",)


def _versioned_run(start: rq.StartVersioning | None = None) -> ServiceRun:
    return ServiceRun(
        rq.StartWorkflowExecution("default", "wf", "run-1", "Flow", "q", "start", versioning=start)
    )


def _completed_on_v1(run: ServiceRun, behavior: VersioningBehavior) -> None:
    options = rq.WorkerDeploymentOptions("dep", "b1", versioned=True)
    run.send(
        rq.RespondWorkflowTaskCompleted(
            run.poll(),
            (),
            worker_version=stamp("b1"),
            deployment_options=options,
            versioning_behavior=behavior,
        )
    )


def test_a_completion_on_a_version_writes_the_runs_behavior_into_build_ids() -> None:
    """A pinned completion, an auto-upgrade one, and an auto-upgrade one of a run started
    with a pinned override, in the run and its rebuild."""
    version: dict[str, JsonValue] = {"deploymentName": "dep", "buildId": "b1"}
    override = Opaque.of(
        {"pinned": {"behavior": "PINNED_OVERRIDE_BEHAVIOR_PINNED", "version": version}}
    )
    overridden = rq.StartVersioning(versioning_override=override)
    for start, behavior, expected in (
        (None, PINNED, ("pinned:dep:b1", "unversioned:b1")),
        (None, AUTO, ("unversioned:b1",)),
        (overridden, AUTO, ("pinned:dep:b1", "unversioned:b1")),
    ):
        run = _versioned_run(start)
        _completed_on_v1(run, behavior)
        rebuilt = rebuild(run.events, "default", "wf", "run-1", "start", 0).state
        for state in (run.state, rebuilt):
            assert state.build_ids == expected, (start, behavior)


def _options(run: ServiceRun, override: dict[str, JsonValue] | None) -> tuple[str, ...]:
    """Set (or, with None, unset) the run's override; its BuildIds after."""
    options: dict[str, JsonValue] = {"versioningOverride": override} if override else {}
    request = UpdateWorkflowExecutionOptions(Opaque.of(options), ("versioningOverride",))
    assert isinstance(run.send(request), OptionsUpdated)
    return run.state.build_ids


def test_an_override_that_changes_the_behavior_rewrites_build_ids() -> None:
    """`ApplyWorkflowExecutionOptionsUpdatedEvent`: an auto-upgrade override takes a
    pinned run's entry away; unsetting it brings the entry back."""
    run = _versioned_run()
    _completed_on_v1(run, PINNED)
    assert _options(run, {"autoUpgrade": True}) == ("unversioned:b1",)
    assert _options(run, None) == ("pinned:dep:b1", "unversioned:b1")
