"""Connections to the store's database: a pool per process for reading, one session for writing.

Every connection gets the store's schema first on its search path (then the schema pgvector
lives in) and pgvector's types, and runs in autocommit: a read is one statement, so it sees
everything committed before it and nothing half-written. Failures to reach the server become
`StoreUnavailableError`, whose message names the database without its password.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...config import Settings
from ...errors import StoreUnavailableError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT_S = 10
INSTALL_HINT = "pip install 'qa-docs[postgres]'"

_POOLS: dict[tuple[str, str], ConnectionPool] = {}
_POOLS_LOCK = threading.Lock()


def redact(url: str) -> str:
    """The URL without its password, for messages.

    Example:
        >>> redact("postgresql://qa:secret@db.internal:5432/qa?password=x&sslmode=require")
        'postgresql://qa@db.internal:5432/qa?sslmode=require'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401  (checked here, used by `Database.pool`)
        from pgvector.psycopg import register_vector  # noqa: F401
    except ImportError:
        raise StoreUnavailableError(
            f"the PostgreSQL store needs psycopg and pgvector: {INSTALL_HINT}") from None
    return psycopg


class Database:
    """The store's database and schema, as the settings name them.

    Example:
        >>> db = Database(Settings(store="postgresql://qa:pw@localhost/qa"))
        >>> db.label
        'postgresql://qa@localhost/qa'
    """

    def __init__(self, settings: Settings) -> None:
        self.url = settings.store
        self.schema = settings.pg_schema
        self.pool_size = settings.pg_pool_size
        #: The URL without its password; `label` adds the schema when it isn't the default.
        self.where = redact(self.url)
        self.custom_schema = self.schema != Settings.pg_schema
        self.label = self.where + (f" (schema {self.schema})" if self.custom_schema else "")

    def connect(self) -> psycopg.Connection[Any]:
        """A connection of its own (the writer's session).

        Raises:
            StoreUnavailableError: the server can't be reached or refused us.
        """
        psycopg = _driver()
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as err:
            raise self.unavailable(err) from None
        self.configure(conn)
        return conn

    def configure(self, conn: psycopg.Connection[Any]) -> None:
        """Put the store's schema (and pgvector's) on the search path; register pgvector's
        types when the extension is installed."""
        from pgvector.psycopg import register_vector
        from psycopg import sql

        row = conn.execute(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        schemas = [self.schema] + ([row[0]] if row and row[0] != self.schema else [])
        conn.execute(sql.SQL("SET search_path TO {}").format(
            sql.SQL(", ").join(sql.Identifier(s) for s in schemas)))
        # Filtered searches keep walking the HNSW graph until they have enough rows, in order.
        conn.execute("SET hnsw.iterative_scan = strict_order")
        if row:
            register_vector(conn)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for one read.

        Raises:
            StoreUnavailableError: the server went away.
        """
        psycopg = _driver()
        from psycopg_pool import PoolTimeout

        try:
            with self.pool().connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as err:
            raise self.unavailable(err) from None

    def pool(self) -> ConnectionPool:
        """This process's pool for this database and schema (made on first use, shared by
        every store opened on it, closed at exit)."""
        from psycopg_pool import ConnectionPool

        key = (self.url, self.schema)
        with _POOLS_LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = ConnectionPool(
                    self.url, min_size=1, max_size=max(1, self.pool_size),
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                    configure=self.configure, check=ConnectionPool.check_connection,
                    timeout=CONNECT_TIMEOUT_S, name=f"qa:{self.schema}", open=True,
                )
                if not _POOLS:
                    atexit.register(close_pools)
                _POOLS[key] = pool
            return pool

    def forget_pool(self) -> None:
        """Close this database's pool: its connections predate a change of the tables'
        types (a rebuild that created the extension), so the next read opens fresh ones."""
        with _POOLS_LOCK:
            pool = _POOLS.pop((self.url, self.schema), None)
        if pool is not None:
            pool.close()

    def unavailable(self, err: BaseException) -> StoreUnavailableError:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return StoreUnavailableError(f"cannot use the PostgreSQL store {self.label}: {first}")


def close_pools() -> None:
    """Close every pool this process opened."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
