"""Answering from the documents: quote the sentences that answer, each with a numbered citation.

No text is generated. The answer is made of sentences copied verbatim from the top passages,
chosen by how well each matches the question (semantic similarity plus shared keywords plus
the passage's rank). When even the best passage is too far from the question, the answer says
the documents don't hold it and cites nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np

from ..config import Settings
from ..index.analysis import TextAnalyzer, topic_words
from ..index.backend import open_store
from ..index.embedding import Embedder
from ..index.entities import Entity
from ..index.sentence_vectors import SentenceVectors, StoredSentences
from .dates import DateRange, parse_date_range
from .followup import (
    about_document,
    changes_topic,
    contextual_queries,
    conversation_topic,
    gender_in,
    last_answer,
    last_quote,
    leans_on_context,
    names_nothing_new,
    points_back,
    quoted_sentences,
)
from .intent import Intent, intent_of
from .overview import overview
from .question import NOT_FOUND, help_message, require_question, unresolved_message
from .retrieval import Filters, Hit, Retriever
from .sentences import MEASURES, ScoredSentence, SentenceScorer, choose, close_behind
from .spelling import respelled
from .support import SupportModel, speaker_silent, support_features


@dataclass(frozen=True)
class Reading:
    """What the answerer reads in a question before it decides how to answer: the query it
    searches (a follow-up's with the conversation's topic), what the question wants, the dates
    it names, the passages found, the candidate sentences scored, and the signals the support
    model weighs. `Answerer.ask` answers from it, and the fitting scripts in `benchmarks/`
    learn from it, so the models are fitted on exactly what answering sees.
    """

    question: str
    query: str
    intent: Intent
    when: DateRange | None
    filters: Filters | None
    #: The first sentence the conversation's last answer quoted ("this story" is its story).
    about: str | None
    #: Empty for an overview, which reads whole documents instead.
    hits: tuple[Hit, ...]
    scored: tuple[ScoredSentence, ...]
    signals: np.ndarray | None = field(compare=False)
    began: float = field(compare=False)
    retrieved: float = field(compare=False)
    #: The documents the conversation's last answers quoted (see `conversation_documents`).
    focus: tuple[str, ...] = ()
    #: Whether the question stands on its own but names no one and nothing the conversation
    #: hasn't (`names_nothing_new`): then its answer keeps to `focus` more firmly.
    anchored: bool = False
    #: The pronoun of a question pointing back at nothing ("When did this happen?" with no
    #: answer before it, in a collection of several documents), else None.
    unresolved: str | None = None
    #: The question as the user typed it, when `question` is it with typos respelled.
    asked: str = ""

    @property
    def support(self) -> float:
        """P(the documents hold the answer), from the bundled support model."""
        if self.signals is None:
            return 1.0
        if speaker_silent(self.intent, self.hits):
            return 0.0
        return SupportModel.bundled().probability(self.signals)


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
        # The sentences' vectors come from the index (embedded by `qa index`), the question's
        # from the model: answering costs about what searching does.
        self.sentence_data = StoredSentences(
            retriever.embedder, SentenceVectors(settings.sentences_path))
        self._sentence_scorer: SentenceScorer | None = None
        self._genders: dict[str, str | None] = {}
        self._sources: dict[str, str | None] = {}
        retriever.store.analyzer.prepare()

    def reloaded(self) -> Answerer:
        """A new answerer on the index as it is now on disk, sharing this one's model."""
        embedder = self.retriever.embedder
        store = open_store(self.settings, model=embedder.name)
        if store.manifest.precision != embedder.precision:  # rebuilt at another precision
            embedder = _embedder(self.settings, store.manifest.precision)
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
        return self.answer(self.read(question, k=k, filters=filters, history=history, now=now))

    def read(
        self,
        question: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[dict[str, str]] = (),
        now: date | None = None,
    ) -> Reading:
        """Everything `ask` reads in `question` before it answers (see `Reading`); the
        arguments are `ask`'s."""
        asked = require_question(question)
        began = time.perf_counter()
        store = self.retriever.store
        question = respelled(asked, store.lexical.unseen, store.analyzer.keywords,
                             self._beside)
        asked = "" if question == asked else asked
        # The last answer's names help find the passage, but among its sentences they would
        # only pull back the one that answered last time ("How many were aboard?" after
        # "Where did the yacht sink?"): sentences are scored without them.
        query, scoring = contextual_queries(question, history, self.gender)
        # "When did this happen?" as the first question of a collection holding one
        # document is about that document (a bare "By when?" still means nothing); a question
        # with words of its own ("How much snow will this storm bring?") is searched as it is.
        # ("What is this article about?" needs no such help: an overview reads whole
        # documents.)
        intent = intent_of(question)
        leans = leans_on_context(question)
        unresolved = (points_back(question) if query == question and leans
                      and intent.kind not in ("overview", "chat") else None)
        if (unresolved and (filters is None or not filters.active)
                and (title := self._only_title) is not None):
            if len(topic_words(question)) <= _MAX_OWN_WORDS_ABOUT_DOCUMENT:
                query = scoring = about_document(question, title)
            unresolved = None
        when = parse_date_range(question, now) if self.settings.date_weight > 0 else None
        about = last_quote(history)
        if intent.kind in ("overview", "chat"):
            return Reading(question, query, intent, when, filters, about, (), (), None, began,
                           began, asked=asked)
        # A question that stands on its own is still searched with a lean towards the
        # conversation's topic (a follow-up's query carries it already).
        alone = not leans
        context = conversation_topic(history) if alone else ""
        focus = [] if changes_topic(question) else self.conversation_documents(history)
        hits = self.retriever.search(query, k=k or self.settings.top_k, filters=filters,
                                     boost=when, context=context, focus=focus)
        retrieved = time.perf_counter()
        scored = self._score(scoring, question, hits[: self.settings.answer_passages], intent,
                             last_answer(history), named=query)
        signals = self.support_features(question, query, hits, scored, intent)
        return Reading(question, query, intent, when, filters, about, tuple(hits),
                       tuple(scored), signals, began, retrieved, tuple(focus),
                       bool(focus) and alone and names_nothing_new(question, history),
                       unresolved, asked)

    def answer(self, reading: Reading) -> Answer:
        """The answer to a question `read` has read: an overview, the sentences that answer
        it, or "not found" when the support is below `abstain_threshold`."""
        # The answer repeats the question as asked; its search (`query`) shows the respelling.
        question, query, when = reading.asked or reading.question, reading.query, reading.when
        if reading.intent.kind == "overview":
            return self._overview(question, query, reading.filters, when, reading.began,
                                  reading.about)
        if reading.intent.kind == "chat":  # "hi", "what can you do?": no document is asked
            return self._abstain(question, query, (), _timings(reading.began, reading.began),
                                 None, 0.0, help_message(
                                     self.retriever.store.catalog.document_count()))
        dates = (when.start, when.end) if when else None
        timings = _timings(reading.began, reading.retrieved)
        support = reading.support
        if support < self.settings.abstain_threshold:
            message = (NOT_FOUND if reading.unresolved is None
                       else unresolved_message(reading.unresolved))
            return self._abstain(question, query, reading.hits, timings, dates, support,
                                 message)
        analyzer = self.retriever.store.analyzer
        terms = analyzer.keywords([query])[0]
        scored = _in_focus(reading.scored, reading.focus,
                           self.settings.anchored_focus_margin if reading.anchored
                           else self.settings.focus_margin)
        # A second number or date close behind is a real alternative, and so is a second
        # reason; a second person or place is not (a news sentence names several).
        intent = reading.intent
        measured = bool(intent.labels) and intent.labels[0] in MEASURES
        alternative = (self.settings.alternative_margin
                       if intent.kind == "reason" or measured else None)
        chosen = choose(scored, limit=self.settings.answer_sentences,
                        margin=self.settings.sentence_margin, keywords=analyzer.keywords,
                        question_terms=set(terms), several=reading.intent.several,
                        alternative=alternative)
        citations = tuple(_citation(n, c.hit, c.start, c.end) for n, c in enumerate(chosen, 1))
        short = (short_answer(chosen[0], terms, analyzer) if chosen and not (
            alternative is not None and rivalled(chosen, alternative)) else None)
        if short is not None and done_by_another(
                reading.question, chosen[0].text,
                (short.start - chosen[0].start, short.end - chosen[0].start)):
            short = None
        return Answer(question, answer_text(citations, short), False, citations, query, (),
                      timings, dates, round(support, 4), short)

    def _abstain(self, question: str, query: str, hits: Sequence[Hit],
                 timings: dict[str, float], dates: tuple[str, str] | None, support: float,
                 message: str = NOT_FOUND) -> Answer:
        """The documents don't hold it: say so, and show the closest passages as related."""
        related = tuple(_citation(i, h, h.passage.start, h.passage.start)
                        for i, h in enumerate(hits[:3], 1))
        return Answer(question, message, True, (), query, related, timings, dates,
                      round(support, 4))

    def _overview(self, question: str, query: str, filters: Filters | None,
                  when: DateRange | None, began: float, about: str | None) -> Answer:
        """What the best documents (or those of the date asked about) are about: their lead
        sentences, not sentences sharing the question's words."""
        dates = (when.start, when.end) if when else None
        # A topic no document names in words is summed up only if the documents hold it as
        # they would an answer to a question about it: else "Which documents mention
        # Russia?" of a folder of local news would quote them all.
        found = overview(self.retriever, query, filters=filters, when=when,
                         documents=self.settings.answer_sentences, about=about,
                         holds=lambda topic: (self.read(topic, filters=filters).support
                                              >= self.settings.abstain_threshold))
        retrieved = time.perf_counter()
        if found.unheld is not None:
            return self._abstain(question, query, (), _timings(began, retrieved), dates, 0.0,
                                 f"There are no documents about {found.unheld}.")
        if not found.sentences:
            where = f" dated {when.start} to {when.end}" if when else ""
            return self._abstain(question, query, (), _timings(began, retrieved), dates, 0.0,
                                 f"There are no documents{where} to summarise.")
        citations = tuple(_citation(n, hit, start, end)
                          for n, (hit, start, end) in enumerate(found.sentences, 1))
        return Answer(question, answer_text(citations, None), False, citations, query, (),
                      _timings(began, retrieved), dates, 1.0)

    def rank_document_sentences(self, question: str, doc_id: str) -> list[ScoredSentence]:
        """Every sentence of one document, ranked as answers to `question` (as if the whole
        document had been retrieved first): what WikiQA's sentence-ranking protocol measures.
        """
        catalog = self.retriever.store.catalog
        ids = [pid for pid, _ in catalog.passages_of(doc_id)]
        vectors = self.retriever.store.dense.vectors(ids)
        query_vector = self.retriever.embedder.embed([question])[0]
        hits = [Hit(passage=p, fused_rank=1, fused_score=0.0, dense_rank=None,
                    dense_score=float(v @ query_vector), bm25_rank=None, bm25_score=None)
                for p, v in zip(catalog.passages(ids), vectors, strict=True)]
        return self._score(question, question, hits, intent_of(question))

    def _beside(self, terms: Sequence[str], others: Sequence[str]) -> bool:
        """Whether one of the passages BM25 finds first for these index terms holds all of
        `terms` and one of `others` (a respelling must fit the question's other words)."""
        store = self.retriever.store
        ids, _ = store.lexical.search(" ".join([*terms, *others]), _BESIDE_PASSAGES)
        texts = [f"{p.title}\n{p.text}" for p in store.catalog.passages([int(i) for i in ids])]
        return any(set(terms) <= words and bool(words & set(others))
                   for words in map(set, store.analyzer.keywords(texts)))

    @cached_property
    def _only_title(self) -> str | None:
        """The title of the collection's one document (None: it holds several, or none, or
        the one has no title); read once, as an answerer's index never changes."""
        catalog = self.retriever.store.catalog
        rows = catalog.documents() if catalog.document_count() == 1 else []
        return rows[0].title or None if rows else None

    def gender(self, name: str) -> str | None:
        """How the documents refer to the person `name` ("female", "male" or None, from the
        pronouns after their name in the passages that name them best): whom "she" and "he"
        can mean in a follow-up."""
        if name in self._genders:
            return self._genders[name]
        store = self.retriever.store
        ids, _ = store.lexical.search(name, _GENDER_PASSAGES)
        found = gender_in([p.text for p in store.catalog.passages([int(i) for i in ids])], name)
        if len(self._genders) >= _MEMO:
            self._genders.clear()
        self._genders[name] = found
        return found

    def conversation_documents(self, history: Sequence[dict[str, str]]) -> list[str]:
        """The ids of the documents the conversation's last `focus_turns` answers quoted,
        newest first, found from the quoted text itself (a client sends only the texts)."""
        if self.settings.focus_weight <= 0:
            return []
        found = (self._document_quoting(s)
                 for s in quoted_sentences(history, self.settings.focus_turns))
        return list(dict.fromkeys(doc for doc in found if doc is not None))

    def _document_quoting(self, sentence: str) -> str | None:
        """The id of the document holding `sentence` verbatim (None: none of the passages
        BM25 finds for it does; the index changed, or the text was not a quotation)."""
        if sentence in self._sources:
            return self._sources[sentence]
        store = self.retriever.store
        wanted = " ".join(sentence.split())
        ids, _ = store.lexical.search(sentence, _QUOTE_CANDIDATES)
        found = next((p.doc_id for p in store.catalog.passages([int(i) for i in ids])
                      if wanted and wanted in " ".join(p.text.split())), None)
        if len(self._sources) >= _MEMO:
            self._sources.clear()
        self._sources[sentence] = found
        return found

    def support_features(self, question: str, query: str, hits: Sequence[Hit],
                         scored: Sequence[ScoredSentence], intent: Intent) -> np.ndarray:
        """The signals the support model weighs, for one question's hits and sentences."""
        store = self.retriever.store
        top = hits[: self.settings.abstain_passages]
        weights = self._scorer().weights(query, question)
        # A follow-up is supported by what it asks itself: "When is his funeral?" after a
        # question about the pope must find "funeral", not only the pope carried over.
        own = {t: weights[t] for t in store.analyzer.keywords([question])[0] if t in weights}
        return support_features(
            question, hits, scored, weights=own or weights,
            keywords=store.analyzer.keywords([f"{h.passage.title}\n{h.passage.text}"
                                              for h in top]),
            intent=intent, collection_size=store.count, unseen=store.lexical.unseen,
            analyze=store.analyzer.keywords)

    def _score(self, query: str, question: str, hits: Sequence[Hit],
               intent: Intent, quoted: str = "", named: str | None = None,
               ) -> list[ScoredSentence]:
        return self._scorer().score(query, hits, focus=question, intent=intent, quoted=quoted,
                                    named=named)

    def _scorer(self) -> SentenceScorer:
        """One scorer per answerer (its store and model don't change), so the keyword weights
        it computed for a question serve the support check too."""
        if self._sentence_scorer is None:
            store = self.retriever.store
            self._sentence_scorer = SentenceScorer(
                embed=self.sentence_data.embed, entities=self.sentence_data.entities,
                analyzer=store.analyzer, idf=store.lexical.idf, collection_size=store.count)
        return self._sentence_scorer


#: A first question pointing back with at most this many topic words of its own ("When did
#: this happen?": none) is read as about a one-document collection's document.
_MAX_OWN_WORDS_ABOUT_DOCUMENT = 1
#: How many passages BM25 finds first are read for a respelled word beside the question's
#: others.
_BESIDE_PASSAGES = 5
#: How many passages naming a person are read for the pronouns used of them.
_GENDER_PASSAGES = 5
#: How many names' genders, and quoted sentences' documents, are remembered.
_MEMO = 1000
#: How many passages BM25 finds for a quoted sentence, one of which should hold it.
_QUOTE_CANDIDATES = 3


#: "Who made the costumes?": the verb asked about, after "who".
_WHO_DID = re.compile(r"^\s*who\s+([a-z]+)\b", re.IGNORECASE)
#: Verbs after "who" that ask who someone is, not who did something.
_WHO_IS = {"is", "was", "are", "were", "has", "had", "have", "will", "would", "did", "does",
           "do", "can", "could", "should", "might", "may", "else"}


def done_by_another(question: str, sentence: str, at: tuple[int, int]) -> bool:
    """Whether `sentence` says who did what a "who" question asks in a relative clause ("the
    parents who made the costumes") naming someone other than the entity at `at`: then that
    entity (`at`: its start and end in the sentence; "Sarah Khan" of "the head teacher, Sarah
    Khan, thanked the parents who made the costumes") is not the answer, and no short answer
    is better than a wrong one.

    Example:
        >>> text = "The head teacher, Sarah Khan, thanked the parents who made the costumes."
        >>> done_by_another("Who made the costumes?", text, (18, 28))
        True
        >>> won = "Medvedev, who won by a landslide, will be president."
        >>> done_by_another("Who won the election?", won, (0, 8))
        False
    """
    asked = _WHO_DID.match(question)
    if asked is None or asked.group(1).lower() in _WHO_IS:
        return False
    clause = re.search(rf"\b(\w+),?\s+who\s+(?:\w+\s+)?{re.escape(asked.group(1))}\b",
                       sentence, re.IGNORECASE)
    if clause is None:
        return False
    # The word before "who" is the doer; the entity is the answer only if it ends there.
    return not at[0] <= clause.start(1) < at[1]


def short_answer(best: ScoredSentence, query_terms: Sequence[str],
                 analyzer: TextAnalyzer) -> ShortAnswer | None:
    """The entity of the wanted kind in the best sentence that stands nearest the question's
    own words ("next president" → the name beside "president-elect"), as citation 1's short
    answer; None when the question wants no entity or the sentence holds none."""
    if not best.wanted:
        return None
    text = best.text
    terms = set(query_terms)
    anchors = [m.start() for m in re.finditer(r"\w+", text)
               if (analyzer.keywords([m.group()])[0] or [""])[0] in terms]

    def distance(entity: Entity) -> int:
        return min((abs(a - entity.start) for a in anchors), default=0)

    # `wanted` is in order of preference: for "who", a person before an organisation, and
    # either before the nationality beside a title ("Russian President Vladimir Putin"); the
    # nearest of the kind preferred wins. A place or a time is the one the sentence puts
    # something at ("base the system in eastern Europe", "by 2013"), not the one it is
    # against or from ("against Iran"), whatever its kind.
    first = best.wanted[0].label
    if first in _LOCATES:
        preferred = [e for e in best.wanted if e.label in _LOCATES and
                     _LOCATES[e.label].search(text[max(0, e.start - 24) : e.start])]
    else:
        preferred = [e for e in best.wanted if e.label == first]
    entity = min(preferred or best.wanted, key=distance)
    return ShortAnswer(entity.text, 1, best.start + entity.start, best.start + entity.end)


#: (A preposition, perhaps "the" and one lower-case word: "in eastern Europe", "by mid-2025";
#: for a place, perhaps "the town of": "in the town of Milazzo".)
_PLACED = re.compile(r"\b(?i:in|at|near|into|to|across|inside|outside|throughout|on)\s+"
                     r"(?:(?i:the)\s+)?(?:[a-z-]+\s+)?"
                     r"(?:(?:town|city|village|port|region|state|province|county|island)"
                     r"\s+of\s+)?$")
_DATED = re.compile(r"\b(?i:on|in|by|until|till|since|from|before|after|during|around)\s+"
                    r"(?:(?i:the)\s+)?(?:[a-z-]+\s+)?$")  # not "at the age of 95"
_TIMED = re.compile(r"\b(?i:at|by|until|till|from|before|after|around)\s+(?:[a-z-]+\s+)?$")
#: The words that put something at a place or time, just before an entity of that kind (for
#: a question asking where or when).
_LOCATES = {"GPE": _PLACED, "LOC": _PLACED, "FAC": _PLACED, "DATE": _DATED, "TIME": _TIMED}


def rivalled(chosen: Sequence[ScoredSentence], margin: float) -> bool:
    """Whether a later quoted sentence of the best one's story, scoring within `margin` of it,
    holds an entity of the wanted kind that the best one doesn't: two close candidates ("six
    people were missing", "its 22 passengers" for "How many were aboard?"). The answer then
    leads with neither: a wrong phrase in bold misleads more than none, and the user sees
    both, each with its citation."""
    best = chosen[0]
    named = {e.text.lower() for e in best.wanted}
    return any(close_behind(c, best, margin) and any(e.text.lower() not in named
                                                     for e in c.wanted) for c in chosen[1:])


def _in_focus(scored: Sequence[ScoredSentence], focus: Sequence[str],
              margin: float) -> Sequence[ScoredSentence]:
    """The candidate sentences of the conversation's documents (`focus`), when the best of
    them scores within `margin` of the best of all; else all of them. "Which journal
    published the research?" in a chat about a glacier study quotes the glacier study's
    journal, though another study's sentence matches the words a little better."""
    kept = [s for s in scored if s.hit.doc_id in focus]
    if kept and kept[0].score >= scored[0].score - margin:
        return kept
    return scored


def answer_text(citations: Sequence[Citation], short: ShortAnswer | None) -> str:
    """The answer as plain text: the short answer first when there is one, then each quoted
    sentence with its [n]."""
    text = " ".join(f"{c.highlight} [{c.n}]" for c in citations)
    return f"{short.text} — {text}" if short is not None else text


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
    store = open_store(settings, model=settings.model)
    # Questions are embedded at the precision the passages were.
    embedder = _embedder(settings, store.manifest.precision)
    return Answerer(Retriever(store, embedder, settings), settings)


def _embedder(settings: Settings, precision: str) -> Embedder:
    from ..index.embedding import MemoEmbedder, settings_embedder

    return MemoEmbedder(settings_embedder(settings, precision=precision))
