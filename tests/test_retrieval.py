"""Fusion on hand-built rankings, and hits that carry every rank and score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, write

from qa.answer.retrieval import Ranking, Retriever, rrf
from qa.config import Settings
from qa.errors import EmptyQuestionError
from qa.index.builder import index_paths
from qa.index.store import IndexStore


def _r(*ids: int) -> Ranking:
    return Ranking(np.array(ids, dtype=np.int64), np.linspace(1, 0, len(ids)))


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([_r(1, 2, 3), _r(3, 1)], [1.0, 1.0], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert [pid for pid, _ in rrf([_r(1, 2, 3), _r(3, 1)], [1.0, 1.0], k=60)] == [1, 3, 2]


def test_rrf_weights_tip_the_balance() -> None:
    dense, bm25 = _r(1, 2), _r(2, 1)
    assert rrf([dense, bm25], [1.0, 1.0])[0][1] == rrf([dense, bm25], [1.0, 1.0])[1][1]
    assert rrf([dense, bm25], [1.0, 2.0])[0][0] == 2
    assert rrf([dense, bm25], [2.0, 1.0])[0][0] == 1


def test_rrf_ties_break_by_id_and_empty_rankings_are_fine() -> None:
    assert rrf([_r(5), _r(4)], [1.0, 1.0]) == [(4, 1 / 61), (5, 1 / 61)]
    assert rrf([_r(), _r()], [1.0, 1.0]) == []


def test_hits_carry_ranks_and_scores(tmp_path: Path, fake: FakeEmbedder) -> None:
    write(tmp_path / "d" / "a.txt", "Alpha\n\nZebras graze on the savanna grass.")
    write(tmp_path / "d" / "b.txt", "Beta\n\nThe stock market fell sharply today.")
    settings = Settings(index_dir=tmp_path / "ix")
    index_paths([tmp_path / "d"], settings, embedder=fake)
    retriever = Retriever(IndexStore.load(settings.index_dir, model=fake.name), fake, settings)
    hits = retriever.search("zebras savanna", k=2)
    top = hits[0]
    assert top.passage.title == "Alpha"
    assert (top.fused_rank, top.dense_rank, top.bm25_rank) == (1, 1, 1)
    assert top.bm25_score is not None and top.bm25_score > 0
    assert top.dense_score is not None and top.dense_score > hits[1].dense_score  # type: ignore[operator]
    assert hits[1].bm25_rank is None, "no query word occurs in the other passage"
    assert top.scores()["fused_rank"] == 1
    with pytest.raises(EmptyQuestionError):
        retriever.search("   ")


def test_confidence_weight_grows_with_the_gap_between_the_two_best() -> None:
    from qa.answer.retrieval import confidence_weight

    sure = Ranking(np.array([1, 2]), np.array([4.0, 1.0]))
    unsure = Ranking(np.array([1, 2]), np.array([4.0, 3.9]))
    assert confidence_weight(sure, 1.0, 2.0) == pytest.approx(1.0 + 2.0 * 0.75)
    assert confidence_weight(unsure, 1.0, 2.0) == pytest.approx(1.0 + 2.0 * 0.025)
    assert confidence_weight(Ranking(np.array([1]), np.array([4.0])), 0.8, 2.0) == 0.8
    assert confidence_weight(sure, 0.8, 0.0) == 0.8


def test_near_duplicates_are_collapsed(tmp_path: Path, fake: FakeEmbedder) -> None:
    story = "Zebras arrived at the city zoo from Kenya on Monday, keepers said."
    write(tmp_path / "d" / "a.txt", f"Zoo news\n\n{story}")
    write(tmp_path / "d" / "b.txt", f"Zoo news\n\n{story}")  # the same story twice
    write(tmp_path / "d" / "c.txt", "Other\n\nThe zoo also bought new zebra feed in Kenya.")
    settings = Settings(index_dir=tmp_path / "ix")
    index_paths([tmp_path / "d"], settings, embedder=fake)
    retriever = Retriever(IndexStore.load(settings.index_dir, model=fake.name), fake, settings)
    hits = retriever.search("zebras zoo Kenya", k=3)
    assert [h.passage.title for h in hits] == ["Zoo news", "Other"]
    loose = Retriever(retriever.store, fake, settings.with_overrides(duplicate_cosine=1.01))
    assert len(loose.search("zebras zoo Kenya", k=3)) == 3


def test_overlapping_chunks_of_one_document_are_collapsed() -> None:
    from qa.answer.retrieval import _overlaps
    from qa.index.parts import StoredPassage

    def p(start: int, end: int, doc: str = "d") -> StoredPassage:
        return StoredPassage(0, doc, 0, start, end, None, "", "", None, "")

    assert _overlaps(p(0, 100), p(40, 120))  # share 60 of the shorter 80
    assert not _overlaps(p(0, 100), p(90, 200))  # one shared sentence between neighbours
    assert not _overlaps(p(0, 100), p(0, 100, "other"))


def _stories(tmp_path: Path, fake: FakeEmbedder, **texts: str) -> tuple[IndexStore, Settings]:
    """An index of one document per keyword argument (file name → text)."""
    for name, text in texts.items():
        write(tmp_path / "d" / f"{name}.txt", text)
    settings = Settings(index_dir=tmp_path / "ix")
    index_paths([tmp_path / "d"], settings, embedder=fake)
    return IndexStore.load(settings.index_dir, model=fake.name), settings


def test_a_conversation_s_topic_tips_a_vague_question_towards_its_story(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    # Both stories answer the question in the same words; only the conversation tells which.
    store, settings = _stories(
        tmp_path, fake,
        glacier="Glacier\n\nThe research was published in the journal Nature Geoscience. The "
                "Thwaites glacier is retreating fast.",
        stroke="Stroke\n\nThe research was published in the journal Neurology.")
    question = "Which journal published the research?"
    alone = Retriever(store, fake, settings).search(question, k=2)
    assert alone[0].passage.title == "Stroke"
    leaning = Retriever(store, fake, settings).search(question, k=2,
                                                     context="Thwaites glacier retreating")
    assert leaning[0].passage.title == "Glacier"
    # The hits keep their cosine with the question itself, not with the topic.
    glacier = next(h for h in alone if h.passage.title == "Glacier")
    assert leaning[0].dense_score == pytest.approx(glacier.dense_score)
    off = Retriever(store, fake, settings.with_overrides(context_weight=0.0))
    assert off.search(question, k=2, context="Thwaites glacier retreating")[0].passage.title \
        == "Stroke"


def test_a_conversation_s_documents_keep_a_question_with_them(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    # Two stories of elections; the conversation has been reading the second.
    store, settings = _stories(
        tmp_path, fake,
        france="France\n\nThe election was won by Macron. Macron won the election again.",
        russia="Russia\n\nMedvedev took office in May. Turnout was high in the election.")
    russia = next(r.doc_id for r in store.catalog.documents() if r.title == "Russia")
    question = "Who won the election?"
    retriever = Retriever(store, fake, settings.with_overrides(focus_weight=1.0))
    assert retriever.search(question, k=1)[0].passage.title == "France"
    focused = retriever.search(question, k=1, focus=[russia])
    assert focused[0].passage.title == "Russia"
    # The passage the focus displaced is still found, after the others: how close the
    # collection comes to the question does not shrink with a focus.
    assert [h.passage.title for h in focused] == ["Russia", "France"]
    assert [h.fused_rank for h in focused] == [1, 2]
    off = Retriever(store, fake, settings.with_overrides(focus_weight=0.0))
    assert off.search(question, k=1, focus=[russia])[0].passage.title == "France"
    # A focus on every document only repeats the searches: nothing changes.
    everything = [r.doc_id for r in store.catalog.documents()]
    assert [h.passage_id for h in retriever.search(question, k=2, focus=everything)] == \
        [h.passage_id for h in retriever.search(question, k=2)]
