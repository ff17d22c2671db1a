"""Follow-up questions without a language model: carry the topic of earlier turns into the query.

"And Russia?", "What did he say about it?", "By when?" lean on the conversation; "Who is the
president of France?" does not. A question that leans on earlier turns is searched together
with the key words of the previous question and the names in the previous answer; a
self-contained question is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..index.analysis import PRONOUNS, WORD, names, topic_words
from ..index.chunking import sentence_spans

_OPENERS = ("and ", "but ", "also ", "what about", "how about", "so ", "then ", "what else",
            "anything else", "why", "how come", "and?", "more")
#: A question with a pronoun and at most this many topic words leans on the context.
_MAX_TOPIC_WORDS_WITH_PRONOUN = 4
#: A question of at most this many words with at most one topic word leans on the context.
_MAX_WORDS_OF_A_BARE_FOLLOW_UP = 6
#: The previous answer's names are carried only into follow-ups with at most this many topic
#: words of their own ("Who ended it?"); richer follow-ups are better served by the earlier
#: question, while the names would pull back the passage that answered it.
_MAX_TOPIC_WORDS_FOR_NAMES = 1


def leans_on_context(question: str) -> bool:
    """Whether `question` needs the earlier turns to be understood.

    Example:
        >>> leans_on_context("And Russia?"), leans_on_context("Who is the president of France?")
        (True, False)
    """
    lowered = question.lower().strip()
    words = [w.lower() for w in WORD.findall(question)]
    if not words:
        return False
    if lowered.startswith(_OPENERS):
        return True
    has_pronoun = any(w in PRONOUNS for w in words)
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
    carried = (names(_first_sentence(answers[-1]))
             if answers and len(own) <= _MAX_TOPIC_WORDS_FOR_NAMES else [])
    extra = [w for w in topic_words(context) + carried if w.lower() not in own]
    extra = list(dict.fromkeys(extra))
    return f"{question} {' '.join(extra)}".strip() if extra else question


def _first_sentence(text: str) -> str:
    text = re.sub(r"\s*\\?\[\d+\\?\]", "", text).strip()
    spans = sentence_spans(text)
    return text[spans[0].start : spans[0].end] if spans else text
