"""The fuzz suite: mutated real histories and repro files through every command that
reads a file, checking the CLI contract (tests/fuzz/harness.py `problems`): exit 0, 1
or 2, a one-line reason on exit 2, no traceback, no hang, bounded memory.

The default run takes a fixed (derandomized) sample, so it is the same on every run;
``pytest -m slow tests/fuzz`` runs a long random campaign. Whatever either finds is
fixed and its mutant kept in tests/fuzz/regressions/ (test_regressions.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import Workers, describe, problems
from tests.fuzz.mutations import mutants
from tests.fuzz.targets import TARGETS, Target

# Examples per command: the default run (about a minute in all on two cores) and -m slow.
SAMPLE = {"validate": 400, "replay": 800, "simulate --repro": 40, "tlc --trace": 4}
CAMPAIGN = {"validate": 4000, "replay": 4000, "simulate --repro": 400, "tlc --trace": 60}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _fuzz(target: Target, examples: int, fixed: bool, workers: Workers, scratch: Path) -> None:
    worker = workers.get(target.memory_bytes)
    documents = target.documents()
    path = scratch / "mutant.json"
    cases = st.sampled_from(sorted(documents)).flatmap(
        lambda name: st.tuples(st.just(name), mutants(documents[name]))
    )

    @settings(
        max_examples=examples,
        derandomize=fixed,  # the default run's sample is the same every time
        deadline=None,  # the harness enforces each command's own time limit
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(cases)
    def keeps_the_contract(case: tuple[str, bytes]) -> None:
        name, data = case
        path.write_bytes(data)
        outcome = worker.run(target.argv(name, str(path)), timeout=2 * target.seconds)
        found = problems(outcome, target.seconds)
        assert not found, describe(outcome, found)

    keeps_the_contract()


@pytest.mark.parametrize("command", sorted(SAMPLE))
def test_a_fixed_sample_of_mutants_keeps_the_contract(
    command: str, workers: Workers, scratch: Path
) -> None:
    _fuzz(TARGETS[command], SAMPLE[command], True, workers, scratch)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(CAMPAIGN))
def test_a_long_random_campaign_keeps_the_contract(
    command: str, workers: Workers, scratch: Path
) -> None:
    _fuzz(TARGETS[command], CAMPAIGN[command], False, workers, scratch)
