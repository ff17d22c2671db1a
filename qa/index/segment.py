"""A segment: the passages one write (or one merge) added, in an immutable folder.

    seg-000004/
      ids.npy          int64, the passage id of each row, ascending
      vectors.faiss    the rows' vectors (flat or HNSW, see `qa.index.dense`)
      terms.txt, postings_*.npy, lengths.npy   BM25 statistics (see `qa.index.postings`)

A segment is written into `seg-000004.tmp/`, each file fsynced and stamped, then renamed into
place; only a manifest naming it makes it part of the index. Deleting passages never touches
the folder: their ids go into a tombstone file beside it (`seg-000004.del-000009.npy`, the
segment's deletions as of generation 9), which the next manifest names instead of the last
one. A merge writes the live rows of several segments as a new one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .ann import AnnPolicy, all_vectors, read_faiss, write_faiss
from . import files
from .layout import SegmentEntry, stamp, temporary, tombstone_name
from .postings import FILES as POSTING_FILES
from .postings import Postings, merge_postings

FILES = ("ids.npy", "vectors.faiss", *POSTING_FILES)


@dataclass(frozen=True, eq=False)
class SegmentData:
    """What a segment holds, in memory: row i is passage `ids[i]` (ascending)."""

    ids: np.ndarray
    vectors: np.ndarray
    postings: Postings

    def __post_init__(self) -> None:
        rows = len(self.ids)
        if not (rows == len(self.vectors) == len(self.postings.lengths)):
            raise ValueError("ids, vectors and postings must have one row per passage")
        if rows > 1 and not bool(np.all(np.diff(self.ids) > 0)):
            raise ValueError("segment ids must ascend")


def write_segment(index_dir: Path, name: str, data: SegmentData,
                  ann: AnnPolicy) -> SegmentEntry:
    """Write segment `name` (its folder must not be live) and return its manifest entry."""
    tmp = temporary(index_dir / name)
    files.remove(tmp)
    tmp.mkdir()
    np.save(tmp / "ids.npy", data.ids.astype(np.int64, copy=False))
    files.fsync(tmp / "ids.npy")
    params = ann.params(len(data.ids))
    write_faiss(tmp / "vectors.faiss", data.vectors, params)
    data.postings.save(tmp)
    stamps = {member: stamp(tmp / member) for member in FILES}
    files.fsync(tmp)
    files.remove(index_dir / name)
    os.replace(tmp, index_dir / name)
    files.fsync(index_dir)
    return SegmentEntry(name=name, rows=len(data.ids), dense=params, files=stamps)


def write_tombstones(index_dir: Path, entry: SegmentEntry, deleted: np.ndarray,
                     generation: int) -> SegmentEntry:
    """The entry of `entry`'s segment with `deleted` (passage ids, its own) deleted too: a new
    tombstone file holding every deletion so far."""
    before = read_tombstones(index_dir, entry)
    ids = np.union1d(before, deleted.astype(np.int64))
    name = tombstone_name(entry.name, generation)
    path = index_dir / name
    tmp = temporary(path)
    with tmp.open("wb") as handle:
        np.save(handle, ids)
    files.fsync(tmp)
    os.replace(tmp, path)
    return SegmentEntry(name=entry.name, rows=entry.rows, dense=entry.dense, files=entry.files,
                        deleted=len(ids), tombstones=name, tombstones_stamp=stamp(path))


def read_tombstones(index_dir: Path, entry: SegmentEntry) -> np.ndarray:
    """The passage ids deleted from the segment (ValueError/OSError when unreadable)."""
    if not entry.tombstones:
        return np.zeros(0, dtype=np.int64)
    ids = np.load(index_dir / entry.tombstones, allow_pickle=False)
    if ids.dtype != np.int64 or ids.ndim != 1 or len(ids) != entry.deleted:
        raise ValueError(f"holds {ids.shape} {ids.dtype}, not {entry.deleted} passage ids")
    return np.asarray(ids)


class Segment:
    """A loaded segment: its rows' ids, which of them are deleted, its vectors and postings.

    Everything is memory-mapped; nothing is read until a search touches it.
    """

    def __init__(self, entry: SegmentEntry, ids: np.ndarray, index: Any, postings: Postings,
                 deleted: np.ndarray) -> None:
        self.entry = entry
        self.ids = ids
        self.index = index
        self.postings = postings
        self.rows = len(ids)
        #: Rows of deleted passages; None when there are none.
        self.dead: np.ndarray | None = None
        self.live: np.ndarray | None = None
        if len(deleted):
            at, rows = self.rows_of(deleted)
            if len(at) != len(deleted):
                raise ValueError("its tombstones name passages it does not hold")
            self.dead = rows
            self.live = np.ones(self.rows, dtype=bool)
            self.live[rows] = False
        self.live_count = self.rows - (0 if self.dead is None else len(self.dead))

    @classmethod
    def open(cls, index_dir: Path, entry: SegmentEntry, dim: int) -> Segment:
        """Map a segment's files (ValueError/OSError/RuntimeError when one is unreadable)."""
        folder = index_dir / entry.name
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        index = read_faiss(folder / "vectors.faiss")
        postings = Postings.load(folder)
        if not (len(ids) == entry.rows == index.ntotal == len(postings.lengths)):
            raise ValueError(f"holds {len(ids)} ids, {index.ntotal} vectors and "
                             f"{len(postings.lengths)} lengths, not {entry.rows} of each")
        if entry.rows and index.d != dim:
            raise ValueError(f"holds {index.d}-dimensional vectors, not {dim}")
        return cls(entry, ids, index, postings, read_tombstones(index_dir, entry))

    def rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of `ids` the segment holds: (their positions in `ids`, their rows)."""
        if not self.rows or not len(ids):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        clipped = np.minimum(pos, self.rows - 1)
        hit = np.asarray(self.ids[clipped] == ids)
        return np.flatnonzero(hit), pos[hit].astype(np.int64)

    def allowed_rows(self, allowed: np.ndarray | None) -> np.ndarray | None:
        """The live rows among `allowed` passage ids, or None when nothing is filtered (every
        live row may be returned)."""
        if allowed is None:
            return None
        _, rows = self.rows_of(np.asarray(allowed, dtype=np.int64))
        return rows if self.live is None else rows[self.live[rows]]

    @cached_property
    def live_bitmap(self) -> np.ndarray | None:
        """The live rows as a bitmap FAISS can read (bit i of byte i // 8: row i), or None
        when nothing is deleted. Made once, on the first search."""
        return None if self.live is None else np.packbits(self.live, bitorder="little")


def merged_data(segments: Sequence[Segment]) -> SegmentData:
    """The live rows of `segments` as one segment's data, in passage id order."""
    kept = [np.flatnonzero(s.live) if s.live is not None else np.arange(s.rows)
            for s in segments]
    ids = np.concatenate([np.asarray(s.ids)[rows] for s, rows in zip(segments, kept,
                                                                    strict=True)])
    order = np.argsort(ids, kind="stable")
    position = np.empty(len(ids), dtype=np.int64)
    position[order] = np.arange(len(ids))
    vectors = np.concatenate([all_vectors(s.index)[rows] for s, rows in zip(segments, kept,
                                                                           strict=True)])
    parts, offset = [], 0
    for segment, rows in zip(segments, kept, strict=True):
        new_row = np.full(segment.rows, -1, dtype=np.int64)
        new_row[rows] = position[offset:offset + len(rows)]
        offset += len(rows)
        parts.append((segment.postings, new_row))
    postings = merge_postings(parts, len(ids))
    return SegmentData(ids=ids[order], vectors=vectors[order], postings=postings)
