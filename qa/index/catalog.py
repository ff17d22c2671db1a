"""The catalog part of the local index: documents and passages in one SQLite file.

The file is updated in place, one transaction per write, yet a reader sees exactly the
generation its manifest names: every row records the generation that added it (`added_in`)
and the one that removed it (`removed_in`, NULL while live), and a reader of generation G
sees the rows with `added_in <= G` and no `removed_in <= G`. A write of generation G+1
commits its rows before `manifest.json` names G+1, so until then nobody sees them, and if the
run dies in between, the next write deletes them (`qa.index.catalog_writer`). Removed rows
stay readable for a while (`Settings.index_keep_retired_s`), so a search that began on an
older generation can still read the passages it found.

A passage row holds offsets into its document's text, never a copy of it; reading a passage
cuts it out with `substr`. Passage ids are never reused: an id is one passage everywhere.
Tables of per-passage data (keyed by `passage_id`) belong beside `passages`, written in the
same transaction; `ON DELETE CASCADE` removes them with their passage.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..errors import IndexCorruptError
from ..ingest import Document
from .chunking import Passage
from .layout import REBUILD_HINT
from .parts import DocumentRow, Filters, StoredPassage

#: `PRAGMA user_version` of the catalog's schema. Texts have a table of their own, so that
#: listing and filtering documents never reads through them.
SCHEMA_VERSION = 3
SCHEMA = f"""
CREATE TABLE documents (
    doc_key INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, position INTEGER NOT NULL,
    source TEXT NOT NULL, title TEXT NOT NULL, date TEXT, author TEXT, sha256 TEXT NOT NULL,
    page_starts TEXT NOT NULL, added_in INTEGER NOT NULL, removed_in INTEGER, removed_at REAL
);
CREATE TABLE texts (
    doc_key INTEGER PRIMARY KEY REFERENCES documents(doc_key) ON DELETE CASCADE,
    text TEXT NOT NULL
);
CREATE TABLE passages (
    passage_id INTEGER PRIMARY KEY,
    doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER,
    added_in INTEGER NOT NULL, removed_in INTEGER
);
CREATE INDEX documents_id ON documents(doc_id, added_in, removed_in);
CREATE INDEX documents_live ON documents(added_in, removed_in);
CREATE INDEX documents_position ON documents(position);
CREATE INDEX documents_date ON documents(date);
CREATE INDEX documents_removed ON documents(removed_in) WHERE removed_in IS NOT NULL;
CREATE INDEX passages_doc ON passages(doc_key);
CREATE INDEX passages_live ON passages(added_in, removed_in);
CREATE INDEX passages_removed ON passages(removed_in) WHERE removed_in IS NOT NULL;
PRAGMA user_version = {SCHEMA_VERSION};
"""
_PASSAGE_TEXT = 'substr(t.text, p.start + 1, p."end" - p.start)'
#: How long a reader waits for a writer's commit to finish (seconds).
BUSY_TIMEOUT = 30.0


def visible(table: str) -> str:
    """SQL: the rows of `table` (an alias) that generation `:g` holds."""
    return f"{table}.added_in <= :g AND ({table}.removed_in IS NULL OR {table}.removed_in > :g)"


def connect(path: Path, *, write: bool) -> sqlite3.Connection:
    """A connection to an existing catalog file. A reader's may still roll back what a
    killed writer left in the journal (so it opens read-write when it can), but never writes
    itself (`query_only`)."""
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True,
                         check_same_thread=False, timeout=BUSY_TIMEOUT,
                         isolation_level=None)
    if not write:
        db.execute("PRAGMA query_only = 1")
    return db


class SqliteCatalog:
    """The catalog as generation `generation` sees it (see `parts.Catalog`).

    The connection closes when `close` is called or, at the latest, as soon as nothing uses
    the catalog any more. (Python's sqlite3 connections sit in a reference cycle, so without
    this they would stay open until the garbage collector happened to run.)

    A damaged file is reported as `IndexCorruptError` naming it, whenever SQLite notices.
    """

    def __init__(self, path: Path, generation: int) -> None:
        self.path = path
        self.generation = generation
        self._db = connect(path, write=False)
        self._closer = weakref.finalize(self, self._db.close)
        self._passage_docs: list[str] | None = None
        version = self._rows("PRAGMA user_version")[0][0]
        if version != SCHEMA_VERSION:
            self.close()
            raise IndexCorruptError(f"{path} has schema {version}, not {SCHEMA_VERSION}; "
                                    f"{REBUILD_HINT}")

    def _rows(self, sql: str, args: Sequence[object] | dict[str, Any] = ()
              ) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.ProgrammingError:
            # A closed catalog or a malformed query is a bug in the caller, not a damaged
            # file: saying "run --rebuild" would send the user the wrong way.
            raise
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
            # (Text whose bytes were damaged is no longer UTF-8.)
            raise IndexCorruptError(
                f"{self.path} is damaged ({err}); {REBUILD_HINT}") from None

    def check(self, *, full: bool = False) -> None:
        """Have SQLite check the file's structure (`quick_check`, or `integrity_check`).

        Raises:
            IndexCorruptError: the file is damaged.
        """
        result = self._rows(f"PRAGMA {'integrity_check' if full else 'quick_check'}")
        if [tuple(r) for r in result] != [("ok",)]:
            problem = str(result[0][0]) if result else "no result"
            raise IndexCorruptError(f"{self.path} is damaged ({problem[:200]}); {REBUILD_HINT}")

    @property
    def _g(self) -> dict[str, int]:
        return {"g": self.generation}

    def document_count(self) -> int:
        return int(self._rows(f"SELECT COUNT(*) FROM documents d WHERE {visible('d')}",
                              self._g)[0][0])

    def passage_count(self) -> int:
        return int(self._rows(f"SELECT COUNT(*) FROM passages p WHERE {visible('p')}",
                              self._g)[0][0])

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        if not len(ids):
            return []
        wanted = [int(i) for i in ids]
        rows = self._rows(
            f'SELECT p.passage_id, d.doc_id, p.ordinal, p.start, p."end", p.page, '
            f"{_PASSAGE_TEXT}, d.title, d.date, d.source FROM passages p JOIN documents d "
            f"USING (doc_key) JOIN texts t USING (doc_key) WHERE p.passage_id IN ({','.join('?' * len(wanted))})", wanted)
        by_id = {row[0]: StoredPassage(*row) for row in rows}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise IndexCorruptError(f"{self.path} lacks passage {missing[0]}, which the other "
                                    f"parts hold; {REBUILD_HINT}")
        return [by_id[i] for i in wanted]

    def document(self, doc_id: str) -> Document:
        found = self._rows(
            "SELECT doc_id, source, title, text, date, author, page_starts FROM documents d "
            f"JOIN texts USING (doc_key) WHERE d.doc_id = :id AND {visible('d')}", {"id": doc_id, **self._g})
        if not found:
            raise KeyError(doc_id)
        row = found[0]
        return Document(doc_id=row[0], source=row[1], title=row[2], text=row[3], date=row[4],
                        author=row[5], page_starts=tuple(json.loads(row[6])))

    def documents(self) -> list[DocumentRow]:
        rows = self._rows("SELECT doc_id, source, title, date, sha256 FROM documents d "
                          f"WHERE {visible('d')} ORDER BY position", self._g)
        return [DocumentRow(*row) for row in rows]

    def passages_of(self, doc_id: str) -> list[tuple[int, Passage]]:
        rows = self._rows(
            f'SELECT p.passage_id, d.doc_id, p.ordinal, p.start, p."end", {_PASSAGE_TEXT}, '
            "p.page FROM passages p JOIN documents d USING (doc_key) JOIN texts t USING "
            f"(doc_key) WHERE d.doc_id = :id AND {visible('d')} ORDER BY p.ordinal",
            {"id": doc_id, **self._g})
        return [(int(row[0]), Passage(*row[1:])) for row in rows]

    def passage_doc_ids(self) -> list[str]:
        """The document id of every passage, indexed by passage id; ids that are not live
        here (never reused, so there are gaps) hold "". Read once, then kept: evaluation maps
        thousands of passages to documents."""
        if self._passage_docs is None:
            rows = self._rows("SELECT p.passage_id, d.doc_id FROM passages p JOIN documents d "
                              f"USING (doc_key) WHERE {visible('p')}", self._g)
            docs = [""] * (max((r[0] for r in rows), default=-1) + 1)
            for pid, doc_id in rows:
                docs[pid] = doc_id
            self._passage_docs = docs
        return self._passage_docs

    def filter_ids(self, where: Filters) -> np.ndarray:
        clauses = [visible("p")]
        args: dict[str, object] = dict(self._g)
        if where.source:
            clauses.append("(instr(d.source, :source) > 0 OR d.doc_id = :source)")
            args["source"] = where.source
        if where.date_from:
            clauses.append("d.date >= :date_from")
            args["date_from"] = where.date_from
        if where.date_to:
            clauses.append("d.date <= :date_to")
            args["date_to"] = where.date_to
        rows = self._rows("SELECT p.passage_id FROM passages p JOIN documents d USING "
                          f"(doc_key) WHERE {' AND '.join(clauses)} ORDER BY p.passage_id",
                          args)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def live_passage_ids(self) -> np.ndarray:
        """Every passage id this generation holds, ascending (for `qa verify`)."""
        rows = self._rows(f"SELECT passage_id FROM passages p WHERE {visible('p')} "
                          "ORDER BY passage_id", self._g)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def stored_documents(self) -> Iterator[tuple[Document, str]]:
        """Every live document as stored, with the hash stored beside it (for `qa verify`:
        they agree unless the file was altered)."""
        for row in self._rows(
                "SELECT doc_id, source, title, text, date, author, page_starts, sha256 "
                f"FROM documents d JOIN texts USING (doc_key) WHERE {visible('d')}", self._g):
            try:
                starts = tuple(json.loads(row[6]))
            except ValueError:
                starts = ()
            yield Document(doc_id=row[0], source=row[1], title=row[2], text=row[3],
                           date=row[4], author=row[5], page_starts=starts), row[7]

    def broken_passage(self) -> str:
        """The first live passage whose offsets don't fit its document, or whose document is
        not live, described; "" when there is none (for `qa verify`)."""
        outside = self._rows(
            "SELECT p.passage_id FROM passages p JOIN texts t USING (doc_key) WHERE "
            f'{visible("p")} AND NOT (0 <= p.start AND p.start < p."end" AND '
            'p."end" <= length(t.text)) LIMIT 1', self._g)
        if outside:
            return f"passage {outside[0][0]} has offsets outside its document"
        orphan = self._rows(
            f"SELECT p.passage_id FROM passages p WHERE {visible('p')} AND NOT EXISTS "
            f"(SELECT 1 FROM documents d WHERE d.doc_key = p.doc_key AND {visible('d')}) "
            "LIMIT 1", self._g)
        return f"passage {orphan[0][0]} has no live document" if orphan else ""

    def close(self) -> None:
        self._closer()
