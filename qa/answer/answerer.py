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
from datetime import date
from typing import Any

from ..config import Settings
from ..index.backend import open_store
from .dates import parse_date_range
from .followup import contextual_query
from .question import require_question
from .retrieval import Filters, Hit, Retriever
from .sentences import choose, keyword_share, score_sentences

NOT_FOUND = "I could not find an answer to this in the documents."


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
class ShortAnswer:
    """The phrase that answers a question wanting an entity (a date, a number, a person, a
    place, an organisation, an amount), copied verbatim from the sentence of citation `n`.
    `start`/`end` are characters in that document's text, inside the citation's highlight."""

    text: str
    n: int
    start: int
    end: int


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
    #: The (start, end) ISO dates the question was read as asking about, if any.
    date_range: tuple[str, str] | None = None
    #: How well the passages back an answer (compared with `abstain_threshold`).
    support: float = 0.0
    #: The entity the question asks for, when it asks for one and a cited sentence holds it.
    short_answer: ShortAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Answerer:
    """Turns a question (and the conversation so far) into an `Answer` using a `Retriever`.

    Example:
        >>> answerer = Answerer(retriever, Settings())  # doctest: +SKIP
        >>> print(answerer.ask("Where will the missile shield go?").answer)  # doctest: +SKIP
    """

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def reloaded(self) -> Answerer:
        """A new answerer on the index as it is now on disk, sharing this one's model."""
        embedder = self.retriever.embedder
        store = open_store(self.settings, model=embedder.name)
        return Answerer(Retriever(store, embedder, self.settings), self.settings)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[dict[str, str]] = (),
        now: date | None = None,
    ) -> Answer:
        """Answer `question` from the index.

        Args:
            question: what the user asked.
            k: passages to retrieve (default `settings.top_k`).
            filters: restrict to a source and/or a date range.
            history: earlier turns, `{"role": "user"|"assistant", "content": ...}`; a
                follow-up question is searched together with what they were about.
            now: the date relative dates ("last week") count from; today by default.

        Raises:
            EmptyQuestionError: the question is blank.
        """
        question = require_question(question)
        began = time.perf_counter()
        query = contextual_query(question, history)
        when = parse_date_range(question, now) if self.settings.date_weight > 0 else None
        hits = self.retriever.search(query, k=k or self.settings.top_k, filters=filters,
                                     boost=when)
        retrieved = time.perf_counter()
        dates = (when.start, when.end) if when else None
        support = self.support(query, hits)
        if support < self.settings.abstain_threshold:
            related = tuple(_citation(i, h, h.passage.start, h.passage.start)
                            for i, h in enumerate(hits[:3], 1))
            return Answer(question, NOT_FOUND, True, (), query, related,
                          _timings(began, retrieved), dates, round(support, 4))
        store = self.retriever.store
        scored = score_sentences(
            query, hits[: self.settings.answer_passages], embed=self.retriever.embedder.embed,
            terms=store.analyzer.keywords, idf=store.lexical.idf, settings=self.settings,
            focus=question,
        )
        chosen = choose(scored, limit=self.settings.answer_sentences,
                        margin=self.settings.sentence_margin)
        citations = tuple(_citation(n, c.hit, c.start, c.end) for n, c in enumerate(chosen, 1))
        text = " ".join(f"{c.highlight} [{c.n}]" for c in citations)
        return Answer(question, text, False, citations, query, (), _timings(began, retrieved),
                      dates, round(support, 4))

    def support(self, query: str, hits: Sequence[Hit]) -> float:
        """How well the top passages back an answer to `query`, in [0, 1]: a blend of the best
        cosine and the share of the query's keywords (IDF-weighted) one passage contains."""
        if not hits:
            return 0.0
        store = self.retriever.store
        keywords = store.analyzer.keywords
        idf = store.lexical.idf(sorted(set(keywords([query])[0])))
        top = hits[: self.settings.abstain_passages]
        coverage = max(keyword_share(idf, set(words)) for words in
                       keywords([f"{h.passage.title}\n{h.passage.text}" for h in top]))
        cosine = max(h.dense_score for h in hits)
        w = self.settings.abstain_keyword_weight
        return (1 - w) * cosine + w * coverage


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
    """Open the index the settings name (the index folder, or `store`) and load its model:
    what the CLI, UI and API use.

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError.
    """
    from ..index.embedding import MemoEmbedder, load_embedder

    store = open_store(settings, model=settings.model)
    embedder = MemoEmbedder(load_embedder(settings.model, batch_size=settings.embed_batch_size))
    return Answerer(Retriever(store, embedder, settings), settings)
