"""An accessibility audit with axe-core (from the axe-playwright-python package) of every page a
visitor meets — the chat with an answer open, the Documents view (as its admin sees it and as a
visitor does), /embed, and the widget on a host page, open from its launcher — in the light and
the dark colour scheme. No violation of serious or critical impact is allowed; the others are
printed (pytest -s shows them)."""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import BROWSER_MARKS
from test_chat_browser import LIGHTHOUSE_Q, TOKEN, TWO_SOURCES_Q, app, ask, browser, chat, open_page
from test_widget_browser import host_page

pytestmark = BROWSER_MARKS
__all__ = ["app", "browser"]  # fixtures, used by name

SCHEMES = ["light", "dark"]


def audit(page: Any, label: str) -> list[str]:
    """axe's violations on the page as it is now: the serious and critical ones, as lines."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    page.wait_for_timeout(500)  # let transitions (Gradio's theme, opening panels) settle
    result = axe.Axe().run(page)
    found = []
    for v in result.response["violations"]:
        where = ", ".join(str(n["target"]) for n in v["nodes"][:3])
        line = f"{label}: {v['impact']} {v['id']} ({v['help']}) at {where}"
        print(line)
        if v["impact"] in ("serious", "critical"):
            found.append(line)
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_chat_with_an_answer_has_no_serious_violation(app: dict[str, Any], browser: Any,
                                                          scheme: str) -> None:
    page = open_page(browser, color_scheme=scheme)
    chat(page, app["url"])
    assert audit(page, f"/ first screen ({scheme})") == []
    ask(page, TWO_SOURCES_Q)
    page.locator("#qa-filters").get_by_text("Filters").click()
    assert audit(page, f"/ with an answer ({scheme})") == []
    page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_documents_view_has_no_serious_violation(app: dict[str, Any], browser: Any,
                                                     scheme: str) -> None:
    admin = open_page(browser, color_scheme=scheme)
    admin.goto(app["url"] + f"/documents#token={TOKEN}")
    admin.locator("#list tbody tr").first.wait_for()
    admin.locator("#add").wait_for()
    visitor = open_page(browser, color_scheme=scheme)
    visitor.goto(app["url"] + "/documents")
    visitor.locator("#locked").wait_for()
    document = open_page(browser, color_scheme=scheme)
    document.goto(app["url"] + "/documents")
    document.locator("#list tbody tr a").first.click()
    document.locator("h1").wait_for()
    assert audit(admin, f"/documents admin ({scheme})") + \
        audit(visitor, f"/documents visitor ({scheme})") + \
        audit(document, f"a document ({scheme})") == []
    for page in (admin, visitor, document):
        page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_embed_and_the_widget_have_no_serious_violation(app: dict[str, Any], browser: Any,
                                                        scheme: str) -> None:
    page = open_page(browser, color_scheme=scheme)
    page.goto(app["url"] + "/embed")
    box = page.locator("qa-chat input")
    box.fill(LIGHTHOUSE_Q)
    box.press("Enter")
    reply = page.locator("qa-chat .msg.bot").last
    reply.wait_for(state="visible")
    reply.locator("button.cite").first.click()
    found = audit(page, f"/embed with an answer ({scheme})")
    # The launcher on a host page (served by the app itself, so no CORS set-up is needed).
    page.route(app["url"] + "/host", lambda route: route.fulfill(
        content_type="text/html", body=host_page(app["url"], launcher=True)))
    page.goto(app["url"] + "/host")
    page.locator("qa-chat .launcher").click()
    page.locator("qa-chat input").wait_for(state="visible")
    found += audit(page, f"widget launcher open ({scheme})")
    assert found == []
    page.context.close()
