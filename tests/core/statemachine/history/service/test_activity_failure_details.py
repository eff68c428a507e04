"""An activity's failure may carry the attempt's last heartbeat details (a worker that
throttles heartbeats sends the pending one with the failure): the history service saves
them as the activity's progress before it retries (`UpdateActivityProgress` in
service/history/api/respondactivitytaskfailed/api.go), so the next attempt starts with
them. The real server's heartbeat-details.json shows it: the third attempt's
lastFailure says the second attempt resumed from the first attempt's last step, which
only the failure had carried."""

from __future__ import annotations

from core import requests as rq
from core.opaque import Opaque
from tests.core.statemachine.coverage_scenarios import Run, activity

S = 10**9


def _failed_once(details: Opaque | None, beat: Opaque | None) -> Run:
    run = Run()
    run.complete(activity("a", 0, 60 * S))
    (info,) = run.state.activities
    token = run.start_activity(info.scheduled_event_id)
    if beat is not None:
        run.send(rq.RecordActivityTaskHeartbeat(token, beat))
    failure = Opaque.of({"message": "failed after step 2"})
    run.send(rq.RespondActivityTaskFailed(token, failure, "X", last_heartbeat_details=details))
    return run


def test_a_failures_heartbeat_details_reach_the_retry() -> None:
    step_1 = Opaque.of({"payloads": [{"data": "MQ=="}]})
    step_2 = Opaque.of({"payloads": [{"data": "Mg=="}]})
    run = _failed_once(step_2, step_1)
    (info,) = run.state.activities
    assert info.attempt == 2 and info.heartbeat_details == step_2
    run.check()


def test_a_failure_without_details_keeps_the_last_heartbeat() -> None:
    step_1 = Opaque.of({"payloads": [{"data": "MQ=="}]})
    (info,) = _failed_once(None, step_1).state.activities
    assert info.attempt == 2 and info.heartbeat_details == step_1
