"""The `Document` every reader returns, what a skipped file says, and how sources are named.

A document's `source` is the absolute path of the file it came from; a row of a BEIR corpus
is `"/path/corpus.jsonl#<row id>"`. `source_file` turns either back into the file, so pruning
and deleting ask the file system about the right path (a `#` in a real file name included).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
#: Characters no document keeps: C0 controls other than tab, newline, vertical tab, form
#: feed and carriage return (a NUL would cut a passage where SQLite's `substr` meets it).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
#: Lone UTF-16 surrogates: JSON can spell them ("\ud800") but UTF-8 (and SQLite) cannot.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: A JSONL row's source: the corpus file, `#`, the row's id.
_ROW_SOURCE = re.compile(r"^(?P<file>.*\.jsonl)#(?P<row>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Document:
    """One document as indexed.

    `text` is what passages are cut from and what citations point into; `page_starts` holds,
    for a PDF, the offset in `text` where each page begins (page 1 first).
    """

    doc_id: str
    source: str
    title: str
    text: str
    date: str | None = None
    author: str | None = None
    page_starts: tuple[int, ...] = ()

    @property
    def sha256(self) -> str:
        """Hash of everything indexed about the document, to detect changes."""
        parts = [self.title, self.date or "", self.author or "", self.text]
        parts += [str(p) for p in self.page_starts]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character `offset`, or None when pages are unknown."""
        if not self.page_starts:
            return None
        page = 1
        for number, start in enumerate(self.page_starts, start=1):
            if start <= offset:
                page = number
        return page


@dataclass(frozen=True)
class Skipped:
    """A file (or a JSONL line) that was not indexed, and why."""

    source: str
    reason: str


def file_doc_id(path: Path) -> str:
    """A stable id for a file: derived from its resolved path, so re-indexing finds it again."""
    return hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def row_source(corpus: Path, row_id: str) -> str:
    """The source of one row of a JSONL corpus.

    Example:
        >>> row_source(Path("/data/corpus.jsonl"), "42")
        '/data/corpus.jsonl#42'
    """
    return f"{corpus.resolve()}#{row_id}"


def source_file(source: str) -> Path:
    """The file a document's `source` names: itself, or for a JSONL row, its corpus file.

    A `#` inside a real file or folder name ("C#/notes.txt") stays part of the path.

    Example:
        >>> source_file("/data/corpus.jsonl#42"), source_file("/notes/C#/a.txt")
        (PosixPath('/data/corpus.jsonl'), PosixPath('/notes/C#/a.txt'))
    """
    path = Path(source)
    row = _ROW_SOURCE.match(source)
    if row is None or path.exists():
        return path
    return Path(row.group("file"))


def clean_text(text: str) -> str:
    """Text as every document keeps it: no control characters (NUL included), and any lone
    surrogate replaced by U+FFFD, so it can be stored and cut into passages as it reads.

    Example:
        >>> clean_text("a\\x00b\\tc")
        'ab\\tc'
    """
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def printable_path(path: Path | str) -> str:
    """A path as it can be printed and stored: bytes of a file name that are not UTF-8 are
    shown as `\\xNN` escapes.

    Example:
        >>> printable_path(Path("/tmp/caf\\udce9.txt"))
        '/tmp/caf\\\\xe9.txt'
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def parse_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime or string, or None when it is not one.

    Example:
        >>> parse_date("Tuesday, March 18, 2008"), parse_date("soon")
        ('2008-03-18', None)
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip() or not _YEAR.search(value):
        return None
    from dateutil import parser

    try:
        return parser.parse(value.strip()).date().isoformat()
    except (ValueError, OverflowError, parser.ParserError):
        return None


def finish(path: Path, title: str, text: str, **meta: object) -> Document:
    """The Document for a file's extracted title, text and metadata.

    Raises:
        IngestError: nothing but whitespace was extracted.
    """
    from ..errors import IngestError

    text = clean_text(text).strip()
    if not text:
        raise IngestError("no text content")
    return Document(
        doc_id=file_doc_id(path),
        source=str(path.resolve()),
        title=clean_text(title).strip() or path.stem,
        text=text,
        **{k: clean_text(v) if isinstance(v, str) else v for k, v in meta.items()},  # type: ignore[arg-type]
    )
