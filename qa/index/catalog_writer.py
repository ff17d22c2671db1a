"""Writing the catalog: one transaction per index write, touching only what changed.

A write of generation G+1 (the manifest naming G):

1. deletes rows a killed earlier run added after G, and revives rows it removed after G —
   the manifest never named them, so no reader ever saw that run's changes;
2. marks the current rows of removed and changed documents `removed_in = G+1`, and returns
   their passage ids (the writer tombstones them in their segments);
3. inserts the new and changed documents and their passages (`added_in = G+1`; passage ids
   from the manifest's `next_passage` on, so they match the new segment's);
4. deletes rows removed long enough ago that no search can still be reading them;

then commits. Nobody sees any of it before `manifest.json` names G+1.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .catalog import SCHEMA, connect, visible
from .delta import Delta
from . import files
from .layout import FileStamp, stamp

#: Ids per SQL statement (well below SQLite's limit on variables).
_CHUNK = 500


def _chunks(items: Sequence[object]) -> Iterator[list[object]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start:start + _CHUNK])


class CatalogWriter:
    """A read-write connection to a catalog file, for one write run.

    Example:
        >>> with CatalogWriter.create(path) as writer:  # doctest: +SKIP
        ...     removed = writer.apply(delta, committed=0, first_id=0, keep_seconds=600)
    """

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db

    @classmethod
    def open(cls, path: Path) -> CatalogWriter:
        """The existing catalog (sqlite3.DatabaseError when it is damaged)."""
        db = connect(path, write=True)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = FULL")
        return cls(path, db)

    @classmethod
    def create(cls, path: Path) -> CatalogWriter:
        """A new, empty catalog at `path` (anything there is deleted first)."""
        for stale in (path, path.with_name(path.name + "-journal")):
            files.remove(stale)
        sqlite3.connect(path).close()
        writer = cls.open(path)
        writer._db.executescript(SCHEMA)
        return writer

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def stamp(self) -> FileStamp:
        """The file's size and mtime as committed (not hashed: it changes in place)."""
        files.fsync(self.path)
        return stamp(self.path, digest="")

    def apply(self, delta: Delta, *, committed: int, first_id: int,
              keep_seconds: float) -> np.ndarray:
        """Write `delta` as generation `committed + 1` and commit.

        Returns:
            The passage ids that generation removes (of removed and changed documents).
        """
        db, g = self._db, committed + 1
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            self._undo_uncommitted(committed)
            removed_docs = self._live_keys(sorted(delta.removed), committed)
            removed = self._passage_ids(list(removed_docs.values()))
            for chunk in _chunks(list(removed_docs.values())):
                marks = ",".join("?" * len(chunk))
                db.execute(f"UPDATE documents SET removed_in = ?, removed_at = ? "
                           f"WHERE doc_key IN ({marks})", [g, now, *chunk])
                db.execute(f"UPDATE passages SET removed_in = ? WHERE doc_key IN ({marks})",
                           [g, *chunk])
            self._insert(delta, g, first_id, self._positions(removed_docs))
            self._purge(committed, now - keep_seconds)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return removed

    def _undo_uncommitted(self, committed: int) -> None:
        db = self._db
        db.execute("DELETE FROM passages WHERE added_in > ?", [committed])
        db.execute("DELETE FROM texts WHERE doc_key IN (SELECT doc_key FROM documents "
                   "WHERE added_in > ?)", [committed])
        db.execute("DELETE FROM documents WHERE added_in > ?", [committed])
        db.execute("UPDATE documents SET removed_in = NULL, removed_at = NULL "
                   "WHERE removed_in > ?", [committed])
        db.execute("UPDATE passages SET removed_in = NULL WHERE removed_in > ?", [committed])

    def _live_keys(self, doc_ids: list[str], committed: int) -> dict[str, int]:
        """doc id → key of its live row, for those of `doc_ids` that have one."""
        keys: dict[str, int] = {}
        for chunk in _chunks(doc_ids):
            names = {f"d{i}": v for i, v in enumerate(chunk)}
            rows = self._db.execute(
                f"SELECT doc_id, doc_key FROM documents d WHERE {visible('d')} AND doc_id IN "
                f"({','.join(':' + k for k in names)})", {"g": committed, **names}).fetchall()
            keys.update(dict(rows))
        return keys

    def _passage_ids(self, doc_keys: list[int]) -> np.ndarray:
        ids: list[int] = []
        for chunk in _chunks(doc_keys):
            ids += [r[0] for r in self._db.execute(
                f"SELECT passage_id FROM passages WHERE doc_key IN "
                f"({','.join('?' * len(chunk))})", chunk)]
        return np.array(sorted(ids), dtype=np.int64)

    def _positions(self, removed_docs: dict[str, int]) -> dict[str, int]:
        """Where each removed document stood in index order (a changed one keeps its place)."""
        positions: dict[str, int] = {}
        keys = {key: doc_id for doc_id, key in removed_docs.items()}
        for chunk in _chunks(list(keys)):
            for key, position in self._db.execute(
                    f"SELECT doc_key, position FROM documents WHERE doc_key IN "
                    f"({','.join('?' * len(chunk))})", chunk):
                positions[keys[key]] = position
        return positions

    def _insert(self, delta: Delta, g: int, first_id: int, positions: dict[str, int]) -> None:
        db = self._db
        row = db.execute("SELECT coalesce(max(position), -1) FROM documents").fetchone()
        following = int(row[0]) + 1
        keys: dict[str, int] = {}
        for d in delta.documents:
            position = positions.get(d.doc_id)
            if position is None:
                position, following = following, following + 1
            cursor = db.execute(
                "INSERT INTO documents (doc_id, position, source, title, date, author, sha256, "
                "page_starts, added_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [d.doc_id, position, d.source, d.title, d.date, d.author, d.sha256,
                 json.dumps(list(d.page_starts)), g])
            keys[d.doc_id] = int(cursor.lastrowid or 0)
            db.execute("INSERT INTO texts (doc_key, text) VALUES (?, ?)",
                       [keys[d.doc_id], d.text])
        db.executemany(
            'INSERT INTO passages (passage_id, doc_key, ordinal, start, "end", page, added_in) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(first_id + i, keys[p.doc_id], p.ordinal, p.start, p.end, p.page, g)
             for i, p in enumerate(delta.passages)])

    def _purge(self, committed: int, before: float) -> None:
        """Delete rows removed at or before `committed` and before time `before`."""
        keys = [r[0] for r in self._db.execute(
            "SELECT doc_key FROM documents WHERE removed_in <= ? AND removed_at < ?",
            [committed, before])]
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for table in ("passages", "texts", "documents"):
                self._db.execute(f"DELETE FROM {table} WHERE doc_key IN ({marks})", chunk)
