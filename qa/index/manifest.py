"""`manifest.json`: what one committed generation of the index folder holds.

The manifest is the commit point. It names the catalog file, the live segments with their
tombstone files, and records each immutable file's size, mtime and sha256: a load compares
sizes and mtimes (hashing only a file whose mtime changed), `qa verify` hashes everything.
Reading it checks every field's type and every file name, so a damaged manifest is refused in
one line naming it, never followed outside the folder.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import DEFAULT_PRECISION, PRECISIONS
from ..errors import IndexCorruptError, IndexMissingError
from . import files

#: 3: segments, tombstones and a catalog updated in place (2: one whole generation per write).
FORMAT_VERSION = 3
#: The format before segments, still read once to re-index its documents.
LEGACY_FORMAT = 2
MANIFEST = "manifest.json"
REBUILD_HINT = "run `qa index --rebuild` to build it again"
DENSE_KINDS = ("flat", "hnsw")


@dataclass(frozen=True)
class FileStamp:
    """An immutable file as written: its size, mtime (ns) and sha256."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class SegmentEntry:
    """One live segment: its folder, how many passages it holds and how many of them are
    deleted, how its vectors are searched, its files, and its current tombstone file."""

    name: str
    rows: int
    #: {"kind": "flat"} (exact) or {"kind": "hnsw", "m": …, "ef_construction": …,
    #: "ef_search": …} (approximate, for large segments).
    dense: dict[str, Any]
    files: dict[str, FileStamp]
    deleted: int = 0
    #: The file of deleted passage ids ("" when none is deleted).
    tombstones: str = ""
    tombstones_stamp: FileStamp | None = None

    @property
    def live(self) -> int:
        """Passages of the segment not deleted."""
        return self.rows - self.deleted


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
    #: The catalog's file, and its size and mtime after this generation's commit (no sha256:
    #: the catalog is updated in place; `qa verify` checks it with SQLite and the documents'
    #: own hashes).
    catalog: str = ""
    catalog_stamp: FileStamp | None = None
    segments: tuple[SegmentEntry, ...] = ()
    #: The number the next new segment gets, and the id the next new passage gets: ids are
    #: never reused, so a passage id means one passage in every generation.
    next_segment: int = 1
    next_passage: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    #: `TextAnalyzer.settings()` of the run that wrote it (empty: written before it was
    #: recorded, with the analysis that is now the default).
    analysis: dict[str, Any] = field(default_factory=dict)
    #: The precision the model ran at ("fp32", "int8"): questions are embedded at the same.
    #: (Manifests written before it was recorded are fp32.)
    precision: str = DEFAULT_PRECISION
    #: Format 2 only: the generation's files by part, and their sha256.
    files: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)

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
        return _build(cls, data)

    def write(self, index_dir: Path) -> None:
        """Commit this manifest: written beside, fsynced, then renamed over the old one (a
        folder in its place, which no reader could use, is removed first)."""
        tmp = index_dir / f"{MANIFEST}.tmp"
        files.remove(tmp)
        if (index_dir / MANIFEST).is_dir():
            files.remove(index_dir / MANIFEST)
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        files.fsync(tmp)
        os.replace(tmp, index_dir / MANIFEST)  # the commit point
        files.fsync(index_dir)



# Reading and checking --------------------------------------------------------------------------

_NESTED: dict[str, type] = {"FileStamp": FileStamp, "SegmentEntry": SegmentEntry}
_JSON: dict[str, tuple[type, ...]] = {
    "int": (int,), "str": (str,), "float": (float, int), "bool": (bool,), "None": (type(None),),
    "dict": (dict,), "list": (list,), "tuple": (list, tuple), "Any": (object,),
}
_KIND_NAMES = {int: "a whole number", str: "text", dict: "an object", list: "a list",
               float: "a number", bool: "true or false", type(None): "null", tuple: "a list",
               object: "anything"}


def _alternatives(annotation: str) -> list[tuple[str, str]]:
    """`dict[str, FileStamp] | None` → [("dict", "str, FileStamp"), ("None", "")]."""
    out = []
    for part in annotation.split("|"):
        part = part.strip()
        base, _, inner = part.partition("[")
        out.append((base.strip(), inner.rstrip("]").strip()))
    return out


def _shape_problem(cls: type, data: Any, where: str) -> str:
    """What is wrong with `data` as the JSON of dataclass `cls`, or "": every field without
    a default present, no unknown field, each value of its annotated type (nested dataclasses
    checked the same way)."""
    if not isinstance(data, dict):
        return f"{where or 'the manifest'} holds {type(data).__name__}, not an object"
    known = {f.name: str(f.type) for f in fields(cls)}
    for f in fields(cls):
        if f.default is MISSING and f.default_factory is MISSING and f.name not in data:
            return f"{where}{f.name} is missing"
    for name, value in data.items():
        if name not in known:
            return f"unknown field {where}{name!r}"
        problem = _value_problem(known[name], value, f"{where}{name}")
        if problem:
            return problem
    return ""


def _value_problem(annotation: str, value: Any, where: str) -> str:
    kinds = _alternatives(annotation)
    for base, inner in kinds:
        if base in _NESTED and isinstance(value, dict):
            return _shape_problem(_NESTED[base], value, f"{where}.")
        allowed = _JSON.get(base, ())
        if isinstance(value, bool) and bool not in allowed:
            continue
        if not isinstance(value, allowed):
            continue
        if base == "dict" and inner and isinstance(value, dict):
            element = inner.split(",", 1)[1].strip()
            for key, item in value.items():
                problem = _value_problem(element, item, f"{where}.{key}")
                if problem:
                    return problem
        if base == "tuple" and inner and isinstance(value, list | tuple):
            element = inner.split(",", 1)[0].strip()
            for i, item in enumerate(value):
                problem = _value_problem(element, item, f"{where}[{i}]")
                if problem:
                    return problem
        return ""
    wanted = " or ".join("an object" if b in _NESTED else
                         " or ".join(_KIND_NAMES[k] for k in _JSON.get(b, (object,))[:1])
                         for b, _ in kinds)
    return f"{where} is {json.dumps(value)[:40]}, not {wanted}"


def manifest_problem(data: Any) -> str:
    """What is wrong with a parsed manifest, or "" when nothing is: every field present with
    its type, counts and numbers not negative, and file names that stay in the folder.

    Example:
        >>> manifest_problem({"generation": "seven"})
        'format_version is missing'
    """
    problem = _shape_problem(Manifest, data, "")
    if problem:
        return problem
    if data.get("precision", DEFAULT_PRECISION) not in PRECISIONS:
        return f"precision is {json.dumps(data['precision'])[:40]}, not one of {PRECISIONS}"
    if data["generation"] < 1 or data["dim"] < 0:
        return "generation and dim must not be negative (generation from 1)"
    for key in ("documents", "passages"):
        count = data["counts"].get(key)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return f"counts.{key} is {json.dumps(count)}, not a count"
    if data["format_version"] == LEGACY_FORMAT:
        return _legacy_files_problem(data)
    if data["format_version"] != FORMAT_VERSION:
        return ""  # refused as another format when loaded, with its own message
    return _segments_problem(data)


_SEGMENT = re.compile(r"seg-\d{6}")
_CATALOG = re.compile(r"catalog-\d{6}\.sqlite")


def _segments_problem(data: dict[str, Any]) -> str:
    if not _CATALOG.fullmatch(data.get("catalog", "")):
        return f"catalog is {json.dumps(data.get('catalog'))[:60]}, not a catalog file name"
    if data.get("catalog_stamp") is None:
        return "catalog_stamp is missing"
    if data.get("next_passage", 0) < 0:
        return "next_passage is negative"
    seen: set[str] = set()
    for i, seg in enumerate(data.get("segments", [])):
        name = seg["name"]
        if not _SEGMENT.fullmatch(name) or name in seen:
            return f"segments[{i}].name is {json.dumps(name)[:60]}, not a new segment name"
        seen.add(name)
        if int(name[4:]) >= data.get("next_segment", 1):
            return f"segments[{i}].name {name!r} is not below next_segment"
        if not 0 <= seg.get("deleted", 0) <= seg["rows"]:
            return f"segments[{i}] deletes {seg.get('deleted')} of {seg['rows']} passages"
        if seg["dense"].get("kind") not in DENSE_KINDS:
            return f"segments[{i}].dense.kind is {json.dumps(seg['dense'].get('kind'))[:40]}, " \
                   f"not one of {', '.join(DENSE_KINDS)}"
        if not seg["files"] or not all(map(_plain_name, seg["files"])):
            return f"segments[{i}].files names something that is not a file of the segment"
        tomb = seg.get("tombstones", "")
        if bool(tomb) != bool(seg.get("deleted", 0)) or bool(tomb) != (
                seg.get("tombstones_stamp") is not None):
            return f"segments[{i}] has deletions, tombstones and their stamp out of step"
        if tomb and not (tomb.startswith(f"{name}.del-") and _plain_name(tomb)):
            return f"segments[{i}].tombstones is {json.dumps(tomb)[:60]}, not its own file"
    return ""


def _legacy_files_problem(data: dict[str, Any]) -> str:
    files = data["files"]
    if set(files) != {"store", "vectors", "bm25"}:
        return f"files names {sorted(files)}, not the parts ['bm25', 'store', 'vectors']"
    for part, name in files.items():
        if not _plain_name(name):
            return f"files.{part} is {json.dumps(name)[:60]}, not a file name in the folder"
    return ""


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name \
        and not name.startswith(".") and "\x00" not in name


def _build(cls: type, data: dict[str, Any]) -> Any:
    """The dataclass `cls` from checked JSON, nested dataclasses included."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        nested = [_NESTED[b] for b, _ in _alternatives(str(f.type)) if b in _NESTED]
        annotation = str(f.type)
        if nested and isinstance(value, dict):
            value = _build(nested[0], value)
        elif annotation.startswith("dict[str, FileStamp]"):
            value = {k: _build(FileStamp, v) for k, v in value.items()}
        elif annotation.startswith("tuple[SegmentEntry"):
            value = tuple(_build(SegmentEntry, v) for v in value)
        values[f.name] = value
    return cls(**values)
