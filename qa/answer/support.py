"""Whether the documents hold the answer: a calibrated probability, from a fitted model.

A few signals, each comparable across collections of any size:

- passage_cosine, sentence_cosine: how close in meaning the best passage and the best sentence
  are to the question (paraphrase counts: "object to" vs "would threaten");
- coverage: the rarity-weighted share of the question's keywords that one top passage holds;
- sentence_lexical: the same for the best sentence and the one before it;
- names_missing: the share of the names in the question ("Lavrov", "Beijing") that no top
  passage mentions — a question about someone the documents never name is not answered;
- names_unknown: the share of them that no passage of the whole collection mentions (a name
  with none of its words in the keyword index; for a nationality, nor its country's);
- entity_missing: the question wants a date, a number, a person… and no candidate sentence
  holds one;
- best_entity_missing: it wants one and the best sentence holds none ("How much did the mission
  cost?" answered by a sentence about the mission with no sum in it);
- agreement: dense and BM25 search both rank the same passage first;
- best_sentence: the general answer-sentence model's score of the best sentence (`general_score`);
- collection: log10 of the passages in the collection. The best of many passages is closer to
  any question than the best of four, by selection alone: the cosines mean less as the
  collection grows, and the model learns by how much, so one article is judged fairly.

A logistic regression over them (`benchmarks/fit_support.py`, coefficients in
`qa/answer/models/support.json`), fitted on answerable questions and on questions asked of a
collection that doesn't hold them, across several datasets at once, gives the probability that
the answer is supported. Below `abstain_threshold` the answer says the documents don't hold it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from ..index.analysis import TITLES, WORD, names
from .intent import Intent
from .retrieval import Hit
from .sentences import QUOTATION, ScoredSentence, SentenceModel, keyword_share

#: A nationality in a question is found where the text names the country ("Which American
#: president…" of a text saying "US President…"); a short list of the commonest in the news.
_DEMONYMS: dict[str, tuple[str, ...]] = {
    "american": ("us", "u.s", "usa", "america", "united states", "washington"),
    "british": ("uk", "britain", "united kingdom", "london", "england", "scotland", "wales"),
    "english": ("england",), "scottish": ("scotland",), "welsh": ("wales",),
    "irish": ("ireland", "dublin"), "chinese": ("china", "beijing"),
    "russian": ("russia", "moscow", "kremlin"), "soviet": ("ussr", "soviet union", "moscow"),
    "french": ("france", "paris"), "german": ("germany", "berlin"), "italian": ("italy", "rome"),
    "spanish": ("spain", "madrid"), "dutch": ("netherlands", "holland", "amsterdam"),
    "polish": ("poland", "warsaw"), "czech": ("czech", "prague"),
    "ukrainian": ("ukraine", "kyiv", "kiev"), "european": ("europe", "eu", "brussels"),
    "japanese": ("japan", "tokyo"), "korean": ("korea", "seoul", "pyongyang"),
    "indian": ("india", "delhi"), "pakistani": ("pakistan", "islamabad"),
    "afghan": ("afghanistan", "kabul"), "iranian": ("iran", "tehran"),
    "iraqi": ("iraq", "baghdad"), "syrian": ("syria", "damascus"), "israeli": ("israel",),
    "palestinian": ("palestine", "gaza", "west bank"), "turkish": ("turkey", "ankara"),
    "egyptian": ("egypt", "cairo"), "saudi": ("saudi arabia", "riyadh"),
    "canadian": ("canada", "ottawa"), "mexican": ("mexico",), "brazilian": ("brazil",),
    "australian": ("australia", "canberra"), "african": ("africa",),
    "nigerian": ("nigeria",), "asian": ("asia",),
}

SUPPORT_FEATURES = ("passage_cosine", "sentence_cosine", "coverage", "sentence_lexical",
                    "names_missing", "names_unknown", "entity_missing", "agreement",
                    "best_sentence", "best_entity_missing", "collection")


@dataclass(frozen=True)
class SupportModel:
    """A logistic regression over `SUPPORT_FEATURES`."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, row: np.ndarray) -> float:
        """P(the documents hold the answer) for one row of features."""
        order = [SUPPORT_FEATURES.index(name) for name in self.features]
        logit = float(row[order] @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    @staticmethod
    @cache
    def bundled() -> SupportModel:
        """The fitted model shipped in `qa/answer/models/support.json`."""
        data = json.loads((files("qa.answer") / "models" / "support.json").read_text("utf-8"))
        return SupportModel(tuple(data["features"]), tuple(data["weights"]),
                            float(data["bias"]))


def support_features(question: str, hits: Sequence[Hit], scored: Sequence[ScoredSentence], *,
                     weights: dict[str, float], keywords: list[list[str]],
                     intent: Intent, collection_size: int,
                     unseen: Callable[[Sequence[str]], set[str]] = lambda _terms: set(),
                     analyze: Callable[[Sequence[str]], list[list[str]]] | None = None,
                     ) -> np.ndarray:
    """The signals for one answer, in `SUPPORT_FEATURES` order.

    Args:
        question: the user's own words (names in it must be found).
        hits: the passages retrieved, best first.
        scored: the candidate sentences, best first.
        weights: the question's keyword weights (as the sentence scorer computed them).
        keywords: the keywords of each top passage (title and text), best first.
        intent: what the question wants.
        collection_size: passages in the collection.
        unseen: of some keywords, those no passage of the collection holds.
        analyze: texts → their keywords (as the index analyses them).
    """
    if not hits:
        return np.zeros(len(SUPPORT_FEATURES))
    coverage = max((keyword_share(weights, set(words)) for words in keywords), default=0.0)
    top_text = " ".join(f"{h.passage.title} {h.passage.text}" for h in hits[:3]).lower()
    asked = [n for n in names(question) if n != question.split()[0].strip("?,.!")]
    missing = (sum(not _mentioned(n, top_text) for n in asked) / len(asked)) if asked else 0.0
    unknown = _unknown_share(asked, unseen, analyze) if asked and analyze else 0.0
    wants = intent.kind == "entity"
    best = scored[0] if scored else None
    return np.array([
        max(h.dense_score for h in hits),
        max((s.feature("cosine") for s in scored), default=0.0),
        coverage,
        max((s.feature("context") for s in scored), default=0.0),
        missing,
        unknown,
        float(wants and not any(s.wanted for s in scored)),
        float(hits[0].dense_rank == 1 and hits[0].bm25_rank == 1),
        general_score(best) if best is not None else -10.0,
        float(wants and (best is None or not best.wanted)),
        math.log10(1 + collection_size),
    ])


def general_score(sentence: ScoredSentence) -> float:
    """The sentence's score by the general sentence model, whichever model ranked it: the
    support model was calibrated on that model's scores, and the subject model's (for
    documents titled by their subject) run higher for the same sentence, which would raise
    the support of questions the documents don't answer."""
    return float(SentenceModel.bundled().score(np.array([sentence.features]))[0])


def speaker_silent(intent: Intent, hits: Sequence[Hit]) -> bool:
    """Whether the question asks what someone named said ("What did the Chinese government
    say about the talks?") and no passage found has them say anything: their words can only
    be quoted from a passage that names them speaking (a speech verb or a quotation in the
    sentence that names them or the one after it: "Lavrov stressed…", "Rice arrived. She
    said…"), so the documents don't hold the answer, however close the passages are to the
    rest of the question ("What did Gates say?" of a story that names Gates only as a guest).
    A rule beside the fitted model, which weighs names and cannot learn this from the few
    such questions its sources hold.

    Example:
        >>> from qa.answer.intent import intent_of
        >>> speaker_silent(intent_of("What did the Chinese government say?"), [])
        True
        >>> speaker_silent(intent_of("What did she say?"), [])
        False
    """
    if intent.kind != "quote":
        return False
    asked = names(intent.speaker)
    # "King Charles", "President Biden": the title names nobody in particular (every
    # president is one), so a passage must name the person.
    asked = [n for n in asked if n.lower() not in TITLES] or asked
    if not asked:
        return False
    return not any(_speaks(name, f"{h.passage.title}\n{h.passage.text}")
                   for h in hits for name in asked)


#: A verb reporting speech, or "according to"; the one who speaks stands a few words before it
#: ("Russian Foreign Minister Sergei Lavrov said") or right after it, in the run of capitalised
#: words there ("said Defence Secretary Robert Gates", not "stressed that Bush and Gates").
_SPEECH = re.compile(r"\b(?:said|says|say|told|tells|stressed|added|noted|warned|wrote|writes|"
                     r"tweeted|posted|announced|argued|claimed|stated|explained|insisted|"
                     r"replied|responded|urged|called|asked|promised|pledged|vowed|declared|"
                     r"denied|confirmed|admitted|predicted|suggested|according to)\b", re.I)
_SPEAKER_BEFORE, _SPEAKER_AFTER = 12, 5
_PRONOUN_SPEAKS = re.compile(r"^\W*(?:he|she|they|it)\s+(?:\w+\s+)?(?:said|says|told|added|"
                             r"stressed|noted|warned|wrote|tweeted|explained|insisted)\b", re.I)


def _speaks(name: str, text: str) -> bool:
    """Whether `text` has `name` (a whole word; for a nationality, its country) speak: named
    just before a speech verb or right after it, or in a sentence with a quotation, or named
    in a sentence whose next one opens "She said…"."""
    from ..index.chunking import sentence_spans

    sentences = [text[s.start:s.end] for s in sentence_spans(text)]
    for i, sentence in enumerate(sentences):
        lowered = sentence.lower()
        if not _mentioned(name, lowered, whole=True):
            continue
        if QUOTATION.search(sentence):
            return True
        for verb in _SPEECH.finditer(sentence):
            before = " ".join(WORD.findall(sentence[: verb.start()])[-_SPEAKER_BEFORE:])
            # "said Defence Secretary Robert Gates": the capitalised run right after it.
            after = " ".join(itertools.takewhile(
                lambda w: w[:1].isupper(), WORD.findall(sentence[verb.end():])[:_SPEAKER_AFTER]))
            if any(_mentioned(name, part.lower(), whole=True) for part in (before, after)):
                return True
        if i + 1 < len(sentences) and _PRONOUN_SPEAKS.match(sentences[i + 1]):
            return True
    return False


def _mentioned(name: str, text: str, *, whole: bool = False) -> bool:
    """Whether lower-cased `text` names `name`, or for a nationality, its country; `whole`:
    as a word of its own ("King" is not in "the United Kingdom"), else anywhere ("Iran" in
    "Iranian", as the support model was fitted).

    Example:
        >>> _mentioned("American", "talks between us president bush and putin")
        True
        >>> _mentioned("Chinese", "talks between us president bush and putin")
        False
        >>> _mentioned("King", "the united kingdom", whole=True)
        False
    """
    lowered = re.sub(r"['’]s$", "", name.lower()) if whole else name.lower()
    if (re.search(rf"\b{re.escape(lowered)}\b", text) if whole else lowered in text):
        return True
    # "Americans" is "American" in the plural.
    aliases = _DEMONYMS.get(lowered) or _DEMONYMS.get(lowered.removesuffix("s"), ())
    return any(re.search(rf"\b{re.escape(alias)}\b", text) for alias in aliases)


def _unknown_share(asked: Sequence[str], unseen: Callable[[Sequence[str]], set[str]],
                   analyze: Callable[[Sequence[str]], list[list[str]]]) -> float:
    """The share of the names in `asked` of which the collection holds no word (nor, for a
    nationality, a word of its country's names)."""
    forms = [[name, *_DEMONYMS.get(name.lower(), ())] for name in asked]
    terms = [analyze(group) for group in forms]
    absent = unseen(sorted({t for group in terms for words in group for t in words}))
    return sum(all(all(t in absent for t in words) for words in group)
               for group in terms) / len(asked)
