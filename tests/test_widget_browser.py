"""The embeddable widget in headless Chromium, on host pages served from other origins.

One app (chat, API, widget) serves a small index built with the fake embedder: ordinary
documents plus the hostile one from test_browser. Host pages come from two tiny servers on
other 127.0.0.1 ports, that is other origins: one the settings allow (its pages also carry a
strict Content-Security-Policy, which the widget must live with), one they don't. Needs
Debian's Chromium at /usr/bin/chromium (`make browser`). Screenshots go to screenshots/.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import FakeEmbedder, write
from test_api import DOCS, fake_backend, free_port, serve_app
from test_browser import (
    BROWSER_MARKS,
    QUESTION,
    chromium,
    fully_shown,
    hostile_document,
    new_page,
    running_pixel_server,
    screenshot,
)

from qa.config import Settings
from qa.index.builder import index_paths
from qa.web.server import create_app

pytestmark = BROWSER_MARKS

LIGHTHOUSE = ("March 18, 2008\n\nLighthouse keepers of Skellig\n\nThe lighthouse on Skellig "
              "was automated in 1987. Keepers had rowed out every fortnight with supplies.")
LIGHTHOUSE_Q = "When was the lighthouse on Skellig automated?"
LIGHTHOUSE_A = "The lighthouse on Skellig was automated in 1987."
# Tags that document text must never turn into, in the widget's messages.
MARKUP = "script, img, iframe, a, svg, math, object, embed, video, audio, link, style, form"
CSP_SPY = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
           "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


def host_page(app: str, *, launcher: bool = False) -> str:
    mode = ' mode="launcher"' if launcher else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>A host page</title><script src="{app}/widget.js" defer></script></head>
<body><h1>Host page on another origin</h1>
<p>The box below is the qa widget: one script tag and one element.</p>
<qa-chat heading="Ask our archive" width="480px" height="560px"{mode}></qa-chat>
</body></html>"""


@contextlib.contextmanager
def host_server(pages: dict[str, str], csp: str | None) -> Iterator[str]:
    """Serves `pages` (path → HTML) on a free port of 127.0.0.1; yields its origin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app, the beacon, and the allowed and not-allowed host origins."""
    tmp = tmp_path_factory.mktemp("widget")
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    pages = {"/": host_page(app_url), "/launcher": host_page(app_url, launcher=True)}
    strict = (f"default-src 'none'; script-src {app_url}; connect-src {app_url}; "
              "style-src 'none'; img-src 'none'")
    with running_pixel_server() as (pixel, pixel_hits), \
            host_server(pages, strict) as allowed, host_server(pages, None) as other:
        title, text, visible = hostile_document(pixel)
        docs = {**DOCS, "lighthouse.txt": LIGHTHOUSE, "hostile_notes.txt": text}
        fake = FakeEmbedder(max_tokens=512)  # each document is one passage, shown in full
        settings = Settings(index_dir=tmp / "index", model=fake.name, abstain_threshold=0.1,
                            cors_origins=allowed, port=port)
        for name, body in docs.items():
            write(tmp / "docs" / name, body)
        index_paths([tmp / "docs"], settings, embedder=fake)
        backend, _ = fake_backend(settings, fake)
        try:
            with serve_app(create_app(settings, backend), port) as url:
                yield {"app": url, "allowed": allowed, "other": other, "pixel": pixel,
                       "pixel_hits": pixel_hits, "title": title, "visible": visible,
                       "backend": backend}
        finally:
            backend.answerer().retriever.store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, viewport={"width": 1100, "height": 800})
    page.add_init_script(CSP_SPY)
    page.dialogs = []  # an alert() from document text would land here

    def on_dialog(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    try:
        yield page
    finally:
        page.context.close()


def ask(page: Any, question: str) -> Any:
    """Type `question` into the widget and wait for its reply; returns the reply's locator."""
    box = page.locator("qa-chat input")
    box.fill(question)
    box.press("Enter")
    reply = page.locator("qa-chat .msg.bot, qa-chat .msg.error").last
    reply.wait_for(state="visible")
    return reply


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _fetched_only_from(page: Any, *origins: str) -> None:
    elsewhere = [u for u in page.requested if not u.startswith(tuple(o + "/" for o in origins))]
    assert elsewhere == [], f"the page fetched from elsewhere: {elsewhere}"


def test_widget_on_an_allowed_site_answers_and_opens_the_cited_passage(
        site: dict[str, Any], page: Any) -> None:
    page.goto(site["allowed"] + "/")
    reply = ask(page, LIGHTHOUSE_Q)
    assert "msg bot" in reply.get_attribute("class")
    assert _squash(reply.locator(".answer").inner_text()).startswith(f"{LIGHTHOUSE_A} [1]")
    passage = reply.locator(".passage")
    assert not passage.is_visible()

    cite = reply.locator("button.cite").first
    cite.click()
    fully_shown(passage.locator("mark:not(.short)"))
    assert cite.get_attribute("aria-expanded") == "true"
    assert passage.locator(".ptitle").inner_text() == "Lighthouse keepers of Skellig"
    meta = passage.locator(".meta").inner_text()
    assert meta.startswith("2008-03-18 · ") and meta.endswith("lighthouse.txt")
    assert passage.locator("mark:not(.short)").inner_text() == LIGHTHOUSE_A
    assert "Keepers had rowed out" in passage.locator(".ptext").inner_text()
    screenshot(page, "widget.png")

    cite.click()  # a second click closes the passage
    assert not passage.is_visible()
    assert page.evaluate("window.__csp") == []  # styled and working under a strict CSP
    assert page.locator("qa-chat .panel").evaluate(
        "el => getComputedStyle(el).borderTopLeftRadius") == "12px"
    _fetched_only_from(page, site["allowed"], site["app"])


def test_hostile_document_text_shows_as_text_in_the_widget(
        site: dict[str, Any], page: Any) -> None:
    page.goto(site["allowed"] + "/")
    reply = ask(page, QUESTION)
    expected = site["backend"].answerer().ask(QUESTION)
    answer = _squash(reply.locator(".answer").inner_text())
    for c in expected.citations:
        assert f"{_squash(c.highlight)} [{c.n}]" in answer
    assert f"![tracker]({site['pixel']}/pixel.png)" in answer

    reply.locator("button.cite").first.click()
    passage = reply.locator(".passage")
    fully_shown(passage.locator("mark:not(.short)"))
    assert passage.locator(".ptitle").inner_text() == site["title"]
    shown = passage.inner_text()
    for literal in site["visible"]:
        assert literal in shown, f"{literal!r} is not visible as text in:\n{shown}"
    screenshot(page, "widget-hostile-document.png")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == []
    assert site["pixel_hits"] == [], f"document text made the browser fetch {site['pixel_hits']}"
    assert page.locator("qa-chat").evaluate(
        f"el => el.shadowRoot.querySelector('.log').querySelectorAll('{MARKUP}').length") == 0
    assert page.locator("qa-chat").evaluate(
        "el => [...el.shadowRoot.querySelectorAll('.log *')].filter(n => [...n.attributes].some("
        "a => a.name.startsWith('on') || /^(src|href|srcset|style)$/.test(a.name))).length"
    ) == 0
    _fetched_only_from(page, site["allowed"], site["app"])


def test_a_site_that_is_not_allowed_gets_no_answer(site: dict[str, Any], page: Any) -> None:
    page.goto(site["other"] + "/")
    reply = ask(page, LIGHTHOUSE_Q)
    assert "msg error" in reply.get_attribute("class")
    assert "Could not reach the assistant" in reply.inner_text()
    assert page.locator("qa-chat .msg.bot").count() == 0
    call = """url => fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                 body: JSON.stringify({question: 'When was it automated?'})})
                .then(r => r.status, e => e.name)"""
    assert page.evaluate(call, site["app"] + "/api/v1/ask") == "TypeError"  # CORS refused
    page.goto(site["allowed"] + "/")
    assert page.evaluate(call, site["app"] + "/api/v1/ask") == 200


def test_launcher_mode_opens_a_box_from_a_corner_button(site: dict[str, Any],
                                                        page: Any) -> None:
    page.goto(site["allowed"] + "/launcher")
    launcher = page.locator("qa-chat .launcher")
    launcher.wait_for(state="visible")
    assert not page.locator("qa-chat .panel").is_visible()
    launcher.click()
    assert page.locator("qa-chat .panel").is_visible()
    assert page.evaluate("document.activeElement.shadowRoot.activeElement.name") == "question"
    reply = ask(page, LIGHTHOUSE_Q)
    # Defect 7: after an answer the focus is back in the box, ready for the next question.
    focused = "document.activeElement.shadowRoot.activeElement"
    page.wait_for_function(f"{focused} && {focused}.name === 'question'")
    reply.locator("button.cite").first.click()
    fully_shown(reply.locator(".passage mark:not(.short)"))
    screenshot(page, "widget-launcher.png")
    page.locator("qa-chat button.close").click()
    assert not page.locator("qa-chat .panel").is_visible()
    # Defect 7: Esc closes the launcher's box and gives the focus back to its button.
    launcher.click()
    page.locator("qa-chat input").press("Escape")
    assert not page.locator("qa-chat .panel").is_visible()
    assert page.evaluate(f"{focused}.className") == "launcher"
    assert launcher.get_attribute("aria-expanded") == "false"


def test_embed_page_shows_the_snippets_and_a_live_widget(site: dict[str, Any],
                                                         page: Any) -> None:
    page.goto(site["app"] + "/embed")
    snippets = page.locator("pre").all_inner_texts()
    assert f'<script src="{site["app"]}/widget.js" defer></script>' in snippets[0]
    assert f'<iframe src="{site["app"]}/"' in snippets[1]
    reply = ask(page, LIGHTHOUSE_Q)
    assert _squash(reply.inner_text()).startswith(f"{LIGHTHOUSE_A} [1]")
    reply.locator("button.cite").first.click()
    fully_shown(reply.locator(".passage mark:not(.short)"))
    screenshot(page, "embed.png", full_page=True)
    assert page.evaluate("window.__csp") == []
    _fetched_only_from(page, site["app"])

