"""`qa` with the tests' fake embedder registered as model "fake-bow": for tests that run the
real command in a separate process (`python tests/fake_qa.py serve ...`), as a user would,
without loading the real model."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FakeEmbedder

from qa.cli import main
from qa.index.embedding import register_embedder

if __name__ == "__main__":
    fake = FakeEmbedder()
    register_embedder(fake.name, lambda _batch_size: fake)
    sys.exit(main())
