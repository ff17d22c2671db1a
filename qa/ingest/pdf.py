"""PDF: pypdf reads the text page by page; each page's start offset is kept for citations."""

from __future__ import annotations

import io
from pathlib import Path

from ..errors import IngestError
from .document import Document, finish, parse_date


def read_pdf(path: Path, data: bytes) -> Document:
    """The text of every page, pages separated by a blank line.

    Raises:
        IngestError: encrypted with a password, unreadable, or no text (a scanned image).
    """
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
    return finish(path, title, text, date=when, author=author, page_starts=tuple(starts))
