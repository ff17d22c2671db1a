"""HTML articles: trafilatura extracts the title, date, author and main text."""

from __future__ import annotations

from pathlib import Path

from ..errors import IngestError
from .document import Document, finish, parse_date


def read_html(path: Path, html: str) -> Document:
    """The article in an HTML page, without menus, scripts or comments.

    Raises:
        IngestError: trafilatura finds no article text.
    """
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
    return finish(path, title, text, date=parse_date(meta.get("date")), author=meta.get("author"))
