"""The loaded index: a facade over a catalog, a dense index and a lexical index.

`IndexStore.load` reads the manifest, checks each file it names by size and mtime (hashing
only a file whose mtime changed; `qa verify` hashes them all), maps the live segments, and
checks that the catalog and the segments hold the same passages; it refuses anything else
with a message saying what to run. Retrieval and answering use the three parts through their
interfaces (`qa.index.parts`); a store on another engine builds an `IndexStore` from its own
three parts (`qa.index.postgres.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import IndexCorruptError, IndexMismatchError
from .analysis import TextAnalyzer
from .catalog import SqliteCatalog
from .dense import SegmentedDense
from .layout import FORMAT_VERSION, REBUILD_HINT, Manifest, SegmentEntry, check_stamp
from .lexical import SegmentedLexical
from .parts import Catalog, DenseIndex, LexicalIndex
from .segment import FILES, Segment

T = TypeVar("T")
#: A load that finds a file gone re-reads the manifest this often: a write committed and
#: removed what the manifest it read named.
_ATTEMPTS = 3


class IndexStore:
    """A loaded, read-only index.

    Example:
        >>> store = IndexStore.load(Path("index"), model=BUNDLED_MODEL)  # doctest: +SKIP
        >>> store.count, store.catalog.passages([0])[0].title  # doctest: +SKIP
    """

    def __init__(self, manifest: Manifest, catalog: Catalog, dense: DenseIndex,
                 lexical: LexicalIndex, analyzer: TextAnalyzer) -> None:
        self._manifest = manifest
        self.catalog = catalog
        self.dense = dense
        self.lexical = lexical
        self.analyzer = analyzer

    @classmethod
    def load(cls, index_dir: Path, *, model: str | None = None,
             analyzer: TextAnalyzer | None = None) -> IndexStore:
        """Open the index at `index_dir`, checking it is whole and built with `model` and
        `analyzer` (the default analysis when None).

        Raises:
            IndexMissingError: there is no index yet.
            IndexMismatchError: another model, text analysis or an unknown format version.
            IndexCorruptError: a file is missing, altered, or the counts disagree.
        """
        analyzer = analyzer or TextAnalyzer()
        for attempt in range(_ATTEMPTS):
            manifest = Manifest.read(index_dir)
            check_compatible(index_dir, manifest, model, analyzer)
            try:
                return cls._load(index_dir, manifest, analyzer)
            except IndexCorruptError:
                if attempt + 1 == _ATTEMPTS or Manifest.read(index_dir) == manifest:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load(cls, index_dir: Path, manifest: Manifest, analyzer: TextAnalyzer) -> IndexStore:
        catalog_path = index_dir / manifest.catalog
        assert manifest.catalog_stamp is not None  # checked with the manifest
        if not catalog_path.is_file() or catalog_path.is_symlink():
            check_stamp(catalog_path, manifest.catalog_stamp)  # names what is there instead
        segments = []
        for entry in manifest.segments:
            for member, expected in entry.files.items():
                check_stamp(index_dir / entry.name / member, expected)
            if set(entry.files) != set(FILES):
                raise IndexCorruptError(f"{index_dir / entry.name} lacks files the manifest "
                                        f"should name; {REBUILD_HINT}")
            if entry.tombstones_stamp is not None:
                check_stamp(index_dir / entry.tombstones, entry.tombstones_stamp)
            segments.append(_open_segment(index_dir, entry, manifest.dim))
        catalog = _open(catalog_path, lambda: SqliteCatalog(catalog_path, manifest.generation))
        try:
            info = catalog_path.stat()
            if (info.st_size, info.st_mtime_ns) != (manifest.catalog_stamp.size,
                                                     manifest.catalog_stamp.mtime_ns):
                # Changed since this generation's commit (a later write under way, one that
                # died, or a copy): have SQLite check its structure.
                catalog.check()
            found = (catalog.document_count(), catalog.passage_count())
            dense = SegmentedDense(segments, manifest.dim)
            lexical = SegmentedLexical(segments, analyzer, k1=float(manifest.bm25["k1"]),
                                       b=float(manifest.bm25["b"]))
            _check_counts(index_dir, manifest, found, dense.count())
        except BaseException:
            catalog.close()
            raise
        return cls(manifest, catalog, dense, lexical, analyzer)

    @property
    def manifest(self) -> Manifest:
        """What the index records about itself: model, dimension, settings, counts."""
        return self._manifest

    @property
    def count(self) -> int:
        """Number of passages."""
        return int(self.manifest.counts["passages"])

    def close(self) -> None:
        """Close the catalog's file. (Done by itself when the store is no longer used.)"""
        self.catalog.close()


def _open(path: Path, opener: Callable[[], T]) -> T:
    """One part of the index, opened; any failure is refused naming the part's file. (FAISS,
    SQLite and numpy each raise their own kinds of error on a damaged file.)"""
    try:
        return opener()
    except IndexCorruptError:
        raise
    except Exception as err:
        raise IndexCorruptError(f"{path} is unreadable ({type(err).__name__}: {err}); "
                                f"{REBUILD_HINT}") from None


def _open_segment(index_dir: Path, entry: SegmentEntry, dim: int) -> Segment:
    return _open(index_dir / entry.name, lambda: Segment.open(index_dir, entry, dim))


def check_compatible(index_dir: Path, manifest: Manifest, model: str | None,
                     analyzer: TextAnalyzer, *, any_format: bool = False) -> None:
    """The index can be read by this version of qa, with `model` and `analyzer`
    (`any_format`: in another format version, to re-index its documents).

    Raises:
        IndexMismatchError: saying which of them differs, and what to run.
    """
    if manifest.format_version != FORMAT_VERSION and not any_format:
        raise IndexMismatchError(
            f"index format {manifest.format_version} at {index_dir}/ is not the supported "
            f"format {FORMAT_VERSION}; {REBUILD_HINT}")
    if model is not None and manifest.model != model:
        raise IndexMismatchError(
            f"the index at {index_dir}/ was built with model {manifest.model!r}, not "
            f"{model!r}; {REBUILD_HINT}, or set QA_MODEL={manifest.model}")
    stored = {k: manifest.analysis[k] for k in analyzer.index_settings()
              if k in manifest.analysis}
    if stored and stored != analyzer.index_settings() and not any_format:
        raise IndexMismatchError(
            f"the index at {index_dir}/ was built with other text-analysis settings "
            f"({stored}, now {analyzer.index_settings()}); {REBUILD_HINT}")


def _check_counts(index_dir: Path, manifest: Manifest, found: tuple[int, int],
                  segment_passages: int) -> None:
    documents, passages = manifest.counts["documents"], manifest.counts["passages"]
    recorded = sum(s.live for s in manifest.segments)
    if found != (documents, passages) or segment_passages != passages or recorded != passages:
        raise IndexCorruptError(
            f"index counts disagree at {index_dir}/ (manifest {(documents, passages)}, "
            f"catalog {found}, segments {segment_passages}); {REBUILD_HINT}")
