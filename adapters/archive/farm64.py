"""FarmHash Fingerprint64 (farmhashna Hash64), as github.com/dgryski/go-farm computes it.

Temporal's filestore archiver names each archived history after the fingerprints of its
namespace id, workflow id and run id (`common/archiver/filestore/util.go` hash), so the
same file names need the same hash. Written from go-farm's `farmhashna.go`; checked
against that package's test vectors (tests/adapters/test_archive.py).
"""

from __future__ import annotations

M64 = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F


def _u64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i : i + 8], "little")


def _u32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i : i + 4], "little")


def _rot(v: int, n: int) -> int:
    """bits.RotateLeft64(v, -n): rotate right by n."""
    return ((v >> n) | (v << (64 - n))) & M64 if n else v


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16_mul(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & M64
    b ^= b >> 47
    return (b * mul) & M64


def _len0to16(s: bytes) -> int:
    n = len(s)
    if n >= 8:
        mul = (K2 + n * 2) & M64
        a = (_u64(s, 0) + K2) & M64
        b = _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & M64
        d = ((_rot(a, 25) + b) * mul) & M64
        return _len16_mul(c, d, mul)
    if n >= 4:
        mul = (K2 + n * 2) & M64
        return _len16_mul((n + (_u32(s, 0) << 3)) & M64, _u32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * K2) ^ (z * K0)) & M64) * K2) & M64
    return K2


def _len17to32(s: bytes) -> int:
    n = len(s)
    mul = (K2 + n * 2) & M64
    a = (_u64(s, 0) * K1) & M64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & M64
    d = (_u64(s, n - 16) * K2) & M64
    return _len16_mul(
        (_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64,
        (a + _rot((b + K2) & M64, 18) + c) & M64,
        mul,
    )


def _len33to64(s: bytes) -> int:
    n = len(s)
    mul = (K2 + n * 2) & M64
    a = (_u64(s, 0) * K2) & M64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & M64
    d = (_u64(s, n - 16) * K2) & M64
    y = (_rot((a + b) & M64, 43) + _rot(c, 30) + d) & M64
    z = _len16_mul(y, (a + _rot((b + K2) & M64, 18) + c) & M64, mul)
    e = (_u64(s, 16) * mul) & M64
    f = _u64(s, 24)
    g = ((y + _u64(s, n - 32)) * mul) & M64
    h = ((z + _u64(s, n - 24)) * mul) & M64
    return _len16_mul(
        (_rot((e + f) & M64, 43) + _rot(g, 30) + h) & M64,
        (e + _rot((f + a) & M64, 18) + g) & M64,
        mul,
    )


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    """weakHashLen32WithSeeds over s[i:i+32]."""
    w, x, y, z = _u64(s, i), _u64(s, i + 8), _u64(s, i + 16), _u64(s, i + 24)
    a = (a + w) & M64
    b = _rot((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rot(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def fingerprint64(s: bytes) -> int:
    """go-farm Fingerprint64 (naHash64)."""
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    seed = 81
    v0 = v1 = w0 = w1 = 0
    x = (seed * K2 + _u64(s, 0)) & M64
    y = (seed * K1 + 113) & M64
    z = (_shift_mix((y * K2 + 113) & M64) * K2) & M64
    last = ((n - 1) // 64) * 64 + ((n - 1) & 63) - 63
    i = 0
    while n - i > 64:
        x = (_rot((x + y + v0 + _u64(s, i + 8)) & M64, 37) * K1) & M64
        y = (_rot((y + v1 + _u64(s, i + 48)) & M64, 42) * K1) & M64
        x ^= w1
        y = (y + v0 + _u64(s, i + 40)) & M64
        z = (_rot((z + w0) & M64, 33) * K1) & M64
        v0, v1 = _weak32(s, i, (v1 * K1) & M64, (x + w0) & M64)
        w0, w1 = _weak32(s, i + 32, (z + w1) & M64, (y + _u64(s, i + 16)) & M64)
        x, z = z, x
        i += 64
    mul = (K1 + ((z & 0xFF) << 1)) & M64
    i = last
    w0 = (w0 + ((n - 1) & 63)) & M64
    v0 = (v0 + w0) & M64
    w0 = (w0 + v0) & M64
    x = (_rot((x + y + v0 + _u64(s, i + 8)) & M64, 37) * mul) & M64
    y = (_rot((y + v1 + _u64(s, i + 48)) & M64, 42) * mul) & M64
    x ^= (w1 * 9) & M64
    y = (y + v0 * 9 + _u64(s, i + 40)) & M64
    z = (_rot((z + w0) & M64, 33) * mul) & M64
    v0, v1 = _weak32(s, i, (v1 * mul) & M64, (x + w0) & M64)
    w0, w1 = _weak32(s, i + 32, (z + w1) & M64, (y + _u64(s, i + 16)) & M64)
    x, z = z, x
    return _len16_mul(
        (_len16_mul(v0, w0, mul) + _shift_mix(y) * K0 + z) & M64,
        (_len16_mul(v1, w1, mul) + x) & M64,
        mul,
    )
