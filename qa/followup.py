"""Follow-up questions without a language model: carry the topic of earlier turns into the query.

"And Russia?", "What did he say about it?", "By when?" lean on the conversation; "Who is the
president of France?" does not. A question that leans on earlier turns is searched together
with the key words of the previous question and the names in the previous answer; a
self-contained question is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .chunking import sentence_spans

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_PRONOUNS = {
    "he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "theirs", "hers",
    "this", "that", "these", "those", "there", "then", "such", "one", "ones",
}
_OPENERS = ("and ", "but ", "also ", "what about", "how about", "so ", "then ", "what else",
            "anything else", "why", "how come", "and?", "more")
# Words that carry no topic: question words, auxiliaries, common function words.
_FUNCTION = {
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "about", "as",
    "and", "or", "but", "if", "so", "than", "into", "over", "after", "before", "up", "out",
    "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "whats", "what's",
    "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "done", "have",
    "has", "had", "can", "could", "will", "would", "shall", "should", "may", "might", "must",
    "say", "said", "says", "tell", "told", "me", "you", "i", "we", "us", "my", "your", "our",
    "not", "no", "yes", "any", "some", "all", "more", "else", "also", "just", "really", "very",
    "much", "many", "one", "ones", "please", "think", "know", "mean", "happen", "happened",
    "plan", "plans", "planned", "want", "wants", "wanted", "get", "got", "make", "made",
} | _PRONOUNS
_DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "top"}
#: A question with a pronoun and at most this many topic words leans on the context.
_MAX_TOPIC_WORDS_WITH_PRONOUN = 4
#: A question of at most this many words with at most one topic word leans on the context.
_MAX_WORDS_OF_A_BARE_FOLLOW_UP = 6
#: The previous answer's names are carried only into follow-ups with at most this many topic
#: words of their own ("Who ended it?"); richer follow-ups are better served by the earlier
#: question, while the names would pull back the passage that answered it.
_MAX_TOPIC_WORDS_FOR_NAMES = 1


def topic_words(text: str) -> list[str]:
    """The words of `text` that carry its topic, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        # An acronym ("US", "IT") is a topic even when its lower case is a function word.
        if len(word) > 1 and (word.isupper() or word.lower() not in _FUNCTION):
            seen.setdefault(word, None)
    return list(seen)


def leans_on_context(question: str) -> bool:
    """Whether `question` needs the earlier turns to be understood.

    Example:
        >>> leans_on_context("And Russia?"), leans_on_context("Who is the president of France?")
        (True, False)
    """
    lowered = question.lower().strip()
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if lowered.startswith(_OPENERS):
        return True
    has_pronoun = any(w in _PRONOUNS for w in words)
    topics = topic_words(question)
    if has_pronoun and len(topics) <= _MAX_TOPIC_WORDS_WITH_PRONOUN:
        return True
    return len(topics) <= 1 and len(words) <= _MAX_WORDS_OF_A_BARE_FOLLOW_UP


def contextual_query(question: str, history: Sequence[dict[str, str]]) -> str:
    """The retrieval query for `question` given the earlier `history` turns.

    Returns the question unchanged when it stands alone or there is no history; otherwise the
    question followed by the topic words of the last user question and the capitalised names
    of the last answer's first sentence.

    Example:
        >>> contextual_query("By when?", [
        ...     {"role": "user", "content": "Where will the US base its missile shield?"},
        ...     {"role": "assistant", "content": "In Poland and the Czech Republic. [1]"}])
        'By when? US base missile shield Poland Czech Republic'
    """
    question = question.strip()
    users = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
    if not users or not leans_on_context(question):
        return question
    # The last self-contained user question names the topic; later follow-ups add to it.
    recent = users[-3:]
    anchor = max((i for i, q in enumerate(recent) if not leans_on_context(q)), default=0)
    context = " ".join(recent[anchor:])
    answers = [t["content"] for t in history if t.get("role") == "assistant" and t.get("content")]
    own = {w.lower() for w in topic_words(question)}
    names = (_names(_first_sentence(answers[-1]))
             if answers and len(own) <= _MAX_TOPIC_WORDS_FOR_NAMES else [])
    extra = [w for w in topic_words(context) + names if w.lower() not in own]
    extra = list(dict.fromkeys(extra))
    return f"{question} {' '.join(extra)}".strip() if extra else question


def _first_sentence(text: str) -> str:
    text = re.sub(r"\s*\\?\[\d+\\?\]", "", text).strip()
    spans = sentence_spans(text)
    return text[spans[0].start : spans[0].end] if spans else text


def _names(text: str) -> list[str]:
    """Capitalised words (not function words, not single letters, not weekdays): likely
    names."""
    return [w for w in _WORD.findall(text)
            if w[0].isupper() and len(w) > 1
            and (w.isupper() or w.lower() not in _FUNCTION | _DAYS)]
