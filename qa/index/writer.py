"""Writing the index folder: a segment per write, tombstones for what it replaces, merges.

`LocalTarget` is the index folder as a `StoreTarget` (see `qa.index.delta`). A write of
generation G+1 costs what changed, not the size of the index:

1. the catalog transaction adds the new and changed documents' rows and marks the replaced
   ones removed, all tagged G+1 (`qa.index.catalog_writer`), and commits;
2. the new passages become a new segment folder (`qa.index.segment`), written beside, fsynced
   and renamed into place;
3. each segment holding a replaced passage gets a new tombstone file;
4. `manifest.json` naming generation G+1 replaces the old one: the commit point.

A reader (or a run killed at any moment) sees generation G or G+1, never a mix: nothing of
G+1 is visible before its manifest, and files G no longer needs are deleted only after it.
Files no manifest names are leftovers of a killed run; the next writer removes them (and the
catalog rows they belonged to) under the lock. After the commit, segments are merged when the
`MergePolicy` says so — each merge another generation, committed the same way.

A first write, `--rebuild`, or a change of chunking writes everything afresh: a new catalog
file and one segment.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from . import layout
from .catalog import BUSY_TIMEOUT
from .catalog_writer import CatalogWriter
from .delta import Delta, IndexSettings
from .ann import AnnPolicy
from .dense import SegmentedDense
from .layout import FORMAT_VERSION, LOCK_FILE, Live, Manifest, SegmentEntry
from .legacy import load_legacy
from .merge import MergePolicy
from .postings import postings_from_tokenized
from .segment import Segment, SegmentData, merged_data, write_segment, write_tombstones
from .store import IndexStore


@dataclass(frozen=True)
class SegmentPolicy:
    """How the index folder lays out its segments: when vectors are searched approximately,
    when segments merge, and how long removed catalog rows stay readable (seconds)."""

    ann: AnnPolicy = field(default_factory=AnnPolicy)
    merge: MergePolicy = field(default_factory=MergePolicy)
    keep_retired_s: float = 600.0


@contextlib.contextmanager
def write_lock(index_dir: Path, *, repair: bool = False) -> Iterator[None]:
    """Hold the index's write lock, so two `qa index` runs never interleave.

    Args:
        index_dir: the index folder (made if missing).
        repair: replace a lock "file" that is not a file (a rebuild does).

    Raises:
        IndexBusyError: another run holds it.
        IndexCorruptError: the index folder or its lock file is something else.
    """
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexCorruptError(f"{index_dir} is not a folder; move it away or choose another "
                                "index folder (--index or QA_INDEX_DIR)")
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = index_dir / LOCK_FILE
    if lock.is_symlink() or (lock.exists() and not lock.is_file()):
        if not repair:
            raise IndexCorruptError(f"{lock} is not a lock file; {layout.REBUILD_HINT}")
        layout.remove(lock)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(
                f"another `qa index` is writing {index_dir}/; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def committed_manifest(index_dir: Path) -> Manifest | None:
    """The manifest in force, or None when there is none or it can't be read."""
    try:
        return Manifest.read(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return None


def remove_leftovers(index_dir: Path) -> None:
    """Delete files the committed manifest doesn't name. Call it under `write_lock`."""
    layout.remove_leftovers(index_dir, Live.of(committed_manifest(index_dir)))


class LocalTarget:
    """The index folder as a `StoreTarget`.

    Example:
        >>> target = LocalTarget(Path("index"))
        >>> target.describe()
        'index/'
    """

    def __init__(self, index_dir: Path, *, repair: bool = False,
                 policy: SegmentPolicy | None = None) -> None:
        self.index_dir = index_dir
        self.repair = repair
        self.policy = policy or SegmentPolicy()

    def describe(self) -> str:
        return f"{self.index_dir}/"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The folder's write lock; leftovers of a killed run are removed under it."""
        with write_lock(self.index_dir, repair=self.repair):
            if committed_manifest(self.index_dir) is not None:
                remove_leftovers(self.index_dir)
            yield

    def open_existing(self, model: str) -> IndexStore | None:
        try:
            return IndexStore.load(self.index_dir, model=model)
        except IndexMissingError:
            return None
        except IndexMismatchError:
            # An index of the previous format: its documents are read back and indexed again
            # in the current one, so nothing is lost. Another model still stops here.
            old = load_legacy(self.index_dir, model)
            if old is None:
                raise
            return old

    def write(self, delta: Delta, how: IndexSettings, old: IndexStore | None) -> int:
        fresh = delta.replace or old is None or old.manifest.format_version != FORMAT_VERSION
        try:
            if fresh:
                manifest = self._write_fresh(delta, how)
            else:
                assert old is not None
                manifest = self._write_change(delta, how, old)
        finally:
            if old is not None:
                old.close()
        manifest = self._merge_due(manifest)
        return manifest.counts["passages"]

    def optimize(self) -> int:
        """Merge every segment into one, dropping deleted passages for good. Call it under
        `lock`. Returns how many segments were merged (0: there was nothing to do)."""
        manifest = Manifest.read(self.index_dir)
        names = [s.name for s in manifest.segments]
        if len(names) < 2 and not any(s.deleted for s in manifest.segments):
            return 0
        self._merge(manifest, names)
        return len(names)

    # Writing ---------------------------------------------------------------------------------

    def _write_fresh(self, delta: Delta, how: IndexSettings) -> Manifest:
        """Everything afresh: a new catalog file and one segment."""
        previous = committed_manifest(self.index_dir)
        generation = (previous.generation if previous else 0) + 1
        number = previous.next_segment if previous else 1
        catalog = layout.catalog_name(generation)
        with CatalogWriter.create(self.index_dir / catalog) as writer:
            writer.apply(delta, committed=generation - 1, first_id=0,
                         keep_seconds=self.policy.keep_retired_s)
            catalog_stamp = writer.stamp()
        segments, number = self._new_segment([], delta, how, 0, number)
        return self._commit(Manifest(
            format_version=FORMAT_VERSION, generation=generation, model=how.model,
            dim=int(delta.vectors.shape[1]) if delta.vectors.ndim == 2 else 0,
            chunking=how.chunking, bm25=dict(how.bm25), counts={}, catalog=catalog,
            catalog_stamp=catalog_stamp, segments=tuple(segments), next_segment=number,
            next_passage=len(delta.passages), analysis=how.analyzer.settings(),
            precision=how.precision,
        ), documents=len(delta.order))

    def _write_change(self, delta: Delta, how: IndexSettings, old: IndexStore) -> Manifest:
        """Generation G+1 as a change to G: catalog rows, one segment, tombstones."""
        before = old.manifest
        generation = before.generation + 1
        path = self.index_dir / before.catalog
        try:
            with CatalogWriter.open(path) as writer:
                removed = writer.apply(delta, committed=before.generation,
                                       first_id=before.next_passage,
                                       keep_seconds=self.policy.keep_retired_s)
                catalog_stamp = writer.stamp()
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise IndexBusyError(f"{path} stayed locked by a reader for "
                                     f"{BUSY_TIMEOUT:.0f} s; try again") from None
            raise IndexCorruptError(f"{path} could not be updated ({err}); "
                                    f"{layout.REBUILD_HINT}") from None
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
            raise IndexCorruptError(f"{path} could not be updated ({err}); "
                                    f"{layout.REBUILD_HINT}") from None
        loaded = {s.entry.name: s for s in _segments_of(old)}
        segments: list[SegmentEntry] = []
        for entry in before.segments:
            at, _ = loaded[entry.name].rows_of(removed)
            if len(at):
                entry = write_tombstones(self.index_dir, entry, removed[at], generation)
            if entry.live:
                segments.append(entry)
        dim = before.dim or (int(delta.vectors.shape[1]) if len(delta.passages) else 0)
        if len(delta.passages) and delta.vectors.shape[1] != dim:
            raise IndexMismatchError(f"the index at {self.index_dir}/ holds {dim}-dimensional "
                                     f"vectors, not {delta.vectors.shape[1]}; "
                                     f"{layout.REBUILD_HINT}")
        segments, number = self._new_segment(segments, delta, how, before.next_passage,
                                             before.next_segment)
        return self._commit(replace(
            before, generation=generation, model=how.model, dim=dim, chunking=how.chunking,
            bm25=dict(how.bm25), catalog_stamp=catalog_stamp, segments=tuple(segments),
            next_segment=number, next_passage=before.next_passage + len(delta.passages),
            analysis=how.analyzer.settings(), precision=how.precision,
        ), documents=len(delta.order))

    def _new_segment(self, segments: list[SegmentEntry], delta: Delta, how: IndexSettings,
                     first_id: int, number: int) -> tuple[list[SegmentEntry], int]:
        """`segments` with one holding the delta's passages (ids from `first_id`) added."""
        if not delta.passages:
            return segments, number
        ids = np.arange(first_id, first_id + len(delta.passages), dtype=np.int64)
        tokens = how.analyzer.bm25_tokens(delta.lexical_texts)
        data = SegmentData(ids=ids, vectors=delta.vectors,
                           postings=postings_from_tokenized(tokens.ids, tokens.vocab))
        entry = write_segment(self.index_dir, layout.segment_name(number), data,
                              self.policy.ann)
        return [*segments, entry], number + 1

    def _commit(self, manifest: Manifest, *, documents: int | None = None) -> Manifest:
        """Write `manifest` (its counts and versions filled in), then remove what it no
        longer names."""
        counts = {"documents": manifest.counts["documents"] if documents is None else documents,
                  "passages": sum(s.live for s in manifest.segments)}
        manifest = replace(manifest, counts=counts, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           versions=_versions())
        manifest.write(self.index_dir)
        layout.remove_leftovers(self.index_dir, Live.of(manifest))
        return manifest

    # Merging ---------------------------------------------------------------------------------

    def _merge_due(self, manifest: Manifest) -> Manifest:
        while names := self.policy.merge.plan(manifest.segments):
            manifest = self._merge(manifest, names)
        return manifest

    def _merge(self, manifest: Manifest, names: list[str]) -> Manifest:
        """Generation G+1: the live passages of segments `names` as one new segment."""
        chosen = [e for e in manifest.segments if e.name in names]
        segments = [Segment.open(self.index_dir, e, manifest.dim) for e in chosen]
        data = merged_data(segments)
        kept = [e for e in manifest.segments if e.name not in names]
        number = manifest.next_segment
        if len(data.ids):
            kept.append(write_segment(self.index_dir, layout.segment_name(number), data,
                                      self.policy.ann))
            number += 1
        return self._commit(replace(manifest, generation=manifest.generation + 1,
                                    segments=tuple(kept), next_segment=number))


def _segments_of(store: IndexStore) -> list[Segment]:
    if isinstance(store.dense, SegmentedDense):
        return store.dense.segments
    raise TypeError("the index folder's writer needs the store it loaded")


def _versions() -> dict[str, str]:
    import bm25s
    import faiss

    return {"faiss": faiss.__version__, "bm25s": bm25s.__version__}
