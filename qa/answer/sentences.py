"""Choosing the answering sentence: every sentence of the top passages, scored against the question.

Each candidate sentence gets a few features, each in [0, 1] except the cosine:

- cosine: similarity of the sentence's and the question's embeddings (the question as
  searched, with the topic words a follow-up carries);
- focus: for a follow-up searched with words of earlier turns, the same for the user's own
  words alone (0 for a question that stands on its own, so that the cosine's weight is learnt
  from those and this one's only from follow-ups);
- window: the cosine of the question with the sentence and its neighbours in the passage (their
  stored vectors summed): "Even so, it only lasted 5 seconds." answers through the sentence
  before it;
- repeated: the conversation's last answer quoted this sentence already (a follow-up usually
  asks something new, but "When was the vote?" after "Who won the election?" is answered by the
  same sentence; the model weighs it);
- lexical: the share of the question's keywords the sentence contains, those of its story's
  title and lead counting half (every sentence of the story is about them: the lead alone may
  say "shield", the rest "the system"), each keyword weighted by its rarity (general-English
  rarity from wordfreq, blended with the collection's IDF as the collection grows, so one
  article is enough to tell "Medvedev" from "said");
- context: the share of all the question's keywords over the sentence, the one before it
  ("it", "they") and its story's title and lead;
- type_match: the question wants an entity (a person for "who", a date for "when", a number
  for "how many") and the sentence holds one (spaCy NER) that neither the question nor the
  earlier turns a follow-up carries name ("Who beat him?" is not answered by the rival just
  named): 1 for the kind wanted first, 0.5 for another kind it accepts ("who" also takes an
  organisation);
- cue: the question asks "why" and the sentence gives a reason ("because", "to protect",
  "would threaten"), or it asks what someone said and the sentence reports words (a speech
  verb, a quotation), or it asks what will happen and the sentence says, in its own voice,
  what is promised, planned or expected ("has promised to … appoint him prime minister"),
  or it asks how something is done and the sentence says by what means ("fire pellets",
  "using the telescope", "a technique in which…"), or it asks what something is called and
  the sentence names it ("what's known as", a short term in quotation marks); for a question
  wanting a fact or an
  entity, also a sentence saying the documents' source doesn't know ("did not clarify how
  many jobs", "declined to say"): for that detail, the answer the documents hold;
- rank, passage: the retrieval rank of its document (among the documents retrieved) and its
  passage's cosine;
- short: the sentence has fewer than five words;
- length: its words over 40, at most 1 (a long sentence's vector is diluted by all it says,
  so its cosine understates how much of it answers; the fit gives it a small weight);
- defines: the question asks what something is ("What is a chiropractor?", "Who is Lavrov?")
  and the sentence says what it is ("A chiropractor is a…", "Russian Foreign Minister Sergei
  Lavrov…"), or is its document's first sentence and shares a word with the question (an
  encyclopedia's first sentence defines its subject). WikiQA dev's MAP 0.763 → 0.774;
- titled: in a document whose title names its subject ("Normans", "Tissue (biology)":
  `names_subject`), the cosine of the question with the sentence embedded after its title
  ("Tissue (biology). It is found in …"; `qa index` stores those vectors too), so that "it" and
  "they" are read as the subject; elsewhere the plain cosine.

A logistic regression fitted on labelled data (`benchmarks/fit_sentences.py`) turns the
features into one score: one model for the sentences of documents titled by their subject
(`qa/answer/models/sentences-subject.json`, fitted with `titled`) and one for all others, such as
news stories (`qa/answer/models/sentences.json`, without it). The title helps read a subject's
page (held-out WikiQA dev MAP 0.766 → 0.786), but blurs a story's sentences together where
the conversations must tell them apart, so each kind of document has its own weights. Headings
and titles are never candidates (`qa.index.prose`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from ..index.analysis import NUMBER_WORDS, TITLES, WEEKDAYS, TextAnalyzer, function_words
from ..index.entities import Entity, entities
from ..index.prose import in_link_line, prose_spans
from ..index.sentence_vectors import names_subject, titled
from .dates import MONTH_NAMES
from .intent import Intent, intent_of
from .retrieval import Hit

FEATURES = ("cosine", "lexical", "context", "type_match", "cue", "rank", "passage", "short",
            "focus", "window", "repeated", "length", "defines", "titled")
#: The user's own words count this much more than words carried over from earlier turns.
_FOCUS_BOOST = 2.0
#: Collection size (passages) at which its own IDF and the background rarity weigh the same.
_BLEND_PASSAGES = 2000
#: How much a question keyword counts in `lexical` when the story's title or lead holds it
#: (chosen on the fit's held-out sources: 0 and 1 were each worse on some).
_TOPIC_WEIGHT = 0.5
#: Fewer words than this make a sentence "short" (a fragment, a caption).
_SHORT_WORDS = 5
#: `length` is a sentence's words over this, at most 1.
_LONG_WORDS = 40.0
_REASON_CUE = re.compile(
    r"\b(because|since|due to|as a result|so that|in order to|to (?:protect|prevent|stop|"
    r"avoid|counter|guard|defend)|threat\w*|fear\w*|concern\w*|worr\w*|reasons?|believ\w*|"
    r"caus\w*|blam\w*|led to|in response|aim\w* to|against|amid|following|in the wake of|"
    r"prompt\w*|spark\w*|trigger\w*|responsible for|driven by|owing to|thanks to|"
    r"(?:in a )?bid to|so as to|to (?:help|pay for|fund|finance|cover|ward off|boost|make up)|"
    r"which is why|that's why)\b", re.I)


#: Words in quotation marks: straight or curly, double, or single around several words
#: (an apostrophe is not a quotation mark: "Gates' first meeting").
QUOTATION = re.compile(r"[“\"][^”\"]{3,}[”\"]|(?<!\w)'[^']{3,}'(?!\w)")
_QUOTE_CUE = re.compile(
    r"\b(?:said|says|told|tells|stressed|added|noted|warned|wrote|writes|tweeted|posted|"
    r"announced|argued|claimed|stated|explained|insisted|replied|responded|according to)\b|"
    + QUOTATION.pattern, re.I)
#: How something is done: "by firing", "using a telescope", "a technique in which…".
_MANNER_CUE = re.compile(
    r"\b(?:by \w+ing|using|uses|utiliz\w*|utilis\w*|techniques?|method\w*|process|through|"
    r"via|in which|works by|involv\w*|relies on|rely on|allow\w*|enabl\w*|fir(?:e|es|ed|ing))\b",
    re.I)
#: The text saying what it doesn't know: "Specific locations were not provided", "did not
#: clarify how many jobs", "declined to say". For a question about that detail, this is the
#: answer the documents hold.
_UNDISCLOSED = re.compile(
    r"\b(?:(?:did|does|do|has|have|had|would|could|was|were|is|are)(?: not|n['’]t)"
    r"(?: immediately| yet)? (?:provide[ds]?|disclose[ds]?|clarif(?:y|ied)|specif(?:y|ied)|"
    r"reveal(?:ed)?|say|said|confirm(?:ed)?|comment(?:ed)?|respond(?:ed)?|known|clear|"
    r"available|released?|made public|identif(?:y|ied))|declined to (?:say|comment|"
    r"disclose|specify|identify|provide|give)|unclear|unknown|undisclosed|not (?:yet )?"
    r"(?:known|clear|disclosed|released|provided|specified))\b", re.I)
#: A sentence giving something's name: "what's known as", "called", "dubbed", "nicknamed", or
#: a term of at most `_TERM_WORDS` words in quotation marks.
_TERM_WORDS = 5
_NAMED_CUE = re.compile(r"\b(?:known as|called|dubbed|named|nicknamed|nickname|so-called|termed|"
                        r"the name)\b", re.I)
#: What is planned, promised or expected, said in the text's own voice (not in a quotation:
#: "'our dialogue will be productive,' Putin told reporters" says nothing of what is next).
_AHEAD_CUE = re.compile(
    r"\b(?:will|would|plans?|planned|promis\w*|pledg\w*|vow\w*|expect\w*|set to|likely|"
    r"going to|intends?|intended|next|upcoming|soon|appoint\w*|successor)\b", re.I)
#: The kinds of entity that measure, count or date something.
MEASURES = frozenset(("DATE", "TIME", "CARDINAL", "QUANTITY", "MONEY", "PERCENT"))
#: An age: a plain number ("36", "13-year-old", "the age of 95"), not an ordinal or a day.
_AGE_TEXT = re.compile(r"(?<![\d,.])\b\d{1,3}\b(?!(?:st|nd|rd|th)\b|[,.]\d)")
#: A month or a weekday: the entity is a day of the calendar.
_CALENDAR = re.compile(r"\b(?i:" + "|".join(sorted(MONTH_NAMES | WEEKDAYS, key=len, reverse=True))
                       + r")\b")
_WORDS = re.compile(r"[\w'’.-]+")
_NUMBERISH = re.compile(rf"\d|\b[A-Z]|\b(?i:{NUMBER_WORDS})\b")


@dataclass(frozen=True)
class SentenceModel:
    """A logistic regression over `FEATURES`: score = bias + weights · features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The logit of each row of features (columns in `FEATURES` order)."""
        order = [FEATURES.index(name) for name in self.features]
        return rows[:, order] @ np.asarray(self.weights) + self.bias

    @staticmethod
    @cache
    def bundled(name: str = "sentences") -> SentenceModel:
        """A fitted model shipped in `qa/answer/models/`: "sentences" (every document but
        those titled by their subject) or "sentences-subject" (those)."""
        data = json.loads((files("qa.answer") / "models" / f"{name}.json").read_text("utf-8"))
        return SentenceModel(tuple(data["features"]), tuple(data["weights"]),
                             float(data["bias"]))


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence: its passage hit, its document offsets, its features and score, and
    the entities of the kind the question wants that it holds (offsets in the sentence)."""

    hit: Hit
    start: int
    end: int
    features: tuple[float, ...]
    score: float
    wanted: tuple[Entity, ...] = ()

    @property
    def text(self) -> str:
        base = self.hit.passage.start
        return self.hit.passage.text[self.start - base : self.end - base]

    def feature(self, name: str) -> float:
        return self.features[FEATURES.index(name)]


def keyword_share(weights: dict[str, float], words: set[str]) -> float:
    """The weighted share of the keywords in `weights` that `words` contains, in [0, 1].

    Example:
        >>> keyword_share({"zebra": 3.0, "kenya": 1.0}, {"zebra", "zoo"})
        0.75
    """
    total = sum(weights.values())
    return sum(w for term, w in weights.items() if term in words) / total if total else 0.0


def keyword_weights(text: str, analyzer: TextAnalyzer, idf: dict[str, float],
                    collection_size: int) -> dict[str, float]:
    """How much each keyword of `text` matters: its general rarity blended with the
    collection's IDF, the collection's share growing with its size.

    Example:
        >>> keyword_weights("missile talks", TextAnalyzer(), {"missil": 9.0, "talk": 1.0}, 0)
        {'missil': 3.36, 'talk': 2.89}
    """
    background = analyzer.background_rarity(text)
    share = collection_size / (collection_size + _BLEND_PASSAGES)
    return {term: round((1 - share) * background.get(term, 0.0) + share * idf.get(term, 0.0), 4)
            for term in analyzer.keywords([text])[0]}


def candidate_spans(hits: Sequence[Hit]) -> list[tuple[Hit, int, int]]:
    """Every prose sentence of the hits' passages as (hit, doc start, doc end); repeats,
    headings, titles and links to other stories dropped."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit in hits:
        passage = hit.passage
        for start, end in prose_spans(passage.text, passage.title):
            if in_link_line(passage.text, start, end):
                continue
            key = (hit.doc_id, passage.start + start, passage.start + end)
            if key not in seen:
                seen.add(key)
                out.append((hit, *key[1:]))
    return out


class SentenceScorer:
    """Scores candidate sentences with a `SentenceModel` (the bundled one by default).

    Args:
        embed: text → unit vectors (the question is embedded with the sentences).
        entities: texts → their entities (spaCy by default; the index stores them).
        analyzer: the index's text analysis (keywords, rarity).
        idf: keyword → IDF in the collection.
        collection_size: passages in the collection (how much its IDF is trusted).
        model, subject_model: the models for the sentences of other documents and of those
            titled by their subject (the bundled ones by default).
    """

    def __init__(self, *, embed: Callable[[Sequence[str]], np.ndarray], analyzer: TextAnalyzer,
                 idf: Callable[[Sequence[str]], dict[str, float]], collection_size: int,
                 model: SentenceModel | None = None,
                 subject_model: SentenceModel | None = None,
                 entities: Callable[[Sequence[str]], list[tuple[Entity, ...]]] = entities,
                 ) -> None:
        self.embed = embed
        self.entities = entities
        self._last_weights: tuple[tuple[str, str | None], dict[str, float]] | None = None
        self.analyzer = analyzer
        self.idf = idf
        self.collection_size = collection_size
        self.model = model or SentenceModel.bundled()
        self.subject_model = subject_model or SentenceModel.bundled("sentences-subject")

    def weights(self, question: str, focus: str | None) -> dict[str, float]:
        """Keyword weights of the question; the user's own words (`focus`) count double.
        The last question's are remembered: scoring and support both ask for them."""
        last = self._last_weights
        if last is not None and last[0] == (question, focus):
            return dict(last[1])
        weights = self._weights(question, focus)
        self._last_weights = ((question, focus), weights)
        return dict(weights)

    def _weights(self, question: str, focus: str | None) -> dict[str, float]:
        terms = self.analyzer.keywords([question])[0]
        weights = keyword_weights(question, self.analyzer, self.idf(sorted(set(terms))),
                                  self.collection_size)
        if focus is not None and focus != question:
            for term in set(self.analyzer.keywords([focus])[0]) & set(weights):
                weights[term] *= _FOCUS_BOOST
        return weights

    def score(self, question: str, hits: Sequence[Hit], *, focus: str | None = None,
              intent: Intent | None = None, quoted: str = "",
              named: str | None = None) -> list[ScoredSentence]:
        """Every candidate sentence of `hits`, best first.

        Args:
            question: what is asked (with the topic words of earlier turns a follow-up
                carries).
            hits: the passages to draw sentences from, best first.
            focus: the user's own words when `question` also carries earlier turns' topic.
            intent: what the question wants (read from `focus or question` by default).
            quoted: the text of the conversation's last answer.
            named: for "who", the text whose persons are not the answer (by default
                `question`): the retrieval query, when it also carries the last answer's names.
        """
        spans = candidate_spans(hits)
        if not spans:
            return []
        texts = [h.passage.text[s - h.passage.start : e - h.passage.start] for h, s, e in spans]
        subject = _subjects(spans)
        rows, wanted = self.features(question, spans, texts, subject, focus=focus,
                                     intent=intent or intent_of(focus or question),
                                     quoted=quoted, named=named)
        scores = np.where(subject, self.subject_model.score(rows), self.model.score(rows))
        out = [ScoredSentence(hit, start, end, tuple(float(v) for v in row), float(score), ents)
               for (hit, start, end), row, score, ents in zip(spans, rows, scores, wanted,
                                                               strict=True)]
        out.sort(key=lambda s: (-s.score, s.hit.fused_rank, s.start))
        return out

    def features(self, question: str, spans: Sequence[tuple[Hit, int, int]],
                 texts: Sequence[str], subject: np.ndarray, *, focus: str | None,
                 intent: Intent, quoted: str = "", named: str | None = None,
                 ) -> tuple[np.ndarray, list[tuple[Entity, ...]]]:
        """The feature matrix (one row per sentence, columns `FEATURES`) and, per sentence,
        the entities of the wanted kinds it holds; `subject` marks the candidates whose
        document is titled by its subject (`_subjects`)."""
        user = focus if focus is not None and focus != question else None
        headed = [titled(hit.passage.title, text)
                  for (hit, _, _), text, s in zip(spans, texts, subject, strict=True) if s]
        asked = [question] if user is None else [question, user]
        vectors = self.embed([*asked, *texts, *headed])
        sentences = vectors[len(asked) : len(asked) + len(texts)]
        cosine = sentences @ vectors[0]
        titled_cosine = cosine.copy()
        titled_cosine[subject] = vectors[len(asked) + len(texts) :] @ vectors[0]
        focus_cosine = np.zeros(len(texts)) if user is None else sentences @ vectors[1]
        window = _windows(sentences, [id(hit) for hit, _, _ in spans]) @ vectors[0]
        weights = self.weights(question, focus)
        # A follow-up asking "who" asks for someone new ("Who beat him?": not the rival the
        # last answer named, whom the query now carries); one asking where or when may well be
        # answered by a place or date said before ("Where would it be built?": in Europe).
        named = (named or question) if intent.labels[:1] == ("PERSON",) else (focus or question)
        wanted = _wanted_entities(named, texts, intent, self.entities,
                                  [hit.doc_id for hit, _, _ in spans])
        counted = set(self.analyzer.keywords([intent.counted])[0]) if intent.counted else set()
        rows = np.zeros((len(texts), len(FEATURES)), dtype=np.float64)
        # Rank by document, not passage: in a one-article index every passage is the same
        # article's, and the first passage's rank would favour its lead sentence.
        doc_rank: dict[str, int] = {}
        for hit in sorted({id(h): h for h, _, _ in spans}.values(), key=lambda h: h.fused_rank):
            doc_rank.setdefault(hit.doc_id, len(doc_rank) + 1)
        previous: tuple[Hit | None, set[str]] = (None, set())
        defined: set[str] = set()  # documents whose first sentence has been seen
        describes = _describing(focus or question) if intent.kind == "definition" else None
        keywords = self.analyzer.keywords(texts)
        topic = self._topics(spans, keywords)
        # Within its story, a sentence stands out by the question's words beyond the story's
        # topic: every sentence of the missile-shield story is about the shield, though only
        # the lead says "shield".
        beyond = {doc: {t: w * (_TOPIC_WEIGHT if t in words else 1.0)
                        for t, w in weights.items()} for doc, words in topic.items()}
        for i, ((hit, _, _), text, words) in enumerate(zip(spans, texts, keywords, strict=True)):
            own = set(words)
            # The sentence before often names what this one calls "it" or "they"; the story's
            # title and lead name what "the system" is.
            before = previous[1] if previous[0] is hit else set()
            previous = (hit, own)
            # A document's first sentence (its first passage's first), when it shares a word
            # with the question.
            lead = hit.passage.ordinal == 0 and hit.doc_id not in defined
            if hit.passage.ordinal == 0:
                defined.add(hit.doc_id)
            rows[i] = (float(cosine[i]), keyword_share(beyond[hit.doc_id], own),
                       keyword_share(weights, own | before | topic[hit.doc_id]),
                       _type_match(wanted[i], intent, text, counted, self.analyzer),
                       _cue(intent, text),
                       1.0 / doc_rank[hit.doc_id], hit.dense_score,
                       float(len(text.split()) < _SHORT_WORDS), float(focus_cosine[i]),
                       float(window[i]), float(bool(quoted) and text in quoted),
                       min(len(text.split()) / _LONG_WORDS, 1.0),
                       _defines(text, describes, lead=lead and bool(own & set(weights))),
                       float(titled_cosine[i]))
        return rows, wanted


    def _topics(self, spans: Sequence[tuple[Hit, int, int]],
                keywords: Sequence[Sequence[str]]) -> dict[str, set[str]]:
        """Per document, the keywords of its title and, when its first passage is among the
        candidates, of its lead (first prose) sentence: what every sentence of the story is
        about."""
        out: dict[str, set[str]] = {}
        led: set[str] = set()
        for (hit, _, _), words in zip(spans, keywords, strict=True):
            doc = hit.doc_id
            if doc not in out:
                out[doc] = set(self.analyzer.keywords([hit.passage.title])[0])
            if hit.passage.ordinal == 0 and doc not in led:
                led.add(doc)
                out[doc] |= set(words)
        return out


def _subjects(spans: Sequence[tuple[Hit, int, int]]) -> np.ndarray:
    """Per candidate, whether its document's title names its subject (`names_subject`)."""
    return np.array([names_subject(hit.passage.title, hit.passage.source, hit.passage.date)
                     for hit, _, _ in spans], dtype=bool)


def _describing(question: str) -> re.Pattern[str] | None:
    """For "What is a chiropractor?", "Who is Lavrov?": a pattern finding a sentence that
    says what the last word of the question is: "A chiropractor is a…", "Lavrov, the…",
    "Russian Foreign Minister Sergei Lavrov"."""
    words = _WORDS.findall(question)
    if not words:
        return None
    last = words[-1].strip(".'’")
    name = f"(?i:{re.escape(last)})"
    # A name, capitalised or typed in lower case ("who is lavrov"), may follow its titles.
    named = last[:1].isupper() or question == question.lower()
    titled = rf"|(?:\b[A-Z][\w-]+\s+){{2,}}{name}\b" if named else ""
    return re.compile(rf"\b{name}(?:['’]s)?\s+(?i:is|was|are|were)\s+(?i:a|an|the|one)\b|"
                      rf"\b{name},\s+(?i:a|an|the)\s{titled}")


def _defines(text: str, describes: re.Pattern[str] | None, *, lead: bool) -> float:
    """For a question asking what something is (`describes` set): 1 when the sentence says
    what it is, or is its document's first sentence and shares a word with the question
    (an encyclopedia's first sentence defines its subject); else 0."""
    if describes is None:
        return 0.0
    return float(lead or bool(describes.search(text)))


def _cue(intent: Intent, text: str) -> float:
    """1 when the sentence gives what the question's kind asks for in so many words: a reason
    for "why", someone's words (a speech verb or a quotation) for "what did she say", what
    is planned or expected for "what will happen"."""
    if intent.kind in ("entity", "fact") and _UNDISCLOSED.search(text):
        return 1.0
    if intent.kind == "reason":
        return float(bool(_REASON_CUE.search(text)))
    if intent.kind == "quote":
        return float(bool(_QUOTE_CUE.search(text)))
    if intent.kind == "manner":
        return float(bool(_MANNER_CUE.search(text)))
    if intent.ahead:
        return float(bool(_AHEAD_CUE.search(QUOTATION.sub(" ", text))))
    if intent.naming:  # "what's known as", or a term in quotation marks ("moon king")
        return float(bool(_NAMED_CUE.search(text)) or any(
            len(q.group().split()) <= _TERM_WORDS for q in QUOTATION.finditer(text)))
    return 0.0


def _windows(vectors: np.ndarray, passages: Sequence[int]) -> np.ndarray:
    """Per sentence, the unit sum of its vector and its neighbours' in the same passage.

    Example:
        >>> _windows(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), [1, 1, 2]).round(2).tolist()
        [[0.71, 0.71], [0.71, 0.71], [1.0, 0.0]]
    """
    out = vectors.astype(np.float64).copy()
    for i in range(len(passages)):
        if i > 0 and passages[i - 1] == passages[i]:
            out[i] += vectors[i - 1]
        if i + 1 < len(passages) and passages[i + 1] == passages[i]:
            out[i] += vectors[i + 1]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _type_match(found: tuple[Entity, ...], intent: Intent, text: str = "",
                counted: set[str] | None = None, analyzer: TextAnalyzer | None = None) -> float:
    """1 when the sentence holds an entity of the kind the question wants most (a person for
    "who"), 0.5 for one of the other kinds it accepts (an organisation, a country), else 0.
    For "how many <things>", a number counts fully only when the things follow it ("58
    million U.S. subscribers"); another number ("six people were missing" for "How many
    passengers…") counts half."""
    if not found:
        return 0.0
    if counted and analyzer is not None:
        return 1.0 if any(_counts(text, e, counted, analyzer) for e in found) else 0.5
    return 1.0 if any(e.label == intent.labels[0] for e in found) else 0.5


#: How many words after a number may come before the noun it counts ("58 million U.S.
#: subscribers").
_COUNT_REACH = 3


def _counts(text: str, entity: Entity, counted: set[str], analyzer: TextAnalyzer) -> bool:
    """Whether the words right after `entity` (or its own words: "128 new moons") name the
    noun counted."""
    after = " ".join(_WORDS.findall(text[entity.end:])[:_COUNT_REACH])
    return bool(counted & set(analyzer.keywords([f"{entity.text} {after}"])[0]))


def _wanted_entities(question: str, texts: Sequence[str], intent: Intent,
                     find: Callable[[Sequence[str]], list[tuple[Entity, ...]]],
                     docs: Sequence[str] | None = None) -> list[tuple[Entity, ...]]:
    """Per text, its entities of the labels the question wants that the question doesn't
    already name (vague times and amounts, "years", "recent months", left out). `docs`, the
    document of each text, lets a name tagged as a person in one sentence count as one in
    the others of its document (`known_persons`)."""
    if intent.kind != "entity":
        return [() for _ in texts]
    found_all = find(list(texts))
    if docs is not None:
        found_all = known_persons(texts, found_all, docs)
    asked = question.lower()
    asked_words = {w.lower() for w in _WORDS.findall(question)}
    # The things the question names with an article or a determiner ("an award").
    asked_things = {m.lower() for m in _DETERMINED.findall(question)}
    # The kinds come in order of preference: a person before an organisation for "who".
    return [tuple(sorted((e for e in (whole_name(text, e, found) for e in found)
                          if e.label in intent.labels
                          and e.text.lower() not in asked and _specific(e)
                          and not (e.label == "PERSON"
                                   and {w.lower() for w in _WORDS.findall(e.text)} & asked_words)
                          and (not intent.age or _is_age(e.text))
                          and not (intent.moment and _is_stretch(text, e))
                          and not (intent.span and _A_DAY.match(e.text))
                          and not (e.label == "CARDINAL" and _LABEL.search(text[:e.start]))
                          and not (intent.labels[0] in _PLACES and _modifies(text, e))
                          and not (e.label not in MEASURES
                                   and _names_kind_of(text, e, asked_things))),
                         key=lambda e: (intent.labels.index(e.label), e.start)))
            for text, found in zip(texts, found_all, strict=True)]


#: The labels a question asking where wants first.
_PLACES = frozenset(("GPE", "LOC", "FAC"))
#: The word after a country that makes it describe someone or something rather than place
#: it: "US President George W Bush", "US officials", "US plans to deploy".
_DESCRIBED = TITLES | {
    "foreign", "defence", "defense", "official", "officials", "forces", "troops", "military",
    "army", "navy", "government", "authorities", "embassy", "ambassador", "envoy", "plan",
    "plans", "leader", "leaders", "diplomat", "diplomats", "lawmakers", "administration",
    "citizen", "citizens", "national", "nationals", "company", "companies", "firm", "firms"}


#: A word after an article or a determiner: a thing a question names ("an award").
_DETERMINED = re.compile(r"\b(?i:a|an|the|this|that|these|those|any|which|what|whose|his|her|"
                         r"its|their)\s+([A-Za-z]+)")


def _names_kind_of(text: str, entity: Entity, asked: set[str]) -> bool:
    """Whether a name stands right before a thing the question names, saying which one of it
    the sentence means ("won the county's Green Spaces award" for "Who won an award?"): it
    is that thing's name, not the answer.

    Example:
        >>> text = "The garden won the Green Spaces award."
        >>> _names_kind_of(text, Entity("Green Spaces", 19, 31, "ORG"), {"award"})
        True
        >>> _names_kind_of("Rice met Lavrov in Moscow.", Entity("Lavrov", 9, 15, "PERSON"),
        ...                {"in", "moscow"})  # "in" is no thing named
        False
    """
    word = _next_word(text, entity)
    return (word is not None and word not in function_words()
            and (word in asked or word.removesuffix("s") in asked))


def _modifies(text: str, entity: Entity) -> bool:
    """Whether a place says whose someone or something is rather than where: the word after
    it is a title or a role ("US President…", "US officials", "US plans"), not a verb or
    "and" ("the US says", "US and Russian officials").

    Example:
        >>> text = "Bush met Putin in Moscow. US officials said US plans were firm."
        >>> [_modifies(text, Entity(t, s, s + len(t), "GPE")) for t, s in
        ...  (("Moscow", 18), ("US", 26), ("US", 44))]
        [False, True, True]
    """
    return _next_word(text, entity) in _DESCRIBED


def _next_word(text: str, entity: Entity) -> str | None:
    """The word right after `entity`, lower case (None: none follows it)."""
    following = _NEXT_WORD.match(text, entity.end)
    return following.group(1).lower() if following else None


_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")


#: A number that labels rather than counts: "day two of talks", "Game 7", "Route 66", "phase
#: three" (the text just before it).
_LABEL = re.compile(r"\b(?i:day|round|phase|part|stage|game|week|chapter|season|episode|act|"
                    r"level|step|number|no\.|page|section|article|grade|category|class|gate|"
                    r"terminal|platform|line|room|flight|route|highway|interstate|channel|"
                    r"apollo|artemis|world war|covid|title|type|option)\s*$")


#: Words that end a person's name but name no one alone ("Jr", "III").
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def known_persons(texts: Sequence[str], found: Sequence[tuple[Entity, ...]],
                  docs: Sequence[str]) -> list[tuple[Entity, ...]]:
    """The entities of each text, mended where spaCy missed a person its document names.

    spaCy's small pipeline often misses a name that opens a sentence, or tags it as a place or
    an organisation ("Medvedev, who won by a landslide, …": a place, to it), though it tagged
    "Dmitry Medvedev" a person two sentences before; "Who will lead Russia after Putin?" then
    finds no one in the sentence that answers it. A document keeps its names: a text that
    opens with a name its document tags as a person (the full name, or the surname of a full
    name, unless the document tags it as a place more often) gets that person, in place of
    any entity of another kind there. Elsewhere in a sentence only a mistaken kind is mended:
    the surname of a full name the document tags as a person, tagged a place or an
    organisation ("talks between Bush and Medvedev"), is the person, unless the document puts
    something at it ("in Jordan"); a name the pipeline missed there stays missed (the sentence
    model was fitted on what it finds).

    Example:
        >>> texts = ["It was Dmitry Medvedev's day.", "Medvedev won the vote."]
        >>> found = [(Entity("Dmitry Medvedev", 7, 22, "PERSON"),),
        ...          (Entity("Medvedev", 0, 8, "GPE"),)]
        >>> [[(e.text, e.label) for e in ents] for ents in known_persons(texts, found, "dd")]
        [[('Dmitry Medvedev', 'PERSON')], [('Medvedev', 'PERSON')]]
    """
    persons: dict[str, Counter[str]] = {}
    places: dict[str, Counter[str]] = {}
    surnames: dict[str, set[str]] = {}  # the last word of each full name a document tags
    located: dict[str, set[str]] = {}  # names something is put at: "in Jordan"
    for text, ents, doc in zip(texts, found, docs, strict=True):
        for e in ents:
            if e.label in ("GPE", "LOC", "FAC", "NORP"):
                places.setdefault(doc, Counter())[e.text] += 1
                if _put_at(text, e):
                    located.setdefault(doc, set()).add(e.text)
            if e.label != "PERSON":
                continue
            words = _POSSESSIVE.sub("", e.text).split()
            if not words or not all(w[:1].isupper() for w in words):
                continue
            persons.setdefault(doc, Counter())[" ".join(words)] += 1
            last = [w for w in words if w.lower().rstrip(".") not in _NAME_SUFFIXES][-1:]
            if len(words) > 1 and last and len(last[0]) > 2:
                persons[doc][last[0]] += 1
                surnames.setdefault(doc, set()).add(last[0])
    out: list[tuple[Entity, ...]] = []
    for text, ents, doc in zip(texts, found, docs, strict=True):
        # A name the document tags as a place more often than as a person stays a place.
        place = places.get(doc, Counter())
        known = sorted((n for n, votes in persons.get(doc, Counter()).items()
                        if votes >= place[n]), key=len, reverse=True)
        added: list[Entity] = []
        for name in known:
            for match in re.finditer(rf"^[\W]{{0,2}}({re.escape(name)})(?![\w-])", text):
                start, end = match.span(1)
                if any(e.start < end and start < e.end for e in added) or any(
                        e.label == "PERSON" and e.start < end and start < e.end for e in ents):
                    continue
                added.append(Entity(name, start, end, "PERSON"))
        if added:
            kept = [e for e in ents if not any(a.start < e.end and e.start < a.end for a in added)]
            ents = tuple(sorted((*kept, *added), key=lambda e: e.start))
        # "talks between Bush and Medvedev": a place to spaCy, though the document names
        # Dmitry Medvedev; a surname is a person unless the document puts something at it
        # ("in Washington").
        known_surnames = surnames.get(doc, set()) - located.get(doc, set())
        ents = tuple(Entity(e.text, e.start, e.end, "PERSON")
                     if e.label in _MISTAKEN and _POSSESSIVE.sub("", e.text) in known_surnames
                     and not _put_at(text, e) else e
                     for e in ents)
        out.append(ents)
    return out


#: Kinds spaCy's small pipeline gives a surname it doesn't know for one.
_MISTAKEN = {"GPE", "LOC", "FAC", "NORP", "ORG"}
#: A preposition that puts something at a place, just before a name.
_AT_PLACE = re.compile(r"\b(?i:in|at|near|from|to|into|across|outside|inside|throughout|"
                       r"via)\s+(?:(?i:the)\s+)?$")


def _put_at(text: str, entity: Entity) -> bool:
    """Whether `text` puts something at `entity` ("in Jordan", "from the Vatican")."""
    return bool(_AT_PLACE.search(text[max(0, entity.start - 12):entity.start]))


#: A range or list cut short after its connector ("13 percent to", "$5 and").
_DANGLING = re.compile(r"\s*(?:\b(?:to|and|or|from|between)|[-–—])\s*$", re.I)
_AMOUNT_AFTER = re.compile(r"\s*[$£€]?\d[\d,.]*(?:\s*(?:percent|per cent|%|million|billion|"
                           r"thousand|degrees?|miles?|kilometers?|km|feet|pounds?|dollars?))?")
#: A unit of measure right after a number ("5,000 litres", "a 184-feet-long boat").
_UNIT_AFTER = re.compile(
    r"[ \u00a0-](?i:litres?|liters?|gallons?|metres?|meters?|kilometres?|kilometers?|km|"
    r"miles?|feet|foot|ft|inches|inch|yards?|tons?|tonnes?|kg|kilograms?|grams?|pounds?|lbs?|"
    r"acres?|hectares?|square (?:miles?|feet|metres?|meters?|kilometres?|kilometers?)|"
    r"degrees?|mph|knots?)\b")
#: A word followed by another ("Comedian " of "Comedian Sarah Silverman").
_LEADING_WORD = re.compile(r"([\w.’'-]+)\s+(?=\S)")
_NEXT_NAME = re.compile(r"[ ]([A-Z][\w'’-]*[\w])")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s?$")


def whole_name(text: str, entity: Entity, found: Sequence[Entity]) -> Entity:
    """A person's name with the capitalised words right after it that no other entity
    claims: spaCy's small pipeline tags "Aaron" of "Aaron Judge" (a judge, to it); "Who had
    the record before Judge?" must not be answered by him, and his name is "Aaron Judge".
    Any entity loses a possessive ending ("Babe Ruth’s" → "Babe Ruth").

    Example:
        >>> text = "slugger Aaron Judge broke the record on Tuesday"
        >>> whole_name(text, Entity("Aaron", 8, 13, "PERSON"), []).text
        'Aaron Judge'
        >>> whole_name("Babe Ruth’s record", Entity("Babe Ruth’s", 0, 11, "PERSON"), []).text
        'Babe Ruth'
        >>> whole_name("by 13 percent to 18 percent", Entity("13 percent to", 3, 16, "PERCENT"),
        ...             []).text
        '13 percent to 18 percent'
        >>> whole_name("a tank that holds 5,000 litres", Entity("5,000", 18, 23, "CARDINAL"),
        ...            []).text
        '5,000 litres'
        >>> whole_name("Comedian Sarah Silverman used her account",
        ...             Entity("Comedian Sarah Silverman", 0, 24, "PERSON"), []).text
        'Sarah Silverman'
    """
    start, end = entity.start, entity.end
    if entity.label == "PERSON":
        starts = {e.start for e in found}
        while (match := _NEXT_NAME.match(text, end)) and match.start(1) not in starts:
            end = match.end(1)
        # "Comedian Sarah Silverman", "Prime Minister Boris Johnson": the name, not the role.
        while (match := _LEADING_WORD.match(text, start, end)) and (
                match.group(1).lower().rstrip(".") in TITLES):
            start = match.end()
    # "Babe Ruth’s record": the name, not its possessive.
    possessive = _POSSESSIVE.search(text, start, end)
    if possessive:
        end = possessive.start()
    # "13 percent to" of "13 percent to 18 percent": the range, whole.
    dangling = _DANGLING.search(text, start, end)
    if dangling and entity.label in MEASURES:
        rest = _AMOUNT_AFTER.match(text, end)
        end = rest.end() if rest else dangling.start()
    # "5,000" of "a tank that holds 5,000 litres": a measure is nothing without its unit.
    if entity.label == "CARDINAL" and (unit := _UNIT_AFTER.match(text, end)):
        end = unit.end()
    return (entity if (start, end) == (entity.start, entity.end)
            else Entity(text[start:end], start, end, entity.label))


#: A stretch of time: "almost 600 years", "14 to 20 days", "three decades" (not "61 years ago",
#: nor "the 13th century").
_STRETCH = re.compile(rf"(?i:\b(?:\d[\d,.]*|{NUMBER_WORDS}|several|few|many)[\s-]+(?:years?|"
                      r"months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries)"
                      r"(?:[\s-]+(?:long|old))?)$")
_AGO = re.compile(r"^\s*(?i:ago|earlier|later|before|after|from now)\b")
#: A day, or a time named from now ("Thursday", "last year", "tomorrow night"): never how long
#: something lasted (a range of dates or years may be: "from 1509 to 1547").
_A_DAY = re.compile(r"^(?i:(?:the\s+)?(?:last|this|next|past|coming|early|late)?\s*(?:monday|"
                    r"tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|"
                    r"tomorrow|tonight|week|weekend|month|year|morning|afternoon|evening|"
                    r"night|day)(?:\s+(?:morning|afternoon|evening|night))?)$")
#: "during the next three months", "within two weeks", "in 10 days": when, counted from now.
_AHEAD_OF = re.compile(r"(?i:\b(?:next|coming|within|in)\s+(?:the\s+)?(?:next\s+)?"
                       r"(?:\d[\d,.]*|[a-z]+)[\s-]+\w+)$")


def _is_stretch(text: str, entity: Entity) -> bool:
    """Whether a DATE entity is a length of time rather than a point in it.

    Example:
        >>> text = "the first pontiff in almost 600 years; Maris hit 61 home runs 61 years ago"
        >>> _is_stretch(text, Entity("almost 600 years", 19, 35, "DATE"))
        True
        >>> _is_stretch(text, Entity("61 years", 63, 71, "DATE"))
        False
        >>> _is_stretch("in the 13th century", Entity("the 13th century", 3, 19, "DATE"))
        False
        >>> _is_stretch("during the next three months", Entity("the next three months", 7, 28,
        ...                                                    "DATE"))
        False
    """
    return (bool(_STRETCH.search(entity.text)) and not _AGO.match(text[entity.end:])
            and not _AHEAD_OF.search(f"{text[max(0, entity.start - 12):entity.start]}"
                                     f"{entity.text}"))


def _is_age(text: str) -> bool:
    """Whether an entity's text can be someone's age: a plain number up to 125, in no
    calendar date ("March 2" is a day, not an age).

    Example:
        >>> [_is_age(t) for t in ("36", "13-year-old", "the age of 95", "the 23rd", "600 years")]
        [True, True, True, False, False]
        >>> [_is_age(t) for t in ("March 2", "Sept. 30", "Tuesday 4", "May 29, 2025")]
        [False, False, False, False]
    """
    if _CALENDAR.search(text):
        return False
    return any(0 < int(m.group()) <= 125 for m in _AGE_TEXT.finditer(text))


def _specific(entity: Entity) -> bool:
    """A time or amount must name one: a digit, a capitalised word ("March", "Monday") or a
    number word; names of people and places always do."""
    if entity.label not in MEASURES:
        return True
    return bool(_NUMBERISH.search(entity.text))


def close_behind(candidate: ScoredSentence, best: ScoredSentence, margin: float) -> bool:
    """Whether `candidate` is of `best`'s document and scores within `margin` of it: a close
    second candidate for the answer (`choose` quotes it, `rivalled` withholds the bold)."""
    return candidate.hit.doc_id == best.hit.doc_id and candidate.score >= best.score - margin


def choose(scored: Sequence[ScoredSentence], *, limit: int, margin: float,
           keywords: Callable[[Sequence[str]], list[list[str]]],
           question_terms: set[str], several: bool = False,
           alternative: float | None = None) -> list[ScoredSentence]:
    """The best sentence, then up to `limit - 1` more that score within `margin` of it, don't
    overlap a chosen one, and add something: a keyword of the question, or an entity of the
    wanted kind, that the chosen ones lack. Another entity of the kind is new when the
    question asks for more than one (`several`: "Which countries…"), or when the sentence is
    of the best one's document and scores within `alternative` of it (None: never): a close
    second answer the user can weigh ("six people were missing" and "its 22 passengers" for
    "How many were aboard?"); so is a close second reason for "why"."""
    chosen: list[ScoredSentence] = []
    covered: set[str] = set()
    named: set[str] = set()  # the wanted entities the chosen sentences hold
    for cand in scored:
        if len(chosen) >= limit or (chosen and cand.score < chosen[0].score - margin):
            break
        if any(cand.hit.doc_id == c.hit.doc_id and cand.start < c.end and cand.end > c.start
               for c in chosen):
            continue
        words = set(keywords([cand.text])[0]) & question_terms
        close = alternative is not None and bool(chosen) and close_behind(cand, chosen[0],
                                                                          alternative)
        new_entity = bool(cand.wanted) and (not named or ((several or close) and not all(
            e.text.lower() in named for e in cand.wanted)))
        # For "why" (or "what did she say"), the reason (or the words) the chosen lack.
        new_cue = cand.feature("cue") > 0 and (
            close or not any(c.feature("cue") > 0 for c in chosen))
        if chosen and not (words - covered) and not new_entity and not new_cue:
            continue
        chosen.append(cand)
        covered |= words
        named |= {e.text.lower() for e in cand.wanted}
        if len(chosen) == 1 and len(chosen) < limit:
            follow = _continuation(cand, scored)
            if follow is not None:
                chosen.append(follow)
    return chosen


#: A sentence of at most this many words that announces what comes next ("The study has some
#: limitations, however.") brings the next sentence along when that one refers back to it.
_SIGNPOST_WORDS = 10
_REFERS_BACK = re.compile(r"^\W*(?:it|its|they|their|this|these|that|those|he|she|his|her|"
                          r"but|however|still|yet|first|one|the first)\b", re.I)


def _continuation(best: ScoredSentence, scored: Sequence[ScoredSentence],
                  ) -> ScoredSentence | None:
    """The sentence right after `best` in its passage, when `best` only announces it (a short
    sentence, or one ending in a colon, without the entity a question wants) and it refers
    back ("It lacked data on…")."""
    if best.wanted or not (len(best.text.split()) <= _SIGNPOST_WORDS
                           or best.text.rstrip().endswith(":")):
        return None  # it names what was asked for, or says enough itself
    after = [s for s in scored if s.hit.doc_id == best.hit.doc_id and s.start >= best.end
             and s.start - best.end <= 2]
    return after[0] if after and _REFERS_BACK.match(after[0].text) else None
