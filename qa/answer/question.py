"""What every question goes through first, wherever it comes from (CLI, chat, API)."""

from __future__ import annotations

from ..errors import EmptyQuestionError, QuestionTooLongError

#: What an answer says when the documents don't hold it.
NOT_FOUND = "I could not find an answer to this in the documents."


def require_question(question: str | None, *, max_chars: int | None = None) -> str:
    """The question without surrounding space.

    Raises:
        EmptyQuestionError: it is empty or only whitespace.
        QuestionTooLongError: it has more than `max_chars` characters.

    Example:
        >>> require_question("  Where is it?  ")
        'Where is it?'
    """
    text = (question or "").strip()
    if not text:
        raise EmptyQuestionError("the question is empty; type a question")
    if max_chars is not None and len(question or "") > max_chars:
        raise QuestionTooLongError(
            f"the question has {len(question or '')} characters; the limit is {max_chars}")
    return text
