"""The store's tables in PostgreSQL, their version, and the row that describes them.

    meta        one row: schema version, model, dimension, chunking / BM25 / text-analysis
                settings, the write generation, live counts, software versions, the model's
                precision
    documents   doc_key (identity), doc_id, source, title, date, author, sha256, text,
                page_starts; `retired` once a later write replaced or removed it
    passages    passage_id (identity), doc_key, ordinal, start, end, page, the unit vector
                (pgvector, HNSW with inner product), the BM25 terms as a tsvector (GIN),
                their frequencies (JSON) and count; `retired` likewise
    lexicon     term, df: in how many live passages each term occurs (BM25's idf)

A passage's text is cut from its document's text by offsets, as in the index folder. Rows a
write replaces are retired, not deleted: a search that started before the commit can still
read them, and a later write deletes them once they are old enough. Both indexes cover live
rows only (partial indexes), so searches never see retired ones.

The tool creates the tables, and refuses tables of another `SCHEMA_VERSION` with the command
that rebuilds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...config import DEFAULT_PRECISION
from ...errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from ..analysis import TextAnalyzer
from ..layout import FORMAT_VERSION, Manifest
from .database import Database

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1
#: BM25 extensions `qa index` looks for (and records); see `bm25_extensions`.
BM25_EXTENSIONS = ("pg_search", "pg_textsearch", "vchord_bm25")
TABLES = ("meta", "documents", "passages", "lexicon")

_TABLES_SQL = """
CREATE TABLE meta (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    schema_version integer NOT NULL,
    model text NOT NULL,
    dim integer NOT NULL,
    chunking jsonb NOT NULL,
    bm25 jsonb NOT NULL,
    analysis jsonb NOT NULL,
    generation bigint NOT NULL DEFAULT 0,
    documents bigint NOT NULL DEFAULT 0,
    passages bigint NOT NULL DEFAULT 0,
    total_length bigint NOT NULL DEFAULT 0,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    versions jsonb NOT NULL DEFAULT '{{}}',
    precision text NOT NULL DEFAULT 'fp32'
);
CREATE TABLE documents (
    doc_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id text NOT NULL,
    source text NOT NULL,
    title text NOT NULL,
    date text,
    author text,
    sha256 text NOT NULL,
    text text NOT NULL,
    page_starts jsonb NOT NULL,
    retired timestamptz
);
CREATE UNIQUE INDEX documents_live ON documents (doc_id) WHERE retired IS NULL;
CREATE INDEX documents_retired ON documents (retired) WHERE retired IS NOT NULL;
CREATE TABLE passages (
    passage_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_key bigint NOT NULL REFERENCES documents ON DELETE CASCADE,
    ordinal integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    page integer,
    embedding {vector_type} NOT NULL,
    lexemes tsvector NOT NULL,
    tf jsonb NOT NULL,
    length integer NOT NULL,
    retired timestamptz
);
CREATE INDEX passages_doc ON passages (doc_key);
CREATE TABLE lexicon (
    term text PRIMARY KEY,
    df integer NOT NULL
);
"""
#: Built after a bulk load (faster than growing them row by row), and kept by later writes.
_LIVE_INDEXES_SQL = """
CREATE INDEX passages_lexemes ON passages USING gin (lexemes) WHERE retired IS NULL;
"""
_VECTOR_INDEX_SQL = """
CREATE INDEX passages_embedding ON passages USING hnsw (embedding vector_ip_ops)
    WHERE retired IS NULL;
"""


@dataclass(frozen=True)
class Meta:
    """The meta row."""

    schema_version: int
    model: str
    dim: int
    chunking: dict[str, Any]
    bm25: dict[str, float]
    analysis: dict[str, Any]
    generation: int
    documents: int
    passages: int
    total_length: int
    created: str
    versions: dict[str, Any]
    #: The model's precision (tables made before it was recorded have no column: fp32).
    precision: str = DEFAULT_PRECISION

    def manifest(self) -> Manifest:
        """The meta row as the `Manifest` every store reports (it has no files)."""
        return Manifest(
            format_version=FORMAT_VERSION, generation=self.generation, model=self.model,
            dim=self.dim, chunking=self.chunking, bm25=self.bm25,
            counts={"documents": self.documents, "passages": self.passages},
            files={}, checksums={}, created=self.created, versions=self.versions,
            analysis=self.analysis, precision=self.precision,
        )


def index_command(db: Database, *, rebuild: bool = False) -> str:
    """The `qa index` command line that writes this store (its password left out)."""
    schema = f"QA_PG_SCHEMA={db.schema} " if db.custom_schema else ""
    return f"{schema}qa index{' --rebuild' if rebuild else ''} --store '{db.where}'"


def rebuild_hint(db: Database) -> str:
    return f"run `{index_command(db, rebuild=True)}` to build it again"


def read_meta(conn: psycopg.Connection[Any], db: Database) -> Meta:
    """The meta row, checked to be of this `SCHEMA_VERSION`.

    Raises:
        IndexMissingError: the tables don't exist yet.
        IndexMismatchError: they are of another schema version.
        IndexCorruptError: the meta row is missing.
    """
    import psycopg

    try:
        with conn.transaction():
            version = conn.execute("SELECT schema_version FROM meta").fetchone()
            if version is not None and version[0] != SCHEMA_VERSION:
                raise IndexMismatchError(
                    f"the PostgreSQL store {db.label} has schema version {version[0]}; this qa "
                    f"uses version {SCHEMA_VERSION}: {rebuild_hint(db)}")
            row = conn.execute(
                "SELECT schema_version, model, dim, chunking, bm25, analysis, generation, "
                "documents, passages, total_length, created::text, versions, "
                "coalesce(to_jsonb(meta) ->> 'precision', %s) FROM meta", [DEFAULT_PRECISION]
            ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn,
            psycopg.errors.InvalidSchemaName):
        raise IndexMissingError(
            f"no index in the PostgreSQL store {db.label} yet; run `{index_command(db)}` "
            "to build it") from None
    if row is None:
        raise IndexCorruptError(f"the PostgreSQL store {db.label} has no meta row; "
                                f"{rebuild_hint(db)}")
    return Meta(*row)


def check_meta(meta: Meta, db: Database, model: str | None, analyzer: TextAnalyzer) -> None:
    """Refuse tables built with another model or text analysis.

    Raises:
        IndexMismatchError: saying what to run.
    """
    if model is not None and meta.model != model:
        raise IndexMismatchError(
            f"the PostgreSQL store {db.label} was built with model {meta.model!r}, not "
            f"{model!r}; {rebuild_hint(db)}, or set QA_MODEL={meta.model}")
    if meta.analysis != analyzer.settings():
        raise IndexMismatchError(
            f"the PostgreSQL store {db.label} was built with other text-analysis settings "
            f"({meta.analysis}, now {analyzer.settings()}); {rebuild_hint(db)}")


def check_counts(conn: psycopg.Connection[Any], db: Database, meta: Meta) -> None:
    """The meta row's counts and dimension agree with the tables.

    Raises:
        IndexCorruptError: they don't (someone edited the tables by hand).
    """
    docs, passages, stored_dim = conn.execute(
        "SELECT (SELECT count(*) FROM documents WHERE retired IS NULL), "
        "(SELECT count(*) FROM passages WHERE retired IS NULL), "
        "(SELECT atttypmod FROM pg_attribute WHERE attrelid = 'passages'::regclass "
        "AND attname = 'embedding')"
    ).fetchone() or (0, 0, 0)
    if (docs, passages) != (meta.documents, meta.passages):
        raise IndexCorruptError(
            f"the PostgreSQL store {db.label} counts disagree (meta {meta.documents} documents, "
            f"{meta.passages} passages; tables {docs}, {passages}); {rebuild_hint(db)}")
    if meta.passages and stored_dim != meta.dim:
        raise IndexCorruptError(
            f"the PostgreSQL store {db.label} holds {stored_dim}-dimensional vectors, its meta "
            f"row says {meta.dim}; {rebuild_hint(db)}")


def create_tables(conn: psycopg.Connection[Any], db: Database, dim: int) -> None:
    """Drop the store's tables if they exist and create them empty, without the search
    indexes (`create_search_indexes` adds them after the first load). Run it inside the
    write's transaction: readers see the old tables until it commits."""
    from psycopg import sql

    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(db.schema)))
    # pgvector goes in `public` when there is one, so dropping one store's schema never takes
    # the extension (and every other store's vectors) with it.
    public = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
    conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS vector SCHEMA {}").format(
        sql.Identifier("public" if public else db.schema)))
    db.configure(conn)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
        sql.SQL(", ").join(sql.Identifier(db.schema, t) for t in TABLES)))
    vector_type = f"vector({dim})" if dim else "vector"
    conn.execute(_TABLES_SQL.format(vector_type=vector_type).encode())


def create_search_indexes(conn: psycopg.Connection[Any], dim: int) -> None:
    """The GIN index on the terms and, once the vectors have a dimension, the HNSW index."""
    conn.execute(_LIVE_INDEXES_SQL.encode())
    if dim:
        conn.execute(_VECTOR_INDEX_SQL.encode())


def set_dimension(conn: psycopg.Connection[Any], dim: int) -> None:
    """Give a store that has held no vectors yet its dimension, and its HNSW index."""
    conn.execute("DELETE FROM passages")
    conn.execute(f"ALTER TABLE passages ALTER COLUMN embedding TYPE vector({int(dim)})".encode())
    conn.execute(_VECTOR_INDEX_SQL.encode())


def bm25_extensions(conn: psycopg.Connection[Any]) -> list[str]:
    """The BM25 extensions this server offers (recorded; see the README on why the built-in
    scoring stays in use)."""
    rows = conn.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s) "
                        "ORDER BY name", [list(BM25_EXTENSIONS)]).fetchall()
    return [r[0] for r in rows]


def server_versions(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    row = conn.execute(
        "SELECT current_setting('server_version'), "
        "(SELECT extversion FROM pg_extension WHERE extname = 'vector')").fetchone()
    server, pgvector = row if row else ("", "")
    return {"postgresql": server, "pgvector": pgvector, "schema": SCHEMA_VERSION}


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
