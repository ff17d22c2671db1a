"""The Gradio chat: answers with [n] markers, then the cited passages, the quoted sentence marked.

Document text is untrusted: `qa.render` escapes it before Gradio's Markdown renderer sees it,
HTML sanitising stays on and LaTeX rendering is off. Filters by document and date range sit
under the chat; a follow-up question is answered with the conversation in mind.
"""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING, Any

from ..answer.holder import AnswererHolder
from ..answer.question import recent_history, require_question
from ..answer.retrieval import Filters
from ..errors import QAError
from ..ingest import parse_date
from .render import escape_markdown, render

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

TITLE = "Ask your documents"
DESCRIPTION = (
    "Answers are sentences quoted from the indexed documents, each with a numbered citation. "
    "When the documents don't hold the answer, it says so."
)


class ChatBackend:
    """Answers chat turns with the shared answerer; errors become chat messages."""

    def __init__(self, holder: AnswererHolder) -> None:
        self.holder = holder
        self.settings = holder.settings

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        source: str = "",
        date_from: str = "",
        date_to: str = "",
    ) -> list[dict[str, Any]]:
        """The ChatInterface callback: the question, the earlier turns and the filters (a
        document's path or id, ISO dates) → messages."""
        if len(message or "") > self.settings.max_question_chars:
            return [{"role": "assistant", "content": escape_markdown(
                f"⚠️ The question is longer than {self.settings.max_question_chars} characters; "
                "please shorten it.")}]
        try:
            question = require_question(message)
            filters = _filters(source, date_from, date_to)
            turns = [{"role": t["role"], "content": _plain(t.get("content"))}
                     for t in history if t.get("role") in ("user", "assistant")
                     and not (t.get("metadata") or {}).get("title")]
            turns = recent_history(turns, max_turns=self.settings.max_history_turns,
                                   max_chars=self.settings.max_history_chars,
                                   max_question_chars=self.settings.max_question_chars)
            answer = self.holder.answerer().ask(question, history=turns, filters=filters)
            return render(answer)
        except QAError as err:
            return [{"role": "assistant", "content": f"⚠️ {escape_markdown(str(err))}"}]
        except Exception:  # a traceback must never reach the user; the log keeps it
            log.exception("chat request failed")
            return [{"role": "assistant",
                     "content": "⚠️ Something went wrong answering this; the server log has "
                                "the details."}]

    def examples(self, limit: int = 3) -> list[str]:
        """Questions built from the titles of the newest indexed documents."""
        try:
            rows = self.holder.answerer().retriever.store.catalog.documents()
        except QAError:
            return []
        rows = sorted(rows, key=lambda r: r.date or "", reverse=True)[:limit]
        return [f"What happened in “{r.title}”?" for r in rows]


def _filters(source: str, date_from: str, date_to: str) -> Filters | None:
    """The chat's filter boxes as `Filters`; a date that can't be read is a clear error."""
    dates = []
    for label, value in (("From", date_from), ("To", date_to)):
        value = (value or "").strip()
        iso = parse_date(value) if value else None
        if value and iso is None:
            raise QAError(f"{label} date {value!r} is not a date; use YYYY-MM-DD")
        dates.append(iso)
    filters = Filters(source=(source or "").strip() or None, date_from=dates[0],
                      date_to=dates[1])
    return filters if filters.active else None


def _plain(content: Any) -> str:
    """A chat message as the plain text it shows (Markdown escapes and entities undone)."""
    if isinstance(content, list):
        content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
    if not isinstance(content, str):
        return ""
    return html.unescape(re.sub(r"\\(.)", r"\1", content))


def build_ui(backend: ChatBackend) -> gr.Blocks:
    """The chat as a Gradio Blocks app (not launched)."""
    import gradio as gr

    chatbot = gr.Chatbot(
        label="Answers",
        render_markdown=True,
        sanitize_html=True,
        latex_delimiters=[],
        height="70vh",
        buttons=["copy"],
        allow_tags=False,
        feedback_options=None,
    )
    filters: list[str | gr.components.Component] = [
        gr.Textbox("", label="Only documents whose path contains", placeholder="e.g. seeds/"),
        gr.Textbox("", label="Published from", placeholder="YYYY-MM-DD"),
        gr.Textbox("", label="Published until", placeholder="YYYY-MM-DD"),
    ]
    return gr.ChatInterface(
        fn=backend.respond,
        chatbot=chatbot,
        additional_inputs=filters,
        additional_inputs_accordion=gr.Accordion("Filters", open=False),
        title=TITLE,
        description=DESCRIPTION,
        examples=[[q, "", "", ""] for q in backend.examples()] or None,
        cache_examples=False,
        analytics_enabled=False,
        flagging_mode="never",
        api_name="ask",
        fill_height=True,
    )
