"""The Gradio chat: answers with [n] markers, then the cited passages, the quoted sentence marked.

Document text is untrusted. Everything taken from a document is escaped before it reaches
Gradio's Markdown renderer, so HTML, scripts, images and `$$…$$` show as the characters they
are; LaTeX rendering is off. The only markup in a message is the markup this module writes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .answer import Answer, Answerer, Citation, load_answerer
from .config import Settings
from .errors import QAError

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

TITLE = "Ask your documents"
DESCRIPTION = (
    "Answers are sentences quoted from the indexed documents, each with a numbered citation. "
    "When the documents don't hold the answer, it says so."
)
# Every ASCII punctuation character CommonMark lets a backslash escape, except those turned
# into HTML entities below (`&`, `<`, `>`).
_SPACE_AROUND_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINES = re.compile(r"\n{3,}")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=\"'^@%/?,;])")


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders to exactly these characters: no HTML, links, images,
    emphasis, headings, code or math.

    Example:
        >>> escape_markdown("<b>x</b> ![i](http://e/x.png)")
        '&lt;b&gt;x&lt;\\\\/b&gt; \\\\!\\\\[i\\\\]\\\\(http\\\\:\\\\/\\\\/e\\\\/x\\\\.png\\\\)'
    """
    # Backslashes first: escaping the `;` of an entity written here would break the entity,
    # and `&lt;` would show as the characters "&lt;".
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Spaces next to a line break would start a code block or vanish; the text's own line
    # breaks are kept (a blank line stays a paragraph break). Other spaces are left alone,
    # so escaped pieces can be joined without losing the space between them.
    text = _BLANK_LINES.sub("\n\n", _SPACE_AROUND_BREAK.sub("\n", text))
    return text.replace("\n\n", "\x00").replace("\n", "  \n").replace("\x00", "\n\n")


def format_answer(answer: Answer) -> str:
    """The answer text for the chat, escaped, with its [n] markers kept as plain text."""
    if answer.abstained:
        return escape_markdown(answer.answer)
    parts = [f"{escape_markdown(c.highlight)} \\[{c.n}\\]" for c in answer.citations]
    text = " ".join(parts)
    if answer.query_used != answer.question:
        text += f"\n\n*Searched for: {escape_markdown(answer.query_used)}*"
    return text


def format_citation(c: Citation, *, label: str) -> str:
    """One cited passage: title, date and source, then the passage with the sentence marked."""
    rel_start = c.highlight_start - c.passage_start
    rel_end = c.highlight_end - c.passage_start
    before, quoted, after = c.passage[:rel_start], c.passage[rel_start:rel_end], c.passage[rel_end:]
    where = escape_markdown(c.source) + (f", page {c.page}" if c.page else "")
    body = escape_markdown(before)
    if quoted:
        body += f"<mark>{escape_markdown(quoted)}</mark>"
    body += escape_markdown(after)
    date = escape_markdown(c.date or "no date")
    header = f"**{label} {escape_markdown(c.title)}**  \n{date} · {where}"
    return f"{header}\n\n> {body.replace(chr(10), chr(10) + '> ')}"


def format_sources(answer: Answer) -> str:
    if answer.abstained:
        return "\n\n---\n\n".join(format_citation(c, label="·") for c in answer.related)
    return "\n\n---\n\n".join(format_citation(c, label=f"[{c.n}]") for c in answer.citations)


def render(answer: Answer) -> list[dict[str, Any]]:
    """The chat messages for one answer: the answer, then a collapsible sources message."""
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": format_answer(answer)}]
    sources = format_sources(answer)
    if sources:
        title = ("Possibly related passages (not an answer)" if answer.abstained
                 else f"Sources ({len(answer.citations)})")
        messages.append({"role": "assistant", "content": sources,
                         "metadata": {"title": title, "status": "done"}})
    return messages


class ChatBackend:
    """Loads the index on first use and answers chat turns; errors become chat messages."""

    def __init__(self, settings: Settings,
                 loader: Callable[[Settings], Answerer] = load_answerer) -> None:
        self.settings = settings
        self._loader = loader
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                self._answerer = self._loader(self.settings)
            return self._answerer

    def reload(self) -> None:
        """Answer from the index as it is now on disk (it changed over HTTP)."""
        with self._lock:
            self._answerer = (self._answerer.reloaded() if self._answerer is not None
                              else self._loader(self.settings))

    def respond(self, message: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The ChatInterface callback: the question and the earlier turns → messages."""
        if len(message or "") > self.settings.max_question_chars:
            return [{"role": "assistant", "content": escape_markdown(
                f"⚠️ The question is longer than {self.settings.max_question_chars} characters; "
                "please shorten it.")}]
        try:
            turns = [{"role": t["role"], "content": _plain(t.get("content"))}
                     for t in history if t.get("role") in ("user", "assistant")
                     and not (t.get("metadata") or {}).get("title")]
            return render(self.answerer().ask(message or "", history=turns))
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
            rows = self.answerer().retriever.store.document_rows()
        except QAError:
            return []
        rows = sorted(rows, key=lambda r: r[3] or "", reverse=True)[:limit]
        return [f"What happened in “{r[2]}”?" for r in rows]


def _plain(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(c.get("text", "") for c in content if isinstance(c, dict))
    return ""


def build_ui(settings: Settings, backend: ChatBackend | None = None) -> gr.Blocks:
    """The chat as a Gradio Blocks app (not launched)."""
    import gradio as gr

    backend = backend or ChatBackend(settings)
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
    return gr.ChatInterface(
        fn=backend.respond,
        chatbot=chatbot,
        title=TITLE,
        description=DESCRIPTION,
        examples=backend.examples() or None,
        cache_examples=False,
        analytics_enabled=False,
        flagging_mode="never",
        api_name="ask",
        fill_height=True,
    )
