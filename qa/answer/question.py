"""What every question, and the conversation sent with it, goes through first, wherever it
comes from (CLI, chat, API)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import EmptyQuestionError, HistoryTooLongError, InvalidTextError, QuestionTooLongError

#: A lone UTF-16 surrogate: JSON and the file system can smuggle one into a `str`, but no
#: tokenizer, database or encoder downstream can take it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Characters that show nothing: spaces of every kind, control characters, the byte-order
#: mark. A question made only of these is empty. Spelled out as a regex class that means the
#: same in Python and in JSON Schema (the API's schema says a question needs one other).
BLANK_CHARS = (r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
               r"\u205f\u3000\ufeff")
_VISIBLE = re.compile(f"[^{BLANK_CHARS}]")
#: A conversation turn as the answerer takes it.
Turn = dict[str, str]


def require_text(text: str, what: str) -> str:
    """`text` unchanged, if it holds only real characters.

    Raises:
        InvalidTextError: it holds a lone surrogate.

    Example:
        >>> require_text("fine", "the question")
        'fine'
    """
    bad = _SURROGATE.search(text)
    if bad:
        raise InvalidTextError(f"{what} holds a character that is not text (a lone surrogate "
                               f"at position {bad.start()}); send valid Unicode")
    return text

#: How the answers saying the documents don't hold it begin: a client sends back only the
#: texts, and a turn that was not answered must never become the topic of the next.
ABSTAINED = ("I could not ", "There are no documents", "I answer questions")
#: What an answer says when the documents don't hold it.
NOT_FOUND = "I could not find an answer to this in the documents."


def is_abstention(text: str) -> bool:
    """Whether an answer's text says the documents don't hold it (see `ABSTAINED`).

    Example:
        >>> is_abstention(NOT_FOUND), is_abstention("There are no documents about Mars.")
        (True, True)
        >>> is_abstention("The zoo opened a new hall. [1]")
        False
    """
    return text.startswith(ABSTAINED)


def help_message(documents: int) -> str:
    """What the answer to "hi", "thanks" or "what can you do?" says: what the assistant does.

    Example:
        >>> help_message(1)[:60]
        'I answer questions from the 1 document indexed here, quoting'
    """
    plural = "" if documents == 1 else "s"
    return (f"I answer questions from the {documents} document{plural} indexed here, quoting "
            "the sentences that answer them, each with a numbered citation. Ask about what "
            "they say, for example “What is this about?”")


def unresolved_message(pronoun: str) -> str:
    """What an answer says when the question points back ("When did this happen?") at no
    earlier answer and the documents alone don't say what it means.

    Example:
        >>> unresolved_message("this")
        'I could not tell what “this” refers to: no earlier answer says. Ask again naming it.'
    """
    return (f"I could not tell what “{pronoun}” refers to: no earlier answer says. "
            "Ask again naming it.")


def require_question(question: str | None, *, max_chars: int | None = None) -> str:
    """The question without surrounding space.

    Raises:
        EmptyQuestionError: it is empty or only whitespace.
        QuestionTooLongError: it has more than `max_chars` characters.
        InvalidTextError: it holds a lone surrogate.

    Example:
        >>> require_question("  Where is it?  ")
        'Where is it?'
    """
    text = (question or "").strip()
    if not _VISIBLE.search(text):
        raise EmptyQuestionError("the question is empty; type a question")
    if max_chars is not None and len(question or "") > max_chars:
        raise QuestionTooLongError(
            f"the question has {len(question or '')} characters; the limit is {max_chars}")
    return require_text(text, "the question")


def require_history(history: Sequence[Turn], *, max_turns: int, max_chars: int,
                    max_question_chars: int) -> list[Turn]:
    """The earlier turns, if within the limits: at most `max_turns` turns of at most
    `max_chars` characters together, and no user turn longer than a question may be.

    Raises:
        HistoryTooLongError: over a limit (the message names it).
        InvalidTextError: a turn holds a lone surrogate.
    """
    if len(history) > max_turns:
        raise HistoryTooLongError(f"the history has {len(history)} turns; the limit is "
                                  f"{max_turns} (QA_MAX_HISTORY_TURNS)")
    total = sum(len(t.get("content", "")) for t in history)
    if total > max_chars:
        raise HistoryTooLongError(f"the history has {total} characters; the limit is "
                                  f"{max_chars} (QA_MAX_HISTORY_CHARS)")
    for number, turn in enumerate(history, start=1):
        content = turn.get("content", "")
        if turn.get("role") == "user" and len(content) > max_question_chars:
            raise HistoryTooLongError(
                f"turn {number} of the history has {len(content)} characters, more than a "
                f"question may have ({max_question_chars})")
        require_text(content, f"turn {number} of the history")
    return list(history)


def recent_history(history: Sequence[Turn], *, max_turns: int, max_chars: int,
                   max_question_chars: int) -> list[Turn]:
    """The most recent turns that fit the limits of `require_history`, oldest first: a chat
    carries its whole conversation, and only the latest part of it matters to a follow-up.

    Example:
        >>> recent_history([{"role": "user", "content": "a" * 50},
        ...                 {"role": "user", "content": "Why?"}],
        ...                max_turns=5, max_chars=20, max_question_chars=100)
        [{'role': 'user', 'content': 'Why?'}]
    """
    kept: list[Turn] = []
    total = 0
    for turn in reversed(history):
        content = _SURROGATE.sub("\ufffd", turn.get("content", ""))
        too_long = turn.get("role") == "user" and len(content) > max_question_chars
        if len(kept) == max_turns or total + len(content) > max_chars or too_long:
            break
        kept.append({**turn, "content": content})
        total += len(content)
    return kept[::-1]
