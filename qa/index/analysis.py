"""Text analysis in one object: the BM25 tokenizer, stop words, stemmer, and topic-word cues.

Everything that turns text into terms lives here, so indexing and answering analyse text the
same way, and the settings that shape the terms are recorded in the index's manifest: an index
analysed differently from the running code is refused like one built with another model,
instead of silently matching nothing.

Two stop lists, on purpose: BM25 uses bm25s' short English list (33 words; retrieval was tuned
with it), while keywords (for answer sentences, support and follow-ups) drop the longer list of
179 plus the question and conversation words ("where", "does", "tell", "happened") that say
nothing about what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

#: Words of questions and conversation that carry no topic, beyond the 179-word stop list.
CONVERSATION_WORDS = frozenset({
    "also", "could", "done", "else", "get", "got", "happen", "happened", "know", "made", "make",
    "many", "may", "mean", "might", "much", "must", "one", "ones", "plan", "planned", "plans",
    "please", "really", "said", "say", "says", "shall", "tell", "think", "told", "us", "want",
    "wanted", "wants", "what's", "whats", "whose", "would", "yes",
})
#: Pronouns and other words that point back at something said before.
PRONOUNS = frozenset({
    "he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "theirs", "hers",
    "this", "that", "these", "those", "there", "then", "such", "one", "ones",
})
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                       "sunday"})
#: A word as follow-ups and names see it (letters, digits, apostrophes, hyphens).
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
#: Cues that a sentence says when something happened (for "when" questions).
TIME_CUE = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2}|\d{1,2}(st|nd|rd|th)? century|january|february|march|april|may|"
    r"june|july|august|september|october|november|december|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|today|yesterday|ago|years?|decades?|centur(y|ies)|era|age|period)\b",
    re.I,
)
#: Cues that a sentence holds a quantity (for "how many" questions).
NUMBER_CUE = re.compile(
    r"\b(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|percent|half)\b", re.I)
#: A capitalised word that doesn't start a sentence: likely a name (for "who" questions).
NAME_INSIDE = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")


@dataclass(frozen=True)
class TextAnalyzer:
    """How text becomes terms. Its `settings()` are saved in the manifest.

    Example:
        >>> TextAnalyzer().keywords(["Where does the US base its missile shield?"])
        [['us', 'base', 'missil', 'shield']]
    """

    #: Snowball stemmer language (PyStemmer).
    stemmer: str = "english"
    #: Single characters count: "IL-6", "type 2", "vitamin D" (+0.008 nDCG@10 on scifact).
    token_pattern: str = r"(?u)\b\w+\b"
    #: bm25s' stop list for BM25 ("en": 33 words).
    bm25_stopwords: str = "en"
    #: bm25s' stop list for keywords ("en_plus": 179 words).
    keyword_stopwords: str = "en_plus"

    def settings(self) -> dict[str, Any]:
        """What the manifest records; another value means another analysis."""
        return asdict(self)

    def bm25_tokens(self, texts: Sequence[str], *, return_ids: bool = True) -> Any:
        """BM25 tokens: lower-cased words, the short stop list removed, stemmed.

        With `return_ids`, bm25s' `Tokenized` (ids and vocabulary, for indexing); otherwise a
        list of token lists (for querying)."""
        return self._tokenize(texts, self.bm25_stopwords, return_ids=return_ids)

    def keywords(self, texts: Sequence[str]) -> list[list[str]]:
        """The topic words of each text, stemmed as BM25 stems them (so they match its
        vocabulary), without the 179 stop words."""
        result: list[list[str]] = self._tokenize(texts, self.keyword_stopwords, return_ids=False)
        return result

    def _tokenize(self, texts: Sequence[str], stopwords: str, *, return_ids: bool) -> Any:
        import bm25s
        import Stemmer

        return bm25s.tokenize(
            list(texts),
            stopwords=_stop_list(stopwords),
            token_pattern=self.token_pattern,
            stemmer=Stemmer.Stemmer(self.stemmer),
            return_ids=return_ids,
            show_progress=False,
        )


def _stop_list(name: str) -> str | list[str]:
    if name == "en_plus":
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        return list(STOPWORDS_EN_PLUS)
    return name


@cache
def function_words() -> frozenset[str]:
    """Words that carry no topic in a question: the 179-word stop list, question and
    conversation words, pronouns."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | CONVERSATION_WORDS | PRONOUNS


def topic_words(text: str) -> list[str]:
    """The words of `text` that carry its topic, in order, without repeats.

    An acronym ("US", "IT") is a topic even when its lower case is a function word.

    Example:
        >>> topic_words("What did the US say about it?")
        ['US']
    """
    skip = function_words()
    seen: dict[str, None] = {}
    for word in WORD.findall(text):
        if len(word) > 1 and (word.isupper() or word.lower() not in skip):
            seen.setdefault(word, None)
    return list(seen)


def names(text: str) -> list[str]:
    """Capitalised words (not function words, single letters or weekdays): likely names.

    Example:
        >>> names("Lavrov met Rice on Tuesday in Moscow.")
        ['Lavrov', 'Rice', 'Moscow']
    """
    skip = function_words() | _WEEKDAYS | {"top"}
    return [w for w in WORD.findall(text)
            if w[0].isupper() and len(w) > 1 and (w.isupper() or w.lower() not in skip)]
