"""Which files are read, and by which reader: the dispatch from a path to a `Document`.

A file that cannot be read becomes a `Skipped` with the reason, never an exception: one bad
file must not stop a folder from being indexed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import IngestError
from .document import Document, Skipped
from .html import read_html
from .jsonl import read_jsonl
from .pdf import read_pdf
from .text import read_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".jsonl"}


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file under `paths` (recursively, sorted), skipping hidden files and folders.

    Raises:
        IngestError: a path given does not exist.
    """
    for root in paths:
        if root.is_file():
            yield root
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in rel):
                    yield path
        else:
            raise IngestError(f"{root}: no such file or folder")


def load(paths: Iterable[Path]) -> Iterator[Document | Skipped]:
    """Read every supported file under `paths`; yield a Document or a Skipped for each.

    Raises:
        IngestError: when a path given does not exist at all.
    """
    for path in iter_files(paths):
        if path.suffix.lower() == ".jsonl":
            yield from read_jsonl(path)
            continue
        try:
            yield read_file(path)
        except IngestError as err:
            yield Skipped(str(path), str(err))


def read_file(path: Path) -> Document:
    """Read one file (not JSONL) as a Document.

    Raises:
        IngestError: unsupported type, unreadable, binary, undecodable or empty.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(f"unsupported file type {suffix or '(none)'} (supported: {supported})")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise IngestError(f"cannot read: {err.strerror or err}") from None
    if not data.strip():
        raise IngestError("empty file")
    if suffix == ".pdf":
        return read_pdf(path, data)
    text = decode_text(data)
    if suffix in HTML_SUFFIXES:
        return read_html(path, text)
    return read_text(path, text)


def decode_text(data: bytes) -> str:
    """The text of a text file's bytes.

    Raises:
        IngestError: binary content, or not UTF-8.
    """
    if b"\x00" in data[:8192]:
        raise IngestError("binary content in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise IngestError(f"not UTF-8 text (bad byte at offset {err.start})") from None
