"""Writing the PostgreSQL store: one transaction per `qa index` run, under an advisory lock.

A run holds a session-level advisory lock (one per schema) from before it reads the store
until after it commits, so two runs never interleave: the second is refused with a message,
as with the index folder's lock file. Its changes are one transaction — documents and
passages of changed or pruned files retired, new rows copied in, term counts and the meta
row updated — so a killed run leaves the last committed state, and readers see the state
before the commit or after it. A first run or `--rebuild` creates the tables inside that
transaction and builds the search indexes after loading the rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...errors import IndexBusyError, IndexMismatchError, IndexMissingError
from ..delta import Delta, IndexSettings
from ..store import IndexStore
from .database import Database
from .lexical import passage_terms
from .schema import (
    SCHEMA_VERSION,
    as_json,
    bm25_extensions,
    create_search_indexes,
    create_tables,
    rebuild_hint,
    server_versions,
    set_dimension,
)
from .store import PostgresStore

if TYPE_CHECKING:
    import psycopg


def lock_key(schema: str) -> int:
    """The advisory-lock key of a schema's writers: a signed 64-bit number.

    Example:
        >>> lock_key("qa") == lock_key("qa") != lock_key("other")
        True
    """
    digest = hashlib.sha256(f"qa index:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresTarget:
    """A PostgreSQL store as a `StoreTarget` (see `qa.index.delta`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings)
        self._conn: psycopg.Connection[Any] | None = None

    def describe(self) -> str:
        return self.db.label

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the schema's advisory lock on a session of our own; closing the session (or
        the process dying) releases it.

        Raises:
            IndexBusyError: another run holds it.
        """
        conn = self.db.connect()
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)",
                               [lock_key(self.db.schema)]).fetchone()
            if not got or not got[0]:
                raise IndexBusyError(
                    f"another `qa index` is writing the PostgreSQL store {self.db.label}; "
                    "wait for it to finish")
            self._conn = conn
            yield
        finally:
            self._conn = None
            conn.close()

    def open_existing(self, model: str) -> IndexStore | None:
        try:
            return PostgresStore.open(self.settings, model=model)
        except IndexMissingError:
            return None

    def write(self, delta: Delta, how: IndexSettings, old: IndexStore | None) -> int:
        conn = self._conn
        if conn is None:
            raise RuntimeError("PostgresTarget.write needs the lock held")
        dim = int(delta.vectors.shape[1]) if delta.vectors.ndim == 2 else 0
        if not dim and old is not None:
            dim = old.manifest.dim
        replace = delta.replace or old is None
        with conn.transaction():
            if replace:
                create_tables(conn, self.db, dim)
                self._insert_meta(conn, how, dim)
            else:
                self._check_dimension(conn, dim, bool(len(delta.passages)))
                self._retire(conn, delta.removed)
            self._insert(conn, delta, how)
            if replace:
                create_search_indexes(conn, dim)
                # Statistics for the planner now, not whenever autovacuum comes round.
                conn.execute("ANALYZE documents, passages, lexicon")
            passages = self._finish(conn, how)
        if replace:
            # Pooled connections of this process may predate the extension or the tables.
            self.db.forget_pool()
        return passages

    def _insert_meta(self, conn: psycopg.Connection[Any], how: IndexSettings,
                     dim: int) -> None:
        versions = server_versions(conn) | {"bm25_extensions": bm25_extensions(conn)}
        conn.execute(
            "INSERT INTO meta (schema_version, model, dim, chunking, bm25, analysis, versions, "
            "precision) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [SCHEMA_VERSION, how.model, dim, as_json(how.chunking), as_json(how.bm25),
             as_json(how.analyzer.settings()), as_json(versions), how.precision],
        )

    def _check_dimension(self, conn: psycopg.Connection[Any], dim: int,
                         adding: bool) -> None:
        row = conn.execute("SELECT dim, passages FROM meta").fetchone()
        stored, passages = (int(row[0]), int(row[1])) if row else (0, 0)
        if not adding or dim == stored:
            return
        if passages:
            raise IndexMismatchError(
                f"the PostgreSQL store {self.db.label} holds {stored}-dimensional vectors, "
                f"not {dim}; {rebuild_hint(self.db)}")
        set_dimension(conn, dim)
        conn.execute("UPDATE meta SET dim = %s", [dim])

    def _retire(self, conn: psycopg.Connection[Any], doc_ids: frozenset[str]) -> None:
        """Take the current version of these documents out of every search, counts included;
        the rows stay readable by id until `_finish` deletes them once old enough."""
        if not doc_ids:
            return
        keys = [r[0] for r in conn.execute(
            "UPDATE documents SET retired = now() WHERE doc_id = ANY(%s) AND retired IS NULL "
            "RETURNING doc_key", [sorted(doc_ids)]).fetchall()]
        self._count_terms(conn, keys, sign=-1)
        conn.execute("UPDATE passages SET retired = now() WHERE doc_key = ANY(%s)", [keys])
        conn.execute("DELETE FROM lexicon WHERE df <= 0")

    def _insert(self, conn: psycopg.Connection[Any], delta: Delta, how: IndexSettings) -> None:
        """Copy in the delta's documents, then their passages, then count their terms."""
        if not delta.documents:
            return
        with conn.cursor() as cur, cur.copy(
                "COPY documents (doc_id, source, title, date, author, sha256, text, page_starts)"
                " FROM STDIN") as copy:
            for d in delta.documents:
                copy.write_row((d.doc_id, d.source, d.title, d.date, d.author, d.sha256,
                                d.text, json.dumps(list(d.page_starts))))
        keys = dict(conn.execute(
            "SELECT doc_id, doc_key FROM documents WHERE retired IS NULL AND doc_id = ANY(%s)",
            [[d.doc_id for d in delta.documents]]).fetchall())
        terms = passage_terms(delta.lexical_texts, how.analyzer)
        with conn.cursor() as cur, cur.copy(
                'COPY passages (doc_key, ordinal, start, "end", page, embedding, lexemes, tf, '
                "length) FROM STDIN") as copy:
            for passage, vector, t in zip(delta.passages, delta.vectors, terms, strict=True):
                copy.write_row((keys[passage.doc_id], passage.ordinal, passage.start,
                                passage.end, passage.page, vector, t.lexemes, t.frequencies,
                                t.length))
        self._count_terms(conn, list(keys.values()), sign=1)

    def _count_terms(self, conn: psycopg.Connection[Any], doc_keys: list[int], *,
                     sign: int) -> None:
        """Add (sign 1) or subtract (sign -1) these documents' passages to the term counts
        and the meta row's totals."""
        if not doc_keys:
            return
        conn.execute(
            "INSERT INTO lexicon (term, df) SELECT u.lexeme, %(sign)s * count(*) "
            "FROM passages p, unnest(p.lexemes) u WHERE p.doc_key = ANY(%(keys)s) "
            "GROUP BY u.lexeme ON CONFLICT (term) DO UPDATE SET df = lexicon.df + excluded.df",
            {"sign": sign, "keys": doc_keys})
        conn.execute(
            "UPDATE meta SET documents = documents + %(sign)s * %(docs)s, "
            "passages = passages + %(sign)s * s.n, total_length = total_length + %(sign)s * s.len "
            "FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS len FROM passages "
            "WHERE doc_key = ANY(%(keys)s)) s",
            {"sign": sign, "docs": len(doc_keys), "keys": doc_keys})

    def _finish(self, conn: psycopg.Connection[Any], how: IndexSettings) -> int:
        """Delete rows retired long enough ago, record the settings and bump the
        generation; returns the passage count."""
        conn.execute("DELETE FROM documents WHERE retired < now() - make_interval(secs => %s)",
                     [self.settings.pg_keep_retired_s])
        row = conn.execute(
            "UPDATE meta SET generation = generation + 1, updated = now(), model = %s, "
            "chunking = %s, bm25 = %s RETURNING passages",
            [how.model, as_json(how.chunking), as_json(how.bm25)]).fetchone()
        return int(row[0]) if row else 0
