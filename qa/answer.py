"""Answering from the documents: quote the sentences that answer, each with a numbered citation.

No text is generated. The answer is made of sentences copied verbatim from the top passages,
chosen by how well each matches the question (semantic similarity plus shared keywords plus
the passage's rank). When even the best passage is too far from the question, the answer says
the documents don't hold it and cites nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .chunking import sentence_spans
from .config import Settings
from .errors import EmptyQuestionError
from .retrieval import Filters, Hit, Retriever
from .store import bm25_tokenize

NOT_FOUND = "I could not find an answer to this in the documents."
#: Weight of keyword overlap and of passage rank beside the cosine similarity of a sentence.
_LEXICAL_WEIGHT = 0.3
_RANK_WEIGHT = 0.05
#: A second sentence is quoted only if it scores within this margin of the best one.
_SECOND_SENTENCE_MARGIN = 0.08


@dataclass(frozen=True)
class Citation:
    """Where a quoted sentence comes from. Offsets are characters in the document's text;
    `passage[highlight_start - passage_start : highlight_end - passage_start]` is the sentence.
    """

    n: int
    doc_id: str
    title: str
    date: str | None
    source: str
    passage: str
    passage_start: int
    passage_end: int
    highlight_start: int
    highlight_end: int
    page: int | None
    scores: dict[str, Any]

    @property
    def highlight(self) -> str:
        return self.passage[
            self.highlight_start - self.passage_start : self.highlight_end - self.passage_start
        ]


@dataclass(frozen=True)
class Answer:
    """The reply to one question. Every [n] in `answer` has citation n, and every citation is
    used. When `abstained`, `citations` is empty and `related` may hold the closest passages."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    query_used: str
    related: tuple[Citation, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int  # document offsets
    end: int
    score: float


class Answerer:
    """Turns a question into an `Answer` using a `Retriever`.

    Example:
        >>> answerer = Answerer(retriever, Settings())
        >>> print(answerer.ask("Where does the US want to put its missile defence system?").answer)
    """

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[dict[str, str]] = (),
    ) -> Answer:
        """Answer `question` from the index.

        Raises:
            EmptyQuestionError: the question is blank.
        """
        question = question.strip()
        if not question:
            raise EmptyQuestionError("the question is empty; type a question")
        began = time.perf_counter()
        query = question
        hits = self.retriever.search(query, k=k or self.settings.top_k, filters=filters)
        retrieved = time.perf_counter()
        best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=-1.0)
        if not hits or best_dense < self.settings.abstain_threshold:
            related = tuple(_citation(i, h, h.passage.start, h.passage.start)
                            for i, h in enumerate(hits[:3], 1))
            return Answer(question, NOT_FOUND, True, (), query, related,
                          _timings(began, retrieved))
        chosen = self._choose(query, hits[: self.settings.answer_passages])
        citations = tuple(_citation(n, c.hit, c.start, c.end) for n, c in enumerate(chosen, 1))
        text = " ".join(f"{c.highlight} [{c.n}]" for c in citations)
        return Answer(question, text, False, citations, query, (), _timings(began, retrieved))

    def _choose(self, query: str, hits: Sequence[Hit]) -> list[_Candidate]:
        candidates = _sentences(hits)
        sentence_texts = [c.hit.passage.text[c.start - c.hit.passage.start :
                                              c.end - c.hit.passage.start] for c in candidates]
        vectors = self.retriever.embedder.embed([query, *sentence_texts])
        cosine = vectors[1:] @ vectors[0]
        query_terms = set(bm25_tokenize([query], return_ids=False)[0])
        sentence_terms = bm25_tokenize(sentence_texts, return_ids=False)
        scored = []
        for cand, cos, terms in zip(candidates, cosine, sentence_terms, strict=True):
            overlap = len(query_terms & set(terms)) / len(query_terms) if query_terms else 0.0
            prior = _RANK_WEIGHT / cand.hit.fused_rank
            scored.append(_Candidate(cand.hit, cand.start, cand.end,
                                     float(cos) + _LEXICAL_WEIGHT * overlap + prior))
        scored.sort(key=lambda c: -c.score)
        chosen = scored[:1]
        for cand in scored[1:]:
            if len(chosen) >= self.settings.answer_sentences:
                break
            if cand.score < chosen[0].score - _SECOND_SENTENCE_MARGIN:
                break
            if all(cand.start >= c.end or cand.end <= c.start for c in chosen):
                chosen.append(cand)
        return chosen


def _sentences(hits: Sequence[Hit]) -> list[_Candidate]:
    """Every sentence of the hits' passages, as document offsets (duplicates dropped)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit in hits:
        base = hit.passage.start
        for span in sentence_spans(hit.passage.text):
            key = (hit.doc_id, base + span.start, base + span.end)
            if key not in seen:
                seen.add(key)
                out.append(_Candidate(hit, base + span.start, base + span.end, 0.0))
    return out


def _citation(n: int, hit: Hit, start: int, end: int) -> Citation:
    p = hit.passage
    return Citation(
        n=n, doc_id=p.doc_id, title=p.title, date=p.date, source=p.source, passage=p.text,
        passage_start=p.start, passage_end=p.end, highlight_start=start, highlight_end=end,
        page=p.page, scores=hit.scores(),
    )


def _timings(began: float, retrieved: float) -> dict[str, float]:
    done = time.perf_counter()
    return {"retrieve_s": round(retrieved - began, 4), "answer_s": round(done - retrieved, 4),
            "total_s": round(done - began, 4)}



def load_answerer(settings: Settings) -> Answerer:
    """Open the index at `settings.index_dir` and load its model: what the CLI, UI and API use.

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError.
    """
    from .embedding import load_embedder
    from .store import IndexStore

    store = IndexStore.load(settings.index_dir, model=settings.model)
    embedder = load_embedder(settings.model, batch_size=settings.embed_batch_size)
    return Answerer(Retriever(store, embedder, settings), settings)
