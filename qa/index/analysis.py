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
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from typing import Any

#: Words of questions and conversation that carry no topic, beyond the 179-word stop list.
CONVERSATION_WORDS = frozenset({
    "also", "article", "articles", "could", "describe", "described", "discuss", "discussed",
    "done", "else", "get", "got", "happen", "happened", "know", "made", "make", "many", "may",
    "mean", "mention", "mentioned", "mentions", "might", "much", "must", "one", "ones", "plan",
    "planned", "plans", "please", "really", "said", "say", "says", "shall", "tell", "think", "told", "us", "want",
    "wanted", "wants", "what's", "whats", "whose", "would", "yes",
})
#: Pronouns and other words that point back at something said before.
PRONOUNS = frozenset({
    "he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "theirs", "hers",
    "this", "that", "these", "those", "there", "then", "such", "one", "ones",
})
#: Words that name a rank or a role, not a person: "King Charles", "Comedian Sarah
#: Silverman" (spaCy's small pipeline takes a capitalised role into the name).
TITLES = frozenset({
    "king", "queen", "prince", "princess", "president", "prime", "minister", "senator", "sen",
    "rep", "governor", "gov", "mayor", "judge", "justice", "pope", "sir", "lord", "lady", "dr",
    "mr", "mrs", "ms", "general", "gen", "secretary", "chancellor", "chairman", "ceo", "coach",
    "professor", "prof", "officer", "chief", "st", "saint", "comedian", "actress", "actor",
    "singer", "rapper", "director", "producer", "author", "writer", "journalist", "reporter",
    "anchor", "host", "star", "player", "captain", "sheriff", "detective", "dean",
})
#: The days of the week, lower case.
WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                      "sunday"})
#: Rarity is `_ZIPF_CEILING - zipf`, capped at `_MAX_RARITY` (unknown words, names).
_ZIPF_CEILING = 7.5
_MAX_RARITY = 6.0
#: A word as follow-ups and names see it (letters, digits, apostrophes, hyphens).
_WONT = re.compile(r"\bwon['’]t\b", re.I)
#: "May" the month (capitalised, not opening the text: "in May", "May 2024"), not the modal
#: verb the stop list drops; it stands as one keyword of its own.
_MAY = re.compile(r"(?<=[\w,;:]\s)May\b|\bMay(?=\s+\d)")


def _normalised(text: str) -> str:
    """`text` with the words the stop list would misread spelled out: "won't" → "will not",
    the month "May" → "maymonth" (a keyword, rare in general English like a name)."""
    return _MAY.sub("maymonth", _WONT.sub("will not", text))
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
#: Words that name a number ("two", "hundreds", "half"), for telling a count from a vague amount.
NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                "forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|half")


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
    #: Stop list for keywords: "en_plus" is bm25s' 179 words; "conversation" adds the
    #: question and conversation words and pronouns that carry no topic ("said", "tell").
    keyword_stopwords: str = "conversation"
    #: Where a word's rarity comes from before the collection is large enough to tell:
    #: wordfreq's English frequencies (a Zipf scale, 0 for unknown words).
    background: str = "wordfreq-en"

    def settings(self) -> dict[str, Any]:
        """What the manifest records about text analysis."""
        return asdict(self)

    def index_settings(self) -> dict[str, Any]:
        """The settings the stored index depends on (the BM25 terms); another value here
        means the index must be rebuilt."""
        return {k: v for k, v in asdict(self).items()
                if k in ("stemmer", "token_pattern", "bm25_stopwords")}

    @staticmethod
    def import_word_rarity() -> None:
        """Import wordfreq now. It finds its data with `inspect.stack()` when imported, which
        takes a tenth of a second alone but seconds while another thread imports hundreds of
        modules (`qa serve` building the chat page beside the first question), so the server
        imports it before that starts."""
        import wordfreq  # noqa: F401

    def background_rarity(self, text: str) -> dict[str, float]:
        """How rare in general English each keyword of `text` is, by its stem: 7.5 minus
        its Zipf frequency, within [0, 6] ("the" ≈ 0.2, "missile" ≈ 3.4, "Medvedev" ≈ 4.7,
        an unknown word 6). Independent of the collection, so one article is enough.

        Example:
            >>> sorted(TextAnalyzer().background_rarity("the missile shield").items())
            [('missil', 3.36), ('shield', 3.2)]
        """
        from wordfreq import zipf_frequency

        skip = _stop_set(self.keyword_stopwords)
        out: dict[str, float] = {}
        for word in _pattern(self.token_pattern).findall(_normalised(text).lower()):
            if word in skip:
                continue
            rarity = min(_MAX_RARITY, max(0.0, _ZIPF_CEILING - zipf_frequency(word, "en")))
            key = _stem(word, self.stemmer)
            out[key] = max(out.get(key, 0.0), round(rarity, 2))
        return out

    def bm25_tokens(self, texts: Sequence[str], *, return_ids: bool = True) -> Any:
        """BM25 tokens: lower-cased words, the short stop list removed, stemmed.

        With `return_ids`, bm25s' `Tokenized` (ids and vocabulary, for indexing); otherwise a
        list of token lists (for querying)."""
        return self._tokenize(texts, self.bm25_stopwords, return_ids=return_ids)

    def keywords(self, texts: Sequence[str]) -> list[list[str]]:
        """The topic words of each text, stemmed as BM25 stems them (so they match its
        vocabulary), without the 179 stop words ("won't" is "will not", not a win; "in May"
        keeps the month)."""
        texts = [_normalised(t) for t in texts]
        result: list[list[str]] = self._tokenize(texts, self.keyword_stopwords, return_ids=False)
        return result

    def _tokenize(self, texts: Sequence[str], stopwords: str, *, return_ids: bool) -> Any:
        if not return_ids:
            return self._words(texts, stopwords)
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


    def prepare(self) -> None:
        """Import what analysis needs and build its stop sets now, in the thread that loads
        the index: imported for the first time by several request threads at once, bm25s
        was seen to fail with KeyError('bm25s') in the import machinery."""
        for name in (self.bm25_stopwords, self.keyword_stopwords):
            _stop_set(name)
        _stemmer(self.stemmer)

    def _words(self, texts: Sequence[str], stopwords: str) -> list[list[str]]:
        """What `bm25s.tokenize(texts, ..., return_ids=False)` returns (lower-case, split by
        the pattern, stop words dropped, then stemmed), without its set-up on every call (a
        stemmer and a stop set made afresh, three progress bars): answering one question
        analyses a dozen small batches of text, and that set-up was most of the answer
        step's time. A test checks the two agree."""
        skip = _stop_set(stopwords)
        find = _pattern(self.token_pattern).findall
        return [[_stem(word, self.stemmer) for word in find(text.lower()) if word not in skip]
                for text in texts]


@cache
def _stop_set(name: str) -> frozenset[str]:
    listed = _stop_list(name)
    if isinstance(listed, str):
        from bm25s.tokenization import _infer_stopwords

        return frozenset(_infer_stopwords(listed))
    return frozenset(listed)


@cache
def _pattern(token_pattern: str) -> re.Pattern[str]:
    return re.compile(token_pattern)


#: A Snowball stemmer object is not thread-safe; the server answers on several threads.
_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    with _STEM_LOCK:
        return str(_stemmer(language).stemWord(word))


@cache
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(language)


def _stop_list(name: str) -> str | list[str]:
    if name == "conversation":
        # "us" stays a keyword: in news it is mostly the US.
        return sorted(function_words() - {"us"})
    if name == "en_plus":
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        return list(STOPWORDS_EN_PLUS)
    return name


@cache
def function_words() -> frozenset[str]:
    """Words that carry no topic in a question: the 179-word stop list, question and
    conversation words, pronouns."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # The list holds the pieces of contractions ("won" of "won't"); "won" is also a word.
    return (frozenset(STOPWORDS_EN_PLUS) - {"won"}) | CONVERSATION_WORDS | PRONOUNS


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
    skip = function_words() | WEEKDAYS | {"top"}
    return [w for w in WORD.findall(text)
            if w[0].isupper() and len(w) > 1 and (w.isupper() or w.lower() not in skip)]
