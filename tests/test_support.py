"""Whether the documents hold the answer: the support model's signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FakeEmbedder

from qa.answer.intent import intent_of
from qa.answer.retrieval import Hit
from qa.answer.sentences import SentenceScorer
from qa.answer.support import (
    SUPPORT_FEATURES,
    SupportModel,
    speaker_silent,
    support_features,
)
from qa.index.analysis import TextAnalyzer
from qa.index.parts import StoredPassage

ANALYZER = TextAnalyzer()


def _signals(question: str, text: str, size: int = 4) -> dict[str, float]:
    passage = StoredPassage(1, "d", 0, 0, len(text), None, text, "T", None, "s")
    hits = [Hit(passage, 1, 1.0, 1, 0.5, 1, 1.0)]
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=size)
    intent = intent_of(question)
    scored = scorer.score(question, hits, intent=intent)
    row = support_features(question, hits, scored, weights=scorer.weights(question, None),
                           keywords=ANALYZER.keywords([text]), intent=intent,
                           collection_size=size)
    return dict(zip(SUPPORT_FEATURES, (float(v) for v in row), strict=True))


def test_the_bundled_model_names_every_signal_once() -> None:
    model = SupportModel.bundled()
    assert sorted(model.features) == sorted(SUPPORT_FEATURES)
    assert len(model.weights) == len(SUPPORT_FEATURES)


def test_a_nationality_is_found_where_its_country_is_named() -> None:
    text = "Rice met US President George W Bush and Russian President Vladimir Putin."
    assert _signals("Which American president is mentioned?", text)["names_missing"] == 0.0
    assert _signals("What did the Chinese government say?", text)["names_missing"] == 1.0


def test_a_cost_question_wants_a_sum_in_the_best_sentence() -> None:
    without = _signals("How much did the mission cost?",
                       "The mission cost the team years of work. It flew twice.")
    assert without["best_entity_missing"] == 1.0 and without["entity_missing"] == 1.0
    found = _signals("How much did the mission cost?",
                     "The mission cost $12 million. It flew twice.")
    assert found["best_entity_missing"] == 0.0 and found["entity_missing"] == 0.0
    not_entity = _signals("Why did the mission fail?", "The mission failed in the rain.")
    assert not_entity["best_entity_missing"] == 0.0


def test_the_collection_size_is_a_signal() -> None:
    small = _signals("Who flew?", "Ann flew.", size=4)["collection"]
    large = _signals("Who flew?", "Ann flew.", size=99_999)["collection"]
    assert math.isclose(small, math.log10(5)) and math.isclose(large, 5.0)


def test_no_hits_give_no_signal() -> None:
    row = support_features("Who flew?", [], [], weights={}, keywords=[], intent=intent_of("x"),
                           collection_size=10)
    assert np.count_nonzero(row) == 0


def test_a_name_the_collection_never_mentions_is_unknown() -> None:
    text = "Rice met US President George W Bush in Moscow."
    vocabulary = set(ANALYZER.keywords([text, "Lavrov spoke in Beijing."])[0]) | {"lavrov"}

    def unseen(terms: list[str] | tuple[str, ...]) -> set[str]:
        return {t for t in terms if t not in vocabulary}

    def share(question: str) -> float:
        passage = StoredPassage(1, "d", 0, 0, len(text), None, text, "T", None, "s")
        row = support_features(question, [Hit(passage, 1, 1.0, 1, 0.5, 1, 1.0)], [],
                               weights={}, keywords=ANALYZER.keywords([text]),
                               intent=intent_of(question), collection_size=2,
                               unseen=unseen, analyze=ANALYZER.keywords)
        return float(row[SUPPORT_FEATURES.index("names_unknown")])

    assert share("What did the Chinese government say?") == 1.0
    assert share("What did Lavrov say to Bush?") == 0.0  # in another passage: missing, not unknown
    assert share("Which American president came?") == 0.0  # "US" names the country
    assert share("Did Xi and Bush meet?") == 0.5


def test_words_are_quoted_only_from_a_passage_naming_their_speaker() -> None:
    text = "Russian Foreign Minister Sergei Lavrov said the talks went well."
    hits = [Hit(StoredPassage(1, "d", 0, 0, len(text), None, text, "Talks", None, "s"),
                1, 1.0, 1, 0.5, 1, 1.0)]
    assert speaker_silent(intent_of("What did the Chinese government say about the talks?"),
                           hits)
    assert not speaker_silent(intent_of("What did Lavrov say about the talks?"), hits)
    assert not speaker_silent(intent_of("What did the Russian side say?"), hits)
    # Not asking for someone's words, or no one named: the fitted model decides.
    assert not speaker_silent(intent_of("Why did the Chinese government object?"), hits)
    assert not speaker_silent(intent_of("What did she say?"), hits)


@pytest.mark.parametrize(("text", "silent"), [
    ("Gates met Medvedev on Monday. The talks went well.", True),
    ("Lavrov stressed that Bush and Gates agreed.", True),  # named, but not the one speaking
    ("Gates arrived on Monday. He said the talks went well.", False),
    ("'The talks went well,' said Defence Secretary Robert Gates.", False),
    ("The talks went well, according to Gates.", False),
    ("Robert Gates told reporters the talks went well.", False),
])
def test_a_named_speaker_must_be_found_speaking(text: str, silent: bool) -> None:
    hits = [Hit(StoredPassage(1, "d", 0, 0, len(text), None, text, "Talks", None, "s"),
                1, 1.0, 1, 0.5, 1, 1.0)]
    assert speaker_silent(intent_of("What did Gates say about the talks?"), hits) is silent


def test_a_speaker_is_named_by_a_whole_word_and_not_by_a_title() -> None:
    text = "The United Kingdom's Foreign Minister Sergei Lavrov said the talks went well."
    hits = [Hit(StoredPassage(1, "d", 0, 0, len(text), None, text, "Talks", None, "s"),
                1, 1.0, 1, 0.5, 1, 1.0)]
    # "King" is inside "Kingdom", and a minister is not this one.
    assert speaker_silent(intent_of("What did King Charles say about the talks?"), hits)
    assert speaker_silent(intent_of("What did Minister Wang Yi say?"), hits)
    assert not speaker_silent(intent_of("What did Minister Lavrov say?"), hits)
    assert not speaker_silent(intent_of("What did Lavrov's spokesman say?"), hits)


def test_support_reads_the_best_sentence_by_the_general_model_whichever_model_ranked_it(
) -> None:
    from qa.answer.sentences import SentenceModel

    text = "It lives on the savanna of Africa. The stripes are unique."
    question = "Where do zebras live?"
    # "Zebras" names a subject: its sentences are ranked by the subject model.
    passage = StoredPassage(1, "d", 0, 0, len(text), None, text, "Zebras", None, "s")
    scored = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0),
                            collection_size=4).score(question, [Hit(passage, 1, 1.0, 1, 0.5, 1,
                                                                    1.0)])
    best = scored[0]
    general = float(SentenceModel.bundled().score(np.array([best.features]))[0])
    subject = float(SentenceModel.bundled("sentences-subject").score(
        np.array([best.features]))[0])
    assert best.score == pytest.approx(subject) and subject != pytest.approx(general)
    row = support_features(question, [Hit(passage, 1, 1.0, 1, 0.5, 1, 1.0)], scored,
                           weights={"zebra": 1.0, "live": 1.0},
                           keywords=ANALYZER.keywords([text]), intent=intent_of(question),
                           collection_size=4)
    assert row[SUPPORT_FEATURES.index("best_sentence")] == pytest.approx(general)
