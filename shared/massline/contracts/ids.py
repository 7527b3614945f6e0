"""Time-ordered unique ids (the UUID version 7 layout of RFC 9562).

Votes and events are inserted by the thousand per second into tables whose primary key is their
id. Random ids land all over a B-tree index, so every insert dirties a different page; ids that
grow with time append to the index's right edge instead. The first 48 bits are the Unix time in
milliseconds, the rest random, so ids are unique without coordination and say nothing but when.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A version-7 UUID: milliseconds since the epoch, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # 62 random bits
    return uuid.UUID(int=value)
