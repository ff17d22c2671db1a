"""`qa verify`: read every byte of the index folder and check it against what was written.

Loading the index only compares sizes and mtimes (a million passages would otherwise cost
seconds of hashing at every start). This is the thorough check, for after a copy, a disk
error, or whenever in doubt:

- every segment and tombstone file against the sha256 recorded when it was written;
- the catalog with SQLite's `integrity_check`, every live document's text and metadata
  against the hash stored with it, and every passage's offsets against its document;
- every segment's files against each other, and the catalog's live passages against the
  segments' (the same ids, no more, no fewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError
from .catalog import SqliteCatalog
from .layout import FORMAT_VERSION, Manifest, check_checksum
from .segment import Segment


@dataclass(frozen=True)
class VerifyReport:
    """What `verify_index` checked, and every problem it found (none: the index is whole)."""

    files: int
    bytes: int
    documents: int
    passages: int
    segments: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_index(index_dir: Path) -> VerifyReport:
    """Check the whole index folder (see the module docstring).

    Raises:
        IndexMissingError: there is no index.
        IndexCorruptError: the manifest itself can't be read.
        IndexMismatchError: it is of another format version (rebuild it first).
    """
    manifest = Manifest.read(index_dir)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {manifest.format_version} at {index_dir}/ is not the supported "
            f"format {FORMAT_VERSION}; run `qa index --rebuild` to build it again")
    problems: list[str] = []
    files = size = 0
    for entry in manifest.segments:
        stamps = [(index_dir / entry.name / member, stamp)
                  for member, stamp in entry.files.items()]
        if entry.tombstones_stamp is not None:
            stamps.append((index_dir / entry.tombstones, entry.tombstones_stamp))
        for path, stamp in stamps:
            try:
                check_checksum(path, stamp)
                files, size = files + 1, size + stamp.size
            except IndexCorruptError as err:
                problems.append(_first_clause(err))
    segments = _open_segments(index_dir, manifest, problems)
    documents, passages = _check_catalog(index_dir, manifest, segments, problems)
    return VerifyReport(files=files, bytes=size, documents=documents, passages=passages,
                        segments=len(manifest.segments), problems=tuple(problems))


def _first_clause(err: Exception) -> str:
    """An error's message without the advice after the semicolon."""
    return str(err).split("; run ")[0]


def _open_segments(index_dir: Path, manifest: Manifest,
                   problems: list[str]) -> list[Segment] | None:
    segments = []
    for entry in manifest.segments:
        try:
            segments.append(Segment.open(index_dir, entry, manifest.dim))
        except (OSError, ValueError, RuntimeError) as err:
            problems.append(f"{index_dir / entry.name} is unreadable ({err})")
    return segments if len(segments) == len(manifest.segments) else None


def _check_catalog(index_dir: Path, manifest: Manifest, segments: list[Segment] | None,
                   problems: list[str]) -> tuple[int, int]:
    """Check the catalog; returns the documents and passages it holds for this generation."""
    path = index_dir / manifest.catalog
    if not path.is_file():
        problems.append(f"{path} is missing")
        return 0, 0
    try:
        catalog = SqliteCatalog(path, manifest.generation)
    except IndexCorruptError as err:
        problems.append(_first_clause(err))
        return 0, 0
    try:
        catalog.check(full=True)
        documents = _check_documents(catalog, problems)
        ids = catalog.live_passage_ids()
        broken = catalog.broken_passage()
        if broken:
            problems.append(f"{path}: {broken}")
    except IndexCorruptError as err:
        problems.append(_first_clause(err))
        return 0, 0
    finally:
        catalog.close()
    if (documents, len(ids)) != (manifest.counts["documents"], manifest.counts["passages"]):
        problems.append(f"{path} holds {documents} documents and {len(ids)} passages, the "
                        f"manifest says {manifest.counts['documents']} and "
                        f"{manifest.counts['passages']}")
    if segments is not None:
        held = [np.asarray(s.ids)[s.live] if s.live is not None else np.asarray(s.ids)
                for s in segments]
        in_segments = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
        if not np.array_equal(in_segments, ids):
            extra = np.setdiff1d(in_segments, ids)[:1].tolist()
            lacking = np.setdiff1d(ids, in_segments)[:1].tolist()
            problems.append(f"the segments and {path} disagree on the live passages "
                            f"(only in segments: {extra}, only in the catalog: {lacking})")
    return documents, len(ids)


def _check_documents(catalog: SqliteCatalog, problems: list[str]) -> int:
    """Recompute each live document's hash from what the catalog stores."""
    count = 0
    for doc, stored in catalog.stored_documents():
        count += 1
        if doc.sha256 != stored:
            problems.append(f"{catalog.path}: document {doc.doc_id} ({doc.title[:60]!r}) does "
                            "not match its hash (altered?)")
    return count
