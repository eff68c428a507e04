"""The validator on the real corpus: every history valid, every mutant caught.

Mutants are generated from the recorded histories by `mutations.py`; each kind must be
reported with the rule it breaks, and each kind must apply to at least one history
of the corpus (so no mutation is silently never tried).
"""

from __future__ import annotations

import json

import pytest

from core.statemachine.history.validator import validate
from tests.conftest import HISTORIES, corpus_events, corpus_files
from tests.core.statemachine.history.mutations import MUTATIONS

NAMES = [p.name for p in corpus_files()]


def test_corpus_is_large_and_matches_its_manifest() -> None:
    on_disk = sorted(p.name for p in HISTORIES.glob("*.json") if p.name != "manifest.json")
    assert sorted(NAMES) == on_disk
    assert len(NAMES) >= 30
    manifest = json.loads((HISTORIES / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["histories"]:
        assert len(corpus_events(entry["file"])) == entry["events"], entry["file"]


@pytest.mark.parametrize("name", NAMES)
def test_every_real_history_is_valid(name: str) -> None:
    result = validate(corpus_events(name))
    assert result.violations == ()
    assert result.events == len(corpus_events(name))


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_every_mutant_is_caught_with_the_right_rule(kind: str) -> None:
    mutate, rule = MUTATIONS[kind]
    applied = 0
    for name in NAMES:
        mutant = mutate(corpus_events(name))
        if mutant is None:
            continue
        applied += 1
        rules = {v.rule for v in validate(mutant).violations}
        assert rule in rules, f"{kind} on {name}: expected {rule}, got {sorted(rules)}"
    assert applied > 0, f"mutation {kind} applies to no history of the corpus"
