"""Deterministic randomness for workflow code: SplitMix64 seeded from the run id.

Workflow code may not read a random source, but may ask the run for random numbers
(the SDKs' `workflow.random()`): they must come out the same on every replay. The
seed is a SHA-256 of the run id (`hashlib`, never `hash()`, which is salted per
process); the generator is SplitMix64 (Steele, Lea and Flood, 2014), small and pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")
_MASK = (1 << 64) - 1


@lru_cache(maxsize=4096)  # every replay of a run seeds from its run id again
def _seed_state(seed: bytes) -> int:
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")


class Prng:
    """A SplitMix64 stream; `random()`, `randint()`, `choice()`, `uuid4()`."""

    __slots__ = ("_state",)

    def __init__(self, seed: bytes) -> None:
        self._state = _seed_state(seed)

    def next64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.next64() >> 11) / float(1 << 53)

    def randint(self, low: int, high: int) -> int:
        """An int in [low, high], both ends included."""
        if high < low:
            raise ValueError("randint: high < low")
        return low + self.next64() % (high - low + 1)

    def choice(self, items: Sequence[T]) -> T:
        if not items:
            raise IndexError("choice from an empty sequence")
        return items[self.randint(0, len(items) - 1)]

    def uuid4(self) -> str:
        """A version-4 UUID string built from the stream."""
        value = (self.next64() << 64) | self.next64()
        value = (value & ~(0xF << 76)) | (4 << 76)  # version 4
        value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
