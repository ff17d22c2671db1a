"""The real bundled model on the real seed article: cited answers, abstention, the cache."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS
from test_answer import check_consistent

from qa.answer.answerer import Answerer
from qa.answer.question import NOT_FOUND
from qa.answer.retrieval import Retriever
from qa.answer.sentences import ScoredSentence, SentenceModel
from qa.config import BUNDLED_MODEL, Settings
from qa.index.builder import index_paths
from qa.index.store import IndexStore

pytestmark = pytest.mark.model


class CountingModel:
    """Wraps the real model and records every text sent to it."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self._model = model
        self.name, self.dim, self.max_tokens = model.name, model.dim, model.max_tokens
        self.precision = model.precision
        self.sent: list[str] = []

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.sent.extend(texts)
        return self._model.embed(texts)

    def count_tokens(self, texts):  # type: ignore[no-untyped-def]
        return self._model.count_tokens(texts)


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_model) -> Path:  # type: ignore[no-untyped-def]
    index_dir = tmp_path_factory.mktemp("seed") / "index"
    report = index_paths([SEEDS], Settings(index_dir=index_dir), embedder=real_model)
    assert report.written and report.documents == 1 and report.embedded == report.passages
    return index_dir


@pytest.fixture(scope="module")
def answerer(seed_index: Path, real_model) -> Answerer:  # type: ignore[no-untyped-def]
    settings = Settings(index_dir=seed_index)
    store = IndexStore.load(seed_index, model=BUNDLED_MODEL)
    return Answerer(Retriever(store, real_model, settings), settings)


@pytest.mark.parametrize("question", [
    "Where does the US plan to deploy the missile defence system?",
    "Where does the US want to put its missile defence system?",
])
def test_missile_defence_answer_cites_poland_and_czech_republic(
    answerer: Answerer, question: str
) -> None:
    answer = answerer.ask(question)
    assert not answer.abstained
    check_consistent(answer)
    assert any("Poland and the Czech Republic" in c.highlight for c in answer.citations)
    cited = answer.citations[0]
    assert cited.title == "US, Russian officials take conciliatory tone in missile talks"
    assert cited.date == "2008-03-18"
    assert cited.source.endswith("000_cf4a24119513014b.txt")
    document_text = (SEEDS / "000_cf4a24119513014b.txt").read_text()
    for c in answer.citations:
        assert c.highlight in document_text


@pytest.mark.parametrize("question", [
    "What is the best recipe for chocolate chip cookies?",
    "Who won the 2018 football World Cup final?",
    "How do I reset my router password?",
    # On topic, but the article counts no one: "day two of talks" labels a day.
    "How many people attended the talks?",
    # It gives no one's age ("March 2 elections" is a day).
    "How old is Putin?",
])
def test_questions_about_absent_things_abstain(answerer: Answerer, question: str) -> None:
    answer = answerer.ask(question)
    assert answer.abstained, answer.answer
    assert answer.citations == ()


def test_a_newcomers_first_questions_of_the_one_seed_article(answerer: Answerer) -> None:
    # "this" in a first question, with one article indexed, is the article's story.
    when = answerer.ask("When did this happen?")
    assert not when.abstained and "missile talks" in when.query_used
    check_consistent(when)
    assert "Tuesday" in when.citations[0].highlight
    # "Where" wants where the talks were, not the country of "US President George W Bush".
    where = answerer.ask("Where did the talks take place?")
    assert where.short_answer is not None and where.short_answer.text == "Moscow"
    # A typo ("missle") is respelled to the word the article holds, not refused.
    typo = answerer.ask("where is the missle shield going")
    assert not typo.abstained and "missile" in typo.query_used
    check_consistent(typo)


def test_reindexing_unchanged_text_embeds_nothing(
    seed_index: Path, real_model, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    counting = CountingModel(real_model)
    report = index_paths([SEEDS], Settings(index_dir=copy), embedder=counting, rebuild=True)
    assert report.written and counting.sent == [] and report.embedded == 0
    assert IndexStore.load(copy, model=BUNDLED_MODEL).count == report.passages


def test_follow_up_questions_use_the_conversation(answerer: Answerer) -> None:
    first = "Where does the US want to put its missile defence system?"
    history = [{"role": "user", "content": first},
               {"role": "assistant", "content": answerer.ask(first).answer}]
    alone = answerer.ask("By when?")
    assert alone.abstained, "without the conversation the question means nothing"
    when = answerer.ask("By when?", history=history)
    assert not when.abstained and "missile" in when.query_used
    assert "2013" in when.citations[0].highlight
    russia = answerer.ask("What does Russia think about it?", history=history)
    check_consistent(russia)
    assert any("Russia believes the system would threaten" in c.highlight
               for c in russia.citations)


def test_dates_in_the_question_are_read_relative_to_now(answerer: Answerer) -> None:
    from datetime import date

    answer = answerer.ask("What did Putin say in March 2008 about the letter?")
    assert answer.date_range == ("2008-03-01", "2008-03-31")
    assert answer.citations and answer.citations[0].date == "2008-03-18"
    later = answerer.ask("What did Putin say about the letter this week?", now=date(2008, 3, 20))
    assert later.date_range == ("2008-03-13", "2008-03-20")
    assert "letter" in later.citations[0].highlight


# The questions a new user asked of the seed article alone (issue 8): each is answered in it.
# One is not answered right yet; it stays here, marked, so that fixing it shows (strict:
# an unexpected pass fails the run, and the mark must then go).
_OPEN = "issue 8 is open: the fitted sentence model does not choose this answer yet"
NATURAL = [
    ("Who took part in the talks?", ("Rice", "Gates", "Lavrov", "Medvedev")),
    ("Who is going to be Russia's next president?", ("Medvedev",)),
    ("What will happen to Putin?", ("prime minister",)),
    ("Which American president is mentioned?", ("Bush",)),
    ("Why does Russia object?", ("nuclear deterrent",)),
    pytest.param("Why is Russia against the shield?", ("nuclear deterrent",),
                 marks=pytest.mark.xfail(reason=_OPEN + " (it quotes the lead)", strict=True)),
    ("What did Lavrov say?", ("Lavrov",)),
]


@pytest.mark.parametrize(("question", "expected"), NATURAL)
def test_natural_questions_about_the_seed_are_answered(answerer: Answerer, question: str,
                                                       expected: tuple[str, ...]) -> None:
    answer = answerer.ask(question)
    assert not answer.abstained, (question, answer.support)
    check_consistent(answer)
    assert any(word in answer.citations[0].highlight for word in expected), answer.answer


def test_what_is_this_article_about_gets_its_lead(answerer: Answerer) -> None:
    answer = answerer.ask("What is this article about?")
    assert not answer.abstained
    assert answer.citations[0].highlight.startswith("Moscow - Top US and Russian officials")


def test_the_next_president_is_given_as_a_short_answer(answerer: Answerer) -> None:
    answer = answerer.ask("Who is going to be Russia's next president?")
    assert answer.short_answer is not None and "Medvedev" in answer.short_answer.text


def test_a_name_opening_a_sentence_is_still_a_person(answerer: Answerer) -> None:
    """spaCy's small pipeline tags the "Medvedev" that opens a sentence as a place; the
    article names "Dmitry Medvedev" elsewhere, so the answer to "who" is him, not the
    Kremlin of the sentence about Putin."""
    answer = answerer.ask("Who will lead Russia after Putin?")
    assert answer.short_answer is not None and answer.short_answer.text == "Medvedev"
    assert "promised to follow Putin's course" in answer.citations[0].highlight
    # "won" is a word of the question (not the "won" of "won't"): the one who won is named
    # beside it, not Putin further on.
    won = answerer.ask("Who won the Russian election?")
    assert won.short_answer is not None and won.short_answer.text == "Medvedev"
    # Nor is the "Medvedev" of "talks between Bush and Medvedev" a place.
    where = answerer.ask("Where were the talks held?")
    assert where.short_answer is not None and where.short_answer.text == "Moscow"


def test_which_president_is_answered_with_a_person(answerer: Answerer) -> None:
    """"mentioned" is a word about the article, not its topic; "which president" wants a person,
    not the country named beside the title ("US President George W Bush")."""
    answer = answerer.ask("Which American president is mentioned?")
    assert answer.short_answer is not None and answer.short_answer.text == "George W Bush"


def test_an_unanswered_turn_does_not_poison_the_next(answerer: Answerer) -> None:
    """The chat sends the abstention's text back as the assistant's turn; the next question
    must not be searched with the unanswered one's words."""
    history = [{"role": "user", "content": "What did the Chinese government say about the talks?"},
               {"role": "assistant", "content": NOT_FOUND}]
    answer = answerer.ask("What did Lavrov say?", history=history)
    assert not answer.abstained and "Lavrov" in answer.answer
    assert "Chinese" not in answer.query_used


def test_a_question_about_someone_the_article_never_names_is_not_answered(
        answerer: Answerer) -> None:
    # The fitted support model alone gives it 0.68 (the passages are close to "the talks");
    # what someone said can only be quoted from a passage naming them.
    answer = answerer.ask("What did the Chinese government say about the talks?")
    assert answer.abstained and answer.support == 0.0
    # Someone the article does name is answered.
    assert not answerer.ask("What did the Russian foreign minister say?").abstained


def test_a_page_titled_by_its_subject_is_read_with_its_title(
        tmp_path: Path, real_model) -> None:  # type: ignore[no-untyped-def]
    """"They were descended from…" says where the Normans came from only to a reader who
    knows the page is about the Normans: the sentence embedded after its title says so."""
    text = ("The Normans were the people who in the 10th and 11th centuries gave their name to "
            "Normandy, a region in France. They were descended from Norse raiders and pirates "
            "from Denmark, Iceland and Norway.")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "normans.md").write_text(f"# Normans\n\n{text}\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([folder], settings, embedder=real_model)
    store = IndexStore.load(settings.index_dir, model=BUNDLED_MODEL)
    answerer = Answerer(Retriever(store, real_model, settings), settings)
    reading = answerer.read("Where did the Normans come from?")
    descended = next(s for s in reading.scored if s.text.startswith("They were descended"))
    lead = next(s for s in reading.scored if s.text.startswith("The Normans were"))
    assert descended.feature("titled") > descended.feature("cosine") + 0.1
    assert abs(lead.feature("titled") - lead.feature("cosine")) < 0.05, "it names them itself"
    # The subject model weighs that: the lead (which shares the question's words) still leads
    # here, but by less than the general model would have it.
    general = SentenceModel.bundled()

    def gap(score: Callable[[ScoredSentence], float]) -> float:
        return score(lead) - score(descended)

    assert gap(lambda s: s.score) < gap(
        lambda s: float(general.score(np.array([s.features]))[0])) - 0.5
