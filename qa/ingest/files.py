"""Which files are read, and by which reader: the dispatch from a path to a `Document`.

A file that cannot be read becomes a `Skipped` with the reason, never an exception: one bad
file must not stop a folder from being indexed. How much a file may hold is `ReadLimits`;
which paths are found, and why others are passed over, is `qa.ingest.walk`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import IngestError
from .document import Document, Skipped, printable_path
from .encoding import decode_text
from .html import read_html
from .jsonl import read_jsonl
from .pdf import read_pdf
from .text import read_text
from .walk import not_regular, walk

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".jsonl"}


@dataclass(frozen=True)
class ReadLimits:
    """How much one file may hold and which symlinks are followed (from `Settings`)."""

    max_file_bytes: int
    max_document_chars: int
    follow_symlinks_outside: bool

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ReadLimits:
        s = settings or Settings()
        return cls(s.max_file_bytes, s.max_document_chars, s.follow_symlinks_outside)


def iter_files(paths: Iterable[Path], limits: ReadLimits | None = None
               ) -> Iterator[Path | Skipped]:
    """Every regular file under `paths` (recursively, sorted), or a `Skipped` for a path that
    is not one (see `qa.ingest.walk`).

    Raises:
        IngestError: a path given does not exist.
    """
    limits = limits or ReadLimits.from_settings()
    return walk(paths, follow_symlinks_outside=limits.follow_symlinks_outside)


def load(paths: Iterable[Path], limits: ReadLimits | None = None
         ) -> Iterator[Document | Skipped]:
    """Read every supported file under `paths`; yield a Document or a Skipped for each.

    Raises:
        IngestError: when a path given does not exist at all.
    """
    limits = limits or ReadLimits.from_settings()
    yield from read_all(iter_files(paths, limits), limits)


def read_all(entries: Iterable[Path | Skipped], limits: ReadLimits | None = None
             ) -> Iterator[Document | Skipped]:
    """Read what `iter_files` found: each file as Documents or Skipped; a Skipped as it is."""
    limits = limits or ReadLimits.from_settings()
    for entry in entries:
        if isinstance(entry, Skipped):
            yield entry
        elif entry.suffix.lower() == ".jsonl":
            yield from read_jsonl(entry, max_line_chars=limits.max_document_chars)
        else:
            try:
                yield read_file(entry, limits)
            except IngestError as err:
                yield Skipped(printable_path(entry), str(err))


def read_file(path: Path, limits: ReadLimits | None = None) -> Document:
    """Read one file (not JSONL) as a Document.

    Raises:
        IngestError: unsupported type, not a regular file, too large, unreadable, binary,
            undecodable or empty.
    """
    limits = limits or ReadLimits.from_settings()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(f"unsupported file type {suffix or '(none)'} (supported: {supported})")
    data = read_bytes(path, limits.max_file_bytes)
    if not data.strip():
        raise IngestError("empty file")
    if suffix == ".pdf":
        doc = read_pdf(path, data)
    else:
        text = decode_text(data)
        doc = read_html(path, text) if suffix in HTML_SUFFIXES else read_text(path, text)
    if len(doc.text) > limits.max_document_chars:
        raise IngestError(f"{len(doc.text)} characters of text, over the limit of "
                          f"{limits.max_document_chars} (QA_MAX_DOCUMENT_CHARS)")
    return doc


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`.

    Opened without blocking, so a FIFO put in the file's place can't hang the run.

    Raises:
        IngestError: not a regular file, over `max_bytes`, or unreadable.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise IngestError(f"cannot read: {err.strerror or err}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IngestError(not_regular(path))
        too_big = IngestError(f"{info.st_size} bytes, over the limit of {max_bytes} bytes "
                              "(QA_MAX_FILE_BYTES)")
        if info.st_size > max_bytes:
            raise too_big
        try:
            data = handle.read(max_bytes + 1)
        except OSError as err:
            raise IngestError(f"cannot read: {err.strerror or err}") from None
    if len(data) > max_bytes:  # it grew while being read
        raise too_big
    return data


