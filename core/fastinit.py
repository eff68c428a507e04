"""Faster constructors for the frozen, slotted dataclasses that hold the model's values.

Theory of operation. Every event, command, request, task and state in the model is a
frozen dataclass with slots, and the simulator builds some twenty of them per history
event. The `__init__` that `dataclasses` writes for a frozen class stores each field
with ``object.__setattr__(self, name, value)``, a generic lookup per field; frozen-ness
forbids the plain ``self.name = value``. `fast_init` gives such a class an equivalent
`__init__`: same parameters, same defaults, the same `__post_init__` call after the
fields are set, and the class stays frozen (`__setattr__` still refuses). Like
`dataclasses`, it writes that `__init__` as source text and compiles it once, when the
module defining the class is imported. It stores the fields one of two ways:

- a class with few fields: each through its slot's own descriptor, ``_set_a(self, a)``,
  about twice as fast as ``object.__setattr__``;
- a class with `OPENED_FROM` fields or more: the instance is moved for the duration of
  the stores to a private subclass with no slots of its own and no frozen hook (the
  same layout, so CPython allows the `__class__` change), where each field is a plain
  attribute store, which CPython specializes for slots, then moved back before
  `__post_init__` runs or anyone else sees it. The two moves cost about what two
  descriptor calls cost; each plain store is several times cheaper than one. Only an
  instance of exactly the class is moved: a subclass that inherits the constructor (one
  that `fast_init` did not give its own) has its fields stored through the descriptors.

A class it cannot mirror exactly - a field without an `__init__` parameter, a
keyword-only field, a default factory, a non-frozen or unslotted class - keeps the
dataclass `__init__`. Nothing observable changes: only construction gets faster.
`tests/core/test_fastinit.py` checks the constructors agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import TypeVar

_MISSING = dataclasses.MISSING
T = TypeVar("T")


def fast_init(cls: type) -> bool:
    """Give frozen, slotted dataclass `cls` the faster `__init__`; False if left as is."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        return False
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        return False
    namespace: dict[str, object] = {}
    parameters: list[str] = []
    names: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.init or f.kw_only or f.default_factory is not _MISSING:
            return False
        setter = _slot_setter(cls, f.name)
        if setter is None:
            return False
        namespace[f"_set_{f.name}"] = setter
        names.append(f.name)
        if f.default is _MISSING:
            parameters.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
    if len(names) < OPENED_FROM:
        body = [f"    _set_{name}(self, {name})" for name in names]
    else:  # moved to the opened class and back (the module docstring)
        # The body's own names start with __fi_, so that no field (a parameter) hides one.
        namespace.update(__fi_type=type, __fi_zip=zip, __fi_cls=cls, __fi_open=_opened(cls))
        namespace.update(__fi_set_class=_SET_CLASS)
        namespace["__fi_setters"] = tuple(namespace[f"_set_{name}"] for name in names)
        body = ["    if __fi_type(self) is __fi_cls:", "        __fi_set_class(self, __fi_open)"]
        body += [f"        self.{name} = {name}" for name in names]
        body += ["        self.__class__ = __fi_cls  # a plain store on the opened class"]
        # A subclass's instance (rare): a loop, short to compile, through the slots.
        values = "".join(f"{name}, " for name in names)
        body += [
            "    else:",
            f"        for __fi_set, __fi_value in __fi_zip(__fi_setters, ({values})):",
        ]
        body += ["            __fi_set(self, __fi_value)"]
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = f"__init__(self{''.join(', ' + p for p in parameters)})"
    init = _compile(signature, body, namespace, cls)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"Fast constructor of {cls.__name__} (core/fastinit.py)."
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses `cls.__init__ = ...`
    _FAST.add(cls)
    return True


_FAST: set[type] = set()  # the classes `fast_init` gave their constructor

OPENED_FROM = 3
"""Fields from which a constructor stores through the opened class (measured in
instructions: with two fields the descriptors are cheaper, with three the opened class)."""

# The `__class__` setter itself, to move an instance into its opened class: called
# directly it skips `object.__setattr__`'s lookup. (The move back is a plain store of
# `__class__` on the opened class, cheaper still: no call of a wrapper.)
_SET_CLASS = vars(object)["__class__"].__set__
_OPENED: dict[type, type] = {}


def _opened(cls: type) -> type:
    """`cls`'s private subclass without slots of its own whose attribute stores are
    plain (no frozen `__setattr__`); an instance is one only while it is being filled."""
    opened = _OPENED.get(cls)
    if opened is None:
        # Both, or CPython keeps the frozen class's Python-level hook for the two (one slot).
        plain = {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
        }
        opened = _OPENED[cls] = type(f"_Open{cls.__name__}", (cls,), plain)
    return opened


def slot_copier(cls: type) -> Callable[[object, object], None]:
    """A function ``copy(src, dst)`` that stores every field of dataclass `cls` read from
    `src` into the slots of `dst`, written out field by field (no loop). For `evolve`-
    style copies of a large frozen state; raises TypeError if a field has no slot."""
    namespace: dict[str, object] = {}
    body: list[str] = []
    for f in dataclasses.fields(cls):
        setter = _slot_setter(cls, f.name)
        if setter is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not stored in a slot")
        namespace[f"_set_{f.name}"] = setter
        body.append(f"    _set_{f.name}(dst, src.{f.name})")
    copy = _compile("copy(src, dst)", body, namespace, cls)
    copy.__qualname__ = f"{cls.__qualname__}.<slot copy>"
    return copy


def copier_into(cls: type, target: type[T]) -> Callable[[object], T]:
    """A function ``copy(src) -> a new target`` holding every field of dataclass `cls`
    read from `src`; `target` is `cls` or a subclass of it with no slots of its own.

    Faster than `slot_copier` for a class with many fields: the copy is made as an
    instance of a private subclass of `target` whose attribute stores are plain (no
    frozen `__setattr__`), so each field is one attribute store, which CPython
    specializes for slots, instead of a call of the slot descriptor; then its class is
    set to `target` (same slots, so CPython allows it), frozen again before anyone else
    sees it. Raises TypeError if a field has no slot."""
    names = [f.name for f in dataclasses.fields(cls)]
    for name in names:
        if _slot_setter(cls, name) is None:
            raise TypeError(f"{cls.__name__}.{name} is not stored in a slot")
    namespace: dict[str, object] = {"_new": object.__new__, "_open": _opened(target)}
    namespace["_target"] = target
    body = ["    dst = _new(_open)"]
    body += [f"    dst.{name} = src.{name}" for name in names]
    body += ["    dst.__class__ = _target", "    return dst"]
    copy = _compile("copy(src)", body, namespace, target)
    copy.__qualname__ = f"{target.__qualname__}.<copy>"
    return copy


def replace(obj: T, /, **changes: object) -> T:
    """`dataclasses.replace(obj, **changes)`, several times faster, for an object of a
    class that `fast_init` gave its constructor (any other class is a TypeError).

    The same call: a new object built by the class's `__init__` (so `__post_init__`
    checks it) from `obj`'s fields with `changes` applied; an unknown field name is a
    TypeError. Only the work of finding the fields and building keyword arguments is
    saved, by a function written per class, once, that passes them in order.
    """
    cls = type(obj)
    copy = _REPLACERS.get(cls)
    if copy is None:
        copy = _REPLACERS[cls] = _replacer(cls)
    new = copy(obj, changes)
    if not isinstance(new, cls):
        raise TypeError(f"core.fastinit.replace: {cls.__name__} built a {type(new).__name__}")
    return new


_REPLACERS: dict[type, Callable[[object, dict[str, object]], object]] = {}


def _replacer(cls: type) -> Callable[[object, dict[str, object]], object]:
    """`replace`'s function for `cls`: ``(obj, changes) -> a new cls``."""
    if cls not in _FAST:
        raise TypeError(f"core.fastinit.replace: {cls.__name__} has no fast constructor")
    names = tuple(f.name for f in dataclasses.fields(cls))
    namespace: dict[str, object] = {"_cls": cls, "_names": frozenset(names), "_unknown": _unknown}
    arguments = ", ".join(f"get({name!r}, src.{name})" for name in names)
    body = [
        "    if not changes.keys() <= _names:",
        "        _unknown(_cls, changes, _names)",
        "    get = changes.get",
        f"    return _cls({arguments})",
    ]
    return _compile("replace(src, changes)", body, namespace, cls)


def _unknown(cls: type, changes: dict[str, object], names: frozenset[str]) -> None:
    extra = sorted(changes.keys() - names)
    raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {extra[0]!r}")


def fast_init_all(namespace: Mapping[str, object]) -> int:
    """`fast_init` every dataclass defined in the module whose globals are `namespace`
    (call it as ``fast_init_all(globals())`` at the end of the module); how many."""
    module = namespace.get("__name__")
    done = 0
    for value in list(namespace.values()):
        if isinstance(value, type) and value.__module__ == module and fast_init(value):
            done += 1
    return done


def _compile(
    signature: str, body: list[str], namespace: dict[str, object], owner: type
) -> FunctionType:
    """``def <signature>:`` with `body` as its lines, compiled in `namespace` (which
    holds the names the body uses); its file name, ``<fastinit Owner>``, tells a
    profile or a traceback which class's function it is."""
    name = signature.partition("(")[0]
    source = f"def {signature}:\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(compile(source, f"<fastinit {owner.__qualname__}>", "exec"), namespace)
    function = namespace[name]  # our own text, compiled as dataclasses compiles its own
    if not isinstance(function, FunctionType):
        raise TypeError(f"core.fastinit: {name} did not compile to a function")
    return function


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None] | None:
    """The `__set__` of the slot descriptor that stores field `name` of `cls`."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            setter = getattr(descriptor, "__set__", None)
            return setter if callable(setter) else None
    return None
