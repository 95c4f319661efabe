#!/usr/bin/env python3
"""An independent reference for RFC 6962 Merkle tree hashes and proofs.

Written straight from RFC 6962 section 2.1 (MTH, PATH, PROOF/SUBPROOF) with Python's
hashlib, sharing no code with the Rust implementation. For every tree size 1..MAX over
the leaves b"leaf 0", b"leaf 1", ... it prints JSON: the root, the inclusion paths of
the first, middle and last leaves, and the consistency proofs from sizes 1, n//2 and
n-1. Usage: rfc6962.py MAX
"""
import hashlib
import json
import sys
from functools import lru_cache

MAX = int(sys.argv[1])
LEAVES = [f"leaf {i}".encode() for i in range(MAX)]


def h(b):
    return hashlib.sha256(b).digest()


@lru_cache(maxsize=None)
def mth(lo, hi):
    """MTH(D[lo:hi])"""
    n = hi - lo
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + LEAVES[lo])
    k = 1
    while k * 2 < n:
        k *= 2
    return h(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def path(m, lo, hi):
    """PATH(m, D[lo:hi])"""
    n = hi - lo
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, lo, lo + k) + [mth(lo + k, hi)]
    return path(m - k, lo + k, hi) + [mth(lo, lo + k)]


def subproof(m, lo, hi, b):
    """SUBPROOF(m, D[lo:hi], b)"""
    n = hi - lo
    if m == n:
        return [] if b else [mth(lo, hi)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]
    return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]


def proof(m, n):
    return [] if m == n else subproof(m, 0, n, True)


out = []
for n in range(1, MAX + 1):
    idx = sorted({0, n // 2, n - 1})
    olds = sorted({1, max(1, n // 2), max(1, n - 1)})
    out.append({
        "n": n,
        "root": mth(0, n).hex(),
        "inclusion": {str(i): [x.hex() for x in path(i, 0, n)] for i in idx},
        "consistency": {str(m): [x.hex() for x in proof(m, n)] for m in olds},
    })
json.dump(out, sys.stdout)
