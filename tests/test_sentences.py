"""Choosing the answering sentence: features, the fitted model, headings, and what is added."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from conftest import FakeEmbedder

from qa.answer.intent import intent_of
from qa.answer.retrieval import Hit
from qa.answer.sentences import (
    FEATURES,
    ScoredSentence,
    SentenceModel,
    SentenceScorer,
    choose,
    keyword_weights,
    known_persons,
)
from qa.index.analysis import TextAnalyzer
from qa.index.entities import Entity
from qa.index.parts import StoredPassage
from qa.index.prose import is_heading

ANALYZER = TextAnalyzer()


def _hit(text: str, rank: int, doc: str = "d", title: str = "T", ordinal: int = 0,
         date: str | None = None) -> Hit:
    passage = StoredPassage(rank, doc, ordinal, 0, len(text), None, text, title, date, "s")
    return Hit(passage, rank, 1.0 / rank, rank, 0.5, rank, 1.0)


def _score(question: str, hits: Sequence[Hit], model: SentenceModel | None = None,
           size: int = 10) -> list[ScoredSentence]:
    # (The hits' one-word titles name a subject: both models are the one given.)
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=size,
                            model=model, subject_model=model)
    return scorer.score(question, hits)


def test_the_bundled_models_name_every_feature_once() -> None:
    model = SentenceModel.bundled()
    assert sorted(model.features) == sorted(f for f in FEATURES if f != "titled")
    assert len(model.weights) == len(model.features)
    subject = SentenceModel.bundled("sentences-subject")
    assert sorted(subject.features) == sorted(FEATURES)
    assert len(subject.weights) == len(FEATURES)
    assert subject.weights[subject.features.index("titled")] > 0


def test_a_subject_s_sentences_are_read_after_its_title_by_a_model_of_their_own() -> None:
    fake = FakeEmbedder()
    text = "It lives on the savanna of Africa. The stripes are unique."
    subject = _hit(text, 1, doc="d", title="Zebras")
    story = _hit(text, 2, doc="e", title="Keepers at the city zoo welcome two new animals")
    slug = _hit(text, 3, doc="f", title="Zoo zebras", date="2022-06-15")
    scorer = SentenceScorer(embed=fake.embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=10,
                            model=SentenceModel(("cosine",), (1.0,), 0.0),
                            subject_model=SentenceModel(("titled",), (1.0,), 0.0))
    question = "Where do zebras live?"
    scored = {(s.hit.doc_id, s.text): s
              for s in scorer.score(question, [subject, story, slug])}
    zebras = scored[("d", "It lives on the savanna of Africa.")]
    q, titled_vector = fake.embed([question, "Zebras. It lives on the savanna of Africa."])
    assert zebras.feature("titled") == pytest.approx(float(q @ titled_vector))
    assert zebras.feature("titled") > zebras.feature("cosine"), "the title says who 'it' is"
    assert zebras.score == pytest.approx(zebras.feature("titled"))
    # A headline tells a story, not a subject: the plain cosine, and the other model.
    # So does a dated document's short title (a news site's URL slug).
    for doc in "ef":
        news = scored[(doc, "It lives on the savanna of Africa.")]
        assert news.feature("titled") == news.feature("cosine") == zebras.feature("cosine")
        assert news.score == pytest.approx(news.feature("cosine"))


def test_the_sentence_with_the_question_keywords_wins() -> None:
    hits = [_hit("The weather was mild. Zebras arrived from Kenya on Monday. Tickets cost more.", 1)]
    best = _score("Where did the zebras arrive from?", hits)[0]
    assert best.text == "Zebras arrived from Kenya on Monday."
    assert best.feature("lexical") == 1.0


def test_a_when_question_wants_a_date_found_by_spacy() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("The bridge opening was delayed again and again. The bridge opened on May 27, 1937.", 1)]
    scored = _score("When did the bridge open?", hits, only_type)
    assert scored[0].text == "The bridge opened on May 27, 1937."
    assert [e.label for e in scored[0].wanted] == ["DATE"]
    assert scored[1].feature("type_match") == 0.0
    vague = _score("When did the bridge open?", [_hit("The bridge took years to open.", 1)],
                   only_type)
    assert vague[0].wanted == ()  # "years" is a DATE to spaCy, but names no time


def test_an_entity_the_question_already_names_is_not_an_answer() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    scored = _score("Who met Lavrov?", [_hit("Lavrov spoke. Rice met Lavrov in Moscow.", 1)],
                    only_type)
    assert scored[0].text == "Rice met Lavrov in Moscow."
    assert "Lavrov" not in {e.text for e in scored[0].wanted}


def test_what_is_x_prefers_the_sentence_saying_what_x_is() -> None:
    only = SentenceModel(("defines",), (1.0,), 0.0)
    hits = [_hit("Lavrov stressed Tuesday that talks went well. Russian Foreign Minister Sergei "
                 "Lavrov said the powers agreed.", 1, ordinal=1)]
    scored = _score("Who is Lavrov?", hits, only)
    assert scored[0].text.startswith("Russian Foreign Minister")
    assert [s.feature("defines") for s in scored] == [1.0, 0.0]
    # Typed in lower case, the name may still follow its titles.
    lower = _score("who is lavrov?", hits, only)
    assert [s.feature("defines") for s in lower] == [1.0, 0.0]
    wiki = [_hit("A chiropractor is a health care professional. The local chiropractor said no.",
                 1, ordinal=0)]
    assert [s.feature("defines") for s in _score("What is a chiropractor?", wiki, only)] == [1.0, 0.0]
    # Not a question asking what something is: the feature stays 0.
    assert all(s.feature("defines") == 0.0 for s in _score("Why did Lavrov go?", hits, only))


def test_when_wants_a_point_in_time_not_a_stretch_of_it() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("He was the first pontiff in almost 600 years to resign. He was elected pope "
                 "in April 2005.", 1)]
    scored = _score("When did he become pope?", hits, only_type)
    assert scored[0].text == "He was elected pope in April 2005."
    assert scored[1].wanted == ()  # "almost 600 years" is a DATE to spaCy
    ago = _score("When did Maris set the record?",
                 [_hit("Maris hit 61 home runs 61 years ago.", 1)], only_type)
    assert ago[0].wanted, "61 years ago is a point in time"
    lasting = _score("How long did the record last?",
                     [_hit("The record lasted 37 years.", 1)], only_type)
    assert lasting[0].wanted, "a stretch answers 'how long'"
    truss = _score("How long did Truss last in office?",
                   [_hit("Truss resigned on Thursday after six weeks in office.", 1)], only_type)
    assert [e.text for e in truss[0].wanted] == ["six weeks"]  # not the day she resigned


def test_a_person_named_in_part_by_the_question_is_not_its_answer() -> None:
    # spaCy's small pipeline tags only "Aaron" of "Aaron Judge" (a judge, to it).
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    text = "Yankees slugger Aaron Judge broke Roger Maris' single-season home run record."
    scored = _score("Who held the home run record before Judge?", [_hit(text, 1)], only_type)
    assert [e.text for e in scored[0].wanted if e.label == "PERSON"] == ["Roger Maris"]
    named = _score("Who broke the record?", [_hit(text, 1)], only_type)
    assert next(e.text for e in named[0].wanted if e.label == "PERSON") == "Aaron Judge"


def test_a_name_opening_a_sentence_is_a_person_when_its_document_says_so() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    text = ("The meeting was Russia's president-elect Dmitry Medvedev's first. Medvedev, who "
            "won by a landslide in March 2 elections, has promised to follow Putin's course.")
    scored = _score("Who will lead Russia after Putin?", [_hit(text, 1)], only_type)
    second = next(s for s in scored if s.text.startswith("Medvedev,"))
    assert [e.text for e in second.wanted if e.label == "PERSON"] == ["Medvedev"]


def test_a_surname_taken_for_a_place_is_the_person_unless_something_is_put_at_it() -> None:
    texts = ["It was Dmitry Medvedev's day.", "Talks between Bush and Medvedev went well.",
             "Michael Jordan played.", "He grew up in Jordan."]
    found = [(Entity("Dmitry Medvedev", 7, 22, "PERSON"),), (Entity("Medvedev", 26, 34, "GPE"),),
             (Entity("Michael Jordan", 0, 14, "PERSON"),), (Entity("Jordan", 14, 20, "GPE"),)]
    mended = known_persons(texts, found, "aabb")
    assert [e.label for e in mended[1]] == ["PERSON"]
    assert [e.label for e in mended[3]] == ["GPE"]


def test_only_the_document_naming_a_person_lends_the_name() -> None:
    texts = ["Michael Jordan played.", "Jordan won the match.", "Jordan said no."]
    found = [(Entity("Michael Jordan", 0, 14, "PERSON"),), (Entity("Jordan", 0, 6, "GPE"),),
             (Entity("Jordan", 0, 6, "GPE"),)]
    mended = known_persons(texts, found, ["a", "a", "b"])
    # In its own document "Jordan" opening a sentence is the person; in another, the country.
    assert [e.label for e in mended[1]] == ["PERSON"]
    assert [e.label for e in mended[2]] == ["GPE"]
    # A surname the document tags as a place more often than as a person stays a place.
    places = known_persons([*texts[:2], "Off Jordan.", "In Jordan."],
                           [*found[:2], (Entity("Jordan", 4, 10, "GPE"),),
                            (Entity("Jordan", 3, 9, "GPE"),)], "aaaa")
    assert [e.label for e in places[1]] == ["GPE"]


def test_a_name_a_follow_up_carries_from_earlier_turns_is_not_its_answer() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("Zaki beat Kadam in the final. Zaki lost to Soma the year before.", 1)]
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=10,
                            model=only_type, subject_model=only_type)
    # "Who beat him that time?" after an answer naming Zaki and Kadam: neither is new.
    scored = scorer.score("Who beat him that time? Zaki final Kadam", hits,
                          focus="Who beat him that time?")
    assert scored[0].text == "Zaki lost to Soma the year before."
    assert [e.text for e in scored[0].wanted] == ["Soma"]


def test_a_place_a_follow_up_carries_may_still_be_where() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=10,
                            model=only_type, subject_model=only_type)
    scored = scorer.score("Where would it be built? shield Europe",
                          [_hit("The system would be built in eastern Europe.", 1)],
                          focus="Where would it be built?")
    assert [e.text for e in scored[0].wanted] == ["Europe"]


def test_length_grows_with_the_words_up_to_forty() -> None:
    text = "Short one here now. " + " ".join(["word"] * 19) + " end." + " " + " ".join(
        ["more"] * 59) + " stop."
    lengths = sorted(s.feature("length") for s in _score("word", [_hit(text, 1)]))
    assert lengths == [0.1, 0.5, 1.0]


def test_how_many_things_wants_a_number_of_those_things() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("Six people were missing after the storm. The yacht had 22 passengers aboard.", 1)]
    scored = _score("How many passengers were on the yacht?", hits, only_type)
    assert scored[0].text == "The yacht had 22 passengers aboard."
    assert scored[0].feature("type_match") == 1.0 and scored[1].feature("type_match") == 0.5
    # Without a noun counted, any number will do.
    bare = _score("How many were missing?", hits, only_type)
    assert [s.feature("type_match") for s in bare] == [1.0, 1.0]


def test_the_words_of_the_story_s_title_and_lead_count_half_in_its_other_sentences() -> None:
    text = "The missile shield worries Moscow. The system would be ready by 2013."
    scored = {s.text: s for s in _score("When will the shield be ready?",
                                        [_hit(text, 1, title="Missile talks")])}
    lead, later = scored["The missile shield worries Moscow."], scored[
        "The system would be ready by 2013."]
    # shield (in the lead) counts half beside ready: 0.5 w / (0.5 w + w') < w / (w + w')
    assert later.feature("lexical") > lead.feature("lexical") > 0.0
    assert later.feature("context") == 1.0  # its story names the shield
    alone = _score("When will the shield be ready?",  # its lead not among the candidates
                   [_hit("The system would be ready by 2013.", 1, title="Missile talks",
                         ordinal=2)])
    assert alone[0].feature("context") < 1.0


def test_what_did_she_say_prefers_a_sentence_reporting_words() -> None:
    only_cue = SentenceModel(("cue",), (1.0,), 0.0)
    hits = [_hit("Rice met Lavrov in Moscow. Rice said she hoped for progress.", 1)]
    scored = _score("What did Rice say?", hits, only_cue)
    assert scored[0].text == "Rice said she hoped for progress."
    assert [s.feature("cue") for s in scored] == [1.0, 0.0]
    quoted = _score("What did she post?", [_hit("She posted: “I am not Musk.” Then left.", 1)],
                    only_cue)
    assert quoted[0].feature("cue") == 1.0


def test_what_will_happen_prefers_what_is_promised_in_the_text_s_own_voice() -> None:
    only_cue = SentenceModel(("cue",), (1.0,), 0.0)
    quoted = "'Our dialogue will be productive,' Putin told reporters."
    promised = "Medvedev has promised to appoint Putin prime minister."
    scored = _score("What will happen to Putin?", [_hit(f"{quoted} {promised}", 1)], only_cue)
    assert scored[0].text == promised and scored[0].feature("cue") == 1.0
    assert scored[1].feature("cue") == 0.0


def test_a_why_question_prefers_a_sentence_giving_a_reason() -> None:
    only_cue = SentenceModel(("cue",), (1.0,), 0.0)
    hits = [_hit("Russia objects to the plan. Russia believes the system would threaten its "
                 "deterrent.", 1)]
    assert intent_of("Why does Russia object?").kind == "reason"
    assert _score("Why does Russia object?", hits, only_cue)[0].text.startswith("Russia believes")


@pytest.mark.parametrize(("question", "cued"), [
    # Reasons, the way news gives them.
    ("Why did it happen?", "He resigned in July following a series of scandals."),
    ("Why did it happen?", "The brands' growth is in part responsible for her decision."),
    ("Why did it happen?", "The extra cash will help to pay for its investment in shows."),
    # The means, for "how".
    ("How does the lab do it?", "Scientists fire pellets of hydrogen fuel into lasers."),
    # A name: "known as", or a term in quotation marks (not any quotation).
    ("What's the name of the method?", "It works by what's known as inertial fusion."),
    ("What are people calling the planet?", 'Saturn is now the "moon king" of the system.'),
    # The detail is not known: that is what the documents say about it.
    ("How many people will lose their jobs?", "The company did not clarify how many jobs."),
    ("How many people will lose their jobs?", "Specific locations were not provided."),
    ("How many people will lose their jobs?", "A spokesman declined to say how many."),
])
def test_the_cue_marks_the_sentence_giving_what_is_asked(question: str, cued: str) -> None:
    only_cue = SentenceModel(("cue",), (1.0,), 0.0)
    scored = _score(question, [_hit(f"It all happened on Monday. {cued}", 1)], only_cue)
    assert scored[0].text == cued and scored[1].feature("cue") == 0.0


def test_headings_and_titles_are_never_quoted() -> None:
    text = "Missile talks\nThe talks began in Moscow.\n# Background\nThey ended on Tuesday."
    texts = [s.text for s in _score("missile talks background", [_hit(text, 1, title="Missile talks")])]
    assert texts == ["The talks began in Moscow.", "They ended on Tuesday."]
    assert is_heading("Intro\nIt rained.", "Intro", 0, 5, "")
    assert not is_heading("It rained. Then it stopped.", "It rained.", 0, 10, "")


def test_rarity_comes_from_general_english_in_a_small_collection() -> None:
    weights = keyword_weights("Who said Medvedev would follow Putin?", ANALYZER, {}, 1)
    assert weights["medvedev"] > weights["follow"] > 0
    assert "said" not in weights  # a conversation word, never a keyword


def test_won_is_a_word_but_won_t_is_not_a_win() -> None:
    assert ANALYZER.keywords(["Who won the election?"]) == [["won", "elect"]]
    assert ANALYZER.keywords(["It won't work.", "It won’t work."]) == [["work"], ["work"]]


def test_the_month_may_is_a_keyword_and_the_verb_is_not() -> None:
    asked, said, modal = ANALYZER.keywords(["How many fires were there in May?",
                                            "In May, it detected 2,287 fires.", "It may rain."])
    assert "maymonth" in asked and "maymonth" in said and modal == ["rain"]
    assert ANALYZER.background_rarity("fires in May")["maymonth"] > 0


def test_the_collection_takes_over_as_it_grows() -> None:
    idf = {"missil": 0.1}
    small = keyword_weights("missile", ANALYZER, idf, 10)["missil"]
    large = keyword_weights("missile", ANALYZER, idf, 1_000_000)["missil"]
    assert small > 3 and large < 0.2


def test_passage_rank_counts() -> None:
    same = "Zebras arrived from Kenya."
    scored = _score("zebras Kenya", [_hit(same, 1, "a"), _hit(same, 2, "b")])
    assert scored[0].hit.doc_id == "a" and scored[0].score > scored[1].score


def test_a_later_sentence_is_quoted_only_when_it_adds_something() -> None:
    hits = [_hit("Zebras came from Kenya. Zebras came from Kenya by boat. Giraffes came too.", 1,
                 ordinal=3)]  # not the story's lead (whose words count half)
    scored = _score("zebras Kenya giraffes", hits, SentenceModel(("lexical",), (1.0,), 0.0))
    terms = set(ANALYZER.keywords(["zebras Kenya giraffes"])[0])
    chosen = choose(scored, limit=3, margin=10.0, keywords=ANALYZER.keywords,
                    question_terms=terms)
    assert [c.text for c in chosen] == ["Zebras came from Kenya.", "Giraffes came too."]
    assert len(choose(scored, limit=3, margin=0.0, keywords=ANALYZER.keywords,
                      question_terms=terms)) == 1


def _chosen(question: str, text: str | list[str], feature: str, *, margin: float,
            several: bool = False, alternative: float | None = None) -> list[str]:
    """The sentences `choose` quotes from `text` (not a story's lead; a list: one document
    each) scored on one feature."""
    texts = [text] if isinstance(text, str) else text
    scored = _score(question, [_hit(t, i, f"d{i}", ordinal=3) for i, t in enumerate(texts, 1)],
                    SentenceModel((feature,), (1.0,), 0.0))
    return [c.text for c in choose(scored, limit=3, margin=margin, keywords=ANALYZER.keywords,
                                   question_terms=set(ANALYZER.keywords([question])[0]),
                                   several=several, alternative=alternative)]


def test_a_close_second_answer_of_the_same_story_is_quoted_too() -> None:
    text = "Six people were missing after the yacht sank. It carried 22 passengers. It was hot."
    question = "How many were aboard?"
    assert _chosen(question, text, "type_match", margin=10.0) == [
        "Six people were missing after the yacht sank."]
    assert _chosen(question, text, "type_match", margin=10.0, alternative=1.0) == [
        "Six people were missing after the yacht sank.", "It carried 22 passengers."]
    # Not one of another story: that is another story's answer, not a second candidate.
    assert _chosen(question, ["Six people were missing after the yacht sank.",
                              "The ferry carried 22 passengers."],
                   "type_match", margin=10.0, alternative=1.0) == [
        "Six people were missing after the yacht sank."]


def test_a_sentence_that_only_announces_brings_the_next_along() -> None:
    text = ("Statins lower the risk of stroke. The study has some limitations, however. It "
            "lacked data on diet. Other studies agree.")
    assert _chosen("What are the weaknesses of the study?", text, "lexical", margin=0.0) == [
        "The study has some limitations, however.", "It lacked data on diet."]
    # A sentence that says something itself does not.
    assert len(_chosen("Do statins lower the risk of stroke?", text, "lexical",
                       margin=0.0)) == 1


def test_a_question_asking_for_several_adds_sentences_naming_others() -> None:
    text = ("Musk mocked Joseph Stalin on Twitter. Comedian Sarah Silverman mocked Musk on "
            "Twitter. Musk was mocked on Twitter by Stalin fans.")
    question = "Which celebrities mocked Musk on Twitter?"
    assert intent_of(question).several
    assert len(_chosen(question, text, "type_match", margin=10.0)) == 1
    assert _chosen(question, text, "type_match", margin=10.0, several=True)[:2] == [
        "Musk mocked Joseph Stalin on Twitter.",
        "Comedian Sarah Silverman mocked Musk on Twitter."]


def test_a_why_answer_without_a_reason_adds_the_sentence_giving_one() -> None:
    hits = [_hit("Russia objects to the shield in Europe. Russia objects because the shield "
                 "would threaten its deterrent.", 1, ordinal=3)]
    question = "Why does Russia object to the shield?"
    # Scored on keywords alone, the first (no reason in it) wins; the second adds no keyword.
    scored = _score(question, hits, SentenceModel(("lexical",), (1.0,), 0.0))
    assert scored[0].text == "Russia objects to the shield in Europe."
    terms = set(ANALYZER.keywords([question])[0])
    chosen = choose(scored, limit=3, margin=10.0, keywords=ANALYZER.keywords,
                    question_terms=terms)
    assert [c.feature("cue") for c in chosen] == [0.0, 1.0]
    # A question not asking why gets no such second sentence.
    plain = _score("Russia objects to the shield", hits, SentenceModel(("lexical",), (1.0,), 0.0))
    assert len(choose(plain, limit=3, margin=10.0, keywords=ANALYZER.keywords,
                      question_terms=set(ANALYZER.keywords(["Russia objects to the shield"])[0]))) == 1


def test_a_close_second_reason_of_the_same_story_is_quoted_too() -> None:
    text = ("Prices rose because costs grew. Prices rose to fund new shows. Prices were "
            "announced on Monday.")
    question = "Why did prices rise?"
    assert _chosen(question, text, "cue", margin=10.0) == ["Prices rose because costs grew."]
    assert _chosen(question, text, "cue", margin=10.0, alternative=1.0) == [
        "Prices rose because costs grew.", "Prices rose to fund new shows."]


def test_sentence_offsets_point_into_the_document() -> None:
    text = "First sentence here. Second one about zebras."
    best = _score("zebras", [_hit(text, 1)])[0]
    assert text[best.start : best.end] == "Second one about zebras."
    assert np.isfinite(best.score)


def test_a_question_on_a_line_of_its_own_is_a_subheading() -> None:
    text = "Stores to close\n\nHow many stores are closing?\nThe company will close 523 stores."
    texts = [s.text for s in _score("how many stores are closing", [_hit(text, 1)])]
    assert texts == ["The company will close 523 stores."]


def test_who_prefers_a_person_to_an_organisation() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("The meeting was about US Secretary of State Condoleezza Rice.", 1)]
    best = _score("Who was the meeting about?", hits, only_type)[0]
    assert best.wanted[0].text == "Condoleezza Rice"


def test_a_follow_up_is_also_compared_on_its_own_words() -> None:
    text = "Zebras came from Kenya. The keepers fed them hay at noon."
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=10)
    alone = scorer.score("What did the keepers feed them?", [_hit(text, 1)])
    assert all(s.feature("focus") == 0.0 for s in alone)
    follow = scorer.score("What did the keepers feed them? zebras Kenya", [_hit(text, 1)],
                          focus="What did the keepers feed them?")
    by_text = {s.text: s for s in follow}
    fed = by_text["The keepers fed them hay at noon."]
    assert fed.feature("focus") == alone_feature(alone, fed.text, "cosine")
    zebras = by_text["Zebras came from Kenya."]
    assert zebras.feature("cosine") > zebras.feature("focus")  # the carried topic words


def alone_feature(scored: Sequence[ScoredSentence], text: str, name: str) -> float:
    return next(s.feature(name) for s in scored if s.text == text)


def test_a_sentence_the_last_answer_quoted_is_marked_not_dropped() -> None:
    text = "Medvedev won the March 2 election. He will appoint Putin prime minister."
    scorer = SentenceScorer(embed=FakeEmbedder().embed, analyzer=ANALYZER,
                            idf=lambda terms: dict.fromkeys(terms, 1.0), collection_size=10)
    last = "Medvedev — Medvedev won the March 2 election. [1]"
    scored = scorer.score("When was the vote?", [_hit(text, 1)], quoted=last)
    marks = {s.text: s.feature("repeated") for s in scored}
    assert marks == {"Medvedev won the March 2 election.": 1.0,
                     "He will appoint Putin prime minister.": 0.0}
    fresh = scorer.score("When was the vote?", [_hit(text, 1)])
    assert all(s.feature("repeated") == 0.0 for s in fresh)


def test_links_to_other_stories_are_never_quoted() -> None:
    text = ("The storm brought snow.\n\nWHAT IS LAKE EFFECT SNOW:Here's how it happens.\n\n"
            "A look at the storm's biggest snowfalls over the years\n\n"
            "What was the worst storm? Explaining the records\n\nIt will last all weekend. "
            "Here's what to know about lake effect snow. Read more: the storm of 2014.")
    texts = [s.text for s in _score("What is lake effect snow and how long will it last?",
                                    [_hit(text, 1)])]
    assert sorted(texts) == ["It will last all weekend.", "The storm brought snow."]


def test_how_old_wants_an_age_not_an_ordinal_or_a_day() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("For the 23rd time, Djokovic won on Saturday. Djokovic, 36, beat Ruud.", 1)]
    scored = _score("How old is Djokovic?", hits, only_type)
    assert scored[0].text == "Djokovic, 36, beat Ruud."
    assert [e.text for e in scored[0].wanted] == ["36"]
    assert scored[1].wanted == ()  # "the 23rd" and "Saturday" are dates to spaCy, not ages
    # "How old is Putin?" of the seed once led with "March 2": a day of the calendar holds a
    # number up to 125, but it is no one's age.
    dated = _score("How old is Medvedev?",
                   [_hit("Medvedev won by a landslide in March 2 elections.", 1)], only_type)
    assert dated[0].wanted == () and dated[0].feature("type_match") == 0.0


def test_where_wants_a_place_not_a_country_describing_someone() -> None:
    # "Where did the talks take place?" of the seed led with "US" from "US President George W
    # Bush": a country before a title or a role says whose, not where.
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("Rice hoped for talks between US President George W Bush and Putin. US "
                 "officials met Russian officials in Moscow.", 1)]
    scored = {s.text: s for s in _score("Where did the talks take place?", hits, only_type)}
    bush = scored["Rice hoped for talks between US President George W Bush and Putin."]
    assert bush.wanted == () and bush.feature("type_match") == 0.0
    met = scored["US officials met Russian officials in Moscow."]
    assert [e.text for e in met.wanted] == ["Moscow"]
    # For "who", a country still names a party ("the US").
    who = _score("Who hoped for talks?", [_hit("US President George W Bush hoped for talks.", 1)],
                 only_type)
    assert "US" in {e.text for e in who[0].wanted}


def test_a_name_saying_which_thing_the_question_names_is_no_answer() -> None:
    # "Who won an award?" of "The garden won the county's Green Spaces award" led with a bold
    # "Green Spaces": the award's name, not who won it.
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    text = "The Elm Park community garden won the county's Green Spaces award on Friday."
    scored = _score("Who won an award?", [_hit(text, 1)], only_type)
    assert "Green Spaces" not in {e.text for e in scored[0].wanted}
    # A verb of the question after a name is no thing it names: "Interfax reported".
    reported = _score("Who reported what Lavrov said?",
                      [_hit("Lavrov spoke, news agency Interfax reported.", 1)], only_type)
    assert "Interfax" in {e.text for e in reported[0].wanted}


def test_a_measure_keeps_its_unit() -> None:
    # spaCy's small pipeline tags "5,000" of "5,000 litres" a bare number: "How big is the
    # tank?" led with "5,000".
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    scored = _score("How much water does the rainwater tank hold?",
                    [_hit("Volunteers built a rainwater tank that holds 5,000 litres.", 1)],
                    only_type)
    assert [e.text for e in scored[0].wanted] == ["5,000 litres"]


def test_a_number_that_labels_is_no_count() -> None:
    only_type = SentenceModel(("type_match",), (1.0,), 0.0)
    hits = [_hit("Officials promised improved cooperation on Tuesday in day two of talks in "
                 "Moscow. Two hundred people attended the talks.", 1)]
    scored = {s.text: s for s in _score("How many people attended the talks?", hits, only_type)}
    day = scored["Officials promised improved cooperation on Tuesday in day two of talks in "
                 "Moscow."]
    assert day.wanted == () and day.feature("type_match") == 0.0, "'day two' labels a day"
    counted = scored["Two hundred people attended the talks."]
    assert [e.text for e in counted.wanted] == ["Two hundred"]
    game = _score("How many games were played?",
                  [_hit("The final was game seven of the series.", 1)], only_type)
    assert game[0].wanted == ()
