"""Reading files into `Document`s: text and Markdown, HTML articles, PDF, and BEIR corpus JSONL.

Each reader returns the document's own text (no title or date line, no page cruft), its
metadata, and a sha256 of the content, so the indexer can tell a changed document from an
unchanged one. A file that cannot be read becomes a `Skipped` with the reason, never an
exception: one bad file must not stop a folder from being indexed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .errors import IngestError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".jsonl"}

# Lines that blogs and news sites leave at the end of an article; they are not content.
_CRUFT = re.compile(
    r"^(no comments?:?|\d+ comments?:?|posted by\b.*|labels?:.*|share this( article)?:?|"
    r"email this.*|newer post.*|older post.*|home|subscribe to:.*|advertisement|"
    r"read more\.?|tags?:.*)$",
    re.IGNORECASE,
)
_MAX_TITLE_CHARS = 200
_MAX_DATE_LINE_CHARS = 60
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")


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


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file under `paths` (recursively, sorted), skipping hidden files and folders."""
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
            yield from _read_jsonl(path)
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
        return _read_pdf(path, data)
    if b"\x00" in data[:8192]:
        raise IngestError("binary content in a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise IngestError(f"not UTF-8 text (bad byte at offset {err.start})") from None
    if suffix in HTML_SUFFIXES:
        return _read_html(path, text)
    return _read_text(path, text)


def _finish(path: Path, title: str, text: str, **meta: object) -> Document:
    text = text.strip()
    if not text:
        raise IngestError("no text content")
    return Document(
        doc_id=file_doc_id(path),
        source=str(path.resolve()),
        title=title.strip() or path.stem,
        text=text,
        **meta,  # type: ignore[arg-type]
    )


def parse_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, datetime or string, or None when it is not one."""
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


def _read_text(path: Path, raw: str) -> Document:
    """Plain text or Markdown: a date line and a title line at the top become metadata."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, lines = _front_matter(lines)
    title, when = meta.get("title", ""), parse_date(meta.get("date"))
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and when is None and len(lines[0].strip()) <= _MAX_DATE_LINE_CHARS:
        when = parse_date(lines[0])
        if when is not None:
            lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not title and lines:
        first = lines[0].strip()
        is_heading = first.startswith("#")
        first = first.lstrip("#").strip()
        if is_heading or (len(first) <= _MAX_TITLE_CHARS and not first.endswith((".", ":"))):
            title = first
            lines.pop(0)
    while lines and (not lines[-1].strip() or _CRUFT.match(lines[-1].strip())):
        lines.pop()
    return _finish(path, title, "\n".join(lines), date=when)


def _front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Simple `key: value` YAML front matter between `---` lines, as Markdown files often have."""
    if not lines or lines[0].strip() != "---":
        return {}, lines
    for end in range(1, min(len(lines), 50)):
        if lines[end].strip() == "---":
            meta = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("'\"")
            return meta, lines[end + 1 :]
    return {}, lines


def _read_html(path: Path, html: str) -> Document:
    import trafilatura

    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if extracted is None:
        raise IngestError("no article text found in the HTML")
    meta = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    text = meta.get("text") or ""
    title = meta.get("title") or ""
    # trafilatura repeats the headline as the first line of the text; the title holds it.
    if title and text.startswith(title):
        text = text[len(title) :]
    return _finish(path, title, text, date=parse_date(meta.get("date")), author=meta.get("author"))


def _read_pdf(path: Path, data: bytes) -> Document:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise IngestError(f"unreadable PDF ({err})") from None
    text, starts = "", []
    for page_text in pages:
        starts.append(len(text))
        text += page_text + "\n\n"
    if not text.strip():
        raise IngestError("no extractable text in the PDF (a scanned image?)")
    title = (info.title if info else None) or ""
    when = parse_date(info.creation_date if info else None) if info else None
    author = (info.author if info else None) or None
    return _finish(path, title, text, date=when, author=author, page_starts=tuple(starts))


def _read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """A BEIR corpus: one `{"_id", "title", "text", "metadata"?}` object per line."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        yield Skipped(str(path), f"cannot read: {err.strerror or err}")
        return
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _jsonl_row(path, number, line)
        except UnicodeDecodeError as err:
            yield Skipped(str(path), f"not UTF-8 text (bad byte at offset {err.start})")


def _jsonl_row(path: Path, number: int, line: str) -> Document | Skipped:
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        return Skipped(where, f"not JSON ({err.msg})")
    if not isinstance(row, dict) or "_id" not in row:
        return Skipped(where, "no _id field (expected BEIR corpus lines: _id, title, text)")
    text = str(row.get("text") or "").strip()
    if not text:
        return Skipped(where, "empty text")
    meta = row["metadata"] if isinstance(row.get("metadata"), dict) else {}
    when = parse_date(meta.get("publish_date") or meta.get("date") or row.get("date"))
    return Document(
        doc_id=str(row["_id"]),
        source=f"{path.resolve()}#{row['_id']}",
        title=str(row.get("title") or "").strip() or str(row["_id"]),
        text=text,
        date=when,
    )
