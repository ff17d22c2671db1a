"""The index in PostgreSQL as an `IndexStore`: the same facade over its own three parts.

Opening checks the tables' schema version, model, text analysis and counts, like loading the
index folder. After that every read goes to the database, so a store opened once keeps seeing
what later `qa index` runs commit — from any machine — without being opened again; its
`manifest` (and so `count`) is read afresh each time too.
"""

from __future__ import annotations

from ...config import Settings
from ..analysis import TextAnalyzer
from ..layout import Manifest
from ..store import IndexStore
from .catalog import PostgresCatalog
from .database import Database
from .dense import PostgresDense
from .lexical import PostgresLexical
from .schema import Meta, check_counts, check_meta, read_meta


class PostgresStore(IndexStore):
    """A store whose catalog, dense and lexical parts are tables in one PostgreSQL schema.

    Example:
        >>> settings = Settings(store="postgresql://qa@db.internal/qa")
        >>> store = PostgresStore.open(settings, model=BUNDLED_MODEL)  # doctest: +SKIP
        >>> store.count, store.catalog.passages([1])[0].title  # doctest: +SKIP
    """

    def __init__(self, db: Database, meta: Meta, analyzer: TextAnalyzer, *,
                 ef_search: int) -> None:
        super().__init__(meta.manifest(), PostgresCatalog(db),
                         PostgresDense(db, meta.dim, ef_search=ef_search),
                         PostgresLexical(db, analyzer), analyzer)
        self.db = db

    @classmethod
    def open(cls, settings: Settings, *, model: str | None = None,
             analyzer: TextAnalyzer | None = None) -> PostgresStore:
        """Open the store the settings name, checked to be built with `model` (any when
        None) and `analyzer` (the default analysis when None).

        Raises:
            StoreUnavailableError: the server can't be reached.
            IndexMissingError: no `qa index` has written it yet.
            IndexMismatchError: another schema version, model or text analysis.
            IndexCorruptError: the meta row disagrees with the tables.
        """
        analyzer = analyzer or TextAnalyzer()
        db = Database(settings)
        # A connection of its own: the pool's connections learn pgvector's types when they
        # connect, so the pool is made only once the tables (and the extension) exist.
        with db.connect() as conn:
            meta = read_meta(conn, db)
            check_meta(meta, db, model, analyzer)
            check_counts(conn, db, meta)
        return cls(db, meta, analyzer, ef_search=settings.pg_ef_search)

    @property
    def manifest(self) -> Manifest:
        """The meta row as it is now."""
        with self.db.connection() as conn:
            return read_meta(conn, self.db).manifest()
