"""Sentence vectors and entities computed at index time, so answering runs no model on documents.

An answer scores every prose sentence (`qa.index.prose`) of the top passages by its cosine with
the question and by the entities it holds. Embedding those sentences when the question came
cost 10-15× the search itself, and finding their entities with spaCy most of what was left, so
`qa index` does both once, beside the passages, and stores them here: one SQLite file,
`sentences.sqlite` in the index folder, holding per sentence a float16 vector (half the bytes
of float32; cosines move by about 1e-3) and its entities, keyed by the model (with its precision,
as the embedding cache files it: `embedding.cache_key`) and the sha256 of the sentence's text.

Content addressing keeps this file out of the index's generations and segments: a sentence
that appears in several generations is stored once, rows are added before the manifest that
needs them is committed (so a committed index never lacks them), and a question whose
sentence is missing (an index written before this file existed, a damaged or deleted file)
embeds it (and finds its entities) then, as before — slower, never wrong. Rows no index passage uses any more are
dropped on `qa index --rebuild`, or when they outnumber the live ones (`prune`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePath
from urllib.parse import quote

import numpy as np

from .cache import text_key
from .embedding import Embedder, cache_key
from .entities import Entity, entities
from .prose import prose_spans

#: How the vectors are stored (recorded in the manifest's chunking settings).
PRECISION = "float16"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS sentences (model TEXT NOT NULL, key TEXT NOT NULL, "
           "vector BLOB NOT NULL, entities TEXT NOT NULL, PRIMARY KEY (model, key)) "
           "WITHOUT ROWID")
_LOOKUP_CHUNK = 500


#: A title of at most this many words names a subject ("Normans", "Tissue (biology)"), the way
#: an encyclopedia's or a wiki's pages are titled; a news headline (6-12 words) tells a story.
SUBJECT_WORDS = 4


def names_subject(title: str, source: str, date: str | None = None) -> bool:
    """Whether a document's title names its subject, so that its sentences ("It is found in
    …", "They were descended from …") are read as about it: a short title that is not just
    its file's name (what a file without a title line is titled), of an undated document. A
    dated one (a news story, a post) is titled by a headline, however short its title is: a
    news site's URL slug ("Ford recall", "Cpi inflation june") tells a story, not a subject.

    Example:
        >>> names_subject("Tissue (biology)", "wiki.jsonl#D8")
        True
        >>> names_subject("US, Russian officials take conciliatory tone in missile talks", "a.txt")
        False
        >>> names_subject("notes", "/home/me/notes.txt")
        False
        >>> names_subject("Ford recall", "news.jsonl#rtqa-1", "2022-06-15")
        False
    """
    return date is None and 0 < len(title.split()) <= SUBJECT_WORDS \
        and title != PurePath(source.split("#", 1)[0]).stem


def titled(title: str, sentence: str) -> str:
    """A sentence with its subject before it, as it is embedded for the sentence model's
    `titled` feature: "Tissue (biology). It is found in …"."""
    return f"{title}. {sentence}"


def sentence_texts(title: str, passage_text: str) -> list[str]:
    """The prose sentences of a passage, as the answer will quote them."""
    return [passage_text[start:end] for start, end in prose_spans(passage_text, title)]


class SentenceVectors:
    """The sentence vectors of an index folder.

    Args:
        path: the SQLite file (made when writing; reading a missing file finds nothing).
        writable: open for `add` and `prune` (the `qa index` run, under the write lock).

    A reader never fails a question: a file that is missing or can't be read finds nothing,
    and the caller embeds what it needs.
    """

    def __init__(self, path: Path, *, writable: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if writable:
            self._db = self._open_writable()
        elif path.is_file():
            try:
                self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True,
                                           check_same_thread=False)
            except sqlite3.DatabaseError:
                self._db = None
        # Closed when nothing uses it any more (a server swapping indexes keeps no handle).
        self._closer = weakref.finalize(self, _close, self._db)

    def _open_writable(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            # A damaged file holds only what can be computed again: start it afresh.
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        """A writable connection to the file, its table made if missing and read once (so a
        damaged file fails here, not in the middle of a write)."""
        db = sqlite3.connect(self.path)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            db.execute("SELECT model, key, vector, entities FROM sentences LIMIT 1").fetchall()
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def get(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors (float32) of those texts that have one, by text."""
        return {text: np.frombuffer(blob, dtype=np.float16).astype(np.float32)
                for text, blob in self._lookup("vector", model, texts).items()
                if isinstance(blob, bytes) and len(blob) % 2 == 0}

    def entities(self, model: str, texts: Sequence[str]) -> dict[str, tuple[Entity, ...]]:
        """The stored entities of those texts that have them, by text."""
        out = {}
        for text, found in self._lookup("entities", model, texts).items():
            try:
                out[text] = tuple(Entity(text[start:end], start, end, label)
                                  for start, end, label in json.loads(str(found)))
            except (TypeError, ValueError):
                continue  # an unreadable row is found again by spaCy
        return out

    def _lookup(self, column: str, model: str, texts: Sequence[str]) -> dict[str, object]:
        if self._db is None or not texts:
            return {}
        by_key = {text_key(t): t for t in texts}
        keys = list(by_key)
        found: dict[str, object] = {}
        with self._lock:
            for i in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[i : i + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self._db.execute(
                        f"SELECT key, {column} FROM sentences WHERE model = ? "
                        f"AND key IN ({marks})", [model, *chunk]).fetchall()
                except sqlite3.DatabaseError:
                    return found
                found.update((by_key[key], value) for key, value in rows)
        return found

    def add(self, embedder: Embedder, texts: Iterable[str], *, batch_size: int = 256,
            progress: Callable[[int], Callable[[int], None]] | None = None,
            with_entities: bool = True) -> int:
        """Embed, find the entities of (unless not `with_entities`: none are stored), and
        store the texts not stored yet; returns how many were new. Each batch is committed as
        it is done, so a killed run keeps its work."""
        assert self._db is not None, "open with writable=True to add"
        unique = list(dict.fromkeys(texts))
        have = self.get(cache_key(embedder), unique)
        missing = sorted((t for t in unique if t not in have), key=len, reverse=True)
        tick = progress(len(missing)) if progress is not None and missing else None
        for i in range(0, len(missing), batch_size):
            batch = missing[i : i + batch_size]
            vectors = embedder.embed(batch).astype(np.float16)
            found = entities(batch) if with_entities else [()] * len(batch)
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?)",
                    [(cache_key(embedder), text_key(t), v.tobytes(),
                      json.dumps([[e.start, e.end, e.label] for e in ents]))
                     for t, v, ents in zip(batch, vectors, found, strict=True)])
                self._db.commit()
            if tick is not None:
                tick(len(batch))
        return len(missing)

    def count(self) -> int:
        if self._db is None:
            return 0
        with self._lock:
            try:
                return int(self._db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0])
            except sqlite3.DatabaseError:
                return 0

    def prune(self, model: str, live: Iterable[str]) -> int:
        """Drop every row but those of `live` texts under `model`; returns how many went."""
        assert self._db is not None, "open with writable=True to prune"
        keep = {text_key(t) for t in live}
        with self._lock:
            rows = self._db.execute("SELECT model, key FROM sentences").fetchall()
            gone = [(m, k) for m, k in rows if m != model or k not in keep]
            self._db.executemany("DELETE FROM sentences WHERE model = ? AND key = ?", gone)
            self._db.commit()
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(gone)

    def close(self) -> None:
        with self._lock:
            self._closer()
            self._db = None


def _close(db: sqlite3.Connection | None) -> None:
    if db is not None:
        db.close()


class StoredSentences:
    """What the sentence scorer needs of the sentences an answer scores: their vectors and
    entities, as stored, and for the rest (the question, sentences of an older index) from the
    model and spaCy, which then remember them.
    """

    def __init__(self, embedder: Embedder, stored: SentenceVectors) -> None:
        self.embedder = embedder
        self.stored = stored

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        found = self.stored.get(cache_key(self.embedder), texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.embedder.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        found = self.stored.entities(cache_key(self.embedder), texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, entities(missing), strict=True))
        return [found[t] for t in texts]


def passage_sentences(items: Sequence[tuple[str, str]]) -> list[str]:
    """Every prose sentence of these (title, passage text) pairs."""
    return [s for title, text in items for s in sentence_texts(title, text)]


def titled_sentences(items: Sequence[tuple[str, str]]) -> list[str]:
    """The sentences of these (title, passage text) pairs of documents titled by their
    subject (`names_subject`), each with the title before it (`titled`): embedded beside the
    plain ones."""
    return [titled(title, s) for title, text in items for s in sentence_texts(title, text)]
