"""The chat callback without a server: rendering, escaping, errors as messages, several turns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa.answer import Answerer
from qa.config import Settings
from qa.errors import IndexMissingError
from qa.indexer import index_paths
from qa.retrieval import Retriever
from qa.store import IndexStore
from qa.ui import ChatBackend, escape_markdown

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

    return ChatBackend(settings, loader=loader)


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
    answer, sources = messages
    assert answer["content"] == "Zebras arrived from Kenya\\. \\[1\\]"
    assert sources["metadata"]["title"] == "Sources (1)"
    assert "<mark>Zebras arrived from Kenya\\.</mark> Zebra pineapple" in sources["content"]
    assert "Zoo &lt;news&gt;" in sources["content"]
    assert "2020\\-05\\-01" in sources["content"]


def test_hostile_document_text_is_escaped_everywhere(backend: ChatBackend) -> None:
    messages = backend.respond("zebra pineapple script tracker", [])
    for message in messages:
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
    assert "Forms are due in April" in history[4]["content"]


def test_abstention_shows_related_passages_not_citations(backend: ChatBackend) -> None:
    (answer, related) = backend.respond("quantum gluon lattice chromodynamics", [])
    assert "could not find" in answer["content"] and "[" not in answer["content"]
    assert related["metadata"]["title"] == "Possibly related passages (not an answer)"


def test_errors_become_one_line_messages(tmp_path: Path) -> None:
    def missing(_s: Settings) -> Answerer:
        raise IndexMissingError("no index at x/ yet; run `qa index` (or `make run`) to build it")

    backend = ChatBackend(Settings(index_dir=tmp_path), loader=missing)
    (message,) = backend.respond("anything", [])
    assert message["content"].startswith("⚠️ no index at x\\/ yet\\; run \\`qa index\\`")
    assert backend.examples() == []

    def broken(_s: Settings) -> Answerer:
        raise RuntimeError("boom: internal detail")

    (message,) = ChatBackend(Settings(index_dir=tmp_path), loader=broken).respond("x", [])
    assert "boom" not in message["content"] and "Traceback" not in message["content"]


def test_empty_message_is_answered_politely(backend: ChatBackend) -> None:
    (message,) = backend.respond("   ", [])
    assert "question is empty" in message["content"]


def test_examples_come_from_the_indexed_titles(backend: ChatBackend) -> None:
    examples = backend.examples()
    assert examples[0] == "What happened in “Zoo <news>”?"
    assert len(examples) == 2


def test_build_ui_has_a_stable_api_name(backend: ChatBackend) -> None:
    from qa.ui import build_ui

    blocks = build_ui(backend.settings, backend)
    api_names = {dep.api_name for dep in blocks.fns.values()}
    assert "ask" in api_names
    assert blocks.analytics_enabled is False


def test_overlong_questions_are_refused_in_the_chat(backend: ChatBackend) -> None:
    (message,) = backend.respond("zebra " * 1000, [])
    assert "longer than 2000 characters" in message["content"]
