"""The chat page as a newcomer uses it, in headless Chromium: one test per defect of issue 10.

One app (chat, API, widget, Documents view) serves a small index built with the fake embedder
from a folder at an absolute path (`…/srv/articles/`) that visitors must never see. Its
answerer adds a short answer by hand ("1987" in the lighthouse sentence), so the page's and
the widget's short-answer marks are tested without the answering work that fills them in.
Screenshots of the light, dark and 390 px states go to screenshots/ (git-ignored).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, write
from test_api import DOCS, free_port, serve_app
from test_browser import BROWSER_MARKS, chromium, fully_shown, new_page, screenshot
from test_widget_browser import LIGHTHOUSE, LIGHTHOUSE_Q

from qa.answer.answerer import Answer, Answerer, ShortAnswer
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.index.builder import index_paths
from qa.index.store import IndexStore
from qa.web.server import create_app

pytestmark = BROWSER_MARKS

TOKEN = "s3cret-admin-token"
#: A question whose answer quotes two passages: Zoo news [1] and [2], Giraffe notes [3].
TWO_SOURCES_Q = "What do zebras and giraffes eat: hay or carrots?"
OTTERS = "Otter census\n\nThe otters of the Severn estuary were counted at 312 this spring."
OTTERS_Q = "How many otters were counted in the Severn estuary?"


class ShortAnswering(Answerer):
    """The real answerer, plus a short answer made by hand when the lighthouse sentence is
    quoted: "1987", with its offsets in the document."""

    def ask(self, question: str, **kwargs: Any) -> Answer:
        answer = super().ask(question, **kwargs)
        for c in answer.citations:
            if "1987" in c.highlight:
                at = c.highlight_start + c.highlight.index("1987")
                return dataclasses.replace(answer, short_answer=ShortAnswer("1987", c.n, at,
                                                                            at + 4))
        return answer

    def reloaded(self) -> Answerer:
        fresh = super().reloaded()
        return ShortAnswering(fresh.retriever, fresh.settings)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("chat")
    folder = tmp / "srv" / "articles"
    for name, text in {**DOCS, "lighthouse.txt": LIGHTHOUSE}.items():
        write(folder / name, text)
    fake = FakeEmbedder()
    settings = Settings(index_dir=tmp / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=folder / "uploads",
                        reload_check_seconds=1.0, port=free_port(),
                        # Quote every sentence that adds something, however far below the
                        # best it scores: these tests are about showing several citations.
                        sentence_margin=100.0)
    index_paths([folder], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        store = IndexStore.load(s.index_dir, model=fake.name)
        return ShortAnswering(Retriever(store, fake, s), s)

    holder = AnswererHolder(settings, loader=loader)
    try:
        with serve_app(create_app(settings, holder), settings.port) as url:
            yield {"url": url, "folder": folder, "holder": holder, "settings": settings,
                   "tmp": tmp}
    finally:
        holder.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def open_page(browser: Any, **options: Any) -> Any:
    page = new_page(browser, **{"viewport": {"width": 1366, "height": 900}, **options})
    return page


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = open_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def chat(page: Any, url: str) -> Any:
    """Open the chat and wait until it has loaded what the collection holds."""
    from playwright.sync_api import expect

    page.goto(url + "/")
    box = page.locator("#qa-question textarea")
    box.wait_for(state="visible")
    expect(page.locator(".qa-summary")).not_to_have_text("Loading the collection…")
    return box


def ask(page: Any, question: str) -> Any:
    """Type `question`, press Enter, wait for the reply; returns the reply's locator."""
    from playwright.sync_api import expect

    bots = page.locator('[data-testid="bot"]')
    before = bots.count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(bots).to_have_count(before + 1)
    reply = bots.nth(before)
    reply.locator(".qa-reply").wait_for(state="visible")
    return reply


def contrast(page: Any, locator: Any) -> float:
    """The WCAG contrast ratio of an element's text colour on its own background."""
    return float(locator.evaluate("""el => {
        const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const style = getComputedStyle(el);
        const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }"""))


# 1. Live documents ---------------------------------------------------------------------------


def test_1_documents_view_lists_searches_uploads_and_deletes(app: dict[str, Any],
                                                             browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(browser)
    page.goto(app["url"] + f"/documents#token={TOKEN}")
    rows = page.locator("#list tbody tr")
    expect(rows).to_have_count(5)
    assert page.url == app["url"] + "/documents", "the token leaves the address bar"
    expect(page.locator("#summary")).to_have_text("5 documents.")
    lighthouse = rows.filter(has_text="Lighthouse keepers of Skellig")
    assert [c.strip() for c in lighthouse.locator("td").all_inner_texts()[:4]] == [
        "Lighthouse keepers of Skellig", "2008-03-18", "lighthouse.txt", "1"]
    page.get_by_label("Search by title").fill("light")
    expect(rows).to_have_count(1)
    page.get_by_label("Search by title").fill("")
    expect(rows).to_have_count(5)

    # Drag and drop a file onto the page: progress, then indexed, then answered in the chat.
    page.locator("#drop").evaluate("""(drop, text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], "otters.txt", {type: "text/plain"}));
        drop.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                  cancelable: true}));
    }""", OTTERS)
    item = page.locator("#uploads li").first
    expect(item).to_have_class("done")
    expect(item).to_contain_text("Added: the collection now has 6 documents.")
    assert item.locator("progress").get_attribute("value") == "100"
    expect(rows).to_have_count(6)
    screenshot(page, "documents-admin.png", full_page=True)

    chat_page = open_page(browser)
    chat(chat_page, app["url"])
    assert "312" in ask(chat_page, OTTERS_Q).locator(".qa-text").inner_text()

    page.on("dialog", lambda dialog: dialog.accept())
    otters = rows.filter(has_text="Otter census")
    expect(rows.locator("button.delete")).to_have_count(1)  # only uploads can be deleted
    otters.get_by_role("button", name="Delete “Otter census”").click()
    expect(rows).to_have_count(5)
    assert "could not find" in ask(chat_page, OTTERS_Q).inner_text()

    # A visitor without the token reads the list, and is told how changes are made.
    visitor = open_page(browser, color_scheme="dark")
    visitor.goto(app["url"] + "/documents")
    expect(visitor.locator("#list tbody tr")).to_have_count(5)
    expect(visitor.locator("#locked")).to_be_visible()
    assert not visitor.locator("#add").is_visible()
    assert visitor.locator("button.delete").count() == 0
    screenshot(visitor, "documents-dark.png", full_page=True)
    narrow = open_page(browser, viewport={"width": 390, "height": 844})
    narrow.goto(app["url"] + "/documents")
    expect(narrow.locator("#list tbody tr")).to_have_count(5)
    screenshot(narrow, "documents-390.png", full_page=True)
    for p in (page, chat_page, visitor, narrow):
        p.context.close()


def test_1_a_stale_token_is_forgotten_not_sent_with_every_search(app: dict[str, Any],
                                                                 browser: Any) -> None:
    # A token from an earlier run (each `qa serve` makes a new one) is refused; each refusal
    # counts as a failed attempt and the server locks an address out after
    # `auth_failures_per_minute`, so the page must not send it again with every search.
    from playwright.sync_api import expect

    page = open_page(browser)
    page.goto(app["url"] + "/documents#token=a-token-from-an-earlier-run")
    rows = page.locator("#list tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#locked")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('qa-admin-token')") is None
    for _ in range(app["settings"].auth_failures_per_minute + 2):
        page.get_by_label("Search by title").fill("light")
        expect(rows).to_have_count(1)
        page.get_by_label("Search by title").fill("")
        expect(rows).to_have_count(5)
    expect(page.locator("#problem")).to_have_text("")
    # The right token still works afterwards: the address was never locked out.
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#add")).to_be_visible()
    expect(page.locator("#token-problem")).to_have_text("")
    page.context.close()


# 2. Citations you can follow -----------------------------------------------------------------


def test_2_each_citation_opens_and_scrolls_to_its_own_numbered_mark(app: dict[str, Any],
                                                                    page: Any) -> None:
    from playwright.sync_api import expect

    chat(page, app["url"])
    reply = ask(page, TWO_SOURCES_Q)
    links = reply.locator("a.qa-cite")
    expect(links).to_have_text(["[1]", "[2]", "[3]"])
    sources = reply.locator("details.qa-source")
    expect(sources).to_have_count(2)
    assert sources.nth(0).get_attribute("open") is not None, "the first source is open"
    assert sources.nth(1).get_attribute("open") is None
    # Each sentence has its own mark and number, in the passage it comes from.
    zoo, giraffe = sources.nth(0), sources.nth(1)
    assert zoo.locator("mark.qa-quote").all_text_contents() == [
        "Zebras arrived from Kenya by plane.", "They eat hay and carrots."]
    assert zoo.locator(".qa-n").all_text_contents() == ["[2]", "[1]"]

    links.nth(2).click()  # [3] lives in the closed second source
    target = giraffe.locator("mark.qa-quote").first
    expect(giraffe).to_have_attribute("open", "")
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    assert target.get_attribute("id") == links.nth(2).get_attribute("href")[1:]
    screenshot(page, "chat-citation-followed.png")

    why = giraffe.locator(".qa-why").inner_text()
    assert why.startswith("Why this passage: It contains “giraffes”") and "in meaning" in why
    assert "dense" not in why and "BM25" not in why
    scores = giraffe.locator("details.qa-scores")
    assert not scores.locator("p").is_visible()
    scores.locator("summary").click()
    assert "words (BM25)" in scores.locator("p").inner_text()

    with page.context.expect_page() as opened:
        giraffe.get_by_role("link", name="Open the whole document").click()
    document = opened.value
    quote = document.locator("mark#quote")
    expect(quote).to_have_text("Giraffes in Tanzania eat acacia leaves all day.")
    expect(quote).to_be_in_viewport()
    assert document.locator("h1").inner_text() == "Giraffe notes"
    screenshot(document, "document-page.png")


def test_2_the_short_answer_has_its_own_mark_in_the_chat_and_the_widget(
        app: dict[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    chat(page, app["url"])
    reply = ask(page, LIGHTHOUSE_Q)
    expect(reply.locator(".qa-text mark.qa-short")).to_have_text("1987")
    expect(reply.locator("mark.qa-quote mark.qa-short")).to_have_text("1987")
    assert reply.locator("mark.qa-quote").inner_text() == (
        "The lighthouse on Skellig was automated in 1987.")

    page.goto(app["url"] + "/embed")
    box = page.locator("qa-chat input")
    box.fill(LIGHTHOUSE_Q)
    box.press("Enter")
    answer = page.locator("qa-chat .msg.bot").last
    answer.wait_for(state="visible")
    expect(answer.locator(".answer mark.short")).to_have_text("1987")
    answer.locator("button.cite").first.click()
    fully_shown(answer.locator(".ptext > mark"))
    expect(answer.locator(".passage mark mark.short")).to_have_text("1987")
    screenshot(page, "widget-short-answer.png")


# 3. Readable in the dark ---------------------------------------------------------------------


def test_3_quotes_are_readable_in_a_dark_colour_scheme(app: dict[str, Any],
                                                       browser: Any) -> None:
    page = open_page(browser, color_scheme="dark")
    chat(page, app["url"])
    reply = ask(page, LIGHTHOUSE_Q)
    assert page.evaluate("document.body.classList.contains('dark')")
    for mark in reply.locator("mark").all():
        assert contrast(page, mark) >= 4.5, mark.inner_text()
    assert contrast(page, reply.locator(".qa-text")) >= 4.5
    screenshot(page, "chat-dark.png")
    light = open_page(browser)
    chat(light, app["url"])
    reply = ask(light, LIGHTHOUSE_Q)
    for mark in reply.locator("mark").all():
        assert contrast(light, mark) >= 4.5, mark.inner_text()
    screenshot(light, "chat-light.png")
    page.context.close()
    light.context.close()


# 4. Honest filters ---------------------------------------------------------------------------


def test_4_date_filters_are_read_strictly_and_say_what_they_leave(app: dict[str, Any],
                                                                  page: Any) -> None:
    from playwright.sync_api import expect

    box = chat(page, app["url"])
    page.locator("#qa-filters").get_by_text("Filters").click()
    since = page.get_by_label("Published from")
    until = page.get_by_label("Published until")
    note = page.locator("#qa-filter-note")
    since.fill("March 2008")
    until.fill("2008")
    until.press("Tab")
    expect(note).to_have_text("1 of 5 documents match (published 2008-03-01 to 2008-12-31).")
    since.fill("March 32nd")
    since.press("Tab")
    expect(note.get_by_role("alert")).to_contain_text(
        "Published from: “March 32nd” is not a date; write 2008-03-18, 2008-03, 2008")
    since.fill("2030")
    until.fill("")
    until.press("Tab")
    expect(note).to_have_text("No document matches (published on or after 2030-01-01).")
    screenshot(page, "chat-filters.png")
    # Asking anyway: the question stays in the box and the page says why nothing is searched.
    box.fill("When was the lighthouse on Skellig automated?")
    box.press("Enter")
    expect(page.locator("#qa-status")).to_have_text(
        "No document matches (published on or after 2030-01-01).")
    assert box.input_value() == "When was the lighthouse on Skellig automated?"
    assert page.locator('[data-testid="bot"]').count() == 0
    since.fill("2008-03")
    since.press("Tab")
    # The filter is read when the field is left; wait until the page has taken it in (under
    # load, asking at once could still be refused by the 2030 filter).
    expect(note).not_to_contain_text("2030")
    reply = ask(page, LIGHTHOUSE_Q)
    assert "automated in 1987" in reply.locator(".qa-text").inner_text()


# 5. Clean copies -----------------------------------------------------------------------------


def test_5_copy_gives_plain_text_with_numbers_and_footnotes(app: dict[str, Any],
                                                            browser: Any) -> None:
    page = open_page(browser)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    chat(page, app["url"])
    reply = ask(page, TWO_SOURCES_Q)
    reply.get_by_role("button", name="Copy answer").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    from qa.web.chat import ChatBackend
    from qa.web.render import plain_text

    assert copied == plain_text(ChatBackend(app["holder"]).answer(TWO_SOURCES_Q))
    assert copied.startswith("They eat hay and carrots. [1] Zebras arrived from Kenya by plane. "
                             "[2] Giraffes in Tanzania eat acacia leaves all day. [3]\n\n"
                             "[1] Zoo news")
    for noise in ("\\", "<mark", "```", "Sources", "&"):
        assert noise not in copied
    reply.get_by_role("button", name="Copy as Markdown").click()
    markdown = page.evaluate("navigator.clipboard.readText()")
    assert markdown.startswith("They eat hay and carrots. [^1]")
    assert '[^3]: Giraffe notes (no date), giraffe.md: "Giraffes in Tanzania' in markdown
    page.context.close()


# 6. Paths stay private -----------------------------------------------------------------------


def test_6_no_absolute_server_path_reaches_a_visitor(app: dict[str, Any], browser: Any) -> None:
    secret = str(app["tmp"])
    page = open_page(browser)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    chat(page, app["url"])
    reply = ask(page, LIGHTHOUSE_Q)
    assert "lighthouse.txt" in reply.locator("details.qa-source > summary").inner_text()
    reply.get_by_role("button", name="Copy answer").click()
    seen = [page.content(), page.evaluate("navigator.clipboard.readText()")]
    reply.get_by_role("button", name="Copy as Markdown").click()
    seen.append(page.evaluate("navigator.clipboard.readText()"))
    page.goto(app["url"] + "/embed")
    box = page.locator("qa-chat input")
    box.fill(LIGHTHOUSE_Q)
    box.press("Enter")
    widget_reply = page.locator("qa-chat .msg.bot").last
    widget_reply.wait_for(state="visible")
    widget_reply.locator("button.cite").first.click()
    meta = widget_reply.locator(".passage .meta").inner_text()
    assert meta == "2008-03-18 · lighthouse.txt"
    seen.append(page.locator("qa-chat").evaluate("el => el.shadowRoot.innerHTML"))
    for path in ("/api/v1/documents", "/api/v1/health"):
        seen.append(page.request.get(app["url"] + path).text())
    seen.append(page.request.post(app["url"] + "/api/v1/ask",
                                  data={"question": LIGHTHOUSE_Q}).text())
    page.goto(app["url"] + "/documents")
    page.locator("#list tbody tr").first.wait_for()
    seen.append(page.content())
    for text in seen:
        assert secret not in text
    page.context.close()


# 7. A welcoming first screen, and the keyboard ------------------------------------------------


def test_7_first_screen_says_what_is_there_and_examples_ask(app: dict[str, Any],
                                                            browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(browser)
    box = chat(page, app["url"])
    expect(page.locator(".qa-summary")).to_have_text("5 documents, dated 2008-03-18 to 2020-05-01")
    assert box.get_attribute("placeholder") == "Ask a question about the documents…"
    example = page.get_by_role("button", name=re.compile(r"Select example 1: What happened in"))
    expect(example).to_be_in_viewport()
    screenshot(page, "chat-first-screen.png")
    example.click()  # one click asks
    reply = page.locator('[data-testid="bot"]').first
    reply.locator(".qa-reply").wait_for(state="visible")
    expect(page.locator('[data-testid="user"]').first).to_contain_text("What happened in")
    expect(box).to_be_focused()
    page.context.close()


def test_7_keyboard_only_and_a_narrow_screen(app: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, viewport={"width": 390, "height": 844})
    box = chat(page, app["url"])
    screenshot(page, "chat-390-first-screen.png")
    for name in ("Ask", "New chat"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    box.focus()
    page.keyboard.type(LIGHTHOUSE_Q)
    page.keyboard.press("Enter")  # Enter sends
    first = page.locator('[data-testid="user"]').first
    page.locator('[data-testid="bot"] .qa-reply').first.wait_for(state="visible")
    expect(box).to_be_focused()  # back in the box, ready for the next question
    # Nothing covers the first message (the "Answers" label used to at 390 px).
    first.scroll_into_view_if_needed()
    covered = first.evaluate("""el => {
        const r = el.getBoundingClientRect();
        const points = [[r.left + 8, r.top + 8], [r.right - 8, r.top + 8]];
        return points.filter(([x, y]) => !el.contains(document.elementFromPoint(x, y))).length;
    }""")
    assert covered == 0
    screenshot(page, "chat-390.png")
    page.context.close()


# 8. Questions, and history across reloads -----------------------------------------------------


def test_8_bad_questions_stay_in_the_box_and_history_survives_a_reload(app: dict[str, Any],
                                                                       page: Any) -> None:
    from playwright.sync_api import expect

    box = chat(page, app["url"])
    box.press("Enter")
    expect(page.locator("#qa-status")).to_have_text("Type a question first.")
    long = "Why " * 625  # 2,500 characters
    box.fill(long)
    box.press("Enter")
    expect(page.locator("#qa-status")).to_have_text(
        "The question is 2,500 characters long; the limit is 2,000. Please shorten it.")
    assert box.input_value() == long, "the question is kept, to be shortened"
    assert page.locator('[data-testid="user"], [data-testid="bot"]').count() == 0

    ask(page, LIGHTHOUSE_Q)
    expect(page.locator("#qa-status")).to_have_text("")
    page.reload()
    chat_log = page.locator('[data-testid="bot"] .qa-text')
    expect(chat_log).to_have_count(1)
    assert "automated in 1987" in chat_log.inner_text()
    # The conversation goes on after the reload: a follow-up knows what it was about.
    follow = ask(page, "And the keepers?")
    assert "Searched for:" in follow.inner_text()
    page.get_by_role("button", name="New chat").click()
    expect(page.locator('[data-testid="bot"]')).to_have_count(0)
    expect(page.locator("#qa-question textarea")).to_be_focused()
    page.reload()
    page.locator("#qa-question textarea").wait_for()
    page.wait_for_timeout(500)
    assert page.locator('[data-testid="bot"]').count() == 0


# 9. The API reference ------------------------------------------------------------------------


def test_9_api_docs_are_readable_offline(app: dict[str, Any], page: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(app["url"] + "/api/v1/docs")
    assert page.locator("h1").inner_text() == "qa API v1"
    ask_section = page.locator("#post-ask")
    assert "POST /api/v1/ask" in ask_section.inner_text()
    assert page.locator("#type-Citation + p + div table tbody tr").count() >= 12
    assert "`" not in page.locator("main > p").first.inner_text()
    assert all(u.startswith(app["url"]) for u in requested), requested
    screenshot(page, "api-docs.png")


def test_screenshots_for_the_readme(app: dict[str, Any], browser: Any) -> None:
    """docs/chat.png and docs/widget.png, shown in the README, are taken here."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    docs.mkdir(exist_ok=True)
    page = open_page(browser, viewport={"width": 1100, "height": 760})
    chat(page, app["url"])
    ask(page, TWO_SOURCES_Q)
    page.screenshot(path=str(docs / "chat.png"))
    page.goto(app["url"] + "/embed")
    box = page.locator("qa-chat input")
    box.fill(LIGHTHOUSE_Q)
    box.press("Enter")
    answer = page.locator("qa-chat .msg.bot").last
    answer.wait_for(state="visible")
    answer.locator("button.cite").first.click()
    fully_shown(answer.locator(".ptext > mark"))
    page.locator("qa-chat").screenshot(path=str(docs / "widget.png"))
    page.context.close()
    assert (docs / "chat.png").stat().st_size > 10_000
