"""Choosing the answering sentence: every sentence of the top passages, scored against the question.

The score adds four kinds of evidence, each in [0, 1] except the cosine:

- semantic: cosine similarity of sentence and question embeddings;
- lexical: the share of the question's keywords (weighted by IDF, so rare words count more)
  that the sentence contains, and that it and the sentence before it contain together;
- type: the sentence holds the kind of thing the question asks for (a year for "when", a
  number for "how many", a name for "who");
- rank: the retrieval rank of the sentence's passage.

The weights live in `Settings` and were tuned on SQuAD 2.0 (`benchmarks/tune_sentences.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..config import Settings
from ..index.analysis import NAME_INSIDE, NUMBER_CUE, TIME_CUE
from ..index.chunking import sentence_spans
from .retrieval import Hit

_FOCUS_BOOST = 2.0


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence: its passage hit, its document offsets, and its score parts."""

    hit: Hit
    start: int
    end: int
    semantic: float
    lexical: float
    type_match: float
    rank: float
    score: float

    @property
    def text(self) -> str:
        base = self.hit.passage.start
        return self.hit.passage.text[self.start - base : self.end - base]


def keyword_share(weights: dict[str, float], words: set[str]) -> float:
    """The weighted share of the keywords in `weights` that `words` contains, in [0, 1].

    Example:
        >>> keyword_share({"zebra": 3.0, "kenya": 1.0}, {"zebra", "zoo"})
        0.75
    """
    total = sum(weights.values())
    return sum(w for term, w in weights.items() if term in words) / total if total else 0.0


def candidate_spans(hits: Sequence[Hit]) -> list[tuple[Hit, int, int]]:
    """Every sentence of the hits' passages as (hit, doc start, doc end); repeats dropped."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit in hits:
        base = hit.passage.start
        for span in sentence_spans(hit.passage.text):
            key = (hit.doc_id, base + span.start, base + span.end)
            if key not in seen:
                seen.add(key)
                out.append((hit, base + span.start, base + span.end))
    return out


def expected_type(question: str) -> Callable[[str], bool] | None:
    """A test for sentences holding what the question asks for, or None when it can't tell."""
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|"
                 r"number|amount)\b", q):
        return lambda s: bool(NUMBER_CUE.search(s))
    if re.search(r"\bwhen\b|\bwhat (year|date|century|decade|time|month|day)\b|\bby when\b", q):
        return lambda s: bool(TIME_CUE.search(s))
    if re.search(r"\b(who|whom|whose)\b", q):
        asked = set(re.findall(r"[A-Z][a-z]+", question))
        return lambda s: any(n not in asked for n in NAME_INSIDE.findall(s))
    return None


def score_sentences(
    question: str,
    hits: Sequence[Hit],
    *,
    embed: Callable[[Sequence[str]], np.ndarray],
    terms: Callable[[Sequence[str]], list[list[str]]],
    idf: Callable[[Sequence[str]], dict[str, float]],
    settings: Settings,
    focus: str | None = None,
) -> list[ScoredSentence]:
    """Score every sentence of `hits`' passages against `question`, best first.

    Args:
        question: what is asked (the retrieval query, with any context it carries).
        hits: the passages to draw sentences from, best first.
        embed: text → unit vectors (the question is embedded with the sentences).
        terms: texts → their keyword tokens (the same analysis as BM25).
        idf: keyword → inverse document frequency in the index.
        settings: the score weights.
        focus: the user's own words when `question` also carries earlier turns' topic; its
            keywords count double, so "What does Russia think about it?" prefers the sentence
            about Russia over the one that answered the previous question.
    """
    spans = candidate_spans(hits)
    if not spans:
        return []
    texts = [h.passage.text[s - h.passage.start : e - h.passage.start] for h, s, e in spans]
    vectors = embed([question, *texts])
    cosine = vectors[1:] @ vectors[0]
    weights = _keyword_weights(question, focus, terms, idf)
    wants = expected_type(focus or question)
    out = []
    previous: tuple[Hit | None, set[str]] = (None, set())
    for (hit, start, end), text, cos, words in zip(spans, texts, cosine, terms(texts),
                                                   strict=True):
        own = set(words)
        # The sentence before often names what this one calls "it" or "they".
        before = previous[1] if previous[0] is hit else set()
        previous = (hit, own)
        out.append(_scored(hit, start, end, float(cos), keyword_share(weights, own),
                           keyword_share(weights, own | before),
                           float(wants(text)) if wants is not None else 0.0, settings))
    out.sort(key=lambda s: (-s.score, s.hit.fused_rank, s.start))
    return out


def _keyword_weights(question: str, focus: str | None,
                     terms: Callable[[Sequence[str]], list[list[str]]],
                     idf: Callable[[Sequence[str]], dict[str, float]]) -> dict[str, float]:
    """IDF of each keyword of the question; the user's own words (`focus`) count double."""
    query_terms = set(terms([question])[0])
    weights = idf(sorted(query_terms))
    if focus is not None and focus != question:
        for term in set(terms([focus])[0]) & query_terms:
            weights[term] *= _FOCUS_BOOST
    return weights


def _scored(hit: Hit, start: int, end: int, cosine: float, lexical: float, context: float,
            type_match: float, settings: Settings) -> ScoredSentence:
    rank = 1.0 / hit.fused_rank
    score = (cosine + settings.sentence_lexical_weight * lexical
             + settings.sentence_context_weight * context
             + settings.sentence_type_weight * type_match
             + settings.sentence_rank_weight * rank)
    return ScoredSentence(hit, start, end, cosine, lexical, type_match, rank, score)


def choose(scored: Sequence[ScoredSentence], *, limit: int, margin: float) -> list[ScoredSentence]:
    """The best sentence, then up to `limit - 1` more that score within `margin` of it and
    don't overlap a chosen one."""
    chosen: list[ScoredSentence] = []
    for cand in scored:
        if len(chosen) >= limit or (chosen and cand.score < chosen[0].score - margin):
            break
        if all(cand.hit.doc_id != c.hit.doc_id or cand.start >= c.end or cand.end <= c.start
               for c in chosen):
            chosen.append(cand)
    return chosen
