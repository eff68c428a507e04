"""Version histories: which version wrote which stretch of a run's events, per branch.

A *version history* is a list of items ``(event_id, version)``, increasing in both: item
``(e, v)`` says the events after the previous item's event id up to `e` were written under
version `v`. A run keeps one per *branch* of its history, and an index saying which
branch is *current* (the one its mutable state follows). Branches of a run share a
prefix and part at their *lowest common ancestor* (LCA) item.

Rules (`common/persistence/versionhistory/version_history.go`, `version_histories.go`,
`version_history_item.go` in the Temporal server):

- **AddOrUpdate.** Appending item ``(e, v)`` to a history whose last item is
  ``(e', v')`` needs ``v >= v'`` and ``e > e'``; the same version extends the last item,
  a higher one adds an item (`AddOrUpdateVersionHistoryItem`). Anything else is an
  error: a lower version never follows a higher one on a branch.
- **Contains.** ``(e, v)`` is in a history iff some item has version `v` and `e` lies in
  its stretch (`ContainsVersionHistoryItem`).
- **LCA.** Walk both histories from the end: equal versions meet at the smaller event
  id; otherwise step back in the one with the higher version
  (`FindLCAVersionHistoryItemFromItemSlice`). No meeting point: malformed.
- **LCA among branches.** Against an incoming history, the local branch whose LCA has
  the greatest event id, ties going to the shorter branch (fewer items), is the one to
  extend (`FindLCAVersionHistoryItemFromItems`).
- **Appendable.** The incoming events continue a local branch iff the LCA is that
  branch's last item (`IsLCAVersionHistoryItemAppendable`); otherwise a new branch is
  forked at the LCA, its items copied up to it (`CopyVersionHistoryUntilLCAVersionHistoryItem`).
- **Order.** Histories compare by their last items: version first, then event id
  (`CompareVersionHistory`, `CompareVersionHistoryItem`).
- **New branch.** A new branch must start with the same first version as the current
  one (`AddVersionHistory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import BadInput
from core.fastinit import fast_init_all

FIRST_EVENT_ID = 1


@dataclass(frozen=True, slots=True, order=True)
class Item:
    """`VersionHistoryItem`: events up to `event_id` (from the previous item's) were
    written under `version`. Orders as `CompareVersionHistoryItem`: version, event id."""

    version: int
    event_id: int


Items = tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class VersionHistories:
    """`VersionHistories`: a run's branches and the index of the current one."""

    histories: tuple[Items, ...]
    current: int = 0

    @property
    def current_history(self) -> Items:
        return self.histories[self.current]


def item(event_id: int, version: int) -> Item:
    """``(event_id, version)`` in Temporal's argument order."""
    return Item(version, event_id)


def last_item(items: Items) -> Item:
    if not items:
        raise BadInput("version history is empty")
    return items[-1]


def add_or_update(items: Items, new: Item) -> Items:
    """`AddOrUpdateVersionHistoryItem`; `BadInput` on a lower version or event id."""
    if not items:
        return (new,)
    last = items[-1]
    if new.version < last.version:
        raise BadInput(
            f"cannot update version history with a lower version {new.version}, "
            f"last version {last.version}"
        )
    if new.event_id <= last.event_id:
        raise BadInput(
            f"cannot add version history with a lower event id {new.event_id}, "
            f"last event id {last.event_id}"
        )
    if new.version > last.version:
        return (*items, new)
    return (*items[:-1], new)


def contains(items: Items, wanted: Item) -> bool:
    """`ContainsVersionHistoryItem`."""
    previous = FIRST_EVENT_ID - 1
    for current in items:
        if wanted.version == current.version:
            if previous < wanted.event_id <= current.event_id:
                return True
        elif wanted.version < current.version:
            return False
        previous = current.event_id
    return False


def event_version(items: Items, event_id: int) -> int:
    """`GetVersionHistoryEventVersion`: the version event `event_id` was written under."""
    if not FIRST_EVENT_ID <= event_id <= last_item(items).event_id:
        raise BadInput(f"event id {event_id} is not in the version history")
    return next(i.version for i in items if event_id <= i.event_id)


def lca(a: Items, b: Items) -> Item:
    """`FindLCAVersionHistoryItemFromItemSlice`; `BadInput` when there is no joint point."""
    ia, ib = len(a) - 1, len(b) - 1
    while ia >= 0 and ib >= 0:
        x, y = a[ia], b[ib]
        if x.version == y.version:
            return y if x.event_id > y.event_id else x
        if x.version > y.version:
            ia -= 1
        else:
            ib -= 1
    raise BadInput("version history is malformed: no joint point found")


def find_lca_branch(histories: VersionHistories, incoming: Items) -> tuple[int, Item]:
    """`FindLCAVersionHistoryItemFromItems`: the local branch to extend with `incoming`
    (greatest LCA event id, ties to the branch with fewer items) and that LCA."""
    best: tuple[int, Item] | None = None
    best_length = 0
    for index, local in enumerate(histories.histories):
        common = lca(local, incoming)
        if (
            best is None
            or common.event_id > best[1].event_id
            or (common.event_id == best[1].event_id and len(local) < best_length)
        ):
            best, best_length = (index, common), len(local)
    if best is None:
        raise BadInput("a run has no version history")
    return best


def is_lca_appendable(items: Items, common: Item) -> bool:
    """`IsLCAVersionHistoryItemAppendable`: the LCA is the branch's last item."""
    return last_item(items) == common


def copy_until_lca(items: Items, common: Item) -> Items:
    """`CopyVersionHistoryUntilLCAVersionHistoryItem`: the items of a branch forked at
    `common`; `BadInput` if `items` does not contain it."""
    copied: Items = ()
    for current in items:
        if current.version < common.version:
            copied = add_or_update(copied, current)
        elif current.version == common.version and common.event_id <= current.event_id:
            return add_or_update(copied, common)
        else:
            break
    raise BadInput(f"version history does not contain the LCA item {common}")


def same_branch(a: Items, b: Items) -> bool:
    """`IsVersionHistoryItemsInSameBranch`: one history is a prefix of the other."""
    if not a or not b:
        return False
    try:
        common = lca(a, b)
    except BadInput:
        return False
    return common in (a[-1], b[-1])


def compare(a: Items, b: Items) -> int:
    """`CompareVersionHistory`: -1, 0 or 1 by the last items (version, then event id)."""
    x, y = last_item(a), last_item(b)
    return (x > y) - (x < y)


def add_branch(histories: VersionHistories, items: Items) -> tuple[VersionHistories, int]:
    """`AddVersionHistory`: a new (non-current) branch; its index."""
    first = last_item(items[:1]).version
    if first != last_item(histories.current_history[:1]).version:
        raise BadInput("version history first item does not match the current branch's")
    return VersionHistories((*histories.histories, items), histories.current), len(
        histories.histories
    )


def replace_branch(histories: VersionHistories, index: int, items: Items) -> VersionHistories:
    """`histories` with branch `index` holding `items`."""
    branches = histories.histories
    return VersionHistories((*branches[:index], items, *branches[index + 1 :]), histories.current)


def set_current(histories: VersionHistories, index: int) -> VersionHistories:
    """`SetCurrentVersionHistoryIndex`."""
    if not 0 <= index < len(histories.histories):
        raise BadInput(f"invalid current version history index {index}")
    return VersionHistories(histories.histories, index)


def items_of(pairs: Sequence[tuple[int, int]]) -> Items:
    """Items from ``(event_id, version)`` pairs, through `add_or_update` (so validated)."""
    built: Items = ()
    for event_id, version in pairs:
        built = add_or_update(built, item(event_id, version))
    return built


fast_init_all(globals())  # faster constructors for this module's values (core/fastinit.py)
