"""`Enum` for the model's state machines: members hashed by identity, in C.

Theory of operation. Every transition-table lookup is a dict lookup keyed by a
``(state, input)`` pair of enum members, and the standard library's `enum.Enum` hashes
a member with Python code (``hash(self._name_)``), one call per member per lookup: in
the validator that was a tenth of its time. Members are singletons that compare by
identity (`enum.Enum` defines no ``__eq__``), so hashing them by identity, as
``object.__hash__`` does in C, is consistent with equality and changes nothing a
program can observe but speed and the iteration order of sets of members - which was
never fixed anyway (``hash(str)`` differs from one process to the next).
tests/core/test_fastenum.py checks it.
"""

from __future__ import annotations

import enum


class Enum(enum.Enum):
    """`enum.Enum` whose members hash by identity (see the module's docstring)."""

    __hash__ = object.__hash__
