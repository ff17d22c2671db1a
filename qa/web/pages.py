"""The pages beside the chat: the Documents view, one document's page, and their static files.

- `/documents`: the collection (title, date, source, passages), search by title, and — for
  whoever has the admin token (`qa.web.access`) — upload by drag and drop with progress, and
  delete. A static page; `static/documents.js` drives it through the REST API.
- `/documents/{doc_id}?from=…&to=…`: the whole stored text of one document, the quoted
  sentence marked in place and scrolled to, with page headings for a PDF. Rendered here, every
  piece of document text escaped.
- `/ui/…`: the chat page's script and style sheet, and the pages' own.

Every page is served under a Content-Security-Policy that allows only this server's own
scripts, styles and API: document text can't load or run anything.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from typing import Any

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import QAError
from ..ingest import Document
from .sources import names_for

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self'; base-uri 'none'; form-action 'none'")
#: The static files served under /ui/, and their types.
ASSETS = {"chat.js": "text/javascript", "chat.css": "text/css",
          "documents.js": "text/javascript", "pages.css": "text/css"}


def static_text(name: str) -> str:
    """A file of `qa/web/static/`."""
    return (files("qa.web") / "static" / name).read_text(encoding="utf-8")


#: What the chat page adds to its `<head>`: its script, and the one rule Gradio's `css` can't
#: hold (Gradio scopes that sheet inside its container, and the page padding is outside it).
CHAT_HEAD = ("<style>@media (max-width: 480px) { .gradio-container .main.app "
             "{ padding: 8px !important; } }</style>"
             '<script src="ui/chat.js" defer></script>')


def chat_css() -> str:
    """The chat page's own style sheet, given to Gradio (which scopes it to the app)."""
    return static_text("chat.css")


def add_pages(app: Any, settings: Settings, holder: AnswererHolder) -> None:
    """Mount the Documents view, the document pages and /ui/ on `app` (before the chat)."""
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response

    assets = {name: static_text(name) for name in ASSETS}
    documents_page = static_text("documents.html")

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(assets[name], media_type=f"{ASSETS[name]}; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    def documents(_request: Request) -> HTMLResponse:
        return HTMLResponse(documents_page, headers={"Content-Security-Policy": PAGE_CSP})

    def document(request: Request) -> HTMLResponse:
        doc_id = request.path_params["doc_id"]
        try:
            with holder.lease() as answerer:
                store = answerer.retriever.store
                doc = store.catalog.document(doc_id)
                source = names_for(store, settings).show(doc.source)
                passages = len(store.catalog.passages_of(doc_id))
        except KeyError:
            return _page_response(_message_page("No such document",
                                                "This document is not in the index (any more)."),
                                  404)
        except QAError as err:
            return _page_response(_message_page("The index is unavailable", str(err)), 503)
        span = _span(request.query_params.get("from"), request.query_params.get("to"),
                     len(doc.text))
        return _page_response(document_html(doc, source=source, passages=passages, quote=span))

    app.add_route("/ui/{name}", asset, methods=["GET"], include_in_schema=False)
    app.add_route("/documents", documents, methods=["GET"], include_in_schema=False)
    app.add_route("/documents/{doc_id}", document, methods=["GET"], include_in_schema=False)


def _page_response(body: str, status: int = 200) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(body, status_code=status,
                        headers={"Content-Security-Policy": PAGE_CSP})


def _span(start: str | None, end: str | None, length: int) -> tuple[int, int] | None:
    """The quote's character offsets, when they are two numbers inside the text."""
    if not (start and end and start.isdigit() and end.isdigit()):
        return None
    a, b = int(start), int(end)
    return (a, b) if 0 <= a < b <= length else None


def _shell(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="../ui/pages.css">'
            f'</head><body><main>{body}</main></body></html>')


def _message_page(title: str, text: str) -> str:
    return _shell(title, f'<p><a href="../">← Back to the chat</a></p><h1>{escape(title)}'
                         f'</h1><p>{escape(text)}</p>')


def document_html(doc: Document, *, source: str, passages: int,
                  quote: tuple[int, int] | None) -> str:
    """One document's page: title, facts, then the whole text with the quote marked."""
    facts = [doc.date or "no date"] + ([source] if source else [])
    facts.append(f"{passages} passage{'s' * (passages != 1)}")
    if doc.page_starts:
        facts.append(f"{len(doc.page_starts)} pages")
    where = ""
    if quote and doc.page_starts:
        where = f' <a href="#quote">The quote is on page {doc.page_at(quote[0])}.</a>'
    elif quote:
        where = ' <a href="#quote">Go to the quote.</a>'
    head = (f'<p><a href="../">← Back to the chat</a> · <a href="../documents">All documents'
            f'</a></p><h1>{escape(doc.title)}</h1><p class="facts">'
            f'{escape(" · ".join(facts))}.{where}</p>')
    return _shell(doc.title, head + f'<article class="doc-text">{_text_html(doc, quote)}'
                                    "</article>")


def _text_html(doc: Document, quote: tuple[int, int] | None) -> str:
    """The text, escaped, with page headings (PDF) and the quote in a mark."""
    cuts = {start: f'<h2 class="page" id="page-{n}">Page {n}</h2>'
            for n, start in enumerate(doc.page_starts, 1)}
    if quote:
        cuts.setdefault(quote[0], "")
        cuts.setdefault(quote[1], "")
    out, cursor, open_mark = [], 0, False
    for at in sorted(c for c in cuts if 0 <= c <= len(doc.text)):
        out.append(escape(doc.text[cursor:at]))
        if open_mark:
            out.append("</mark>")
        out.append(cuts[at])
        if quote and at == quote[0]:
            out.append('<mark id="quote" tabindex="-1">')
            open_mark = True
        elif quote and at == quote[1]:
            open_mark = False
        elif open_mark:
            out.append('<mark tabindex="-1">')  # the quote goes on across a page break
        cursor = at
    out.append(escape(doc.text[cursor:]))
    if open_mark:
        out.append("</mark>")
    return "".join(out)
