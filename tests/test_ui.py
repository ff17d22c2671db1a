"""The chat callback without a server: rendering, escaping, errors as messages, several turns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa.answer.answerer import Answerer
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.errors import IndexMissingError
from qa.index.builder import index_paths
from qa.index.store import IndexStore
from qa.web.render import escape_markdown
from qa.web.ui import ChatBackend

HOSTILE = (
    "Zebra pineapple <script>alert(1)</script> and <img src=x onerror=alert(2)> plus "
    "![tracker](http://127.0.0.1:9/p.png) and $$x^2$$ and **bold** and [link](javascript:x)."
)


@pytest.fixture
def backend(tmp_path: Path, fake: FakeEmbedder) -> ChatBackend:
    write(tmp_path / "d" / "zoo.txt", f"May 1, 2020\n\nZoo <news>\n\nZebras arrived from Kenya. "
          f"{HOSTILE}")
    write(tmp_path / "d" / "tax.txt", "Tax rules\n\nForms are due in April.")
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.1)
    index_paths([tmp_path / "d"], settings, embedder=fake)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    return ChatBackend(AnswererHolder(settings, loader=loader))


def _unescaped(markdown: str) -> str:
    """The characters a CommonMark renderer shows for escaped text."""
    text = re.sub(r"\\(.)", r"\1", markdown)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_escape_markdown_leaves_no_markup() -> None:
    escaped = escape_markdown(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert "![" not in escaped and "](" not in escaped and "$$" not in escaped
    assert "**" not in escaped
    assert _unescaped(escaped) == HOSTILE


def test_answer_then_collapsible_sources_with_the_sentence_marked(backend: ChatBackend) -> None:
    messages = backend.respond("Where did the zebras arrive from Kenya?", [])
    answer, sources, markdown = messages
    assert answer["content"] == "Zebras arrived from Kenya\\. \\[1\\]"
    assert sources["metadata"]["title"] == "Sources (1)"
    assert "Why: dense 0\\." in sources["content"] and "fused" in sources["content"]
    assert markdown["metadata"]["title"] == "Copy as Markdown"
    assert markdown["content"].startswith("```markdown\nZebras arrived from Kenya. [^1]\n\n")
    assert "[^1]: Zoo <news> (2020-05-01), " in markdown["content"]
    assert markdown["content"].endswith('zoo.txt: "Zebras arrived from Kenya."\n```')
    assert "<mark>Zebras arrived from Kenya\\.</mark> Zebra pineapple" in sources["content"]
    assert "Zoo &lt;news&gt;" in sources["content"]
    assert "2020\\-05\\-01" in sources["content"]


def test_hostile_document_text_is_escaped_everywhere(backend: ChatBackend) -> None:
    messages = backend.respond("zebra pineapple script tracker", [])
    for message in messages[:2]:
        content = message["content"]
        without_our_tags = content.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_our_tags
        assert "![" not in content and "$$" not in content and "](" not in content
    assert "&lt;script&gt;alert\\(1\\)&lt;\\/script&gt;" in messages[0]["content"]


def test_several_turns_in_a_row(backend: ChatBackend) -> None:
    history: list[dict] = []
    for question in ("zebras from Kenya", "forms due in April", "zebras from Kenya"):
        reply = backend.respond(question, history)
        history += [{"role": "user", "content": question}, *reply]
        assert reply[0]["content"].endswith("\\[1\\]")
    answers = [m["content"] for m in history if m["role"] == "assistant" and "metadata" not in m]
    assert len(answers) == 3 and "Forms are due in April" in answers[1]


def test_abstention_shows_related_passages_not_citations(backend: ChatBackend) -> None:
    (answer, related) = backend.respond("quantum gluon lattice chromodynamics", [])
    assert "Copy as Markdown" not in str(related)
    assert "could not find" in answer["content"] and "[" not in answer["content"]
    assert related["metadata"]["title"] == "Possibly related passages (not an answer)"


def test_errors_become_one_line_messages(tmp_path: Path) -> None:
    def missing(_s: Settings) -> Answerer:
        raise IndexMissingError("no index at x/ yet; run `qa index` (or `make run`) to build it")

    backend = ChatBackend(AnswererHolder(Settings(index_dir=tmp_path), loader=missing))
    (message,) = backend.respond("anything", [])
    assert message["content"].startswith("⚠️ no index at x\\/ yet\\; run \\`qa index\\`")
    assert backend.examples() == []

    def broken(_s: Settings) -> Answerer:
        raise RuntimeError("boom: internal detail")

    (message,) = ChatBackend(AnswererHolder(Settings(index_dir=tmp_path), loader=broken)).respond("x", [])
    assert "boom" not in message["content"] and "Traceback" not in message["content"]


def test_empty_message_is_answered_politely(backend: ChatBackend) -> None:
    (message,) = backend.respond("   ", [])
    assert "question is empty" in message["content"]


def test_examples_come_from_the_indexed_titles(backend: ChatBackend) -> None:
    examples = backend.examples()
    assert examples[0] == "What happened in “Zoo <news>”?"
    assert len(examples) == 2


def test_build_ui_has_a_stable_api_name(backend: ChatBackend) -> None:
    from qa.web.ui import build_ui

    blocks = build_ui(backend)
    api_names = {dep.api_name for dep in blocks.fns.values()}
    assert "ask" in api_names
    assert blocks.analytics_enabled is False


def test_overlong_questions_are_refused_in_the_chat(backend: ChatBackend) -> None:
    (message,) = backend.respond("zebra " * 1000, [])
    assert "longer than 2000 characters" in message["content"]


def test_hostile_text_stays_inside_the_markdown_code_fence(backend: ChatBackend) -> None:
    from qa.web.render import fenced

    assert fenced("a ``` b").startswith("````markdown\n")
    markdown = backend.respond("zebra pineapple script tracker", [])[-1]["content"]
    fence = markdown.split("\n", 1)[0].removesuffix("markdown")
    assert markdown.endswith("\n" + fence) and markdown.count(fence) == 2


def test_filters_restrict_the_sources(backend: ChatBackend) -> None:
    reply = backend.respond("forms due April zebras Kenya", [], "tax", "", "")
    assert "Tax rules" in reply[1]["content"] and "Zoo" not in reply[1]["content"]
    reply = backend.respond("forms due April zebras Kenya", [], "", "2020-01-01", "2020-12-31")
    assert "Zoo" in reply[1]["content"] and "Tax rules" not in reply[1]["content"]
    (error,) = backend.respond("zebras", [], "", "not a date", "")
    assert "is not a date\\; use YYYY\\-MM\\-DD" in error["content"]


def test_a_follow_up_uses_the_conversation_and_shows_the_query(backend: ChatBackend) -> None:
    history: list[dict] = [{"role": "user", "content": "Where did the zebras arrive from Kenya?"}]
    history += backend.respond(history[0]["content"], [])
    reply = backend.respond("And when?", history)
    assert "Searched for: And when? zebras arrive Kenya" in reply[0]["content"].replace("\\", "")
    assert "Zoo" in reply[1]["content"]


def test_citations_of_one_passage_are_shown_once_with_every_sentence_marked() -> None:
    from qa.answer.answerer import Answer, Citation
    from qa.web.render import format_sources

    passage = "First one. Second one. Third one."

    def cite(n: int, start: int, end: int) -> Citation:
        return Citation(n, "d", "T", None, "s", passage, 100, 100 + len(passage), 100 + start,
                        100 + end, None, {"dense": 0.5, "dense_rank": 1, "bm25": 1.0,
                                          "bm25_rank": 1, "fused": 0.1, "fused_rank": 1})

    answer = Answer("q", "x", False, (cite(1, 23, 33), cite(2, 0, 10)), "q")
    sources = format_sources(answer)
    assert sources.count("**") == 2, "one header"
    assert sources.startswith("**\\[1\\] \\[2\\] T**")
    assert sources.count("<mark>") == 2
    assert "<mark>First one\\.</mark> Second one\\. <mark>Third one\\.</mark>" in sources
