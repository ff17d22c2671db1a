"""BEIR corpora: one `{"_id", "title", "text", "metadata"?}` object per line, one document each.

`metadata.publish_date` (or `date`) is read as the document's date, so an evaluation corpus
indexes directly. A bad line (not JSON, not UTF-8, no usable `_id`, too long) is skipped with
its line number; the lines around it are read.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .document import Document, Skipped, clean_text, parse_date, printable_path, row_source

#: Bytes per character of UTF-8 at most: a line of N characters is at most 4N bytes.
_UTF8_MAX = 4


def read_jsonl(path: Path, *, max_line_chars: int) -> Iterator[Document | Skipped]:
    """Every row of a BEIR corpus file, as a Document or a Skipped naming the line.

    Args:
        path: the corpus file.
        max_line_chars: a longer line is skipped (and never held in memory whole).
    """
    name = printable_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        yield Skipped(name, f"cannot read: {err.strerror or err}")
        return
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            yield Skipped(name, "not a regular file")
            return
        limit = max_line_chars * _UTF8_MAX
        number = 0
        while True:
            try:
                raw = handle.readline(limit + 1)
            except OSError as err:
                yield Skipped(name, f"cannot read: {err.strerror or err}")
                return
            if not raw:
                return
            number += 1
            where = f"{name}:{number}"
            too_long = Skipped(where, f"a line longer than {max_line_chars} characters "
                               "(QA_MAX_DOCUMENT_CHARS)")
            if len(raw) > limit and not raw.endswith(b"\n"):
                _skip_rest_of_line(handle, limit)
                yield too_long
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                yield Skipped(where, f"not UTF-8 text (bad byte at offset {err.start})")
                continue
            if len(line.rstrip("\r\n")) > max_line_chars:
                yield too_long
            elif line.strip():
                yield _row(path, where, line)


def _skip_rest_of_line(handle: BinaryIO, limit: int) -> None:
    while chunk := handle.readline(limit):
        if chunk.endswith(b"\n"):
            return


def _row(path: Path, where: str, line: str) -> Document | Skipped:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
        return Skipped(where, f"not JSON ({reason})")
    if not isinstance(row, dict) or "_id" not in row:
        return Skipped(where, "no _id field (expected BEIR corpus lines: _id, title, text)")
    raw_id = row["_id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        return Skipped(where, f"_id must be a non-empty string or a number, not "
                       f"{json.dumps(raw_id)[:40]}")
    doc_id = clean_text(str(raw_id)).strip()
    text = clean_text(_as_text(row.get("text"))).strip()
    if not text:
        return Skipped(where, "empty text")
    meta = row["metadata"] if isinstance(row.get("metadata"), dict) else {}
    when = parse_date(meta.get("publish_date") or meta.get("date") or row.get("date"))
    return Document(
        doc_id=doc_id,
        source=row_source(path, doc_id),
        title=clean_text(_as_text(row.get("title"))).strip() or doc_id,
        text=text,
        date=when,
    )


def _as_text(value: object) -> str:
    """A JSON value as text: strings and numbers as they read, anything else as nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
