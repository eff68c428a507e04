"""Version histories (`common/persistence/versionhistory/`): append rules, LCA, forks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadInput
from core.statemachine.replication import version_history as vh

I = vh.item  # noqa: E741 - (event_id, version), as Temporal writes it


def test_add_or_update() -> None:
    items = vh.items_of([(3, 1)])
    assert vh.add_or_update(items, I(5, 1)) == (I(5, 1),)
    assert vh.add_or_update(items, I(5, 2)) == (I(3, 1), I(5, 2))
    with pytest.raises(BadInput, match="lower version"):
        vh.add_or_update(vh.items_of([(3, 2)]), I(5, 1))
    with pytest.raises(BadInput, match="lower event id"):
        vh.add_or_update(items, I(3, 2))


def test_contains_and_event_version() -> None:
    items = vh.items_of([(3, 1), (5, 2), (9, 12)])
    assert vh.contains(items, I(1, 1)) and vh.contains(items, I(4, 2))
    assert vh.contains(items, I(9, 12))
    assert not vh.contains(items, I(4, 1)) and not vh.contains(items, I(10, 12))
    assert not vh.contains(items, I(2, 3))
    assert [vh.event_version(items, e) for e in (1, 3, 4, 5, 6, 9)] == [1, 1, 2, 2, 12, 12]
    with pytest.raises(BadInput):
        vh.event_version(items, 10)


def test_lca_examples_and_malformed() -> None:
    a = vh.items_of([(3, 1), (5, 2)])
    b = vh.items_of([(4, 1), (6, 3)])
    assert vh.lca(a, b) == I(3, 1)
    assert vh.lca(a, vh.items_of([(5, 2)])) == I(5, 2)
    with pytest.raises(BadInput, match="no joint point"):
        vh.lca(vh.items_of([(3, 1)]), vh.items_of([(3, 2)]))
    assert vh.same_branch(a, vh.items_of([(2, 1)]))
    assert not vh.same_branch(a, b)
    assert not vh.same_branch(a, vh.items_of([(3, 7)]))
    assert not vh.same_branch((), a)


def test_fork_copy_and_branch_choice() -> None:
    a = vh.items_of([(3, 1), (5, 2)])
    assert vh.copy_until_lca(a, I(2, 1)) == (I(2, 1),)
    assert vh.copy_until_lca(a, I(4, 2)) == (I(3, 1), I(4, 2))
    with pytest.raises(BadInput):
        vh.copy_until_lca(a, I(6, 2))
    with pytest.raises(BadInput):
        vh.copy_until_lca(a, I(2, 7))
    histories = vh.VersionHistories((a, vh.items_of([(3, 1), (4, 3)])))
    # ties on the LCA's event id go to the branch with fewer items
    short = vh.VersionHistories((a, vh.items_of([(3, 1)])))
    assert vh.find_lca_branch(short, vh.items_of([(3, 1), (7, 4)])) == (1, I(3, 1))
    assert vh.find_lca_branch(histories, vh.items_of([(3, 1), (6, 3)])) == (1, I(4, 3))
    assert vh.is_lca_appendable(a, I(5, 2)) and not vh.is_lca_appendable(a, I(3, 1))
    added, index = vh.add_branch(histories, vh.items_of([(2, 1)]))
    assert (
        index == 2 and added.current == 0 and vh.set_current(added, 2).current_history == (I(2, 1),)
    )
    with pytest.raises(BadInput):
        vh.add_branch(histories, vh.items_of([(2, 5)]))
    with pytest.raises(BadInput):
        vh.set_current(histories, 2)
    assert vh.compare(a, histories.histories[1]) == -1 and vh.compare(a, a) == 0
    with pytest.raises(BadInput):
        vh.last_item(())


versions = st.integers(min_value=1, max_value=9)


@st.composite
def two_branches(draw: st.DrawFn, both: bool = False) -> tuple[list[int], list[int], list[int]]:
    """Per-event versions of a shared prefix and of two suffixes written after it by
    different versions (the versions of the two suffixes never meet); `both`: neither
    suffix is empty."""
    prefix = sorted(draw(st.lists(versions, min_size=1, max_size=6)))
    later = st.integers(min_value=prefix[-1], max_value=14)
    pool = draw(st.lists(later, unique=True, min_size=2 if both else 0, max_size=6))
    sides = draw(st.lists(st.booleans(), min_size=len(pool), max_size=len(pool)))
    if both:
        sides[0], sides[1] = True, False
    suffixes: tuple[list[int], list[int]] = ([], [])
    for version, side in sorted(zip(pool, sides, strict=True)):
        suffixes[0 if side else 1].extend([version] * draw(st.integers(1, 2)))
    return prefix, suffixes[0], suffixes[1]


def items_from(event_versions: list[int]) -> vh.Items:
    return vh.items_of([(i + 1, version) for i, version in enumerate(event_versions)])


@given(two_branches())
def test_lca_is_the_fork_point(case: tuple[list[int], list[int], list[int]]) -> None:
    prefix, suffix_a, suffix_b = case
    a, b = items_from(prefix + suffix_a), items_from(prefix + suffix_b)
    common = vh.lca(a, b)
    assert common == vh.lca(b, a)
    assert common == I(len(prefix), prefix[-1])
    assert vh.contains(a, common) and vh.contains(b, common)
    assert vh.lca(a, a) == a[-1]
    fork = vh.copy_until_lca(a, common)
    assert fork == items_from(prefix)
    assert vh.is_lca_appendable(fork, vh.lca(fork, b))
    assert vh.same_branch(a, b) == (not suffix_a or not suffix_b)


@given(two_branches(both=True))
def test_branch_choice_prefers_the_deepest_lca(
    case: tuple[list[int], list[int], list[int]],
) -> None:
    prefix, suffix_a, suffix_b = case
    a, b = items_from(prefix + suffix_a), items_from(prefix + suffix_b)
    histories = vh.VersionHistories((items_from(prefix[:1]), a))
    index, common = vh.find_lca_branch(histories, b)
    assert common == I(len(prefix), prefix[-1])
    assert index == (1 if len(prefix) > 1 else 0)
