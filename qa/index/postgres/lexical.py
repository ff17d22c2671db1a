"""The lexical part in PostgreSQL: BM25 over a tsvector per passage (see `parts.LexicalIndex`).

The terms come from the store's `TextAnalyzer` (the same tokenizer, stop words and stemmer as
the index folder's bm25s); PostgreSQL's own text-search parsing is not used. Each passage keeps
its terms as a tsvector (lexemes only) under a GIN index, which finds the passages holding a
query term, and their frequencies as a small JSON object, which the scoring reads (taking them
apart from a tsvector's positions costs five times as much). One statement scores the matches
with BM25 as bm25s does by default: Lucene's idf `ln(1 + (N - df + 0.5) / (df + 0.5))`, term
weight `tf / (tf + k1 (1 - b + b dl / avgdl))`, each query term counted as often as it occurs,
with `k1` and `b`, the passage count, the average length and each term's df from the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis import TextAnalyzer
from .database import Database

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
#: PostgreSQL's limit on a lexeme's length, in bytes.
MAX_LEXEME_BYTES = 2046

#: BM25 of the passages matching any query term. The term weights are worked out once
#: (MATERIALIZED: otherwise the planner joins the whole lexicon), then each match is scored
#: on its own from its frequencies.
_SEARCH = """
WITH m AS MATERIALIZED (
    SELECT passages::float8 AS n, total_length::float8 / greatest(passages, 1) AS avgdl,
           (bm25->>'k1')::float8 AS k1, (bm25->>'b')::float8 AS b FROM meta),
q AS MATERIALIZED (
    SELECT q.term, q.weight * ln(1 + (m.n - l.df + 0.5) / (l.df + 0.5)) AS weight
    FROM unnest(%(terms)s::text[], %(weights)s::int[]) AS q(term, weight)
    JOIN lexicon l USING (term) CROSS JOIN m)
SELECT p.passage_id, s.score
FROM passages p CROSS JOIN m
CROSS JOIN LATERAL (
    SELECT sum(q.weight * t.tf / (t.tf + m.k1 * (1 - m.b + m.b * p.length / m.avgdl))) AS score
    FROM q CROSS JOIN LATERAL (SELECT (p.tf ->> q.term)::float8 AS tf) t
    WHERE t.tf IS NOT NULL) s
WHERE p.retired IS NULL AND p.lexemes @@ %(query)s::tsquery {allowed}
ORDER BY s.score DESC, p.passage_id
LIMIT %(n)s
"""


def _quote(term: str) -> str:
    """A term as a quoted tsvector/tsquery lexeme (taken as is, not parsed again)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _usable(term: str) -> bool:
    return bool(term) and len(term.encode("utf-8")) <= MAX_LEXEME_BYTES


@dataclass(frozen=True)
class PassageTerms:
    """A passage's BM25 terms as stored: a tsvector literal (the terms, for matching), their
    frequencies as JSON, and their count (BM25's document length)."""

    lexemes: str
    frequencies: str
    length: int


def passage_terms(texts: Sequence[str], analyzer: TextAnalyzer) -> list[PassageTerms]:
    """The BM25 terms of each text, as the `passages` table stores them.

    Example:
        >>> passage_terms(["The cats saw a cat"], TextAnalyzer())
        [PassageTerms(lexemes="'cat' 'saw'", frequencies='{"cat": 2, "saw": 1}', length=3)]
    """
    out = []
    for tokens in analyzer.bm25_tokens(texts, return_ids=False):
        counts: dict[str, int] = {}
        for token in tokens:
            if _usable(token):
                counts[token] = counts.get(token, 0) + 1
        terms = sorted(counts)
        out.append(PassageTerms(" ".join(_quote(t) for t in terms),
                                json.dumps({t: counts[t] for t in terms}), len(tokens)))
    return out


class PostgresLexical:
    """BM25 over the `passages` table's tsvectors."""

    def __init__(self, db: Database, analyzer: TextAnalyzer) -> None:
        self._db = db
        self.analyzer = analyzer

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT passages FROM meta").fetchone()
        return int(row[0]) if row else 0

    def search(self, query: str, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        tokens = [t for t in self.analyzer.bm25_tokens([query], return_ids=False)[0]
                  if _usable(t)]
        if not tokens or n <= 0 or (allowed is not None and not len(allowed)):
            return _NONE
        weights: dict[str, int] = {}
        for token in tokens:
            weights[token] = weights.get(token, 0) + 1
        args: dict[str, Any] = {
            "terms": list(weights), "weights": list(weights.values()), "n": n,
            "query": " | ".join(_quote(t) for t in weights),
        }
        extra = ""
        if allowed is not None:
            extra = "AND p.passage_id = ANY(%(allowed)s)"
            args["allowed"] = allowed.astype(np.int64).tolist()
        with self._db.connection() as conn:
            rows = conn.execute(_SEARCH.format(allowed=extra), args).fetchall()
        rows = [r for r in rows if r[1] > 0]
        return (np.array([r[0] for r in rows], dtype=np.int64),
                np.array([r[1] for r in rows], dtype=np.float32))

    def unseen(self, terms: Sequence[str]) -> set[str]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT term FROM lexicon WHERE term = ANY(%s) AND df > 0",
                                [list(terms)]).fetchall()
        return set(terms) - {term for (term,) in rows}

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT m.passages, l.term, l.df FROM meta m LEFT JOIN lexicon l "
                                "ON l.term = ANY(%s)", [list(terms)]).fetchall()
        n = int(rows[0][0]) if rows else 0
        df = {term: count for _, term, count in rows if term is not None}
        return {t: float(np.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)))
                for t in terms}
