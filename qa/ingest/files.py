"""Which files are read, and by which reader: the dispatch from a path to a `Document`.

A file that cannot be read becomes a `Skipped` with the reason, never an exception: one bad
file must not stop a folder from being indexed, and every path passed over says why (a FIFO, a
broken or looping symlink, a link out of the folder, a file name that is not UTF-8). Hidden
files and folders (a name starting with ".") are the one silent exception: they are version
control, editor and upload scratch files, not documents.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import IngestError
from .document import Document, Skipped, printable_path
from .html import read_html
from .jsonl import read_jsonl
from .pdf import read_pdf
from .text import read_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".jsonl"}
#: Marks an upload that was stored but not yet indexed: `.NAME.pending` beside `NAME`. A file
#: with one is the remains of an interrupted upload, never read.
PENDING_SUFFIX = ".pending"
_PENDING_UPLOAD = "an upload that was interrupted before it was indexed"
#: A NUL byte this early in a file without a byte-order mark means it is not text.
_BINARY_PROBE = 8192
#: Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


_WIDE_ENCODINGS = ("utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le")
_PREFERRED = {"cp1252": 0, "latin_1": 1}
#: Encodings whose "chaos" (charset-normalizer's measure of mess) differs by less fit equally.
_CHAOS_TIE = 0.01


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
    is not one. Hidden files and folders are left out.

    A path given is read even through a symlink (it was asked for); inside a folder, a symlink
    is followed only when it points inside that folder (or `follow_symlinks_outside`).

    Raises:
        IngestError: a path given does not exist.
    """
    limits = limits or ReadLimits.from_settings()
    for root in paths:
        if not os.path.lexists(root):
            raise IngestError(f"{printable_path(root)}: no such file or folder")
        problem = _unprintable(root) or _broken_link(root)
        if problem:
            yield Skipped(printable_path(root), problem)
        elif root.is_dir():
            real = root.resolve()
            yield from _walk(root, real, {real}, limits)
        elif root.is_file():
            yield root
        else:
            yield Skipped(printable_path(root), _not_regular(root))


def _walk(folder: Path, root: Path, seen: set[Path], limits: ReadLimits
          ) -> Iterator[Path | Skipped]:
    """The files of `folder` (whose real path lies under `root`), depth first, sorted."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        yield Skipped(printable_path(folder), f"cannot read the folder: {err.strerror or err}")
        return
    names = {entry.name for entry in entries}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        pending = f".{entry.name}{PENDING_SUFFIX}" in names
        problem = _unprintable(path) or (_PENDING_UPLOAD if pending else "")
        if problem:
            yield Skipped(printable_path(path), problem)
        elif entry.is_symlink():
            yield from _follow(path, root, seen, limits)
        elif entry.is_dir(follow_symlinks=False):
            real = path.resolve()
            if real not in seen:  # else it was read already, through a link to it
                seen.add(real)
                yield from _walk(path, root, seen, limits)
        elif entry.is_file(follow_symlinks=False):
            yield path
        else:
            yield Skipped(printable_path(path), _not_regular(path))


def _follow(link: Path, root: Path, seen: set[Path], limits: ReadLimits
            ) -> Iterator[Path | Skipped]:
    """A symlink met inside a folder: its file, its folder's files, or why it is skipped."""
    problem = _broken_link(link)
    if problem:
        yield Skipped(printable_path(link), problem)
        return
    target = link.resolve()
    if not target.is_relative_to(root) and not limits.follow_symlinks_outside:
        yield Skipped(printable_path(link), f"a symlink to {printable_path(target)}, outside "
                      f"the folder being indexed (set QA_FOLLOW_SYMLINKS=1 to follow it)")
    elif target.is_dir():
        if target in seen or root.is_relative_to(target):
            yield Skipped(printable_path(link),
                          f"a symlink loop (a link to the folder {printable_path(target)}, "
                          "which is already being read)")
            return
        seen.add(target)
        yield from _walk(link, root, seen, limits)
    elif target.is_file():
        yield link
    else:
        yield Skipped(printable_path(link), _not_regular(target))


def _broken_link(path: Path) -> str:
    """Why a symlink leads nowhere ("" when it is not a symlink or leads somewhere)."""
    if not path.is_symlink():
        return ""
    try:
        path.resolve(strict=True)
    except FileNotFoundError:
        return f"a broken symlink (to {printable_path(os.readlink(path))}, which does not exist)"
    except (RuntimeError, OSError):
        return "a symlink loop (it leads back to itself)"
    return ""


def _unprintable(path: Path) -> str:
    """Why a path can't be indexed by name ("" when it can): a name that is not UTF-8 can be
    neither stored nor shown as it is."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file"
    return ""


def _not_regular(path: Path) -> str:
    """What kind of special file `path` is, as a reason to skip it."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
    return f"{kind}, not a regular file"


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
            raise IngestError(_not_regular(path))
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


def decode_text(data: bytes) -> str:
    """The text of a text file's bytes: by its byte-order mark (UTF-8, UTF-16, UTF-32), as
    UTF-8, or else in the encoding charset-normalizer finds (Latin-1, Windows-1252, …).

    Raises:
        IngestError: binary content, or no encoding fits.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as err:
                raise IngestError(f"not valid {encoding.removesuffix('-sig').upper()} text "
                                  f"(bad bytes at offset {err.start})") from None
    if b"\x00" in data[:_BINARY_PROBE]:
        raise IngestError("binary content in a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = err.start
    text = _detect(data)
    if text is None:
        raise IngestError(f"not text: not UTF-8 (bad byte at offset {bad}) and no other "
                          "encoding fits")
    return text


def _detect(data: bytes) -> str | None:
    """The text of `data` in the encoding charset-normalizer finds likeliest. When several
    fit equally well (common for Western text), Windows-1252, then Latin-1, is taken: by far
    the most common legacy encodings. UTF-16 and UTF-32 are ruled out, as text in them
    without a byte-order mark would be full of NUL bytes."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_exclusion=list(_WIDE_ENCODINGS)))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least + _CHAOS_TIE]
    tied.sort(key=lambda m: (_PREFERRED.get(m.encoding, len(_PREFERRED)), -m.coherence))
    return str(tied[0])
