"""BEIR corpora: one `{"_id", "title", "text", "metadata"?}` object per line, one document each.

`metadata.publish_date` (or `date`) is read as the document's date, so an evaluation corpus
indexes directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .document import Document, Skipped, parse_date, row_source


def read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """Every row of a BEIR corpus file, as a Document or a Skipped naming the line."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        yield Skipped(str(path), f"cannot read: {err.strerror or err}")
        return
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _row(path, number, line)
        except UnicodeDecodeError as err:
            yield Skipped(str(path), f"not UTF-8 text (bad byte at offset {err.start})")


def _row(path: Path, number: int, line: str) -> Document | Skipped:
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
        source=row_source(path, str(row["_id"])),
        title=str(row.get("title") or "").strip() or str(row["_id"]),
        text=text,
        date=when,
    )
