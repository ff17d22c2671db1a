"""PDF: pypdf reads the text page by page; each page's start offset is kept for citations.

Encrypted PDFs that open without a password (the usual kind: AES-128 or AES-256 with an empty
user password) are decrypted, which needs `cryptography` (installed with `pypdf[crypto]`).
pypdf's own warnings ("EOF marker not found") are logged with the file's name in front.
"""

from __future__ import annotations

import contextvars
import io
import logging
from pathlib import Path

from ..errors import IngestError
from .document import Document, finish, parse_date, printable_path

#: The PDF being read in this thread or task, named in pypdf's log messages.
_READING: contextvars.ContextVar[str] = contextvars.ContextVar("qa_pdf_reading", default="")


log = logging.getLogger(__name__)


class _NameTheFile(logging.Handler):
    """Passes each pypdf log message on to this module's logger, with the name of the PDF
    being read in front (pypdf logs from many modules, and names no file)."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "%s: %s", _READING.get() or "a PDF", record.getMessage())


def _name_pypdf_messages() -> None:
    logger = logging.getLogger("pypdf")
    if not any(isinstance(h, _NameTheFile) for h in logger.handlers):
        logger.addHandler(_NameTheFile())
        logger.propagate = False


def read_pdf(path: Path, data: bytes) -> Document:
    """The text of every page, pages separated by a blank line.

    Raises:
        IngestError: encrypted with a password, unreadable, or no text (a scanned image).
    """
    _name_pypdf_messages()
    token = _READING.set(printable_path(path))
    try:
        pages, meta = _read(data)
    finally:
        _READING.reset(token)
    text, starts = "", []
    for page_text in pages:
        starts.append(len(text))
        text += page_text + "\n\n"
    if not text.strip():
        raise IngestError("no extractable text in the PDF (a scanned image?)")
    return finish(path, str(meta["title"] or ""), text, date=parse_date(meta["date"]),
                  author=str(meta["author"] or "") or None, page_starts=tuple(starts))


def _read(data: bytes) -> tuple[list[str], dict[str, object]]:
    """The text of each page and the title, creation date and author."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("encrypted PDF: it needs a password to open")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
        meta = {"title": str(info.title or "") if info else "",
                "author": str(info.author or "") if info else "",
                "date": _creation_date(info)}
    except IngestError:
        raise
    except DependencyError as err:
        raise IngestError(f"cannot decrypt this PDF ({err}); pip install 'pypdf[crypto]'"
                          ) from None
    # pypdf raises many kinds of error on malformed files (PdfReadError, KeyError,
    # RecursionError, struct.error, …); each means only that this file can't be read.
    except Exception as err:
        raise IngestError(f"unreadable PDF ({type(err).__name__}: {err})") from None
    return pages, meta


def _creation_date(info: object) -> object:
    try:
        return getattr(info, "creation_date", None)
    except ValueError:  # a malformed date string in the file's metadata
        return None
