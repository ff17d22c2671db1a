"""Passages: whole sentences, exact offsets, within the model window with the title."""

from __future__ import annotations

import itertools

from conftest import FakeEmbedder

from qa.index.chunking import (
    MAX_TITLE_TOKENS,
    SPECIAL_TOKENS,
    embed_text,
    fit_title,
    split_document,
)
from qa.ingest import Document

SENTENCES = [f"Sentence number {i} has exactly seven words." for i in range(30)]


def _doc(text: str, title: str = "A short title") -> Document:
    return Document(doc_id="d", source="/x", title=title, text=text)


def test_offsets_point_at_the_passage_text_and_cover_every_sentence() -> None:
    text = "\n\n".join(" ".join(SENTENCES[i : i + 3]) for i in range(0, 30, 3))
    fake = FakeEmbedder(max_tokens=40)
    passages = split_document(_doc(text), fake.count_tokens, max_tokens=30, model_max_tokens=40)
    assert len(passages) > 5
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert p.text == p.text.strip()
    for sentence in SENTENCES:
        assert any(sentence in p.text for p in passages), sentence
    assert [p.ordinal for p in passages] == list(range(len(passages)))


def test_windows_fit_the_model_with_the_title_and_overlap_by_one_sentence() -> None:
    text = " ".join(SENTENCES)
    fake = FakeEmbedder(max_tokens=40)
    title = "Three word title"
    passages = split_document(_doc(text, title), fake.count_tokens, max_tokens=100,
                              model_max_tokens=40, overlap_sentences=1)
    budget = 40 - SPECIAL_TOKENS - 3
    for p in passages:
        assert fake.count_tokens([embed_text(title, p.text)])[0] + SPECIAL_TOKENS <= 40
        assert fake.count_tokens([p.text])[0] <= budget
    for first, second in itertools.pairwise(passages):
        assert second.start < first.end, "neighbours share a sentence"
        last_sentence = first.text[first.text.rindex("Sentence") :]
        assert second.text.startswith(last_sentence)


def test_no_overlap_when_asked() -> None:
    fake = FakeEmbedder()
    passages = split_document(_doc(" ".join(SENTENCES)), fake.count_tokens, max_tokens=20,
                              model_max_tokens=64, overlap_sentences=0)
    for first, second in itertools.pairwise(passages):
        assert second.start > first.end


def test_an_overlong_sentence_is_split_not_cut() -> None:
    words = [f"w{i}" for i in range(100)]
    text = "Short one. " + " ".join(words) + ". Short two."
    fake = FakeEmbedder(max_tokens=30)
    passages = split_document(_doc(text), fake.count_tokens, max_tokens=30, model_max_tokens=30)
    covered = " ".join(p.text for p in passages)
    for word in words:
        assert f"{word} " in covered + " " or f"{word}." in covered
    assert all(fake.count_tokens([p.text])[0] <= 30 - SPECIAL_TOKENS - 3 for p in passages)


def test_long_titles_are_shortened_for_the_embedder() -> None:
    fake = FakeEmbedder()
    title = " ".join(["word"] * 200)
    assert fake.count_tokens([fit_title(title, fake.count_tokens)])[0] <= MAX_TITLE_TOKENS


def test_real_tokenizer_never_exceeds_the_window(real_model) -> None:  # type: ignore[no-untyped-def]
    from conftest import SEEDS

    from qa.ingest import load

    (doc,) = list(load([SEEDS]))
    assert isinstance(doc, Document)
    passages = split_document(doc, real_model.count_tokens, max_tokens=200,
                              model_max_tokens=real_model.max_tokens)
    for p in passages:
        pieces = real_model.count_tokens([embed_text(doc.title, p.text)])[0]
        assert pieces + SPECIAL_TOKENS <= real_model.max_tokens
        assert doc.text[p.start : p.end] == p.text
