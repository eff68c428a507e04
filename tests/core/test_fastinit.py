"""`core.fastinit`: the faster constructor builds exactly what the dataclass one builds,
keeps the class frozen, and leaves alone what it cannot mirror."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import core
from core.fastinit import (
    OPENED_FROM,
    copier_into,
    fast_init,
    fast_init_all,
    replace,
    slot_copier,
)


def _classes() -> tuple[type, type]:
    """A fresh pair (a class with a default, a subclass with a __post_init__)."""

    @dataclass(frozen=True, slots=True)
    class Base:
        a: int
        b: str = "b"

    @dataclass(frozen=True, slots=True)
    class Child(Base):
        c: tuple[int, ...] = ()
        checked: bool = False

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must not be negative")
            object.__setattr__(self, "checked", True)

    return Base, Child


def _twins() -> tuple[type, type]:
    """The subclass with its dataclass __init__, and a twin given the fast one."""
    _, slow = _classes()
    _, fast = _classes()
    assert fast_init(fast)
    return slow, fast


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x"), {}), ((1,), {"c": (2, 3)}), ((), {"a": 5, "b": "y", "c": (1,)})],
)
def test_the_fast_constructor_builds_what_the_dataclass_one_builds(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    slow, fast = _twins()
    plain, made = slow(*args, **kwargs), fast(*args, **kwargs)
    assert dataclasses.astuple(made) == dataclasses.astuple(plain)
    assert made.checked  # __post_init__ ran, after the fields were set
    assert made.__init__.__doc__ != plain.__init__.__doc__  # and it was the fast one
    assert inspect.signature(fast).parameters.keys() == inspect.signature(slow).parameters.keys()


def test_the_fast_constructor_refuses_what_the_dataclass_one_refuses() -> None:
    _, fast = _twins()
    for args, kwargs in [((), {}), ((1,), {"nope": 2}), ((1, "b", (), False, 9), {})]:
        with pytest.raises(TypeError):
            fast(*args, **kwargs)
    with pytest.raises(ValueError, match="negative"):
        fast(-1)  # __post_init__ still checks
    made = fast(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 2  # still frozen


def test_a_class_with_no_fields_gets_a_constructor_too() -> None:
    @dataclass(frozen=True, slots=True)
    class Empty:
        pass

    assert fast_init(Empty)
    assert Empty() == Empty()


def test_what_cannot_be_mirrored_keeps_the_dataclass_constructor() -> None:
    @dataclass(frozen=True, slots=True)
    class Factory:
        items: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    class NotADataclass:
        pass

    for cls in (Factory, KeywordOnly, Mutable, NoSlots, NotADataclass):
        before = cls.__init__
        assert not fast_init(cls)
        assert cls.__init__ is before


def test_fast_init_all_takes_only_the_module_own_classes() -> None:
    base, _ = _classes()
    assert fast_init_all({"__name__": "elsewhere", "Base": base}) == 0
    namespace = {"__name__": __name__, "Base": base, "dataclass": dataclass, "x": 1}
    assert fast_init_all(namespace) == 1
    assert "fastinit" in (vars(base)["__init__"].__doc__ or "")


def test_every_frozen_slotted_value_in_core_is_sped_up() -> None:
    """A module that forgets its `fast_init_all(globals())` line loses the speed-up."""
    slow = []
    for info in pkgutil.walk_packages(core.__path__, "core."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == info.name
                and dataclasses.is_dataclass(value)
                and value.__dataclass_params__.frozen  # type: ignore[attr-defined]
                and "__slots__" in value.__dict__
                and all(
                    f.init and f.default_factory is dataclasses.MISSING
                    for f in dataclasses.fields(value)
                )
                and "fastinit" not in (value.__init__.__doc__ or "")
            ):
                slow.append(f"{info.name}.{value.__qualname__}")
    assert not slow, f"add fast_init_all(globals()) to their modules: {sorted(slow)[:10]}"


def test_slot_copier_copies_every_field() -> None:
    _, child = _classes()
    copy = slot_copier(child)
    source = child(3, "x", (1, 2))
    target: object = object.__new__(child)
    copy(source, target)
    assert target == source and target is not source

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    with pytest.raises(TypeError, match="not stored in a slot"):
        slot_copier(NoSlots)


def test_copier_into_copies_every_field_into_a_frozen_target() -> None:
    _, child = _classes()

    class Sub(child):  # type: ignore[valid-type,misc]  # no slots of its own
        __slots__ = ()

    source = child(3, "x", (1, 2))
    for target in (child, Sub):
        copy: Callable[[object], object] = copier_into(child, target)
        made = copy(source)
        assert type(made) is target and made is not source
        assert [getattr(made, f.name) for f in dataclasses.fields(child)] == [3, "x", (1, 2), True]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, "a", 4)  # noqa: B010 - the frozen hook must refuse it
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(made, "a")

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    with pytest.raises(TypeError, match="not stored in a slot"):
        copier_into(NoSlots, NoSlots)


@pytest.mark.parametrize(
    "changes", [{}, {"a": 7}, {"b": "z", "c": (4,)}, {"a": 1, "checked": False}]
)
def test_replace_builds_what_dataclasses_replace_builds(changes: dict[str, object]) -> None:
    slow, fast = _twins()
    plain: Any = slow(2, "x", (1,))
    made: Any = fast(2, "x", (1,))
    expected = dataclasses.replace(plain, **changes)
    got = replace(made, **changes)
    assert dataclasses.astuple(got) == dataclasses.astuple(expected)
    assert got.checked  # built by the constructor: __post_init__ ran again
    assert type(got) is fast and got is not made


def test_replace_refuses_what_dataclasses_replace_refuses() -> None:
    slow, fast = _twins()
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(fast(1), nope=2)
    with pytest.raises(ValueError, match="negative"):
        replace(fast(1), a=-1)  # __post_init__ still checks
    with pytest.raises(TypeError, match="no fast constructor"):
        replace(slow(1), a=2)  # a class without fast_init's constructor


def _wide(fields: int) -> tuple[Any, Any]:
    """A class with `fields` fields (the first required), dataclass- and fast-built."""
    spec: list[Any] = [("f0", int)]
    spec += [(f"f{i}", int, field(default=i)) for i in range(1, fields)]
    slow = dataclasses.make_dataclass("Wide", spec, frozen=True, slots=True)
    fast = dataclasses.make_dataclass("Wide", spec, frozen=True, slots=True)
    assert fast_init(fast)
    return slow, fast


@pytest.mark.parametrize("fields", range(1, 2 * OPENED_FROM + 1))
def test_either_way_of_storing_builds_what_the_dataclass_constructor_builds(fields: int) -> None:
    slow, fast = _wide(fields)
    opened = "__fi_open" in fast.__init__.__code__.co_names
    assert opened == (fields >= OPENED_FROM)  # both ways are exercised
    for args in [(7,), tuple(range(10, 10 + fields))]:
        plain, made = slow(*args), fast(*args)
        assert type(made) is fast  # never left in the opened class
        assert dataclasses.astuple(made) == dataclasses.astuple(plain)
        assert made == fast(*args) and hash(made) == hash(fast(*args))
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.f0 = 1
    with pytest.raises(TypeError):
        fast()  # f0 is required


def test_a_subclass_that_inherits_the_constructor_keeps_its_class() -> None:
    _, fast = _wide(OPENED_FROM + 2)

    class Sub(fast):  # type: ignore[valid-type,misc]  # not a dataclass of its own
        pass

    made = Sub(1, 2)
    assert type(made) is Sub
    assert [made.f0, made.f1, made.f2] == [1, 2, 2]


def test_values_built_the_fast_way_pickle_and_copy() -> None:
    made = _Pickled(1, "x", (2, 3), True, None)
    assert "__fi_open" in _Pickled.__init__.__code__.co_names
    for back in (pickle.loads(pickle.dumps(made)), copy.copy(made), copy.deepcopy(made)):
        assert type(back) is _Pickled and back == made


@dataclass(frozen=True, slots=True)
class _Pickled:  # at module level, so pickle finds it
    a: int
    b: str
    c: tuple[int, ...]
    d: bool
    e: object


fast_init(_Pickled)


def test_fields_named_like_builtins_or_the_constructor_names_are_stored() -> None:
    spec = [("type", str), ("zip", int), ("_cls", int), ("_open", int), ("values", int)]
    for fields in (spec[:2], spec):  # through the slots, and through the opened class
        slow: Any = dataclasses.make_dataclass("Named", fields, frozen=True, slots=True)
        fast: Any = dataclasses.make_dataclass("Named", fields, frozen=True, slots=True)
        assert fast_init(fast)
        args = ("t", *range(len(fields) - 1))
        made = fast(*args)
        assert type(made) is fast
        assert dataclasses.astuple(made) == dataclasses.astuple(slow(*args)) == args
