"""The index folder's format: file names, the manifest, checksums, and leftovers of a killed run.

One generation of the index is three parts written side by side and a manifest naming them:

    index/
      manifest.json          format version, model and its precision, dimension, chunking
                             and text-analysis settings, counts, the generation's file
                             names and their sha256
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
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import DEFAULT_PRECISION, PRECISIONS
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
    #: The precision the model ran at ("fp32", "int8"): questions are embedded at the same.
    #: (Manifests written before it was recorded are fp32.)
    precision: str = DEFAULT_PRECISION

    @classmethod
    def read(cls, index_dir: Path) -> Manifest:
        """The committed manifest of the index at `index_dir`.

        Raises:
            IndexMissingError: there is no index yet.
            IndexCorruptError: the manifest can't be read, or a field has an impossible
                value (each named, with the command that rebuilds the index).
        """
        path = index_dir / MANIFEST
        if not os.path.lexists(path):
            raise IndexMissingError(
                f"no index at {index_dir}/ yet; run `qa index` (or `make run`) to build it"
            )
        if not path.is_file():
            raise IndexCorruptError(f"{path} is not a file; {REBUILD_HINT}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise IndexCorruptError(f"{path} is unreadable ({err}); {REBUILD_HINT}") from None
        problem = manifest_problem(data)
        if problem:
            raise IndexCorruptError(f"{path}: {problem}; {REBUILD_HINT}")
        return cls(**data)

    def write(self, index_dir: Path) -> None:
        """Commit this manifest: written beside, fsynced, then renamed over the old one (a
        folder in its place, which no reader could use, is removed first)."""
        tmp = index_dir / f"{MANIFEST}.tmp"
        remove(tmp)
        if (index_dir / MANIFEST).is_dir():
            remove(index_dir / MANIFEST)
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        fsync(tmp)
        os.replace(tmp, index_dir / MANIFEST)  # the commit point
        fsync(index_dir)


_KINDS: dict[str, type] = {"int": int, "str": str, "dict": dict, "list": list, "float": float,
                           "bool": bool, "None": type(None)}


def _field_types() -> tuple[dict[str, tuple[type, ...]], list[str]]:
    """The JSON types each `Manifest` field may have, read from its annotation (so a field
    added to the dataclass is checked too: `int`, `str | None`, `dict[str, Any]`…), and the
    fields without a default."""
    types = {f.name: tuple(_KINDS[part.split("[")[0].strip()] for part in str(f.type).split("|"))
             for f in fields(Manifest)}
    required = [f.name for f in fields(Manifest)
                if f.default is MISSING and f.default_factory is MISSING]
    return types, required


def manifest_problem(data: Any) -> str:
    """What is wrong with a parsed manifest, or "" when nothing is: every field present with
    its type, counts and generation not negative, and file names that stay in the folder.

    Example:
        >>> manifest_problem({"generation": "seven"})
        'format_version is missing'
    """
    if not isinstance(data, dict):
        return f"holds {type(data).__name__}, not an object"
    types, required = _field_types()
    for name in required:
        if name not in data:
            return f"{name} is missing"
    for name, value in data.items():
        kinds = types.get(name)
        if kinds is None:
            return f"unknown field {name!r}"
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(_KIND_NAMES[k] for k in kinds)
            return f"{name} is {json.dumps(value)[:40]}, not {wanted}"
    if data.get("precision", DEFAULT_PRECISION) not in PRECISIONS:
        return f"precision is {json.dumps(data['precision'])[:40]}, not one of {PRECISIONS}"
    if data["generation"] < 1 or data["dim"] < 0:
        return "generation and dim must not be negative (generation from 1)"
    for key in ("documents", "passages"):
        count = data["counts"].get(key)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return f"counts.{key} is {json.dumps(count)}, not a count"
    return _files_problem(data)


def _files_problem(data: dict[str, Any]) -> str:
    files, sums = data["files"], data["checksums"]
    if set(files) != set(PARTS):
        return f"files names {sorted(files)}, not the parts {sorted(PARTS)}"
    expected = generation_files(data["generation"])
    for part, name in files.items():
        if data["format_version"] == FORMAT_VERSION and name != expected[part]:
            return f"files.{part} is {json.dumps(name)[:60]}, not {expected[part]!r}"
        if not _plain_name(name):
            return f"files.{part} is {json.dumps(name)[:60]}, not a file name in the folder"
    for rel, digest in sums.items():
        parts = Path(rel).parts if isinstance(rel, str) else ()
        if not parts or parts[0] not in files.values() or not all(map(_plain_name, parts)) \
                or not isinstance(digest, str):
            return f"checksums names {json.dumps(rel)[:60]}, not a file of the generation"
    return ""


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name \
        and not name.startswith(".") and "\x00" not in name


_KIND_NAMES = {int: "a whole number", str: "text", dict: "an object", list: "a list",
               float: "a number", bool: "true or false", type(None): "null"}


def generation_files(generation: int) -> dict[str, str]:
    """The file name of each part of a generation.

    Example:
        >>> generation_files(7)["store"]
        'store-000007.sqlite'
    """
    return {part: f"{prefix}{generation:06d}{_SUFFIXES[part]}" for part, prefix in PARTS.items()}


def current_generation(index_dir: Path) -> int:
    """The committed generation, or 0 when there is none (or the manifest is unreadable, so
    that a rebuild starts the numbering over)."""
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
    """Every file the manifest names exists as what it should be (a file, or a folder for a
    folder part) and, with `verify`, matches its checksum.

    Raises:
        IndexCorruptError: naming the first file that is missing, misplaced or altered.
    """
    for part, name in manifest.files.items():
        path = index_dir / name
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
        folder = not _SUFFIXES[part]
        if path.is_dir() != folder:
            raise IndexCorruptError(f"{path} is a {'folder' if path.is_dir() else 'file'}, "
                                    f"not a {'folder' if folder else 'file'}; {REBUILD_HINT}")
    if not verify:
        return
    for rel, expected in manifest.checksums.items():
        path = index_dir / rel
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
        try:
            actual = sha256_file(path)
        except OSError as err:
            raise IndexCorruptError(
                f"{path} is unreadable ({err.strerror or err}); {REBUILD_HINT}") from None
        if actual != expected:
            raise IndexCorruptError(
                f"{path} does not match its checksum (altered?); {REBUILD_HINT}")


def remove_leftovers(index_dir: Path, *, keep: int) -> None:
    """Delete generation files other than `keep`'s: the remains of an interrupted write."""
    suffix = f"-{keep:06d}"
    for path in index_dir.iterdir():
        stem = path.name.split(".")[0]
        if stem.startswith(tuple(PARTS.values())) and not stem.endswith(suffix):
            remove(path)
    remove(index_dir / f"{MANIFEST}.tmp")


def remove(path: Path) -> None:
    """Delete a file, a symlink or a folder with its contents, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
