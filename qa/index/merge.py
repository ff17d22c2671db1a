"""When segments are merged: a simple tiered policy, as Lucene's.

Each write adds a segment, so without merging a search would visit more and more of them.
Segments are grouped in tiers by size — tier t holds those with `floor · factor^t` to
`floor · factor^(t+1)` live passages — and as soon as one tier holds `factor` segments, they
are merged into one of the next tier. A write therefore costs its own size plus, now and then,
a merge whose size grows geometrically and happens geometrically more rarely (each passage is
rewritten about once per tier), and a search visits at most `factor - 1` segments per tier.
A segment whose passages are mostly deleted is rewritten on its own, so deleted passages
don't linger in searches and statistics' work. `qa index --optimize` merges everything into
one segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .layout import SegmentEntry


@dataclass(frozen=True)
class MergePolicy:
    """Which segments to merge next.

    Example:
        >>> from qa.index.layout import SegmentEntry
        >>> small = [SegmentEntry(f"seg-{i:06d}", 50, {"kind": "flat"}, {}) for i in range(10)]
        >>> len(MergePolicy(factor=10).plan(small))
        10
        >>> MergePolicy(factor=10).plan(small[:9])
        []
    """

    factor: int = 10
    #: Segments smaller than this all count as the smallest tier.
    floor: int = 1000
    #: A segment with a larger share of its passages deleted is rewritten.
    max_deleted: float = 0.3

    def tier(self, live: int) -> int:
        """The tier of a segment with `live` passages."""
        return int(math.log(max(live, self.floor) / self.floor, self.factor) + 1e-9)

    def plan(self, segments: Sequence[SegmentEntry]) -> list[str]:
        """The names of the segments to merge next (empty: none is due)."""
        tiers: dict[int, list[str]] = {}
        for segment in segments:
            tiers.setdefault(self.tier(segment.live), []).append(segment.name)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= self.factor:
                return tiers[tier]
        for segment in segments:
            if segment.rows and segment.deleted / segment.rows > self.max_deleted:
                return [segment.name]
        return []
