"""The catalog part in PostgreSQL: documents and passages, read live (see `parts.Catalog`).

Look-ups by passage id also find retired rows (a search that began before a write may still
name them); everything else — counts, listings, filters — sees live rows only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...ingest import Document
from ..chunking import Passage
from ..parts import DocumentRow, Filters, StoredPassage
from .database import Database

_PASSAGE_TEXT = 'substr(d.text, p.start + 1, p."end" - p.start)'


class PostgresCatalog:
    """Documents and passages in the store's tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._passage_docs: tuple[int, list[str]] | None = None  # (generation, doc ids)

    def _counts(self) -> tuple[int, int, int]:
        with self._db.connection() as conn:
            row = conn.execute("SELECT documents, passages, generation FROM meta").fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def document_count(self) -> int:
        return self._counts()[0]

    def passage_count(self) -> int:
        return self._counts()[1]

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        if not len(ids):
            return []
        with self._db.connection() as conn:
            rows = conn.execute(
                f'SELECT p.passage_id, d.doc_id, p.ordinal, p.start, p."end", p.page, '
                f"{_PASSAGE_TEXT}, d.title, d.date, d.source FROM passages p "
                "JOIN documents d USING (doc_key) WHERE p.passage_id = ANY(%s)",
                [[int(i) for i in ids]],
            ).fetchall()
        by_id = {row[0]: StoredPassage(*row) for row in rows}
        return [by_id[int(i)] for i in ids]

    def document(self, doc_id: str) -> Document:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT doc_id, source, title, text, date, author, page_starts FROM documents "
                "WHERE doc_id = %s AND retired IS NULL", [doc_id],
            ).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return Document(doc_id=row[0], source=row[1], title=row[2], text=row[3], date=row[4],
                        author=row[5], page_starts=tuple(row[6]))

    def documents(self) -> list[DocumentRow]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT doc_id, source, title, date, sha256 FROM documents "
                "WHERE retired IS NULL ORDER BY doc_key").fetchall()
        return [DocumentRow(*row) for row in rows]

    def passages_of(self, doc_id: str) -> list[tuple[int, Passage]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f'SELECT p.passage_id, d.doc_id, p.ordinal, p.start, p."end", {_PASSAGE_TEXT}, '
                "p.page FROM passages p JOIN documents d USING (doc_key) "
                "WHERE d.doc_id = %s AND d.retired IS NULL ORDER BY p.ordinal", [doc_id],
            ).fetchall()
        return [(int(row[0]), Passage(*row[1:])) for row in rows]

    def passage_doc_ids(self) -> list[str]:
        """The document id of every passage, indexed by passage id. Ids are never reused, so
        the list has gaps (empty strings) where retired and deleted passages were; it is read
        again only after a write."""
        generation = self._counts()[2]
        if self._passage_docs is None or self._passage_docs[0] != generation:
            with self._db.connection() as conn:
                rows = conn.execute(
                    "SELECT p.passage_id, d.doc_id FROM passages p "
                    "JOIN documents d USING (doc_key)").fetchall()
            docs = [""] * (max((r[0] for r in rows), default=-1) + 1)
            for pid, doc_id in rows:
                docs[pid] = doc_id
            self._passage_docs = (generation, docs)
        return self._passage_docs[1]

    def filter_ids(self, where: Filters) -> np.ndarray:
        clauses, args = ["p.retired IS NULL"], []
        if where.source:
            clauses.append("(strpos(d.source, %s) > 0 OR d.doc_id = %s)")
            args += [where.source, where.source]
        if where.date_from:
            clauses.append("d.date >= %s")
            args.append(where.date_from)
        if where.date_to:
            clauses.append("d.date <= %s")
            args.append(where.date_to)
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT p.passage_id FROM passages p JOIN documents d USING (doc_key) "
                f"WHERE {' AND '.join(clauses)} ORDER BY p.passage_id", args,
            ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def close(self) -> None:
        """Nothing to close: connections belong to the process's pool."""
