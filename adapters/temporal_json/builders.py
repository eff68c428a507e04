"""Building frozen values at the speed of plain attribute stores, for the typed decoder.

A frozen, slotted dataclass stores each field through its slot's descriptor (even with
core/fastinit.py), several times the cost of a plain `self.x = x`, which frozen-ness
forbids. `builder(cls)` returns a twin class: the same base and the same slots, so the
same memory layout, but no frozen `__setattr__`; its `__init__` takes every field in
order, stores them with plain assignments and then makes the object a `cls`
(`__class__` assignment, which Python allows between classes of one layout). What comes
out is an ordinary frozen instance of `cls`, equal to the one `cls(...)` builds, except
that `__post_init__` is not run: a caller uses a twin only where what that check checks
holds by construction. A class whose layout the twin cannot match keeps its own
constructor; tests/adapters/test_temporal_json_typed.py checks both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

_BUILDERS: dict[type, Callable[..., Any]] = {}


def builder(cls: type) -> Callable[..., Any]:
    """A callable taking the fields of dataclass `cls` as its `__init__` does (same
    order, same defaults) and returning a `cls` built without running `__init__` or
    `__post_init__`; `cls` itself if no twin fits."""
    made = _BUILDERS.get(cls)
    if made is None:
        made = _BUILDERS[cls] = _twin(cls) or cls
    return made


def _twin(cls: type) -> type | None:
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    slots = cls.__dict__.get("__slots__")
    if tuple(names) != slots or len(cls.__bases__) != 1:
        return None
    namespace: dict[str, Any] = {"_cls": cls}
    parameters = []
    for f in fields:
        if not f.init or f.default_factory is not dataclasses.MISSING:
            return None
        if f.default is dataclasses.MISSING:
            parameters.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    source = f"def __init__(self, {', '.join(parameters)}):\n{body}    self.__class__ = _cls\n"
    exec(source, namespace)
    twin = type(
        f"_{cls.__name__}Twin",
        cls.__bases__,
        {"__slots__": slots, "__init__": namespace["__init__"]},
    )
    try:
        probe = twin(*(None for _ in names))
    except TypeError:  # "object layout differs": __class__ cannot be assigned
        return None
    return twin if type(probe) is cls else None
