"""Compact sets and maps of IMDb ids for the import, sized for the real data.

IMDb ids are `tt` or `nm` followed by a number (tt0111161 → 111161). The full data has
numbers up to the tens of millions and about a million and a half titles worth keeping; a
Python `set` or `dict` of that many ints costs 100–200 MB, while these cost a few:

- `IdSet`: one bit per possible number (`bytearray`), grown on demand. ~5 MB for 40 million
  ids; membership is one index and a shift, so the big files (principals, akas) are
  filtered on their first column before anything else is decoded.
- `IdMap`: number → film id, two parallel sorted `array('I')` searched with `bisect`
  (8 bytes an entry), for the kept titles only.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable


class IdSet:
    """A set of non-negative ints, one bit each."""

    def __init__(self) -> None:
        self.bits = bytearray()
        self.count = 0

    def add(self, number: int) -> None:
        index = number >> 3
        bits = self.bits
        if index >= len(bits):
            bits.extend(bytes(max(index + 1 - len(bits), len(bits) // 2, 1 << 16)))
        mask = 1 << (number & 7)
        if not bits[index] & mask:
            bits[index] |= mask
            self.count += 1

    def __contains__(self, number: int) -> bool:
        index = number >> 3
        return index < len(self.bits) and bool(self.bits[index] >> (number & 7) & 1)

    def __len__(self) -> int:
        return self.count


class IdMap:
    """A read-only map of ints to ints, from pairs sorted by key (or sorted here)."""

    def __init__(self, pairs: Iterable[tuple[int, int]]) -> None:
        self.keys = array("I")
        self.values = array("I")
        ordered = True
        last = -1
        for key, value in pairs:
            if key <= last:
                ordered = False
            last = key
            self.keys.append(key)
            self.values.append(value)
        if not ordered:
            order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
            self.keys = array("I", (self.keys[i] for i in order))
            self.values = array("I", (self.values[i] for i in order))

    def get(self, key: int) -> int | None:
        keys = self.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return self.values[i]
        return None

    def __len__(self) -> int:
        return len(self.keys)
