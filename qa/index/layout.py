"""The index folder's format: file names, the manifest, checksums, and leftovers of a killed run.

One generation of the index is three parts written side by side and a manifest naming them:

    index/
      manifest.json          format version, model, dimension, chunking and text-analysis
                             settings, counts, the generation's file names and their sha256
      store-000007.sqlite    the catalog: documents and passages
      vectors-000007.faiss   the dense index
      bm25-000007/           the lexical index (bm25s files)
      embeddings.sqlite      the embedding cache (kept across rebuilds)
      .lock                  held while a write runs

Both the reader (`qa.index.store`) and the writer (`qa.index.writer`) go through this module,
so the format is written down once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexMissingError

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
#: The parts of a generation, and the prefix of each one's file name.
PARTS = {"store": "store-", "vectors": "vectors-", "bm25": "bm25-"}
_SUFFIXES = {"store": ".sqlite", "vectors": ".faiss", "bm25": ""}
REBUILD_HINT = "run `qa index --rebuild` to build it again"


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` records about one generation of the index."""

    format_version: int
    generation: int
    model: str
    dim: int
    chunking: dict[str, Any]
    bm25: dict[str, Any]
    counts: dict[str, int]
    files: dict[str, str]
    checksums: dict[str, str]
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    #: `TextAnalyzer.settings()` of the run that wrote it (empty: written before it was
    #: recorded, with the analysis that is now the default).
    analysis: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, index_dir: Path) -> Manifest:
        """The committed manifest of the index at `index_dir`.

        Raises:
            IndexMissingError: there is no index yet.
            IndexCorruptError: the manifest can't be read.
        """
        path = index_dir / MANIFEST
        if not path.exists():
            raise IndexMissingError(
                f"no index at {index_dir}/ yet; run `qa index` (or `make run`) to build it"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as err:
            raise IndexCorruptError(f"{path} is unreadable ({err}); {REBUILD_HINT}") from None

    def write(self, index_dir: Path) -> None:
        """Commit this manifest: written beside, fsynced, then renamed over the old one."""
        tmp = index_dir / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        fsync(tmp)
        os.replace(tmp, index_dir / MANIFEST)  # the commit point
        fsync(index_dir)


def generation_files(generation: int) -> dict[str, str]:
    """The file name of each part of a generation.

    Example:
        >>> generation_files(7)["store"]
        'store-000007.sqlite'
    """
    return {part: f"{prefix}{generation:06d}{_SUFFIXES[part]}" for part, prefix in PARTS.items()}


def current_generation(index_dir: Path) -> int:
    """The committed generation, or 0 when there is none (or the manifest is unreadable)."""
    try:
        return Manifest.read(index_dir).generation
    except (IndexMissingError, IndexCorruptError):
        return 0


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(index_dir: Path, files: dict[str, str]) -> dict[str, str]:
    """sha256 of every file of a generation (each member of a folder part), by relative path."""
    sums: dict[str, str] = {}
    for name in files.values():
        path = index_dir / name
        members = sorted(p for p in path.iterdir()) if path.is_dir() else [path]
        for member in members:
            sums[str(member.relative_to(index_dir))] = sha256_file(member)
    return sums


def check_files(index_dir: Path, manifest: Manifest, *, verify: bool) -> None:
    """Every file the manifest names exists and, with `verify`, matches its checksum.

    Raises:
        IndexCorruptError: naming the first file that is missing or altered.
    """
    for name in manifest.files.values():
        if not (index_dir / name).exists():
            raise IndexCorruptError(f"{index_dir / name} is missing; {REBUILD_HINT}")
    if not verify:
        return
    for rel, expected in manifest.checksums.items():
        path = index_dir / rel
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
        if sha256_file(path) != expected:
            raise IndexCorruptError(
                f"{path} does not match its checksum (altered?); {REBUILD_HINT}")


def remove_leftovers(index_dir: Path, *, keep: int) -> None:
    """Delete generation files other than `keep`'s: the remains of an interrupted write."""
    suffix = f"-{keep:06d}"
    for path in index_dir.iterdir():
        stem = path.name.split(".")[0]
        if stem.startswith(tuple(PARTS.values())) and not stem.endswith(suffix):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    (index_dir / f"{MANIFEST}.tmp").unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
