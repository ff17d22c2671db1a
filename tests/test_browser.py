"""The real chat page in headless Chromium: it answers about the seed article with the real
model, and document text shows as the characters it is.

A document full of hostile text (script tags, HTML images with `onerror`, a Markdown image
pointing at a local "tracking pixel" server, a `javascript:` link, `$$…$$` math, bold in
Markdown and HTML) is indexed with the fake embedder and served by the real app. The test asks
a question in the browser, opens the sources, and checks that nothing ran, nothing was loaded,
no markup came from the document, the characters are visible as text, and the quoted sentence
is inside `<mark>`. Needs Debian's Chromium at /usr/bin/chromium (`make browser`).
Screenshots go to screenshots/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEEDS, FakeEmbedder, write
from test_api import free_port, serve_app

from qa.answer.answerer import Answer, Answerer
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import BUNDLED_MODEL, Settings
from qa.index.builder import index_paths
from qa.index.store import IndexStore
from qa.web.server import create_app

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
SEED_QUESTION = "Where does the US want to put its missile defence system?"
SCREENSHOTS = ROOT / "screenshots"
TIMEOUT_MS = 20_000

#: Every browser test: marked, and skipped with the install command where Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium is not installed at /usr/bin/chromium (run `make browser` as root, "
               "or `apt-get install chromium`)",
    ),
]
pytestmark = BROWSER_MARKS

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
        f"The zebra pineapple sum $$<img src={pixel}/math.png>$$ was math with an image",
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
        f"$$<img src={pixel}/math.png>$$",
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


@contextlib.contextmanager
def running_pixel_server() -> Iterator[tuple[str, list[str]]]:
    """A local "beacon" that records every request: (base URL, list of requested paths)."""
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


@pytest.fixture
def pixel_server() -> Iterator[tuple[str, list[str]]]:
    with running_pixel_server() as server:
        yield server


@pytest.fixture
def chat_server(tmp_path: Path, pixel_server: tuple[str, list[str]]) -> Iterator[dict[str, Any]]:
    """The real app over an index of the hostile document, served by uvicorn in a thread."""
    pixel, _ = pixel_server
    title, text, visible = hostile_document(pixel)
    write(tmp_path / "docs" / "hostile_notes.txt", text)
    port = free_port()
    settings = Settings(index_dir=tmp_path / "index", model="fake-bow", abstain_threshold=-1.0,
                        port=port)
    fake = FakeEmbedder(max_tokens=512)  # the whole document is one passage, shown in full
    index_paths([tmp_path / "docs"], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model="fake-bow"), fake, s), s)

    backend = AnswererHolder(settings, loader=loader)
    expected = backend.answerer().ask(QUESTION)
    assert not expected.abstained and expected.citations

    try:
        with serve_app(create_app(settings, backend), port) as url:
            yield {"url": url + "/", "title": title, "visible": visible, "expected": expected}
    finally:
        backend.answerer().retriever.store.close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, **options: Any) -> Any:
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 1000}, **options})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def fully_shown(locator: Any) -> None:
    """Wait until `locator` is wholly in view: not clipped by an opening animation."""
    from playwright.sync_api import expect

    locator.scroll_into_view_if_needed()
    expect(locator).to_be_in_viewport(ratio=1.0)


def screenshot(page: Any, name: str, **options: Any) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), **options)


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium() as browser:
        yield new_page(browser)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def seed_chat(tmp_path: Path, real_model: Any) -> Iterator[str]:
    """The real app over the seed article, indexed and answered with the real model."""
    settings = Settings(index_dir=tmp_path / "index", model=BUNDLED_MODEL)
    index_paths([SEEDS], settings, embedder=real_model)

    def loader(s: Settings) -> Answerer:
        store = IndexStore.load(s.index_dir, model=real_model.name)
        return Answerer(Retriever(store, real_model, s), s)

    backend = AnswererHolder(settings, loader=loader)
    try:
        with serve_app(create_app(settings, backend), free_port()) as url:
            yield url + "/"
    finally:
        backend.answerer().retriever.store.close()


@pytest.mark.model
def test_chat_answers_about_the_seed_article(seed_chat: str, page: Any) -> None:
    page.goto(seed_chat)
    box = page.locator("#qa-question textarea")
    box.fill(SEED_QUESTION)
    box.press("Enter")
    answer = page.locator('[data-testid="bot"] .qa-text').first
    answer.wait_for(state="visible")
    marks = page.locator('[data-testid="bot"] mark.qa-quote')
    fully_shown(marks.first)
    screenshot(page, "chat.png")

    assert "Poland" in answer.inner_text()
    passages = page.locator('[data-testid="bot"] blockquote').all_inner_texts()
    assert any("Poland and the Czech Republic" in _squash(p) for p in passages), passages
    title = page.locator('[data-testid="bot"] details.qa-source summary').first.inner_text()
    assert title.startswith("[1]") and "missile" in title


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
    box = page.locator("#qa-question textarea")
    box.wait_for(state="visible")
    box.fill(QUESTION)
    box.press("Enter")

    answer = page.locator('[data-testid="bot"] .qa-text').first
    answer.wait_for(state="visible")
    marks = page.locator('[data-testid="bot"] mark.qa-quote')
    marks.first.wait_for(state="visible")
    fully_shown(marks.first)
    screenshot(page, "chat-hostile-document.png", full_page=True)

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

    # No markup from the document inside the chat messages. The only markup there is the
    # reply's own: paragraphs, links to [n] and to the document, details, marks, the copy
    # buttons and their (hidden) texts.
    counts = page.evaluate(
        """() => {
            const msgs = [...document.querySelectorAll('[data-testid="bot"]')];
            const n = sel => msgs.reduce((k, m) => k + m.querySelectorAll(sel).length, 0);
            const links = msgs.flatMap(m => [...m.querySelectorAll('a')]);
            return {
                script: n('script'), img: n('img'), iframe: n('iframe'), b: n('b'),
                em: n('em, i'), code: n('code'), math: n('math'),
                katex: n('.katex, .katex-display, .math'), heading: n('h1, h2, h3, h4, h5, h6'),
                list: n('ul, ol, li'), table: n('table'),
                foreignLinks: links.filter(a => !/^(#qa-|documents[/])/.test(
                    a.getAttribute('href') || '')).length,
                jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
                onerror: document.querySelectorAll('[onerror]').length,
            };
        }"""
    )
    assert counts == {
        "script": 0, "img": 0, "iframe": 0, "b": 0, "em": 0, "code": 0, "math": 0,
        "katex": 0, "heading": 0, "list": 0, "table": 0, "foreignLinks": 0, "jsLinks": 0,
        "onerror": 0,
    }
    # One source per cited passage, its summary naming every citation of it: "[1] [2] title".
    groups: dict[tuple[str, int], list[int]] = {}
    for c in expected.citations:
        groups.setdefault((c.doc_id, c.passage_start), []).append(c.n)
    summaries = [_squash(t) for t in page.locator(
        '[data-testid="bot"] details.qa-source > summary').all_inner_texts()]
    assert [s.split(" 20")[0].split(" no date")[0] for s in summaries] == [
        " ".join(f"[{n}]" for n in ns) + f" {_squash(chat_server['title'])}"
        for ns in groups.values()]

    # The characters are there, as text: in the answer and in the opened sources (read without
    # the [n] that follows each marked sentence, which may sit inside a document's "<tag>").
    chat_text = page.evaluate("""() => {
        const hide = document.createElement('style');
        hide.textContent = '.qa-n { display: none !important; }';
        document.head.append(hide);
        const text = document.querySelector('[role="log"]').innerText;
        hide.remove();
        return text;
    }""")
    for literal in chat_server["visible"]:
        assert literal in chat_text, f"{literal!r} is not visible as text in:\n{chat_text}"
    assert "&lt;" not in chat_text and "&amp;" not in chat_text and "\\" not in chat_text
    answer_text = _squash(answer.inner_text())
    for c in expected.citations:
        assert f"{_squash(c.highlight)} [{c.n}]" in answer_text
    assert f"![tracker]({pixel}/pixel.png)" in answer_text  # the question picks the image

    # Each quoted sentence is marked, exactly, in its source passage, and numbered.
    marked = [_squash(t) for t in marks.all_inner_texts()]
    first_n = {key: ns[0] for key, ns in groups.items()}
    in_passage_order = sorted(expected.citations, key=lambda c: (
        first_n[(c.doc_id, c.passage_start)], c.highlight_start))
    assert marked == [_squash(c.highlight) for c in in_passage_order]
    numbers = page.locator('[data-testid="bot"] mark.qa-quote + .qa-n').all_inner_texts()
    assert numbers == [f"[{c.n}]" for c in in_passage_order]
