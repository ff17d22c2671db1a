"""The index folder: documents and passages (SQLite), vectors (FAISS), BM25 (bm25s), a manifest.

All three share one passage id space: passage id *i* is row *i* of the FAISS index and of the
BM25 matrix, and `passages.passage_id = i` in SQLite.

This module reads: `IndexStore.load` checks the manifest, the files' checksums and that the
counts agree, and refuses anything else with a message saying what to run. `qa.writer`
writes, atomically, one generation at a time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Passage
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .ingest import Document

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
_REBUILD = "run `qa index --rebuild` to build it again"


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

    @classmethod
    def read(cls, index_dir: Path) -> Manifest:
        path = index_dir / MANIFEST
        if not path.exists():
            raise IndexMissingError(
                f"no index at {index_dir}/ yet; run `qa index` (or `make run`) to build it"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as err:
            raise IndexCorruptError(f"{path} is unreadable ({err}); {_REBUILD}") from None


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored, with its id and its document's metadata for display."""

    passage_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    page: int | None
    text: str
    title: str
    date: str | None
    source: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bm25_tokenize(texts: Sequence[str], *, return_ids: bool = True) -> Any:
    """English BM25 tokens: lower-cased words, stop words removed, Snowball-stemmed."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(
        list(texts),
        stopwords="en",
        # Single characters count: "IL-6", "type 2", "vitamin D" (+0.008 nDCG@10 on scifact).
        token_pattern=r"(?u)\b\w+\b",
        stemmer=Stemmer.Stemmer("english"),
        return_ids=return_ids,
        show_progress=False,
    )


def keywords(texts: Sequence[str]) -> list[list[str]]:
    """The topic words of each text, analysed as BM25 analyses them (so they match its
    vocabulary), without the question and function words ("where", "does", "which") that
    BM25's short stop list keeps but that say nothing about what is asked."""
    import bm25s
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return bm25s.tokenize(
        list(texts),
        stopwords=list(STOPWORDS_EN_PLUS),
        stemmer=Stemmer.Stemmer("english"),
        token_pattern=r"(?u)\b\w+\b",
        return_ids=False,
        show_progress=False,
    )


class IndexStore:
    """A loaded, read-only index: look-ups by id, dense and BM25 search.

    Example:
        >>> store = IndexStore.load(Path("index"), model=BUNDLED_MODEL)  # doctest: +SKIP
        >>> store.count, store.passage(0).title  # doctest: +SKIP
    """

    def __init__(self, index_dir: Path, manifest: Manifest, db: sqlite3.Connection,
                 vectors: Any, bm25: Any) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._db = db
        self._vectors = vectors
        self._bm25 = bm25
        self._passage_docs: list[str] | None = None

    @classmethod
    def load(cls, index_dir: Path, *, model: str | None = None, verify: bool = True,
             any_format: bool = False) -> IndexStore:
        """Open the index at `index_dir`, checking it is whole and built with `model`.

        `any_format` accepts an older format version, only to read its documents back for
        re-indexing (the indexer does this when the format changed).

        Raises:
            IndexMissingError: there is no index yet.
            IndexMismatchError: built with another model, or an unknown format version.
            IndexCorruptError: a file is missing, altered, or the counts disagree.
        """
        import bm25s
        import faiss

        manifest = Manifest.read(index_dir)
        if manifest.format_version != FORMAT_VERSION and not any_format:
            raise IndexMismatchError(
                f"index format {manifest.format_version} at {index_dir}/ is not the supported "
                f"format {FORMAT_VERSION}; {_REBUILD}"
            )
        if model is not None and manifest.model != model:
            raise IndexMismatchError(
                f"the index at {index_dir}/ was built with model {manifest.model!r}, not "
                f"{model!r}; {_REBUILD}, or set QA_MODEL={manifest.model}"
            )
        _check_files(index_dir, manifest, verify=verify)
        try:
            vectors = faiss.read_index(str(index_dir / manifest.files["vectors"]))
            db = sqlite3.connect(
                f"file:{index_dir / manifest.files['store']}?mode=ro&immutable=1",
                uri=True, check_same_thread=False,
            )
            counts = db.execute(
                "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM passages)"
            ).fetchone()
            bm25_dir = index_dir / manifest.files["bm25"]
            bm25 = (bm25s.BM25.load(str(bm25_dir), show_progress=False)
                    if manifest.counts["passages"] else None)
        except (RuntimeError, sqlite3.DatabaseError, OSError, ValueError, KeyError) as err:
            raise IndexCorruptError(
                f"cannot read the index at {index_dir}/ ({err}); {_REBUILD}"
            ) from None
        expected = (manifest.counts["documents"], manifest.counts["passages"])
        bm25_rows = int(bm25.scores["num_docs"]) if bm25 is not None else 0
        found = (*counts, int(vectors.ntotal), bm25_rows)
        if found != (*expected, expected[1], expected[1]):
            raise IndexCorruptError(
                f"index counts disagree at {index_dir}/ (manifest {expected}, sqlite {counts}, "
                f"faiss {vectors.ntotal}, bm25 {bm25_rows}); {_REBUILD}"
            )
        if vectors.d != manifest.dim and vectors.ntotal:
            raise IndexMismatchError(
                f"vector dimension {vectors.d} differs from the manifest's {manifest.dim}; "
                + _REBUILD
            )
        return cls(index_dir, manifest, db, vectors, bm25)

    @property
    def count(self) -> int:
        """Number of passages."""
        return int(self.manifest.counts["passages"])

    def close(self) -> None:
        self._db.close()

    # Look-ups ---------------------------------------------------------------------------

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        """Passages by id, in the order given."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            "SELECT p.passage_id, p.doc_id, p.ordinal, p.start, p.\"end\", p.page, "
            "substr(d.text, p.start + 1, p.\"end\" - p.start), d.title, d.date, d.source "
            f"FROM passages p JOIN documents d USING (doc_id) WHERE p.passage_id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        by_id = {row[0]: StoredPassage(*row) for row in rows}
        return [by_id[int(i)] for i in ids]

    def passage(self, passage_id: int) -> StoredPassage:
        return self.passages([passage_id])[0]

    def document(self, doc_id: str) -> Document:
        """The whole document, as it was indexed."""
        row = self._db.execute(
            "SELECT doc_id, source, title, text, date, author, page_starts FROM documents "
            "WHERE doc_id = ?", [doc_id],
        ).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return Document(doc_id=row[0], source=row[1], title=row[2], text=row[3], date=row[4],
                        author=row[5], page_starts=tuple(json.loads(row[6])))

    def document_rows(self) -> list[tuple[str, str, str, str | None, str]]:
        """`(doc_id, source, title, date, sha256)` of every document, in index order."""
        return self._db.execute(
            "SELECT doc_id, source, title, date, sha256 FROM documents ORDER BY rowid"
        ).fetchall()

    def passages_of(self, doc_id: str) -> list[Passage]:
        rows = self._db.execute(
            "SELECT p.doc_id, p.ordinal, p.start, p.\"end\", "
            "substr(d.text, p.start + 1, p.\"end\" - p.start), p.page FROM passages p "
            "JOIN documents d USING (doc_id) WHERE p.doc_id = ? ORDER BY p.ordinal", [doc_id],
        ).fetchall()
        return [Passage(*row) for row in rows]

    def passage_ids_of(self, doc_id: str) -> list[int]:
        rows = self._db.execute(
            "SELECT passage_id FROM passages WHERE doc_id = ? ORDER BY ordinal", [doc_id]
        )
        return [int(r[0]) for r in rows]

    def passage_doc_ids(self) -> list[str]:
        """The document id of every passage, indexed by passage id (read once, then kept)."""
        if self._passage_docs is None:
            rows = self._db.execute("SELECT doc_id FROM passages ORDER BY passage_id")
            self._passage_docs = [r[0] for r in rows]
        return self._passage_docs

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each (already analysed) term over passages."""
        n = self.count
        out: dict[str, float] = {}
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        indptr = self._bm25.scores["indptr"] if self._bm25 is not None else None
        for term in terms:
            tid = vocab.get(term)
            df = 0 if tid is None or indptr is None else int(indptr[tid + 1] - indptr[tid])
            out[term] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these passages (no model needed)."""
        out = np.zeros((len(ids), self.manifest.dim), dtype=np.float32)
        for row, pid in enumerate(ids):
            out[row] = self._vectors.reconstruct(int(pid))
        return out

    def filter_ids(
        self, *, source: str | None = None, date_from: str | None = None,
        date_to: str | None = None,
    ) -> np.ndarray:
        """Passage ids whose document matches: `source` is a substring of the path or equals
        the doc id; dates are ISO strings, inclusive; documents without a date never match a
        date filter."""
        clauses, args = [], []
        if source:
            clauses.append("(instr(d.source, ?) > 0 OR d.doc_id = ?)")
            args += [source, source]
        if date_from:
            clauses.append("d.date >= ?")
            args.append(date_from)
        if date_to:
            clauses.append("d.date <= ?")
            args.append(date_to)
        where = " AND ".join(clauses) or "1"
        rows = self._db.execute(
            f"SELECT p.passage_id FROM passages p JOIN documents d USING (doc_id) WHERE {where}",
            args,
        ).fetchall()
        return np.array(sorted(r[0] for r in rows), dtype=np.int64)

    # Search -----------------------------------------------------------------------------

    def dense_search(
        self, query: np.ndarray, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n passage ids by inner product with `query` (exact), optionally among `allowed`."""
        import faiss

        n = min(n, self.count if allowed is None else len(allowed))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
        scores, ids = self._vectors.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), n, params=params
        )
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def bm25_search(
        self, query: str, n: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n passage ids by BM25 score (only those scoring above zero)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tokens = bm25_tokenize([query], return_ids=False)
        vocab = self._bm25.vocab_dict
        tokens = [[t for t in tokens[0] if t in vocab]]
        if not tokens[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        mask = None
        if allowed is not None:
            mask = np.zeros(self.count, dtype=np.float32)
            mask[allowed] = 1.0
        ids, scores = self._bm25.retrieve(
            tokens, k=min(n, self.count), show_progress=False, weight_mask=mask, n_threads=1
        )
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)


def _check_files(index_dir: Path, manifest: Manifest, *, verify: bool) -> None:
    for name in manifest.files.values():
        if not (index_dir / name).exists():
            raise IndexCorruptError(f"{index_dir / name} is missing; {_REBUILD}")
    if not verify:
        return
    for rel, expected in manifest.checksums.items():
        path = index_dir / rel
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing; {_REBUILD}")
        if sha256_file(path) != expected:
            raise IndexCorruptError(f"{path} does not match its checksum (altered?); {_REBUILD}")
