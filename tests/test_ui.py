"""The chat's work without a server: replies as HTML (escaped, numbered, linked), clean copies,
short answers, why in plain words, strict filters, public paths, the first screen's data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa.answer.answerer import Answer, Answerer, Citation, ShortAnswer
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.errors import IndexMissingError, InvalidFilterError
from qa.index.builder import index_paths
from qa.index.store import IndexStore
from qa.web.chat import ChatBackend
from qa.web.filters import read_bound, read_filters
from qa.web.render import answer_markdown, plain_text, reply_html
from qa.web.sources import SourceNames
from qa.web.why import explain, plain_words

HOSTILE = (
    "Zebra pineapple <script>alert(1)</script> and <img src=x onerror=alert(2)> plus "
    "![tracker](http://127.0.0.1:9/p.png) and $$x^2$$ and **bold** and [link](javascript:x)."
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "srv" / "articles" / "zoo.txt",
          f"May 1, 2020\n\nZoo <news>\n\nZebras arrived from Kenya by boat. {HOSTILE}")
    write(tmp_path / "srv" / "articles" / "2021" / "tax.txt",
          "March 3, 2021\n\nTax rules\n\nForms are due in April.")
    return tmp_path / "srv" / "articles"


@pytest.fixture
def backend(tmp_path: Path, folder: Path, fake: FakeEmbedder) -> ChatBackend:
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.1)
    index_paths([folder], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    return ChatBackend(AnswererHolder(settings, loader=loader))


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def cite(n: int, start: int, end: int, passage: str = "First one. Second one. Third one.",
         offset: int = 100, doc: str = "d", source: str = "/srv/secret/notes.txt") -> Citation:
    return Citation(n, doc, "T", "2008-03-18", source, passage, offset, offset + len(passage),
                    offset + start, offset + end, None,
                    {"dense": 0.5, "dense_rank": 1, "bm25": 1.0, "bm25_rank": 2, "fused": 0.1,
                     "fused_rank": 1})


# Replies ------------------------------------------------------------------------------------


def test_each_citation_is_a_link_to_its_own_numbered_mark() -> None:
    # Defect 2: "[1] [2] [3]" under one header and the same yellow for every sentence.
    answer = Answer("q", "x", False, (cite(1, 23, 33), cite(2, 0, 10)), "q")
    html = reply_html(answer, key="k1", settings=Settings())
    tags = Tags(html).tags
    links = [a for t, a in tags if t == "a" and "qa-cite" in (a.get("class") or "")]
    assert [a["href"] for a in links] == ["#qa-k1-1", "#qa-k1-2"]
    marks = {a["id"]: a for t, a in tags if t == "mark" and a.get("id")}
    assert set(marks) == {"qa-k1-1", "qa-k1-2"}
    assert '<mark class="qa-quote" id="qa-k1-2" tabindex="-1">First one.</mark>' \
           '<span class="qa-n">[2]</span>' in html
    assert '<mark class="qa-quote" id="qa-k1-1" tabindex="-1">Third one.</mark>' \
           '<span class="qa-n">[1]</span>' in html
    assert html.count("<details class=\"qa-source\"") == 1, "one passage, shown once"


def test_the_first_source_is_open_and_the_others_closed() -> None:
    answer = Answer("q", "x", False, (cite(1, 0, 10), cite(2, 0, 6, "Other.", 500, "e")), "q")
    sources = [a for t, a in Tags(reply_html(answer, key="k", settings=Settings())).tags
               if t == "details" and a.get("class") == "qa-source"]
    assert ["open" in a for a in sources] == [True, False]


def test_why_is_said_in_plain_words_with_the_scores_behind_a_detail() -> None:
    c = cite(1, 0, 10, "Zebras arrived from Kenya by plane.")
    why = explain(c, "When did the zebras arrive?", Settings())
    assert why.words == ("zebras", "arrive") and why.similarity == "medium"
    assert plain_words(why) == ("It contains “zebras”, “arrive” from your question, and it is "
                                "somewhat close in meaning (medium).")
    html = reply_html(Answer("When did the zebras arrive?", "x", False, (c,),
                             "When did the zebras arrive?"), key="k", settings=Settings())
    assert "Why this passage: It contains “zebras”, “arrive”" in html
    assert ('<details class="qa-scores"><summary>Scores</summary><p>meaning 0.500, rank 1 · '
            "words (BM25) 1.00, rank 2 · combined 0.1000, rank 1</p></details>") in html
    assert "dense" not in html.split("qa-scores")[0], "no jargon before the detail"


def test_the_short_answer_has_its_own_mark_inside_the_sentence() -> None:
    passage = "The lighthouse was automated in 1987. Keepers rowed out."
    c = cite(1, 0, 37, passage, offset=40)
    short = ShortAnswer("1987", 1, 40 + passage.index("1987"), 40 + passage.index("1987") + 4)
    answer = Answer("When?", "x", False, (c,), "When?", short_answer=short)
    html = reply_html(answer, key="k", settings=Settings())
    assert ('<p class="qa-text">The lighthouse was automated in <mark class="qa-short" '
            'title="The short answer">1987</mark>. <a class="qa-cite"') in html
    assert ('<mark class="qa-quote" id="qa-k-1" tabindex="-1">The lighthouse was automated in '
            '<mark class="qa-short" title="The short answer">1987</mark>.</mark>') in html
    # A short answer outside its citation's sentence is not drawn at all.
    stray = Answer("When?", "x", False, (c,), "When?",
                   short_answer=ShortAnswer("Keepers", 1, 78, 85))
    assert "qa-short" not in reply_html(stray, key="k", settings=Settings())


def test_hostile_document_text_is_escaped_everywhere(backend: ChatBackend) -> None:
    reply = backend.reply("zebra pineapple script tracker")
    parsed = Tags(reply.html)
    ours = {"div", "p", "a", "mark", "span", "details", "summary", "blockquote", "button", "pre"}
    assert {tag for tag, _ in parsed.tags} <= ours
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") or name in ("src", "style") for name in attrs)
        if tag == "a":
            assert attrs["href"].startswith(("#qa-", "documents/")), attrs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.html
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text and "![tracker](http://127.0.0.1:9/p.png)" in text


def test_a_reply_keeps_the_plain_answer_for_follow_ups(backend: ChatBackend) -> None:
    # (Not "Where did the zebras arrive from Kenya?": the only place the text gives is the one
    # the question names, and a question wanting a place the text doesn't add is refused.)
    reply = backend.reply("How did the zebras arrive from Kenya?")
    assert reply.text == "Zebras arrived from Kenya by boat. [1]"
    follow = backend.reply("And when?", [{"role": "user", "content": "How did the zebras "
                                          "arrive from Kenya?"},
                                         {"role": "assistant", "content": reply.text}])
    assert "Searched for: And when? zebras arrive Kenya" in follow.html


def test_abstention_shows_related_passages_not_citations(backend: ChatBackend) -> None:
    html = backend.reply("quantum gluon lattice chromodynamics").html
    assert "could not find" in html and "qa-cite" not in html and "Copy answer" not in html
    assert "Possibly related passages (not an answer)" in html


# Copies -------------------------------------------------------------------------------------


def test_copies_are_clean_text_with_numbers_and_footnotes() -> None:
    # Defect 5: the copy was escaped Markdown with <mark> tags, the sources and a code fence.
    passage = "Prices fell 40% in 2024, per [the survey]. <b>Then</b> rose."
    c = cite(1, 0, 42, passage, source="2024/solar-cost.txt")
    answer = Answer("q", "x", False, (c,), "q")
    assert plain_text(answer) == ("Prices fell 40% in 2024, per [the survey]. [1]\n\n"
                                  "[1] T (2008-03-18), 2024/solar-cost.txt")
    assert answer_markdown(answer).endswith(
        '[^1]: T (2008-03-18), 2024/solar-cost.txt: "Prices fell 40% in 2024, per [the survey]."')
    html = reply_html(answer, key="k", settings=Settings())
    plain = re.search(r'<pre class="qa-plain" hidden>(.*?)</pre>', html, re.S)
    assert plain and plain.group(1) == (
        "Prices fell 40% in 2024, per [the survey]. [1]\n\n[1] T (2008-03-18), "
        "2024/solar-cost.txt")


# Paths --------------------------------------------------------------------------------------


def test_visitors_see_paths_relative_to_the_indexed_folder(backend: ChatBackend,
                                                           folder: Path) -> None:
    # Defect 6: absolute server paths in the page, the widget and the copied footnotes.
    answer = backend.answer("When are the tax forms due in April?")
    assert answer.citations[0].source == "2021/tax.txt"
    html = backend.reply("When are the tax forms due in April?").html
    assert str(folder) not in html and "2021/tax.txt" in html
    names = SourceNames([str(folder / "a.txt"), str(folder / "b" / "c.txt")], Settings())
    assert names.show("/etc/passwd") == "passwd"
    assert names.show(str(folder / "b" / "corpus.jsonl") + "#42") == "b/corpus.jsonl#42"
    hidden = SourceNames([str(folder / "a.txt")], Settings(show_paths="none"))
    assert hidden.show(str(folder / "a.txt")) == ""
    rooted = SourceNames([], Settings(source_root=str(folder.parent)))
    assert rooted.show(str(folder / "a.txt")) == "articles/a.txt"


# Questions and filters ----------------------------------------------------------------------


def test_empty_and_overlong_questions_are_refused_before_anything_is_sent(
        backend: ChatBackend) -> None:
    # Defect 8: an empty bubble; a long question cleared from the box, then refused.
    assert backend.refusal("   ") == "Type a question first."
    assert backend.refusal("x" * 2500) == ("The question is 2,500 characters long; the limit "
                                           "is 2,000. Please shorten it.")
    assert backend.refusal("Where did the zebras go?") is None


@pytest.mark.parametrize(("text", "end", "iso"), [
    ("2008-03-18", False, "2008-03-18"), ("March 2008", False, "2008-03-01"),
    ("March 2008", True, "2008-03-31"), ("2008", False, "2008-01-01"),
    ("2008", True, "2008-12-31"), ("2008-02", True, "2008-02-29"),
    ("18 March 2008", True, "2008-03-18"), ("March 18, 2008", False, "2008-03-18"),
])
def test_filter_dates_name_whole_days_months_or_years(text: str, end: bool, iso: str) -> None:
    # Defect 4: "March 2008" became 2008-03-27 and "2008" 2008-11-27 (today's day and month).
    assert read_bound(text, label="From", end=end) == iso


@pytest.mark.parametrize("text", ["soon", "2008-13-01", "31 February 2008", "around March 2008",
                                  "March", "08"])
def test_a_filter_that_is_not_a_date_is_an_error_saying_what_to_write(text: str) -> None:
    with pytest.raises(InvalidFilterError, match="is not a date; write 2008-03-18, 2008-03"):
        read_bound(text, label="Published from", end=False)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidFilterError, match="is after Published until"):
        read_filters("", "2009", "2008")


def test_filters_say_how_many_documents_they_leave(backend: ChatBackend) -> None:
    assert backend.filter_status("", "", "") == ("", False)
    assert backend.filter_status("", "2021", "") == (
        "1 of 2 documents match (published on or after 2021-01-01).", False)
    text, bad = backend.filter_status("", "March 2030", "")
    assert bad and text == "No document matches (published on or after 2030-03-01)."
    text, bad = backend.filter_status("", "soon", "")
    assert bad and text.startswith("Published from: “soon” is not a date")


def test_a_filter_that_leaves_nothing_says_so_instead_of_could_not_find(
        backend: ChatBackend) -> None:
    html = backend.reply("zebras from Kenya", [], "", "2030", "").html
    assert "No document matches the filters (published on or after 2030-01-01)" in html
    assert "could not find" not in html
    html = backend.reply("forms due April zebras Kenya", [], "tax", "", "").html
    assert "Tax rules" in html and "Zoo" not in html
    html = backend.reply("forms due April zebras Kenya", [], "", "2020-01-01", "2020-12-31").html
    assert "Zoo" in html and "Tax rules" not in html


# The first screen and failures --------------------------------------------------------------


def test_the_collection_and_examples_come_from_the_index(backend: ChatBackend) -> None:
    collection = backend.collection()
    assert collection is not None
    assert (collection.documents, collection.first, collection.last) == (2, "2020-05-01",
                                                                         "2021-03-03")
    assert backend.examples() == ["What happened in “Tax rules”?",
                                  "What happened in “Zoo <news>”?"]


def test_errors_become_one_line_messages(tmp_path: Path) -> None:
    def missing(_s: Settings) -> Answerer:
        raise IndexMissingError("no index at x/ yet; run `qa index` (or `make run`) to build it")

    backend = ChatBackend(AnswererHolder(Settings(index_dir=tmp_path), loader=missing))
    reply = backend.reply("anything")
    assert "No index at x/ yet; run `qa index`" in reply.html and 'qa-error' in reply.html
    assert backend.examples() == [] and backend.collection() is None

    def broken(_s: Settings) -> Answerer:
        raise RuntimeError("boom: internal detail")

    reply = ChatBackend(AnswererHolder(Settings(index_dir=tmp_path), loader=broken)).reply("x")
    assert "boom" not in reply.html and "Traceback" not in reply.html
    assert "the server log has the details" in reply.html


def test_build_ui_offers_clean_endpoints_to_gradio_client(backend: ChatBackend) -> None:
    from qa.web.ui import build_ui

    blocks = build_ui(backend)
    public = {dep.api_name for dep in blocks.fns.values() if dep.api_visibility == "public"}
    assert public == {"ask", "answer"}
    assert blocks.analytics_enabled is False


def test_a_document_page_marks_the_quote_in_place_with_its_page() -> None:
    from qa.ingest import Document
    from qa.web.pages import document_html

    text = "Page one text. The quote starts here and\nends on page two. More <b>text</b>."
    doc = Document("d", "/srv/x.pdf", "Report <1>", text, "2024-01-02",
                   page_starts=(0, text.index("ends")))
    start, end = text.index("The quote"), text.index(" More")
    html = document_html(doc, source="x.pdf", passages=2, quote=(start, end))
    assert "<h1>Report &lt;1&gt;</h1>" in html
    assert "2024-01-02 · x.pdf · 2 passages · 2 pages." in html
    assert '<a href="#quote">The quote is on page 1.</a>' in html
    # The quote runs across the page break: marked on both sides of the page heading.
    assert ('<mark id="quote" tabindex="-1">The quote starts here and\n</mark>'
            '<h2 class="page" id="page-2">Page 2</h2><mark tabindex="-1">ends on page two.'
            '</mark> More &lt;b&gt;text&lt;/b&gt;.') in html
    plain = document_html(doc, source="", passages=1, quote=None)
    assert "<mark" not in plain and "x.pdf" not in plain


def test_a_question_pointing_at_nothing_says_what_it_could_not_tell(
        tmp_path: Path, folder: Path, fake: FakeEmbedder) -> None:
    # Two articles, no earlier answer: the chat says it could not tell what "this" means (the
    # curly quotes escaped like any text), and shows the related passages as for any refusal.
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=1.1)
    index_paths([folder], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    html = ChatBackend(AnswererHolder(settings, loader=loader)).reply(
        "When did this happen?").html
    assert "I could not tell what “this” refers to" in html and "qa-cite" not in html
    assert "Possibly related passages (not an answer)" in html
