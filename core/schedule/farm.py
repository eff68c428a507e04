"""FarmHash Fingerprint32, the hash Temporal's scheduler draws jitter from.

spec.go `addJitter` hashes the nominal time and a seed with `farm.Fingerprint32` of
github.com/dgryski/go-farm, which is farmhashmk's Hash32 (go-farm farmhashmk.go, with
the short-input helpers of farmhashcc.go and basics.go). Ported here on 32-bit unsigned
arithmetic; tests/core/schedule/test_farm.py checks it against go-farm's test vectors.
"""

from __future__ import annotations

M = 0xFFFFFFFF
C1 = 0xCC9E2D51
C2 = 0x1B873593


def _rotr(v: int, n: int) -> int:
    return ((v >> n) | (v << (32 - n))) & M


def _fetch(s: bytes, i: int) -> int:
    return int.from_bytes(s[i : i + 4], "little")


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M
    return h ^ (h >> 16)


def _mur(a: int, h: int) -> int:
    a = (_rotr((a * C1) & M, 17) * C2) & M
    h = _rotr(h ^ a, 19)
    return (h * 5 + 0xE6546B64) & M


def _len0to4(s: bytes) -> int:
    b, c = 0, 9
    for byte in s:
        v = byte - 256 if byte > 127 else byte  # Go: uint32(int8(s[i]))
        b = (b * C1 + v) & M
        c ^= b
    return _fmix(_mur(b, _mur(len(s), c)))


def _len5to12(s: bytes) -> int:
    n = len(s)
    a, b, c = n, n * 5, 9
    d = b
    a = (a + _fetch(s, 0)) & M
    b = (b + _fetch(s, n - 4)) & M
    c = (c + _fetch(s, (n >> 1) & 4)) & M
    return _fmix(_mur(c, _mur(b, _mur(a, d))))


def _len13to24(s: bytes) -> int:
    n = len(s)
    a = _fetch(s, (n >> 1) - 4)
    b = _fetch(s, 4)
    c = _fetch(s, n - 8)
    d = _fetch(s, n >> 1)
    e = _fetch(s, 0)
    f = _fetch(s, n - 4)
    h = (d * C1 + n) & M
    a = (_rotr(a, 12) + f) & M
    h = (_mur(c, h) + a) & M
    a = (_rotr(a, 3) + c) & M
    h = (_mur(e, h) + a) & M
    a = (_rotr((a + f) & M, 12) + d) & M
    h = (_mur(b, h) + a) & M
    return _fmix(h)


def _step(h: int, v: int) -> int:
    return (_rotr(h ^ v, 19) * 5 + 0xE6546B64) & M


def fingerprint32(s: bytes) -> int:
    n = len(s)
    if n <= 4:
        return _len0to4(s)
    if n <= 12:
        return _len5to12(s)
    if n <= 24:
        return _len13to24(s)
    h, g = n, (C1 * n) & M
    f = g
    a0, a1, a2, a3, a4 = (
        (_rotr((_fetch(s, n - k) * C1) & M, 17) * C2) & M for k in (4, 8, 16, 12, 20)
    )
    h = _step(_step(h, a0), a2)
    g = _step(_step(g, a1), a3)
    f = (_rotr((f + a4) & M, 19) + 113) & M
    i = 0
    while n - i > 20:
        a, b, c, d, e = (_fetch(s, i + k) for k in (0, 4, 8, 12, 16))
        h, g, f = (h + a) & M, (g + b) & M, (f + c) & M
        h = (_mur(d, h) + e) & M
        g = (_mur(c, g) + a) & M
        f = (_mur((b + e * C1) & M, f) + d) & M
        f = (f + g) & M
        g = (g + f) & M
        i += 20
    g = (_rotr((_rotr(g, 11) * C1) & M, 17) * C1) & M
    f = (_rotr((_rotr(f, 11) * C1) & M, 17) * C1) & M
    h = _rotr((h + g) & M, 19)
    h = (h * 5 + 0xE6546B64) & M
    h = (_rotr(h, 17) * C1) & M
    h = _rotr((h + f) & M, 19)
    h = (h * 5 + 0xE6546B64) & M
    return (_rotr(h, 17) * C1) & M


# Go's time.Time.MarshalBinary (version 1): seconds since January 1 of year 1 and
# nanoseconds, big-endian, then the zone offset in minutes, -1 for UTC.
_UNIX_TO_INTERNAL = 62_135_596_800


def go_time_binary_utc(ns: int) -> bytes:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return (
        b"\x01"
        + (seconds + _UNIX_TO_INTERNAL).to_bytes(8, "big", signed=True)
        + nanos.to_bytes(4, "big")
        + b"\xff\xff"
    )


def jitter(seed: str, nominal: int, max_jitter: int) -> int:
    """spec.go addJitter: the nominal time plus a jitter in [0, max_jitter), in whole ms,
    fixed by the nominal time and the seed. Times in ns."""
    ms = min(max(max_jitter, 0) // 1_000_000, M)
    fp = fingerprint32(go_time_binary_utc(nominal) + seed.encode())
    return nominal + ((fp * ms) >> 32) * 1_000_000
