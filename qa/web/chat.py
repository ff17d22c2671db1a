"""What the chat page does, without Gradio: check a question, answer it, describe the collection.

`qa.web.ui` lays the page out and wires these methods to it; tests call them directly. Every
answer is made public (`qa.web.sources`: no server paths) before it is rendered or returned,
and every failure becomes one readable line — no traceback reaches a visitor.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ..answer.answerer import Answer
from ..answer.holder import AnswererHolder
from ..answer.question import recent_history, require_question
from ..errors import NoMatchingDocumentsError, QAError
from .filters import count_matching, describe, read_filters
from .render import message_html, reply_html
from .sources import names_for

log = logging.getLogger(__name__)

_INTERNAL = "Something went wrong answering this; the server log has the details."


@dataclass(frozen=True)
class Collection:
    """What is in the index, for the first screen."""

    documents: int
    passages: int
    dated: int
    first: str | None
    last: str | None


@dataclass(frozen=True)
class Reply:
    """One chat reply: its HTML, and the words the conversation remembers of it."""

    html: str
    text: str


class ChatBackend:
    """The chat's work, on the server's shared `AnswererHolder`."""

    def __init__(self, holder: AnswererHolder) -> None:
        self.holder = holder
        self.settings = holder.settings

    def refusal(self, message: str | None) -> str | None:
        """Why `message` can't be sent as it is (None: it can). Said before anything is
        cleared, so the visitor can fix it in place."""
        text = message or ""
        if not text.strip():
            return "Type a question first."
        limit = self.settings.max_question_chars
        if len(text) > limit:
            return (f"The question is {len(text):,} characters long; the limit is {limit:,}. "
                    "Please shorten it.")
        return None

    def answer(self, question: str, turns: Sequence[dict[str, str]] = (), source: str = "",
               date_from: str = "", date_to: str = "") -> Answer:
        """The answer to `question` with public sources, the filters read strictly.

        Raises:
            EmptyQuestionError, QuestionTooLongError, InvalidFilterError,
            NoMatchingDocumentsError, and the index errors of `AnswererHolder.lease`.
        """
        return self._answer(question, turns, source, date_from, date_to)[0]

    def reply(self, question: str, turns: Sequence[dict[str, str]] = (), source: str = "",
              date_from: str = "", date_to: str = "") -> Reply:
        """The chat message answering `question`; errors become a message too."""
        try:
            answer, html = self._answer(question, turns, source, date_from, date_to,
                                        render=True)
            return Reply(html, answer.answer)
        except QAError as err:
            text = str(err)
            return Reply(message_html(text[:1].upper() + text[1:], kind="error"), text)
        except Exception:  # a traceback must never reach the user; the log keeps it
            log.exception("chat request failed")
            return Reply(message_html(_INTERNAL, kind="error"), _INTERNAL)

    def _answer(self, question: str, turns: Sequence[dict[str, str]], source: str,
                date_from: str, date_to: str, *, render: bool = False) -> tuple[Answer, str]:
        question = require_question(question, max_chars=self.settings.max_question_chars)
        filters = read_filters(source, date_from, date_to)
        # The browser keeps the whole conversation; only its latest turns that fit the history
        # limits go with a follow-up (the API refuses more, a chat just forgets the oldest).
        turns = recent_history(turns, max_turns=self.settings.max_history_turns,
                               max_chars=self.settings.max_history_chars,
                               max_question_chars=self.settings.max_question_chars)
        if self.settings.log_questions:
            log.info("question: %s", question)
        with self.holder.lease() as answerer:
            store = answerer.retriever.store
            if filters is not None and count_matching(store, filters).matching == 0:
                raise NoMatchingDocumentsError(
                    f"No document matches the filters ({describe(filters)}), so there is "
                    "nothing to search; change or clear them under Filters.")
            answer = names_for(store, self.settings).answer(
                answerer.ask(question, history=turns, filters=filters))
            html = reply_html(answer, key=secrets.token_hex(4), settings=self.settings,
                              analyzer=store.analyzer) if render else ""
        return answer, html

    def collection(self) -> Collection | None:
        """Counts and the date range of the indexed documents (None: no index yet)."""
        try:
            with self.holder.lease() as answerer:
                store = answerer.retriever.store
                dates = sorted(r.date for r in store.catalog.documents() if r.date)
                counts = store.manifest.counts
        except QAError:
            return None
        return Collection(counts["documents"], counts["passages"], len(dates),
                          dates[0] if dates else None, dates[-1] if dates else None)

    def examples(self, limit: int = 3) -> list[str]:
        """Questions built from the titles of the newest indexed documents."""
        try:
            with self.holder.lease() as answerer:
                rows = answerer.retriever.store.catalog.documents()
        except QAError:
            return []
        rows = sorted(rows, key=lambda r: r.date or "", reverse=True)[:limit]
        return [f"What happened in “{r.title}”?" for r in rows]

    def filter_status(self, source: str, date_from: str, date_to: str) -> tuple[str, bool]:
        """What the filters leave, in words, and whether that is a problem (an unreadable date,
        or no document left)."""
        try:
            filters = read_filters(source, date_from, date_to)
            if filters is None:
                return "", False
            with self.holder.lease() as answerer:
                count = count_matching(answerer.retriever.store, filters)
        except QAError as err:
            return str(err), True
        if count.matching == 0:
            return f"No document matches ({describe(filters)}).", True
        return (f"{count.matching} of {count.total} documents match ({describe(filters)}).",
                False)
