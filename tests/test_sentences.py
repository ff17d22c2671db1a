"""Choosing the answering sentence: semantic, keyword and answer-type evidence, and margins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from conftest import FakeEmbedder

from qa.answer.retrieval import Hit
from qa.answer.sentences import choose, expected_type, score_sentences
from qa.config import Settings
from qa.index.analysis import TextAnalyzer
from qa.index.parts import StoredPassage

keywords = TextAnalyzer().keywords


def _hit(text: str, rank: int, doc: str = "d") -> Hit:
    passage = StoredPassage(rank, doc, 0, 0, len(text), None, text, "T", None, "s")
    return Hit(passage, rank, 1.0 / rank, rank, 0.5, rank, 1.0)


def _score(question: str, hits: Sequence[Hit], **weights: float):  # type: ignore[no-untyped-def]
    settings = Settings().with_overrides(**weights)
    return score_sentences(question, hits, embed=FakeEmbedder().embed, terms=keywords,
                           idf=lambda terms: dict.fromkeys(terms, 1.0), settings=settings)


def test_the_sentence_with_the_question_keywords_wins() -> None:
    hits = [_hit("The weather was mild. Zebras arrived from Kenya on Monday. Tickets cost more.", 1)]
    best = _score("Where did the zebras arrive from?", hits)[0]
    assert best.text == "Zebras arrived from Kenya on Monday."
    assert best.lexical == 1.0


def test_answer_type_breaks_a_tie_for_when_questions() -> None:
    hits = [_hit("The bridge opening was delayed. The bridge opened in 1932.", 1)]
    scored = _score("When did the bridge open?", hits, sentence_type_weight=0.5)
    assert scored[0].text == "The bridge opened in 1932."
    assert scored[0].type_match == 1.0 and scored[1].type_match == 0.0


def test_expected_types() -> None:
    when, many, who = (expected_type(q) for q in ("When was it built?", "How many died?",
                                                  "Who built the Eiffel Tower?"))
    assert when is not None and when("It was built in 1889.") and not when("It is tall.")
    assert many is not None and many("About 300 people died.") and not many("Many died.")
    assert who is not None and who("It was built by Gustave Eiffel.")
    assert not who("It was built for the Eiffel fair.")
    assert expected_type("Why is the sky blue?") is None


def test_passage_rank_counts() -> None:
    same = "Zebras arrived from Kenya."
    scored = _score("zebras Kenya", [_hit(same, 1, "a"), _hit(same, 2, "b")])
    assert scored[0].hit.doc_id == "a" and scored[0].score > scored[1].score


def test_choose_keeps_close_non_overlapping_sentences() -> None:
    hits = [_hit("Alpha beta. Gamma delta. Epsilon zeta.", 1)]
    scored = _score("alpha beta gamma", hits)
    assert [s.text for s in choose(scored, limit=1, margin=1.0)] == ["Alpha beta."]
    assert len(choose(scored, limit=3, margin=10.0)) == 3
    tight = choose(scored, limit=3, margin=0.0)
    assert len(tight) == 1


def test_sentence_offsets_point_into_the_document() -> None:
    text = "First sentence here. Second one about zebras."
    hit = _hit(text, 1)
    best = _score("zebras", [hit])[0]
    assert text[best.start : best.end] == "Second one about zebras."
    assert np.isfinite(best.score)
