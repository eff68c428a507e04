"""Worker Deployments: the routing rule, the registry and routing as the dev server's.

Matching's routing rule, core/statemachine/matching/versioning.py, sends a ramp's
workflows by the FarmHash of their ids; core/statemachine/matching/run_versioning.py
reads a run's versioning from its history; `tmodel serve` keeps the deployments
(adapters/serve/deployments.py, rpc_deployments.py) and routes tasks by version. The
fixtures are the dev server's (recorded by deployments_drive.py): ramp.json, where 24
workflow ids went at a 50% ramp; answers.json, the registry's answers and errors and
where pinned, auto-upgrade and overridden runs and their queries went. The served
tests replay both scenarios against `tmodel serve`; the slow tests record them again.
"""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from adapters.serve.deployments import Deployments, physical_queue
from adapters.serve.errors import ServiceError
from adapters.serve.limits import POLLER_TTL
from core import requests as rq
from core.commands.workflow import ContinueAsNewWorkflowExecutionCommandAttributes
from core.enums import ContinueAsNewVersioningBehavior, VersioningBehavior
from core.errors import BadInput
from core.events import (
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)
from core.opaque import JsonValue, Opaque
from core.statemachine import matching as m
from core.statemachine.history.service import versioning
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.versioning_state import (
    TargetSeen,
    VersioningInfo,
    version_json,
)
from core.statemachine.matching.run_versioning import (
    RunVersioning,
    run_versioning,
    sticky_refused,
    task_version,
)
from core.statemachine.matching.versioning import (
    DeploymentVersion,
    RoutingConfig,
    as_float32,
    ramp_threshold,
    target_version,
)
from sim.nodes.base import task_queue
from tests.adapters.serve.deployments_chain_drive import CHAINS, chains
from tests.adapters.serve.deployments_drive import (
    ANSWERS,
    PERCENTAGE,
    RAMP,
    WORKFLOW_IDS,
    answers,
    observe,
)
from tests.adapters.serve.deployments_meta_drive import METADATA, metadata
from tests.adapters.serve.deployments_options_drive import OPTIONS, options
from tests.adapters.serve.sdk import connected

V1 = DeploymentVersion("d", "1.0")
V2 = DeploymentVersion("d", "2.0")


def _recorded() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(RAMP.read_text(encoding="utf-8"))
    return recorded


def test_a_ramp_sends_each_workflow_where_the_dev_server_did() -> None:
    recorded = _recorded()
    runs = recorded["runs"]
    assert isinstance(runs, dict) and sorted(runs) == sorted(WORKFLOW_IDS)
    routing = RoutingConfig(current=V1, ramping=V2, ramping_percentage=PERCENTAGE)
    chosen = {wid: target_version(routing, wid) for wid in WORKFLOW_IDS}
    assert {wid: v.build_id for wid, v in chosen.items() if v is not None} == runs
    # the recording shows both versions, so it tells a ramp from a plain current version
    assert set(runs.values()) == {"1.0", "2.0"}


def test_no_ramp_and_a_full_ramp_ignore_the_workflow_id() -> None:
    for wid in WORKFLOW_IDS:
        assert target_version(RoutingConfig(V1, V2, 0.0), wid) == V1
        assert target_version(RoutingConfig(V1, V2, -1.0), wid) == V1
        assert target_version(RoutingConfig(V1, V2, 100.0), wid) == V2
        assert target_version(RoutingConfig(None, V2, 100.0), wid) == V2
        assert target_version(RoutingConfig(V1, None, 100.0), wid) is None  # to unversioned
        assert target_version(RoutingConfig(None, None, 0.0), wid) is None


def test_a_run_on_the_ramping_version_stays_on_it() -> None:
    # the ids the 50% ramp sent to the current version still go to the ramping one
    on_current = [wid for wid in WORKFLOW_IDS if ramp_threshold(wid) > PERCENTAGE]
    assert on_current
    for wid in on_current:
        routing = RoutingConfig(V1, V2, PERCENTAGE)
        assert target_version(routing, wid) == V1
        assert target_version(routing, wid, use_ramping=True) == V2
        assert target_version(RoutingConfig(V1, None, PERCENTAGE), wid, use_ramping=True) == V1


def _next_float32(value: float) -> float:
    (bits,) = struct.unpack("<I", struct.pack("<f", value))
    (after,) = struct.unpack("<f", struct.pack("<I", bits + 1))
    return float(after)


def test_the_percentage_is_compared_as_the_servers_float32() -> None:
    # RoutingConfig.ramping_version_percentage is a protobuf float: a percentage just
    # above an id's threshold that rounds to the float32 below it does not ramp the id
    found = 0
    for wid in WORKFLOW_IDS:
        threshold = ramp_threshold(wid)
        below = as_float32(threshold)
        middle = (below + _next_float32(below)) / 2
        if not below < threshold < middle:
            continue
        percentage = (threshold + middle) / 2
        assert percentage > threshold and as_float32(percentage) == below
        assert target_version(RoutingConfig(V1, V2, percentage), wid) == V1
        found += 1
    assert found  # some recorded ids sit just above a float32


def test_an_empty_workflow_id_is_refused_not_drawn() -> None:
    with pytest.raises(BadInput):
        ramp_threshold("")


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_ramp_is_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await observe(await connected(dev_address))

    assert asyncio.run(run()) == _recorded()


def test_served_ramp_sends_each_workflow_where_the_dev_server_did(address: str) -> None:
    async def run() -> dict[str, object]:
        return await observe(await connected(address))

    assert asyncio.run(run()) == _recorded()


def _answers() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(ANSWERS.read_text(encoding="utf-8"))
    return recorded


def test_served_registry_and_routing_answer_as_the_dev_server(address: str) -> None:
    async def run() -> dict[str, object]:
        return await answers(await connected(address))

    seen = asyncio.run(run())
    recorded = _answers()
    assert seen == recorded
    # the recording tells routing apart: the pinned run stayed on 1.0 and the
    # auto-upgrade one moved to 2.0, and the override pinned a run 2.0 would have had
    assert recorded["results"] == ["1.0", "2.0", "1.0"]


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_answers_are_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await answers(await connected(dev_address))

    assert asyncio.run(run()) == _answers()


def _version(v: DeploymentVersion) -> Opaque:
    return Opaque.of({"buildId": v.build_id, "deploymentName": v.deployment_name})


def _started(**fields: object) -> HistoryEvent:
    attributes = WorkflowExecutionStartedEventAttributes(**fields)  # type: ignore[arg-type]
    return HistoryEvent(1, attributes.EVENT_TYPE, attributes)


def _completed(event_id: int, behavior: VersioningBehavior, v: DeploymentVersion) -> HistoryEvent:
    attributes = WorkflowTaskCompletedEventAttributes(
        versioning_behavior=behavior, deployment_version=_version(v)
    )
    return HistoryEvent(event_id, attributes.EVENT_TYPE, attributes)


def test_the_last_completion_sets_a_runs_versioning() -> None:
    assert run_versioning([_started()]) == RunVersioning()
    events = [_started(), _completed(4, VersioningBehavior.PINNED, V1)]
    assert run_versioning(events).pinned == V1
    events.append(_completed(8, VersioningBehavior.AUTO_UPGRADE, V2))
    assert run_versioning(events) == RunVersioning(VersioningBehavior.AUTO_UPGRADE, V2)


def test_an_override_wins_over_the_completions() -> None:
    pinned = Opaque.of(
        {
            "pinned": {
                "behavior": "PINNED_OVERRIDE_BEHAVIOR_PINNED",
                "version": {"deploymentName": "d", "buildId": "1.0"},
            }
        }
    )
    older = Opaque.of({"behavior": "VERSIONING_BEHAVIOR_PINNED", "pinnedVersion": "d.1.0"})
    upgrade = Opaque.of({"autoUpgrade": True})
    done = _completed(4, VersioningBehavior.AUTO_UPGRADE, V2)
    for override in (pinned, older):
        assert run_versioning([_started(versioning_override=override), done]).pinned == V1
    run = run_versioning([_started(versioning_override=upgrade), done])
    assert run.behavior is VersioningBehavior.AUTO_UPGRADE and run.pinned is None


def test_an_inherited_version_routes_the_first_task() -> None:
    routing = RoutingConfig(V1, V2, 0.0)
    inherited = run_versioning([_started(inherited_pinned_version=_version(V2))])
    assert task_version(inherited, routing, "w") == V2
    info: dict[str, JsonValue] = {
        "sourceDeploymentVersion": {"deploymentName": "d", "buildId": "1.0"}
    }
    upgrade = run_versioning([_started(inherited_auto_upgrade_info=Opaque.of(info))])
    assert task_version(upgrade, routing, "w") == V1
    ramping: dict[str, JsonValue] = {
        **info,
        "continueAsNewInitialVersioningBehavior": (
            "CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_USE_RAMPING_VERSION"
        ),
    }
    on_ramp = run_versioning([_started(inherited_auto_upgrade_info=Opaque.of(ramping))])
    assert task_version(on_ramp, routing, "w") == V2
    # the first completion ends the inheritance
    done = [
        _started(inherited_pinned_version=_version(V2)),
        _completed(4, VersioningBehavior.AUTO_UPGRADE, V1),
    ]
    assert task_version(run_versioning(done), RoutingConfig(V1), "w") == V1


def test_a_sticky_task_is_refused_only_when_an_unpinned_runs_target_moved() -> None:
    moved = RoutingConfig(V2)
    assert sticky_refused(RunVersioning(VersioningBehavior.AUTO_UPGRADE, V1), moved, "w")
    assert not sticky_refused(RunVersioning(VersioningBehavior.AUTO_UPGRADE, V2), moved, "w")
    assert not sticky_refused(RunVersioning(VersioningBehavior.PINNED, V1), moved, "w")
    assert not sticky_refused(RunVersioning(), moved, "w")  # never ran on a version


class _Runs:
    """A runtime's `record` for Deployments.route: one run's events."""

    def __init__(self, events: list[HistoryEvent]) -> None:
        self.events = events

    def record(self, namespace: str, workflow_id: str, run_id: str = "") -> _Runs:
        return self


def test_a_pinned_runs_activity_on_a_queue_its_version_does_not_poll_goes_by_that_queue() -> None:
    registry = Deployments(lambda: 1)
    other = DeploymentVersion("other", "7")
    registry.note_poller("default", V1, "workflows", 1)
    registry.note_poller("default", other, "activities", 2)
    registry.set_current("default", "other", "7", b"", "")
    runtime = _Runs([_started(), _completed(4, VersioningBehavior.PINNED, V1)])

    def routed(queue: str, kind: m.TaskKind) -> str | None:
        task = m.MatchingTask("default", "w", "r", 5, 1, kind)
        out = registry.route(runtime, task_queue(queue, kind, namespace="default"), task)
        return out.name if out is not None else None

    assert routed("workflows", m.TaskKind.WORKFLOW) == physical_queue("workflows", V1)
    assert routed("activities", m.TaskKind.ACTIVITY) == physical_queue("activities", other)


def test_a_version_unpolled_for_five_minutes_may_be_deleted() -> None:
    clock = [0]
    registry = Deployments(lambda: clock[0])
    registry.note_poller("default", V1, "q", 1)
    registry.note_poller("default", V2, "q", 1)
    registry.set_current("default", "d", "2.0", b"", "")
    with pytest.raises(ServiceError, match="active pollers"):
        registry.delete_version("default", "d", "1.0", False)
    clock[0] = POLLER_TTL  # the last poll is exactly five minutes old: gone from history
    registry.delete_version("default", "d", "1.0", False)
    assert list(registry.by_name[("default", "d")].versions) == ["2.0"]
    assert registry.routing_of_queue("default", "q") == RoutingConfig(V2)
    registry.set_current("default", "d", "", b"", "")
    clock[0] = 2 * POLLER_TTL
    registry.delete_version("default", "d", "2.0", True)  # draining, skipped
    assert registry.routing_of_queue("default", "q") is None  # the queue left the deployment
    registry.delete_deployment("default", "d")
    assert not registry.by_name


def _chains() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(CHAINS.read_text(encoding="utf-8"))
    return recorded


def test_served_continue_as_new_passes_versioning_on_as_the_dev_server(address: str) -> None:
    async def run() -> dict[str, object]:
        return await chains(await connected(address))

    seen = asyncio.run(run())
    recorded = _chains()
    assert seen == recorded
    # the recording tells the chains apart: the pinned run that was told of 2.0 and
    # continued with no initial behavior stayed on 1.0, the others moved to 2.0
    results = {kind: chain["result"] for kind, chain in recorded.items()}  # type: ignore[index]
    assert results == {"Auto": "1.0", "Pinned": "1.0", "Ramping": "2.0", "Upgrade": "2.0"}


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_chains_are_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await chains(await connected(dev_address))

    assert asyncio.run(run()) == _chains()


def _metadata() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(METADATA.read_text(encoding="utf-8"))
    return recorded


def test_served_version_metadata_and_manager_answer_as_the_dev_server(address: str) -> None:
    async def run() -> dict[str, object]:
        return await metadata(await connected(address))

    seen = asyncio.run(run())
    recorded = _metadata()
    assert seen == recorded
    # the recording tells a named manager apart: another identity's Set was refused
    refused = recorded["current by another"]
    assert isinstance(refused, dict) and refused["status"] == "FAILED_PRECONDITION"


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_metadata_answers_are_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await metadata(await connected(dev_address))

    assert asyncio.run(run()) == _metadata()


def _options() -> dict[str, object]:
    recorded: dict[str, object] = json.loads(OPTIONS.read_text(encoding="utf-8"))
    return recorded


def test_served_options_update_sets_and_unsets_an_override_as_the_dev_server(
    address: str,
) -> None:
    async def run() -> dict[str, object]:
        return await options(await connected(address))

    seen = asyncio.run(run())
    recorded = _options()
    assert seen == recorded
    # the recording tells the override apart: a query after 2.0 was made current still
    # ran on 1.0, and once the override was unset the run finished on 2.0
    assert (recorded["query after 2.0"], recorded["result"]) == ("1.0", "2.0")


@pytest.mark.slow
@pytest.mark.ci_sample
def test_the_recorded_options_answers_are_the_dev_servers(dev_address: str) -> None:
    async def run() -> dict[str, object]:
        return await options(await connected(dev_address))

    assert asyncio.run(run()) == _options()


# -- history's side: the target-version flag and what a continue-as-new passes on ------


def _pinned(**fields: object) -> VersioningInfo:
    return VersioningInfo(behavior=VersioningBehavior.PINNED, version=V1, **fields)  # type: ignore[arg-type]


def _start(target: DeploymentVersion | None, revision: int) -> rq.RecordWorkflowTaskStarted:
    given = version_json(target) if target is not None else None
    return rq.RecordWorkflowTaskStarted(2, 1, "r", target_version=given, target_revision=revision)


def test_a_pinned_run_is_told_once_its_target_moves_and_until_it_is_back() -> None:
    info, changed = versioning.started(_pinned(), _start(V1, 1))
    assert not changed and info == _pinned()
    info, changed = versioning.started(info, _start(V2, 4))
    assert changed and info is not None and info.notified == TargetSeen(V2, 4)
    told, changed = versioning.started(info, _start(V2, 4))  # later tasks say so too
    assert changed and told == info
    # an older revision leaves the run as it was: told
    assert versioning.started(info, _start(V2, 3)) == (info, True)
    back, changed = versioning.started(info, _start(V1, 5))
    assert not changed and back is not None and back.notified is None


def test_a_declined_upgrade_is_not_told_again_but_a_newer_one_is() -> None:
    declined = _pinned(declined=TargetSeen(V2, 4))
    info, changed = versioning.started(declined, _start(V2, 4))
    assert not changed and info == declined
    info, changed = versioning.started(declined, _start(V2, 5))
    assert changed and info is not None and info.declined is None


def test_an_override_or_auto_upgrade_is_never_told() -> None:
    override = Opaque.of({"autoUpgrade": True})
    overridden = _pinned(override=override, notified=TargetSeen(V2, 4))
    info, changed = versioning.started(overridden, _start(V2, 4))
    assert not changed and info is not None and info.notified is None
    upgrading = VersioningInfo(behavior=VersioningBehavior.AUTO_UPGRADE, version=V1)
    assert versioning.started(upgrading, _start(V2, 4)) == (upgrading, False)
    # a queue in no deployment (revision 0) tells nothing
    assert versioning.started(_pinned(), _start(V2, 0)) == (_pinned(), False)


def _state(info: VersioningInfo | None) -> MutableState:
    return MutableState("default", "w", "r", "T", "q", 0, 10, 0, 0, versioning=info)


def _can(
    initial: ContinueAsNewVersioningBehavior,
) -> ContinueAsNewWorkflowExecutionCommandAttributes:
    return ContinueAsNewWorkflowExecutionCommandAttributes(initial_versioning_behavior=initial)


def test_a_continue_as_new_passes_on_a_pinned_version_or_auto_upgrade_info() -> None:
    none, auto = (
        ContinueAsNewVersioningBehavior.UNSPECIFIED,
        ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
    )
    told = _state(_pinned(revision=1, notified=TargetSeen(V2, 4)))
    kept = versioning.continued(told, _can(none), "q")
    assert kept is not None and kept.inherited_auto_upgrade_info is None
    assert kept.inherited_pinned_version == version_json(V1)
    assert kept.declined_target_version_upgrade == TargetSeen(V2, 4).json()
    moved = versioning.continued(told, _can(auto), "q")
    assert moved is not None and moved.inherited_pinned_version is None
    assert moved.declined_target_version_upgrade is None
    assert moved.inherited_auto_upgrade_info == Opaque.of(
        {
            "sourceDeploymentVersion": {"buildId": "1.0", "deploymentName": "d"},
            "sourceDeploymentRevisionNumber": "1",
            "continueAsNewInitialVersioningBehavior": (
                "CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE"
            ),
        }
    )
    upgrading = _state(VersioningInfo(behavior=VersioningBehavior.AUTO_UPGRADE, version=V1))
    assert versioning.continued(upgrading, _can(none), "q") is None  # no revision: no info
    assert versioning.continued(told, _can(none), "elsewhere") is None  # another queue
    assert versioning.continued(_state(None), _can(auto), "q") is None  # unversioned
