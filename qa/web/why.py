"""Why a passage was picked, said in plain words: the question's words it contains, and how close
in meaning it is (high, medium, low). The raw retrieval scores stay available, behind a detail.

Example:
    >>> from qa.answer.answerer import Citation
    >>> c = Citation(1, "d", "T", None, "s", "Zebras arrived from Kenya.", 0, 26, 0, 26, None,
    ...              {"dense": 0.61, "dense_rank": 1, "bm25": 1.2, "bm25_rank": 2,
    ...               "fused": 0.3, "fused_rank": 1})
    >>> why = explain(c, "Where did the zebras come from?", Settings())
    >>> why.words, why.similarity
    (('zebras',), 'high')
    >>> plain_words(why)
    'It contains “zebras” from your question, and it is close in meaning (high).'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..answer.answerer import Citation
from ..config import Settings
from ..index.analysis import TextAnalyzer, topic_words

Similarity = Literal["high", "medium", "low"]
_SAYS = {"high": "it is close in meaning (high)",
         "medium": "it is somewhat close in meaning (medium)",
         "low": "it is not very close in meaning (low)"}


@dataclass(frozen=True)
class Why:
    """The evidence for one passage, for people."""

    words: tuple[str, ...]
    similarity: Similarity
    scores: str


def explain(citation: Citation, question: str, settings: Settings,
            analyzer: TextAnalyzer | None = None) -> Why:
    """Which of the question's topic words the passage (or its title) contains — compared as
    the index compares them, stemmed — and how similar in meaning it is."""
    analyzer = analyzer or TextAnalyzer()
    candidates = topic_words(question)
    stems = analyzer.keywords([w.lower() for w in candidates]) if candidates else []
    present = set(analyzer.keywords([f"{citation.title}\n{citation.passage}"])[0])
    words = tuple(word for word, stem in zip(candidates, stems, strict=False)
                  if stem and all(s in present for s in stem))
    cosine = float(citation.scores.get("dense") or 0.0)
    similarity: Similarity = ("high" if cosine >= settings.similarity_high else
                              "medium" if cosine >= settings.similarity_medium else "low")
    return Why(words, similarity, raw_scores(citation))


def plain_words(why: Why) -> str:
    """One sentence a reader can follow."""
    if why.words:
        quoted = ", ".join(f"“{w}”" for w in why.words)
        return f"It contains {quoted} from your question, and {_SAYS[why.similarity]}."
    return f"It shares no word with your question, but {_SAYS[why.similarity]}."


def raw_scores(c: Citation) -> str:
    """The retrieval scores and ranks: meaning (the dense cosine), words (BM25), combined (the
    fused score).

    Example:
        >>> raw_scores(Citation(1, "d", "T", None, "s", "x", 0, 1, 0, 1, None, {"dense": 0.5,
        ...     "dense_rank": 2, "bm25": None, "bm25_rank": None, "fused": 0.1, "fused_rank": 1}))
        'meaning 0.500, rank 2 · words (BM25) no match · combined 0.1000, rank 1'
    """
    s = c.scores

    def rank(key: str) -> str:
        return f", rank {s[key]}" if s.get(key) else ""

    parts = [f"meaning {float(s.get('dense') or 0):.3f}{rank('dense_rank')}"]
    parts.append(f"words (BM25) {s['bm25']:.2f}{rank('bm25_rank')}" if s.get("bm25") is not None
                 else "words (BM25) no match")
    parts.append(f"combined {float(s.get('fused') or 0):.4f}{rank('fused_rank')}")
    return " · ".join(parts)
