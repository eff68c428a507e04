"""Failover versions (`common/cluster/metadata.go`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadInput
from core.statemachine.replication import versions as v

META = v.make_metadata(10, {"b": 2, "a": 1, "c": 3})


def test_metadata_is_validated() -> None:
    assert META.names == ("a", "b", "c")
    for bad in ({"a": 0}, {"a": 10}, {"a": 1, "b": 1}, {}):
        with pytest.raises(BadInput):
            v.make_metadata(10, bad)
    with pytest.raises(BadInput):
        v.make_metadata(1, {"a": 1})
    with pytest.raises(BadInput):
        META.initial_version("z")


def test_ownership_and_next_version() -> None:
    assert [v.cluster_for_version(META, x) for x in (1, 2, 3, 11, 22, 33)] == list("abcabc")
    assert v.next_failover_version(META, "a", 0) == 1
    assert v.next_failover_version(META, "b", 1) == 2
    assert v.next_failover_version(META, "a", 2) == 11
    assert v.next_failover_version(META, "a", 11) == 11
    assert v.same_cluster(META, 2, 22) and not v.same_cluster(META, 2, 21)
    with pytest.raises(BadInput):
        v.cluster_for_version(META, 0)
    with pytest.raises(BadInput):
        v.cluster_for_version(v.make_metadata(10, {"a": 1}), 5)
    assert not v.owns(META, "a", 0)


@given(st.sampled_from("abc"), st.integers(min_value=0, max_value=10_000))
def test_next_version_is_the_least_owned_not_below(cluster: str, current: int) -> None:
    nxt = v.next_failover_version(META, cluster, current)
    assert nxt >= current and v.owns(META, cluster, nxt)
    assert v.cluster_for_version(META, nxt) == cluster
    assert not any(v.owns(META, cluster, x) for x in range(current, nxt))
