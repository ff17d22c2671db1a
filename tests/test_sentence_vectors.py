"""Sentence vectors stored at index time: answering embeds the question only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, write

from qa.answer.answerer import Answerer
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.index.builder import index_paths
from qa.index.sentence_vectors import SentenceVectors, sentence_texts, titled
from qa.index.store import IndexStore

ARTICLES = {
    "rocket.txt": "Rocket launch\n\nThe rocket carried a weather satellite into orbit. "
                  "Engineers cheered when the satellite sent its first signal.",
    "bank.txt": "Central bank\n\nThe central bank raised interest rates again. "
                "Economists said inflation had slowed.",
    "garden.md": "# Garden tips\n\nRoses like clay soil. Tomatoes need sun all day.",
}


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    for name, text in ARTICLES.items():
        write(folder / name, text)
    return folder


def _answerer(settings: Settings, fake: FakeEmbedder) -> Answerer:
    store = IndexStore.load(settings.index_dir, model=fake.name)
    return Answerer(Retriever(store, fake, settings), settings)


def test_answering_embeds_only_the_question(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", abstain_threshold=-1.0)
    index_paths([_corpus(tmp_path)], settings, embedder=fake)
    assert settings.sentences_path.is_file()
    fake.embedded.clear()
    answer = _answerer(settings, fake).ask("When did the satellite send its first signal?")
    assert not answer.abstained and "first signal" in answer.answer
    assert set(fake.embedded) == {"When did the satellite send its first signal?"}


def test_stored_vectors_are_the_models_in_half_precision(tmp_path: Path,
                                                         fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([_corpus(tmp_path)], settings, embedder=fake)
    sentences = sentence_texts("Garden tips", "# Garden tips\n\nRoses like clay soil. "
                                              "Tomatoes need sun all day.")
    assert sentences == ["Roses like clay soil.", "Tomatoes need sun all day."], \
        "the heading is not a sentence"
    stored = SentenceVectors(settings.sentences_path).get(fake.name, sentences)
    expected = FakeEmbedder().embed(sentences)
    assert np.allclose(np.stack([stored[s] for s in sentences]), expected, atol=1e-3)
    assert SentenceVectors(settings.sentences_path).get("another-model", sentences) == {}


def test_a_missing_or_damaged_file_only_costs_time(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", abstain_threshold=-1.0)
    index_paths([_corpus(tmp_path)], settings, embedder=fake)
    question = "What did economists say about inflation?"
    before = _answerer(settings, fake).ask(question)

    settings.sentences_path.write_bytes(b"not a database at all" * 100)
    fake.embedded.clear()
    damaged = _answerer(settings, fake).ask(question)
    assert damaged.answer == before.answer
    assert "Economists said inflation had slowed." in fake.embedded, "embedded instead"

    settings.sentences_path.unlink()
    assert _answerer(settings, fake).ask(question).answer == before.answer

    # The next update starts the file afresh and stores every sentence again.
    write(_corpus(tmp_path) / "new.txt", "Chess\n\nThe chess final went to a tiebreak.")
    index_paths([tmp_path / "docs"], settings, embedder=fake, rebuild=True)
    fake.embedded.clear()
    assert _answerer(settings, fake).ask(question).answer == before.answer
    assert set(fake.embedded) == {question}


def test_rebuild_drops_sentences_no_passage_holds(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    corpus = _corpus(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    count = SentenceVectors(settings.sentences_path).count()
    assert count == 12, "six sentences, each also after its title (each title names a subject)"
    (corpus / "bank.txt").unlink()
    index_paths([corpus], settings, embedder=fake, prune=True)
    assert SentenceVectors(settings.sentences_path).count() == count, "kept until worth it"
    index_paths([corpus], settings, embedder=fake, rebuild=True)
    stored = SentenceVectors(settings.sentences_path)
    assert stored.count() == 8
    assert stored.get(fake.name, ["Economists said inflation had slowed."]) == {}


def test_entities_come_from_the_index(tmp_path: Path, fake: FakeEmbedder,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(index_dir=tmp_path / "index", abstain_threshold=-1.0)
    folder = tmp_path / "docs"
    write(folder / "talks.txt", "Talks\n\nRice met Putin in Moscow on March 18, 2008. "
                                "The talks were about a missile shield.")
    index_paths([folder], settings, embedder=fake)
    sentence = "Rice met Putin in Moscow on March 18, 2008."
    stored = SentenceVectors(settings.sentences_path).entities(fake.name, [sentence])[sentence]
    assert [(e.text, e.label) for e in stored][:3] == [
        ("Rice", "PERSON"), ("Putin", "PERSON"), ("Moscow", "GPE")]

    asked: list[str] = []

    def spy(texts):  # type: ignore[no-untyped-def]
        asked.extend(texts)
        return [() for _ in texts]

    monkeypatch.setattr("qa.index.sentence_vectors.entities", spy)
    answer = _answerer(settings, fake).ask("When did Rice meet Putin?")
    assert answer.short_answer is not None and answer.short_answer.text == "March 18, 2008"
    assert sentence not in asked


def test_fast_keyword_analysis_matches_bm25s() -> None:
    """The analyzer's own tokenizer for questions and sentences gives what bm25s.tokenize
    does, for both stop lists (the BM25 query terms must match the index's vocabulary)."""
    import bm25s
    import Stemmer

    from qa.index.analysis import TextAnalyzer, _stop_list

    texts = [(Path(__file__).parent.parent / "seeds").glob("*.txt").__next__().read_text(),
             "Where does the US base its missile shield? IL-6, type 2 and vitamin D.",
             "Ärzte in Zürich — naïve café owners' “quotes” and 3.5% rates, ВВП 2024", ""]
    analyzer = TextAnalyzer()
    for stop in (analyzer.bm25_stopwords, analyzer.keyword_stopwords):
        expected = bm25s.tokenize(texts, stopwords=_stop_list(stop),
                                  token_pattern=analyzer.token_pattern,
                                  stemmer=Stemmer.Stemmer(analyzer.stemmer), return_ids=False,
                                  show_progress=False)
        assert analyzer._tokenize(texts, stop, return_ids=False) == expected


def test_a_document_titled_by_its_subject_also_has_its_sentences_stored_after_the_title(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    folder = _corpus(tmp_path)
    write(folder / "talks.txt", "US and Russian officials take a conciliatory tone in missile "
                                "talks\n\nThe talks went well.")
    write(folder / "memo.txt", "The talks in Moscow went on for two days and ended late on "
                               "Tuesday evening with a joint statement.")
    # A news site's row titled by its URL slug: dated, so a story's headline, not a subject.
    write(folder / "news.jsonl", json.dumps({
        "_id": "ford", "title": "Ford recall", "metadata": {"publish_date": "2022/06/15"},
        "text": "Ford is recalling 49,000 vehicles because of a fire risk."}) + "\n")
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([folder], settings, embedder=fake)
    stored = SentenceVectors(settings.sentences_path)
    garden = titled("Garden tips", "Roses like clay soil.")
    found = stored.get(fake.name, [garden])
    assert np.allclose(found[garden], FakeEmbedder().embed([garden])[0], atol=1e-3)
    assert stored.entities(fake.name, [garden]) == {garden: ()}, "no entities are found for them"
    # A headline tells a story (short or not, when the document is dated), and a file without
    # a title line is titled by its name: none of them names a subject.
    memo = IndexStore.load(settings.index_dir, model=fake.name).catalog
    assert {(r.title, r.date) for r in memo.documents()} >= {("memo", None), (
        "US and Russian officials take a conciliatory tone in missile talks", None),
        ("Ford recall", "2022-06-15")}
    others = [titled("US and Russian officials take a conciliatory tone in missile talks",
                     "The talks went well."),
              titled("memo", "The talks in Moscow went on for two days and ended late on "
                             "Tuesday evening with a joint statement."),
              titled("Ford recall", "Ford is recalling 49,000 vehicles because of a fire risk.")]
    assert stored.get(fake.name, others) == {}
    # A rebuild keeps them (they are live), and drops those of documents gone.
    (folder / "garden.md").unlink()
    index_paths([folder], settings, embedder=fake, rebuild=True)
    rocket = titled("Rocket launch", "The rocket carried a weather satellite into orbit.")
    after = SentenceVectors(settings.sentences_path).get(fake.name, [garden, rocket])
    assert set(after) == {rocket}
