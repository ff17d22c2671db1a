"""The real chat page in headless Chromium: document text shows as the characters it is.

A document full of hostile text (script tags, HTML images with `onerror`, a Markdown image
pointing at a local "tracking pixel" server, a `javascript:` link, `$$…$$` math, bold in
Markdown and HTML) is indexed with the fake embedder and served by the real app. The test asks
a question in the browser, opens the sources, and checks that nothing ran, nothing was loaded,
no markup came from the document, the characters are visible as text, and the quoted sentence
is inside `<mark>`. Needs Debian's Chromium at /usr/bin/chromium (`make browser`).
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, write

from qa.answer import Answer, Answerer
from qa.config import Settings
from qa.indexer import index_paths
from qa.retrieval import Retriever
from qa.server import create_app
from qa.store import IndexStore
from qa.ui import ChatBackend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "Where did the zebra pineapple tracker hide in the text?"
SCREENSHOT = Path("/tmp/chat.png")
TIMEOUT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium is not installed at /usr/bin/chromium (run `make browser` as root, "
               "or `apt-get install chromium`)",
    ),
]

# A 1x1 transparent GIF, so a request that did get through would also "succeed".
_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000"
                     "010001000002024401003b")


def hostile_document(pixel: str) -> tuple[str, str, list[str]]:
    """(title, file text, strings that must be visible verbatim in the chat)."""
    title = f"Zebra report <img src={pixel}/title.png> **not bold**"
    sentences = [
        "The zebra pineapple alarm said <script>window.__pwned=1</script> twice",
        f'A zebra pineapple image <img src=x onerror="window.__pwned=2"> and '
        f'<img src="{pixel}/img.png"> was attached',
        f"The zebra pineapple tracker ![tracker]({pixel}/pixel.png) hid in the text",
        f"A zebra pineapple frame <iframe src=\"{pixel}/frame.html\"></iframe> sat there",
        "The zebra pineapple formula $$x^2$$ was written as math",
        "The zebra pineapple notes had **bold** and <b>bold</b> and _slanted_ words",
        "A zebra pineapple link [link](javascript:alert(1)) asked to be clicked",
        f"The zebra pineapple autolink <{pixel}/auto> and `zebra code` stayed put",
    ]
    text = title + "\n\n" + ". ".join(sentences) + ".\n\n# Zebra pineapple heading\n"
    visible = [
        "<script>window.__pwned=1</script>",
        'onerror="window.__pwned=2"',
        f"![tracker]({pixel}/pixel.png)",
        f'<iframe src="{pixel}/frame.html"></iframe>',
        "$$x^2$$",
        "**bold**",
        "<b>bold</b>",
        "_slanted_",
        "[link](javascript:alert(1))",
        f"<{pixel}/auto>",
        "`zebra code`",
        "# Zebra pineapple heading",
        "**not bold**",
    ]
    return title, text, visible


class _PixelHandler(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(_GIF)))
        self.end_headers()
        self.wfile.write(_GIF)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pixel_server() -> Iterator[tuple[str, list[str]]]:
    """A local server that records every request: (base URL, list of requested paths)."""
    hits: list[str] = []
    handler = type("Pixel", (_PixelHandler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chat_server(tmp_path: Path, pixel_server: tuple[str, list[str]]) -> Iterator[dict[str, Any]]:
    """The real app over an index of the hostile document, served by uvicorn in a thread."""
    import uvicorn

    pixel, _ = pixel_server
    title, text, visible = hostile_document(pixel)
    write(tmp_path / "docs" / "hostile_notes.txt", text)
    port = _free_port()
    settings = Settings(index_dir=tmp_path / "index", model="fake-bow", abstain_threshold=-1.0,
                        port=port)
    fake = FakeEmbedder(max_tokens=512)  # the whole document is one passage, shown in full
    index_paths([tmp_path / "docs"], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model="fake-bow"), fake, s), s)

    backend = ChatBackend(settings, loader=loader)
    expected = backend.answerer().ask(QUESTION)
    assert not expected.abstained and expected.citations

    app = create_app(settings, backend)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the chat server did not start")
        time.sleep(0.05)
    try:
        yield {"url": url, "title": title, "visible": visible, "expected": expected}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        backend.answerer().retriever.store.close()


@pytest.fixture
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_document_text_never_renders_as_markup(
    pixel_server: tuple[str, list[str]], chat_server: dict[str, Any], page: Any
) -> None:
    # The page fixture comes last so the browser closes (ending Gradio's event streams) before
    # the server is asked to stop.
    pixel, pixel_hits = pixel_server
    expected: Answer = chat_server["expected"]
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    def on_dialog(dialog: Any) -> None:  # an alert() from document text would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    page.goto(chat_server["url"])
    box = page.get_by_test_id("textbox")
    box.wait_for(state="visible")
    box.fill(QUESTION)
    box.press("Enter")

    bot = page.get_by_test_id("bot")
    answer = bot.filter(has_text="[1]").first
    answer.wait_for(state="visible")
    sources_title = page.locator(".thought-group .title").filter(has_text="Sources (")
    sources_title.wait_for(state="visible")
    sources_title.click()
    marks = page.locator('[data-testid="bot"] mark')
    marks.first.wait_for(state="visible")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Nothing ran, nothing was loaded: no element points at the pixel server, the browser asked
    # only the app for anything, and the pixel server heard nothing.
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert dialogs == []
    pointing = page.evaluate(
        """origin => [...document.querySelectorAll('*')].flatMap(el =>
            ['src', 'href', 'srcset', 'poster', 'data', 'action', 'formaction', 'background',
             'xlink:href', 'style']
            .map(a => el.getAttribute(a)).filter(v => v && v.includes(origin))
            .map(v => el.tagName + ' ' + v))""",
        pixel,
    )
    assert pointing == []
    resources = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)")
    app_origin = chat_server["url"].rstrip("/")
    elsewhere = [u for u in [*requests, *resources]
                 if not u.startswith((app_origin + "/", "data:", "blob:"))]
    assert elsewhere == [], f"the page fetched from outside the app: {elsewhere}"
    assert pixel_hits == [], f"document text made the browser fetch {pixel_hits}"

    # No markup from the document inside the chat messages. The only markup the app writes is
    # the bold "[n] title" header, the blockquote, <mark>, <br>, <p> and <hr> between sources.
    counts = page.evaluate(
        """() => {
            const msgs = [...document.querySelectorAll('[data-testid="bot"]')];
            const n = sel => msgs.reduce((k, m) => k + m.querySelectorAll(sel).length, 0);
            return {
                script: n('script'), img: n('img'), iframe: n('iframe'), a: n('a'),
                b: n('b'), em: n('em, i'), code: n('code, pre'), math: n('math'),
                katex: n('.katex, .katex-display, .math'), heading: n('h1, h2, h3, h4, h5, h6'),
                list: n('ul, ol, li'), table: n('table'),
                jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
                onerror: document.querySelectorAll('[onerror]').length,
            };
        }"""
    )
    assert counts == {
        "script": 0, "img": 0, "iframe": 0, "a": 0, "b": 0, "em": 0, "code": 0, "math": 0,
        "katex": 0, "heading": 0, "list": 0, "table": 0, "jsLinks": 0, "onerror": 0,
    }
    strong = [_squash(t) for t in page.locator('[data-testid="bot"] strong').all_inner_texts()]
    assert strong == [f"[{c.n}] {_squash(chat_server['title'])}" for c in expected.citations]

    # The characters are there, as text: in the answer and in the opened sources.
    chat_text = page.locator('[role="log"]').inner_text()
    for literal in chat_server["visible"]:
        assert literal in chat_text, f"{literal!r} is not visible as text in:\n{chat_text}"
    assert "&lt;" not in chat_text and "&amp;" not in chat_text and "\\" not in chat_text
    answer_text = _squash(answer.inner_text())
    for c in expected.citations:
        assert f"{_squash(c.highlight)} [{c.n}]" in answer_text
    assert f"![tracker]({pixel}/pixel.png)" in answer_text  # the question picks the image

    # Each quoted sentence is marked, exactly, in its source passage.
    marked = [_squash(t) for t in marks.all_inner_texts()]
    assert marked == [_squash(c.highlight) for c in expected.citations]
