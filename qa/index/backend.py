"""Which store the settings name: the index folder (the default) or a PostgreSQL database.

Everything that opens or writes the index goes through here, so choosing a store is one
setting (`QA_STORE` / `--store`) and the rest of the code never asks which one it has. The
PostgreSQL store and its client library load only when a `postgresql://` URL is given.
"""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .delta import StoreTarget
from .store import IndexStore
from .ann import AnnPolicy
from .merge import MergePolicy
from .writer import LocalTarget, SegmentPolicy

#: URL schemes naming a PostgreSQL store (libpq accepts both).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def uses_postgres(settings: Settings) -> bool:
    """Whether the settings name a PostgreSQL store.

    Raises:
        ConfigError: `store` is set to something other than a PostgreSQL URL.

    Example:
        >>> uses_postgres(Settings(store="postgresql://qa@db.internal/qa"))
        True
        >>> uses_postgres(Settings())
        False
    """
    if not settings.store:
        return False
    if settings.store.startswith(POSTGRES_SCHEMES):
        return True
    raise ConfigError("QA_STORE must be a PostgreSQL URL such as postgresql://user@host/db "
                      "(or unset, for the index folder)")


def store_target(settings: Settings, *, repair: bool = False) -> StoreTarget:
    """Where `qa index` writes (`repair`: a rebuild may replace a damaged lock file)."""
    if uses_postgres(settings):
        from .postgres.target import PostgresTarget

        return PostgresTarget(settings)
    return LocalTarget(settings.index_dir, repair=repair, policy=segment_policy(settings))


def segment_policy(settings: Settings) -> SegmentPolicy:
    """How the index folder lays out segments, from the settings."""
    return SegmentPolicy(
        ann=AnnPolicy(threshold=settings.ann_threshold, m=settings.hnsw_m,
                      ef_construction=settings.hnsw_ef_construction,
                      ef_search=settings.hnsw_ef_search),
        merge=MergePolicy(factor=settings.merge_factor, floor=settings.merge_floor_passages,
                          max_deleted=settings.merge_deleted_share),
        keep_retired_s=float(settings.index_keep_retired_s),
    )


def open_store(settings: Settings, *, model: str | None = None) -> IndexStore:
    """The index to answer from, checked to be built with `model` (any model when None).

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError, StoreUnavailableError.
    """
    if uses_postgres(settings):
        from .postgres.store import PostgresStore

        return PostgresStore.open(settings, model=model)
    from .dense import use_threads

    use_threads(settings.threads)
    return IndexStore.load(settings.index_dir, model=model)


def describe_store(settings: Settings) -> str:
    """How messages name the store: `index/`, or the database URL without its password."""
    return store_target(settings).describe()
