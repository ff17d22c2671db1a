"""The chat page at `/` (Gradio): what the collection holds, examples that ask when clicked,
answers with clickable citations, filters read strictly, history kept in the browser.

The page is laid out here and its events are wired to `qa.web.chat.ChatBackend`, which does
the work. Answers are HTML written by `qa.web.render` (document text escaped there; Gradio's
sanitiser runs in the browser too; Markdown and LaTeX rendering are off). `static/chat.js`
makes the [n] links open and scroll to their passage and the copy buttons copy plain text;
`static/chat.css` keeps it readable in light and dark schemes and at 390 px.

A question is checked before the box is cleared (an empty or over-long one stays where it is,
with the reason below it). The conversation is kept in the browser's local storage, so a
reload keeps it; "New chat" starts over. gradio_client gets two endpoints: `/ask` (plain text
with [n] and footnotes) and `/answer` (the Answer as JSON).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, cast

from ..errors import QAError
from .chat import ChatBackend, Collection
from .render import plain_text

if TYPE_CHECKING:
    import gradio as gr

TITLE = "Ask your documents"
#: Where the browser keeps the conversation (local storage), and how much of it.
HISTORY_KEY = "qa-chat-history"
# BrowserState encrypts what it stores; a fixed key lets a conversation outlive a server restart.
# It protects nothing (local storage is the visitor's own, per origin), so it need not be secret.
HISTORY_SECRET = "qa-chat-history-v1"
MAX_SAVED_MESSAGES = 60
#: Puts the focus back in the question box (after an answer, a new chat, an example).
FOCUS_BOX = "() => { document.querySelector('#qa-question textarea')?.focus(); }"
EMPTY_HISTORY: dict[str, list[Any]] = {"messages": [], "turns": []}


#: What the head says before the page has asked the server about the collection.
LOADING = "Loading the collection…"


def header_html(collection: Collection | None, *, loading: bool = False) -> str:
    """The title, what the collection holds, and links to the other pages."""
    if loading:
        summary = LOADING
    elif collection is None:
        summary = ("No documents are indexed yet: run <code>qa index FOLDER</code>, or add "
                   "some on the Documents page.")
    else:
        summary = f"{collection.documents:,} document{'s' * (collection.documents != 1)}"
        if collection.first and collection.last:
            first, last = (f'<span class="qa-date">{html.escape(d)}</span>'
                           for d in (collection.first, collection.last))
            summary += f", dated {first}" + (f" to {last}" if last != first else "")
    return (f'<div class="qa-head"><h1>{TITLE}</h1><p class="qa-summary">{summary}</p>'
            '<nav class="qa-links" aria-label="Other pages"><a href="documents">Documents'
            '</a> <a href="embed">Embed</a> <a href="api/v1/docs">API</a></nav></div>')


def placeholder(collection: Collection | None, *, loading: bool = False) -> str:
    """What the empty chat shows above the examples (Markdown)."""
    intro = ("Answers are sentences quoted from the documents, each with a numbered source: "
             "click a number to see the passage it comes from. When the documents don't hold "
             "the answer, it says so.")
    if loading:
        return f"## Ask a question about these documents\n\n{intro}"
    if collection is None:
        return f"## Nothing to ask yet\n\nNo documents are indexed. {intro}"
    return f"## Ask a question about these documents\n\n{intro}\n\nFor example:"


def theme() -> gr.themes.Base:
    """Gradio's default theme with a blue that white text can be read on (4.5:1 and more) in
    both schemes; its fonts are served by Gradio itself, nothing is fetched elsewhere."""
    import gradio as gr

    return gr.themes.Default(primary_hue=gr.themes.colors.blue).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white", button_primary_text_color_dark="white",
    )


def build_ui(backend: ChatBackend) -> gr.Blocks:
    """The chat page as a Gradio Blocks app (not launched). It asks nothing of the index while
    it is built, so the page is up while the model may still be loading; each page load fills
    in the collection, the examples and the saved conversation."""
    import gradio as gr

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_height=True) as demo:
        with gr.Row(elem_id="qa-top", equal_height=True):
            header = gr.HTML(header_html(None, loading=True), elem_id="qa-header")
            new_chat = gr.Button("New chat", elem_id="qa-new", scale=0, min_width=100,
                                 size="sm", variant="secondary")
        chatbot = gr.Chatbot(
            show_label=False, label="Conversation", elem_id="qa-chat", scale=1, height="auto",
            min_height=320, render_markdown=False, sanitize_html=True, latex_delimiters=[],
            allow_tags=False, buttons=[], feedback_options=None, layout="panel",
            placeholder=placeholder(None, loading=True),
        )
        with gr.Row(elem_id="qa-ask-row", equal_height=True):
            box = gr.Textbox(label="Your question", show_label=False, lines=1, max_lines=6,
                             placeholder="Ask a question about the documents…",
                             autofocus=True, elem_id="qa-question", scale=1, container=False)
            ask = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=0, min_width=90)
        status = gr.HTML("", elem_id="qa-status")
        with gr.Accordion("Filters", open=False, elem_id="qa-filters"):
            with gr.Row():
                source = gr.Textbox(label="Only documents whose path contains",
                                    placeholder="e.g. reports/")
                date_from = gr.Textbox(label="Published from",
                                       placeholder="e.g. 2008-03-18, March 2008 or 2008")
                date_to = gr.Textbox(label="Published until",
                                     placeholder="e.g. 2008-03-31, March 2008 or 2008")
            note = gr.HTML("", elem_id="qa-filter-note")
        turns = gr.State([])
        pending = gr.State("")
        saved = gr.BrowserState(EMPTY_HISTORY, storage_key=HISTORY_KEY, secret=HISTORY_SECRET)
        filters = [source, date_from, date_to]
        _wire(backend, box=box, ask=ask, chatbot=chatbot, status=status, filters=filters,
              note=note, turns=turns, pending=pending, saved=saved, new_chat=new_chat)
        demo.load(_loader(backend), [saved], [chatbot, turns, header], queue=False,
                  api_visibility="private")
        _add_api(backend)
    return demo


def _status(text: str) -> str:
    return f'<p class="qa-problem" role="alert">{html.escape(text)}</p>' if text else ""


def _wire(backend: ChatBackend, *, box: Any, ask: Any, chatbot: Any, status: Any,
          filters: list[Any], note: Any, turns: Any, pending: Any, saved: Any,
          new_chat: Any) -> None:
    """The page's events: ask (typed or an example), filter checks, new chat."""
    import gradio as gr

    def accept(message: str, history: list[dict[str, Any]], *boxes: str) -> tuple[Any, ...]:
        problem = backend.refusal(message)
        if problem is None:
            text, bad = backend.filter_status(*boxes)
            problem = text if bad else None
        if problem:  # the question stays in the box, the reason shows below it
            return gr.update(), gr.update(), _status(problem), ""
        shown = {"role": "user", "content": html.escape(message.strip())}
        return "", [*history, shown], "", message

    def example(event: gr.SelectData, history: list[dict[str, Any]],
                *boxes: str) -> tuple[Any, ...]:
        return accept(str(event.value["text"]), history, *boxes)

    # Gradio passes the clicked example to the parameter annotated SelectData; the annotation
    # must resolve at run time, and gradio is imported here rather than at the module's top.
    example.__annotations__["event"] = gr.SelectData

    def respond(question: str, history: list[dict[str, Any]], remembered: list[dict[str, str]],
                *boxes: str) -> tuple[Any, ...]:
        if not question:
            return gr.update(), gr.update(), gr.update()
        reply = backend.reply(question, remembered, *boxes)
        history = [*history, {"role": "assistant", "content": reply.html}]
        remembered = [*remembered, {"role": "user", "content": question},
                      {"role": "assistant", "content": reply.text}]
        return history, remembered, {"messages": history[-MAX_SAVED_MESSAGES:],
                                     "turns": remembered[-MAX_SAVED_MESSAGES:]}

    def start_over() -> tuple[Any, ...]:
        return [], [], EMPTY_HISTORY, "", ""

    def check_filters(*boxes: str) -> str:
        text, bad = backend.filter_status(*boxes)
        css = "qa-problem" if bad else "qa-ok"
        role = ' role="alert"' if bad else ""
        return f'<p class="{css}"{role}>{html.escape(text)}</p>' if text else ""

    private: dict[str, Any] = {"api_visibility": "private"}
    answer = {"fn": respond, "inputs": [pending, chatbot, turns, *filters],
              "outputs": [chatbot, turns, saved], "show_progress": "minimal", **private}
    checked = [box, chatbot, status, pending]
    for trigger in (box.submit, ask.click):
        trigger(accept, [box, chatbot, *filters], checked, queue=False, **private) \
            .then(**answer).then(None, js=FOCUS_BOX, **private)
    chatbot.example_select(example, [chatbot, *filters], checked, queue=False, **private) \
        .then(**answer).then(None, js=FOCUS_BOX, **private)
    new_chat.click(start_over, None, [chatbot, turns, saved, status, pending], queue=False,
                   **private).then(None, js=FOCUS_BOX, **private)
    for field in filters:
        for event in (field.blur, field.submit):
            event(check_filters, filters, [note], queue=False, **private)


def _loader(backend: ChatBackend) -> Any:
    """On page load: the saved conversation, and the collection as it is now (the index may
    have changed since the page was built)."""
    import gradio as gr

    def load(stored: Any) -> tuple[Any, ...]:
        stored = stored if isinstance(stored, dict) else EMPTY_HISTORY
        messages = [m for m in stored.get("messages", []) if isinstance(m, dict)
                    and m.get("role") in ("user", "assistant")
                    and isinstance(m.get("content"), str)]
        remembered = [t for t in stored.get("turns", []) if isinstance(t, dict)]
        collection = backend.collection()
        examples = [{"text": q} for q in backend.examples()]
        chatbot = gr.Chatbot(value=cast(Any, messages), examples=cast(Any, examples) or None,
                             placeholder=placeholder(collection))
        return chatbot, remembered, header_html(collection)

    return load


def _add_api(backend: ChatBackend) -> None:
    """The endpoints gradio_client sees: `/ask` (clean text) and `/answer` (JSON)."""
    import gradio as gr

    def ask(question: str, source: str = "", date_from: str = "", date_to: str = "") -> str:
        """Answer a question from the documents: the quoted sentences with their [n], then
        one footnote per source (title, date, path)."""
        try:
            return plain_text(backend.answer(question, (), source, date_from, date_to))
        except QAError as err:
            raise gr.Error(str(err)) from None

    def answer(question: str, source: str = "", date_from: str = "",
               date_to: str = "") -> dict[str, Any]:
        """Answer a question from the documents, as the REST API's Answer object: the text,
        whether it abstained, each citation with its passage and character offsets."""
        try:
            return backend.answer(question, (), source, date_from, date_to).to_dict()
        except QAError as err:
            raise gr.Error(str(err)) from None

    gr.api(ask, api_name="ask")
    gr.api(answer, api_name="answer")
