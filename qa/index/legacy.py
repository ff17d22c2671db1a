"""Reading an index of format 2 (one whole generation per write) once, to upgrade it.

`qa index` on such an index reads its documents back from its SQLite file and indexes them
again in the current format, so nothing is lost and nothing is read from the source files
again. Only the documents are read: the old vectors and BM25 files are never searched, and
the store this returns has no search parts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..errors import IndexCorruptError
from ..ingest import Document
from .analysis import TextAnalyzer
from .chunking import Passage
from .dense import SegmentedDense
from .layout import REBUILD_HINT, Manifest
from .lexical import SegmentedLexical
from .parts import DocumentRow, Filters, StoredPassage
from .manifest import LEGACY_FORMAT
from .store import IndexStore, check_compatible


def load_legacy(index_dir: Path, model: str) -> IndexStore | None:
    """The documents of a format-2 index built with `model`, as a store to re-index from
    (searching it finds nothing); None when the index is not of format 2.

    Raises:
        IndexMismatchError: it was built with another model.
        IndexCorruptError: its SQLite file is missing or unreadable.
    """
    manifest = Manifest.read(index_dir)
    if manifest.format_version != LEGACY_FORMAT:
        return None
    analyzer = TextAnalyzer()
    check_compatible(index_dir, manifest, model, analyzer, any_format=True)
    path = index_dir / manifest.files["store"]
    if not path.is_file():
        raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT}")
    catalog = LegacyCatalog(path)
    return IndexStore(manifest, catalog, SegmentedDense([], manifest.dim),
                      SegmentedLexical([], analyzer, k1=1.0, b=0.5), analyzer)


class LegacyCatalog:
    """The documents and passages of a format-2 SQLite file (see `parts.Catalog`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
            raise IndexCorruptError(f"{self.path} is damaged ({err}); {REBUILD_HINT}") from None

    def document_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM documents")[0][0])

    def passage_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM passages")[0][0])

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        raise KeyError("a format-2 index is only read to be re-indexed")

    def document(self, doc_id: str) -> Document:
        found = self._rows("SELECT doc_id, source, title, text, date, author, page_starts "
                           "FROM documents WHERE doc_id = ?", [doc_id])
        if not found:
            raise KeyError(doc_id)
        row = found[0]
        return Document(doc_id=row[0], source=row[1], title=row[2], text=row[3], date=row[4],
                        author=row[5], page_starts=tuple(json.loads(row[6])))

    def documents(self) -> list[DocumentRow]:
        rows = self._rows("SELECT doc_id, source, title, date, sha256 FROM documents "
                          "ORDER BY rowid")
        return [DocumentRow(*row) for row in rows]

    def passages_of(self, doc_id: str) -> list[tuple[int, Passage]]:
        rows = self._rows(
            'SELECT p.passage_id, p.doc_id, p.ordinal, p.start, p."end", '
            'substr(d.text, p.start + 1, p."end" - p.start), p.page FROM passages p '
            "JOIN documents d USING (doc_id) WHERE p.doc_id = ? ORDER BY p.ordinal", [doc_id])
        return [(int(row[0]), Passage(*row[1:])) for row in rows]

    def passage_doc_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT doc_id FROM passages ORDER BY passage_id")]

    def filter_ids(self, where: Filters) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def close(self) -> None:
        self._db.close()
