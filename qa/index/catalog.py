"""The catalog part of the local index: documents and passages in one SQLite file.

A passage row holds offsets into its document's text, never a copy of it; reading a passage
cuts it out with `substr`. The file is written once per generation and opened read-only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..errors import IndexCorruptError
from ..ingest import Document
from . import layout
from .chunking import Passage
from .parts import DocumentRow, Filters, StoredPassage

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, date TEXT,
    author TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL
);
CREATE TABLE passages (
    passage_id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER
);
CREATE INDEX passages_doc ON passages(doc_id);
CREATE INDEX documents_date ON documents(date);
"""
_PASSAGE_TEXT = 'substr(d.text, p.start + 1, p."end" - p.start)'


class SqliteCatalog:
    """A read-only catalog over one generation's SQLite file (see `parts.Catalog`).

    The connection closes when `close` is called or, at the latest, as soon as nothing uses
    the catalog any more: a server that swapped in a new generation keeps no handle to the
    old one's (deleted) file, while a request still reading it finishes undisturbed. (Python's
    sqlite3 connections sit in a reference cycle, so without this they would stay open until
    the garbage collector happened to run.)

    A damaged file is reported as `IndexCorruptError` naming it, whenever SQLite notices.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True,
                                   check_same_thread=False)
        self._closer = weakref.finalize(self, self._db.close)
        self._passage_docs: list[str] | None = None

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.ProgrammingError:
            # A closed catalog or a malformed query is a bug in the caller, not a damaged
            # file: saying "run --rebuild" would send the user the wrong way.
            raise
        except sqlite3.DatabaseError as err:
            raise IndexCorruptError(
                f"{self.path} is damaged ({err}); {layout.REBUILD_HINT}") from None

    def check(self) -> None:
        """Have SQLite check the file's structure (`PRAGMA quick_check`).

        Raises:
            IndexCorruptError: the file is damaged.
        """
        result = self._rows("PRAGMA quick_check")
        if [tuple(r) for r in result] != [("ok",)]:
            problem = str(result[0][0]) if result else "no result"
            raise IndexCorruptError(
                f"{self.path} is damaged ({problem[:200]}); {layout.REBUILD_HINT}")

    def document_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM documents")[0][0])

    def passage_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM passages")[0][0])

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            f'SELECT p.passage_id, p.doc_id, p.ordinal, p.start, p."end", p.page, {_PASSAGE_TEXT},'
            " d.title, d.date, d.source FROM passages p JOIN documents d USING (doc_id) "
            f"WHERE p.passage_id IN ({marks})",
            [int(i) for i in ids],
        )
        by_id = {row[0]: StoredPassage(*row) for row in rows}
        missing = [int(i) for i in ids if int(i) not in by_id]
        if missing:
            raise IndexCorruptError(f"{self.path} lacks passage {missing[0]}, which the other "
                                    f"parts hold; {layout.REBUILD_HINT}")
        return [by_id[int(i)] for i in ids]

    def document(self, doc_id: str) -> Document:
        found = self._rows(
            "SELECT doc_id, source, title, text, date, author, page_starts FROM documents "
            "WHERE doc_id = ?", [doc_id],
        )
        if not found:
            raise KeyError(doc_id)
        row = found[0]
        return Document(doc_id=row[0], source=row[1], title=row[2], text=row[3], date=row[4],
                        author=row[5], page_starts=tuple(json.loads(row[6])))

    def documents(self) -> list[DocumentRow]:
        rows = self._rows(
            "SELECT doc_id, source, title, date, sha256 FROM documents ORDER BY rowid")
        return [DocumentRow(*row) for row in rows]

    def passages_of(self, doc_id: str) -> list[tuple[int, Passage]]:
        rows = self._rows(
            f'SELECT p.passage_id, p.doc_id, p.ordinal, p.start, p."end", {_PASSAGE_TEXT}, '
            "p.page FROM passages p JOIN documents d USING (doc_id) WHERE p.doc_id = ? "
            "ORDER BY p.ordinal", [doc_id],
        )
        return [(int(row[0]), Passage(*row[1:])) for row in rows]

    def passage_doc_ids(self) -> list[str]:
        # Read once, then kept: evaluation maps thousands of passages to documents.
        if self._passage_docs is None:
            rows = self._rows("SELECT doc_id FROM passages ORDER BY passage_id")
            self._passage_docs = [r[0] for r in rows]
        return self._passage_docs

    def filter_ids(self, where: Filters) -> np.ndarray:
        clauses, args = [], []
        if where.source:
            clauses.append("(instr(d.source, ?) > 0 OR d.doc_id = ?)")
            args += [where.source, where.source]
        if where.date_from:
            clauses.append("d.date >= ?")
            args.append(where.date_from)
        if where.date_to:
            clauses.append("d.date <= ?")
            args.append(where.date_to)
        condition = " AND ".join(clauses) or "1"
        rows = self._rows(
            "SELECT p.passage_id FROM passages p JOIN documents d USING (doc_id) "
            f"WHERE {condition}", args,
        )
        return np.array(sorted(r[0] for r in rows), dtype=np.int64)

    def close(self) -> None:
        self._closer()


def write_catalog(path: Path, documents: Sequence[Document], passages: Sequence[Passage]) -> None:
    """Write the catalog file: `passages[i]` gets passage id i. Written beside, then renamed."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(d.doc_id, d.source, d.title, d.date, d.author, d.sha256, d.text,
              json.dumps(list(d.page_starts))) for d in documents],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)",
            [(i, p.doc_id, p.ordinal, p.start, p.end, p.page) for i, p in enumerate(passages)],
        )
        db.commit()
    finally:
        db.close()
    layout.fsync(tmp)
    os.replace(tmp, path)
