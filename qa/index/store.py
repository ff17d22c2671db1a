"""The loaded index: a facade over a catalog, a dense index and a lexical index.

`IndexStore.load` reads the manifest, checks the files and that every part holds the same
number of passages, and refuses anything else with a message saying what to run. Retrieval and
answering use the three parts through their interfaces (`qa.index.parts`); a store on another
engine builds an `IndexStore` from its own three parts (`qa.index.postgres.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import IndexCorruptError, IndexMismatchError
from .analysis import TextAnalyzer
from .catalog import SqliteCatalog
from .dense import FaissDense
from .layout import FORMAT_VERSION, REBUILD_HINT, Manifest, check_files
from .lexical import Bm25Lexical
from .parts import Catalog, DenseIndex, LexicalIndex

T = TypeVar("T")


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
    def load(cls, index_dir: Path, *, model: str | None = None, verify: bool = True,
             any_format: bool = False, analyzer: TextAnalyzer | None = None) -> IndexStore:
        """Open the index at `index_dir`, checking it is whole and built with `model` and
        `analyzer` (the default analysis when None).

        `any_format` accepts an older format version, only to read its documents back for
        re-indexing (the indexer does this when the format changed).

        Raises:
            IndexMissingError: there is no index yet.
            IndexMismatchError: another model, text analysis or an unknown format version.
            IndexCorruptError: a file is missing, altered, or the counts disagree.
        """
        analyzer = analyzer or TextAnalyzer()
        manifest = Manifest.read(index_dir)
        _check_compatible(index_dir, manifest, model, analyzer, any_format=any_format)
        check_files(index_dir, manifest, verify=verify)
        files = {part: index_dir / name for part, name in manifest.files.items()}
        dense = _open(files["vectors"], lambda: FaissDense.load(files["vectors"], manifest.dim))
        catalog = _open(files["store"], lambda: SqliteCatalog(files["store"]))
        try:
            if not verify or files["store"].name not in manifest.checksums:
                # Nothing vouches for the file's bytes: have SQLite check its structure.
                catalog.check()
            found = (catalog.document_count(), catalog.passage_count())
            lexical = _open(files["bm25"], lambda: Bm25Lexical.load(
                files["bm25"], analyzer, empty=not manifest.counts["passages"]))
            _check_counts(index_dir, manifest, found, dense, lexical)
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
    SQLite and bm25s each raise their own kinds of error on a damaged file.)"""
    try:
        return opener()
    except IndexCorruptError:
        raise
    except Exception as err:
        raise IndexCorruptError(f"{path} is unreadable ({type(err).__name__}: {err}); "
                                f"{REBUILD_HINT}") from None


def _check_compatible(index_dir: Path, manifest: Manifest, model: str | None,
                      analyzer: TextAnalyzer, *, any_format: bool) -> None:
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
                  dense: FaissDense, lexical: Bm25Lexical) -> None:
    documents, passages = manifest.counts["documents"], manifest.counts["passages"]
    if found != (documents, passages) or dense.count() != passages \
            or lexical.count() != passages:
        raise IndexCorruptError(
            f"index counts disagree at {index_dir}/ (manifest {(documents, passages)}, "
            f"sqlite {found}, faiss {dense.count()}, bm25 {lexical.count()}); {REBUILD_HINT}")
    if dense.stored_dim() != manifest.dim and passages:
        raise IndexMismatchError(
            f"vector dimension {dense.stored_dim()} at {index_dir}/ differs from the "
            f"manifest's {manifest.dim}; {REBUILD_HINT}")
