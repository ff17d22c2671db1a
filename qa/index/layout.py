"""The index folder's format: file names, file stamps, and leftovers of a killed run.

The index is a set of immutable segments, a catalog updated in place, and a manifest naming
what is live (Lucene's design):

    index/
      manifest.json              the commit point: format version, model and its precision,
                                 settings, counts,
                                 the catalog file, the live segments and their tombstones,
                                 each file's size, mtime and sha256 (see `qa.index.manifest`)
      catalog-000001.sqlite      documents and passages, one row per version, tagged with
                                 the generation that added (and removed) it
      seg-000004/                one write's passages: ids, vectors, BM25 postings
        ids.npy  lengths.npy  vectors.faiss  terms.txt  postings_start.npy  ...
      seg-000004.del-000009.npy  the passage ids of segment 4 deleted as of generation 9
      embeddings.sqlite          the embedding cache (kept across rebuilds)
      .lock                      held while a write runs

A write adds a segment (and tombstone files for what it replaced), updates the catalog, and
then replaces `manifest.json`. Files the manifest doesn't name are leftovers of a run killed
before or after its commit, and the next writer removes them. Every module that reads or
writes the folder goes through here, so the names are written down once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexCorruptError
from .files import fsync, remove, sha256_file  # noqa: F401

# Re-exported: the manifest is part of the folder's format.
from .manifest import (  # noqa: F401
    FORMAT_VERSION,
    MANIFEST,
    REBUILD_HINT,
    FileStamp,
    Manifest,
    SegmentEntry,
    manifest_problem,
)

LOCK_FILE = ".lock"
SEGMENT_PREFIX = "seg-"
CATALOG_PREFIX = "catalog-"
#: File names of the format before segments (version 2): removed as leftovers.
_LEGACY_PREFIXES = ("store-", "vectors-", "bm25-")
_TMP = ".tmp"


def segment_name(number: int) -> str:
    """The folder name of segment `number`.

    Example:
        >>> segment_name(4)
        'seg-000004'
    """
    return f"{SEGMENT_PREFIX}{number:06d}"


def tombstone_name(segment: str, generation: int) -> str:
    """The file holding `segment`'s deleted passage ids as of `generation`.

    Example:
        >>> tombstone_name("seg-000004", 9)
        'seg-000004.del-000009.npy'
    """
    return f"{segment}.del-{generation:06d}.npy"


def catalog_name(generation: int) -> str:
    """The catalog file started at `generation` (a new one only when the index starts over).

    Example:
        >>> catalog_name(1)
        'catalog-000001.sqlite'
    """
    return f"{CATALOG_PREFIX}{generation:06d}.sqlite"


def temporary(path: Path) -> Path:
    """Where `path` is written before it is renamed into place."""
    return path.with_name(path.name + _TMP)


def stamp(path: Path, *, digest: str | None = None) -> FileStamp:
    """A written (and fsynced) file's size, mtime and sha256 (hashed unless given)."""
    info = path.stat()
    return FileStamp(size=info.st_size, mtime_ns=info.st_mtime_ns,
                     sha256=digest if digest is not None else sha256_file(path))


def check_stamp(path: Path, expected: FileStamp) -> None:
    """The cheap check every load makes: the file is there, a regular file, of the recorded
    size. A file whose mtime differs (a copy made without keeping times, or an edit that kept
    the size) is hashed, and must match its sha256; an untouched one is not read at all.

    Raises:
        IndexCorruptError: naming the file, what is wrong, and the command that rebuilds.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}") from None
    except OSError as err:
        raise IndexCorruptError(
            f"{path} is unreadable ({err.strerror or err}); {REBUILD_HINT}") from None
    if path.is_symlink() or not path.is_file():
        kind = "folder" if path.is_dir() else "link" if path.is_symlink() else "special file"
        raise IndexCorruptError(f"{path} is a {kind}, not a file; {REBUILD_HINT}")
    if info.st_size != expected.size:
        raise IndexCorruptError(f"{path} is {info.st_size} bytes, not {expected.size} (cut "
                                f"short or altered); {REBUILD_HINT}")
    if info.st_mtime_ns != expected.mtime_ns:
        check_checksum(path, expected)


def check_checksum(path: Path, expected: FileStamp) -> None:
    """Hash the file and compare (`qa verify` does this for every file).

    Raises:
        IndexCorruptError: the file is unreadable or its bytes changed.
    """
    try:
        actual = sha256_file(path)
    except OSError as err:
        raise IndexCorruptError(
            f"{path} is unreadable ({err.strerror or err}); {REBUILD_HINT}") from None
    if actual != expected.sha256:
        raise IndexCorruptError(f"{path} does not match its checksum (altered?); {REBUILD_HINT}")


@dataclass(frozen=True)
class Live:
    """The names a manifest keeps alive in the folder."""

    segments: frozenset[str]
    tombstones: frozenset[str]
    catalog: str
    #: The files of a version-2 index, read once more when it is upgraded.
    legacy: frozenset[str] = frozenset()

    @classmethod
    def of(cls, manifest: Manifest | None) -> Live:
        if manifest is None:
            return cls(frozenset(), frozenset(), "")
        return cls(frozenset(s.name for s in manifest.segments),
                   frozenset(s.tombstones for s in manifest.segments if s.tombstones),
                   manifest.catalog, frozenset(manifest.files.values()))

    def keeps(self, name: str) -> bool:
        if name in self.segments or name in self.tombstones or name in self.legacy:
            return True
        # The catalog's journal too: after a crash it holds what SQLite must roll back.
        return bool(self.catalog) and name.startswith(self.catalog) and not name.endswith(_TMP)


def remove_leftovers(index_dir: Path, live: Live) -> None:
    """Delete segment, tombstone, catalog and older-format files that `live` doesn't name:
    the remains of a write killed before its commit, or of what a commit replaced."""
    prefixes = (SEGMENT_PREFIX, CATALOG_PREFIX, *_LEGACY_PREFIXES)
    for path in index_dir.iterdir():
        if path.name.startswith(prefixes) and not live.keeps(path.name):
            remove(path)
    remove(index_dir / f"{MANIFEST}{_TMP}")
