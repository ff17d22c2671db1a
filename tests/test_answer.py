"""Answers quote sentences verbatim with consistent citations, or abstain."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa.answer.answerer import NOT_FOUND, Answer, Answerer, rivalled, short_answer
from qa.answer.question import help_message, unresolved_message
from qa.answer.retrieval import Hit, Retriever
from qa.answer.sentences import ScoredSentence
from qa.config import Settings
from qa.errors import EmptyQuestionError
from qa.index.analysis import TextAnalyzer
from qa.index.builder import index_paths
from qa.index.entities import Entity
from qa.index.parts import Filters, StoredPassage
from qa.index.store import IndexStore

ANALYZER = TextAnalyzer()


@pytest.fixture
def answerer(tmp_path: Path, fake: FakeEmbedder) -> Answerer:
    write(tmp_path / "d" / "zoo.txt", "May 1, 2020\n\nZoo news\n\nThe zoo opened a new hall. "
          "Zebras arrived from Kenya on Monday. Visitors can see them from June.")
    write(tmp_path / "d" / "tax.txt", "Tax rules\n\nThe tax office changed its filing rules. "
          "Forms are due in April.")
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.2)
    index_paths([tmp_path / "d"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    return Answerer(Retriever(store, fake, settings), settings)


def check_consistent(answer: Answer) -> None:
    """Every [n] has citation n, every citation is used, and highlights are exact."""
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        quoted = c.passage[c.highlight_start - c.passage_start : c.highlight_end - c.passage_start]
        assert quoted == c.highlight and quoted
        assert f"{quoted} [{c.n}]" in answer.answer
        assert c.passage_start <= c.highlight_start < c.highlight_end <= c.passage_end


def test_answer_quotes_the_matching_sentence(answerer: Answerer) -> None:
    answer = answerer.ask("Where did the zebras arrive from?")
    assert not answer.abstained
    check_consistent(answer)
    first = answer.citations[0]
    assert first.highlight == "Zebras arrived from Kenya on Monday."
    assert (first.title, first.date) == ("Zoo news", "2020-05-01")
    assert first.scores["fused_rank"] == 1
    assert answer.query_used == "Where did the zebras arrive from?"


def test_nothing_relevant_abstains(answerer: Answerer) -> None:
    answer = answerer.ask("quantum chromodynamics lattice gluon")
    assert answer.abstained and answer.answer == NOT_FOUND
    assert answer.citations == ()
    assert "[" not in answer.answer


def test_empty_question_is_an_error(answerer: Answerer) -> None:
    with pytest.raises(EmptyQuestionError):
        answerer.ask("  ")


def test_answer_serialises_to_plain_json(answerer: Answerer) -> None:
    import json

    data = json.loads(json.dumps(answerer.ask("zebras Kenya").to_dict()))
    assert set(data) >= {"question", "answer", "abstained", "citations", "query_used"}
    assert set(data["citations"][0]) >= {
        "n", "doc_id", "title", "date", "source", "passage", "passage_start", "passage_end",
        "highlight_start", "highlight_end", "page", "scores"}


def test_an_overview_quotes_the_lead_sentences_not_keyword_matches(answerer: Answerer) -> None:
    answer = answerer.ask("What is this article about?")
    assert not answer.abstained
    check_consistent(answer)
    leads = [c.highlight for c in answer.citations]
    assert leads == ["The zoo opened a new hall.", "The tax office changed its filing rules."]


def test_a_follow_up_is_supported_by_its_own_words_not_the_carried_topic(
        answerer: Answerer) -> None:
    from qa.answer.support import SUPPORT_FEATURES

    history = [{"role": "user", "content": "Where did the zebras arrive from?"},
               {"role": "assistant", "content": "Zebras arrived from Kenya on Monday. [1]"}]
    reading = answerer.read("What do they eat?", history=history)
    assert reading.query != reading.question  # searched with the zebras carried over
    assert reading.signals is not None
    assert reading.signals[SUPPORT_FEATURES.index("coverage")] == 0.0  # nothing says what


def test_the_documents_a_conversation_quoted_are_found_from_its_text(
        answerer: Answerer) -> None:
    store = answerer.retriever.store
    ids = {r.title: r.doc_id for r in store.catalog.documents()}
    history = [{"role": "user", "content": "Where did the zebras come from?"},
               {"role": "assistant", "content": "Kenya — Zebras arrived from Kenya on  Monday. "
                "[1] Visitors can see them from June. [2]"},
               {"role": "user", "content": "What about taxes?"},
               {"role": "assistant", "content": NOT_FOUND},  # no answer: no document
               {"role": "user", "content": "When are forms due?"},
               {"role": "assistant", "content": "Forms are due in April. [1]"}]
    assert answerer.conversation_documents(history) == [ids["Tax rules"], ids["Zoo news"]]
    # Only the last `focus_turns` answers count; text no document holds counts for nothing.
    unquoted = [{"role": "user", "content": "And?"},
                {"role": "assistant", "content": "Nothing here says this. [1]"}]
    assert answerer.conversation_documents([*history[:2], *unquoted]) == [ids["Zoo news"]]
    one = Answerer(answerer.retriever, answerer.settings.with_overrides(focus_turns=1))
    assert one.conversation_documents(history) == [ids["Tax rules"]]
    off = Answerer(answerer.retriever, answerer.settings.with_overrides(focus_weight=0.0))
    assert off.conversation_documents(history) == []


def test_a_first_question_pointing_back_is_about_the_only_document(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    # A new user's first folder is often one article: "When did this happen?" asked first
    # means the article's story, so it is searched and scored with the title's words.
    write(tmp_path / "d" / "zoo.txt", "Zoo news\n\nThe zoo opened a new hall. Zebras "
          "arrived from Kenya on Monday.")
    settings = Settings(index_dir=tmp_path / "ix")
    index_paths([tmp_path / "d"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    one = Answerer(Retriever(store, fake, settings), settings)
    reading = one.read("When did this happen?")
    assert reading.query == "When did this happen? Zoo news" and reading.unresolved is None
    # A bare fragment names nothing to point at; a question with words of its own is searched
    # as it is (the title's words would pull its sentences towards the lead); a filter may
    # leave another collection.
    assert one.read("By when?").query == "By when?"
    own = one.read("How many zebras came to this new hall?")
    assert own.query == "How many zebras came to this new hall?" and own.unresolved is None
    # An overview reads whole documents: "What is this story about?" needs no title words.
    assert one.read("What is this story about?").query == "What is this story about?"
    assert one.read("When did this happen?", filters=Filters(source="zoo")).unresolved == "this"


def test_a_pronoun_pointing_at_nothing_says_so_when_abstaining(answerer: Answerer) -> None:
    # Two documents: "this" could be either, and no earlier answer says which.
    never = Answerer(answerer.retriever, answerer.settings.with_overrides(abstain_threshold=1.1))
    reading = never.read("When did this happen?")
    assert reading.unresolved == "this" and reading.query == "When did this happen?"
    answer = never.answer(reading)
    assert answer.abstained and answer.answer == unresolved_message("this")
    assert "“this”" in answer.answer
    assert never.ask("By when?").answer == NOT_FOUND  # no pronoun: the usual words
    # After an answer the pronoun has something to point at.
    history = [{"role": "user", "content": "Where did the zebras come from?"},
               {"role": "assistant", "content": "Zebras arrived from Kenya on Monday. [1]"}]
    assert never.read("When did this happen?", history=history).unresolved is None
    # After an answer that said so, it still has nothing: that turn is no topic.
    unanswered = [{"role": "user", "content": "When did it open?"},
                  {"role": "assistant", "content": unresolved_message("it")}]
    assert never.read("When did this happen?", history=unanswered).unresolved == "this"


def test_a_typo_is_respelled_to_a_word_the_documents_hold(answerer: Answerer) -> None:
    answer = answerer.ask("Where did the zebras arive from?")
    assert answer.question == "Where did the zebras arive from?"  # as typed
    assert answer.query_used == "Where did the zebras arrive from?"
    assert not answer.abstained and "Kenya" in answer.citations[0].highlight
    # An English word the documents lack, and a capitalised word (a name, likely), stay as
    # typed.
    assert answerer.read("Did the zebras arrive by ship?").query == (
        "Did the zebras arrive by ship?")
    assert answerer.read("Are forms due in Apirl?").query == "Are forms due in Apirl?"


def test_a_greeting_gets_what_the_assistant_does_not_a_refusal(answerer: Answerer) -> None:
    for said in ("hi", "Thanks!", "what can you do?"):
        answer = answerer.ask(said)
        assert answer.abstained and answer.citations == () and answer.related == ()
        assert answer.answer == help_message(2) and "2 documents indexed" in answer.answer
    # It answered nothing: the next question takes no topic from it.
    history = [{"role": "user", "content": "hi"},
               {"role": "assistant", "content": help_message(2)}]
    assert answerer.read("Why?", history=history).query == "Why?"


def test_no_short_answer_names_someone_a_relative_clause_says_did_not_do_it(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    # "Who made the costumes?" led with a bold "Sarah Khan": she thanked "the parents who
    # made the costumes". The sentence is still quoted; the wrong name is not put first.
    write(tmp_path / "d" / "play.txt", "School play\n\nThe head teacher, Sarah Khan, "
          "thanked the parents who made the costumes.")
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.0)
    index_paths([tmp_path / "d"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    one = Answerer(Retriever(store, fake, settings), settings)
    made = one.ask("Who made the costumes?")
    assert not made.abstained and "parents who made" in made.citations[0].highlight
    assert made.short_answer is None
    thanked = one.ask("Who thanked the parents?")
    assert thanked.short_answer is not None and thanked.short_answer.text == "Sarah Khan"


def test_ask_answers_from_what_read_reads(answerer: Answerer) -> None:
    reading = answerer.read("When did the zebras arrive from Kenya?")
    assert reading.intent.kind == "entity" and reading.hits and reading.scored
    assert reading.scored[0].text == "Zebras arrived from Kenya on Monday."
    answer, asked = answerer.answer(reading), answerer.ask("When did the zebras arrive from Kenya?")
    assert (answer.answer, answer.citations, answer.support) == (
        asked.answer, asked.citations, asked.support)
    overview = answerer.read("What is this article about?")
    assert overview.hits == () and overview.signals is None and overview.support == 1.0


def test_an_overview_tells_a_story_saved_twice_once(tmp_path: Path, fake: FakeEmbedder) -> None:
    story = "Zoo news\n\nThe zoo opened a new hall. Zebras arrived from Kenya on Monday."
    write(tmp_path / "a" / "zoo.txt", story)
    write(tmp_path / "b" / "zoo copy.txt", story)
    settings = Settings(index_dir=tmp_path / "ix")
    index_paths([tmp_path / "a", tmp_path / "b"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    answer = Answerer(Retriever(store, fake, settings), settings).ask("What is this about?")
    check_consistent(answer)
    leads = [c.highlight for c in answer.citations]
    assert leads == ["The zoo opened a new hall.", "Zebras arrived from Kenya on Monday."]


def test_summing_up_this_story_in_a_chat_sums_up_the_one_being_discussed(
        answerer: Answerer) -> None:
    history = [{"role": "user", "content": "When are the forms due?"},
               {"role": "assistant", "content": "Forms are due in April. [1]"}]
    answer = answerer.ask("Sum up this story for me", history=history)
    check_consistent(answer)
    assert {c.title for c in answer.citations} == {"Tax rules"}
    alone = answerer.ask("Sum up this story for me")  # no conversation: the newest documents
    assert {c.title for c in alone.citations} == {"Zoo news", "Tax rules"}


def test_an_overview_of_a_topic_keeps_to_the_documents_saying_it(answerer: Answerer) -> None:
    # Dense search ranks every document of a small folder; the tax rules say nothing of a zoo.
    answer = answerer.ask("Summarize the documents about the zoo")
    assert [c.highlight for c in answer.citations] == [
        "The zoo opened a new hall.", "Zebras arrived from Kenya on Monday."]
    # "Which … mention …" asks the same; its verb is no topic word.
    mention = answerer.ask("Which documents mention the zoo?")
    assert {c.title for c in mention.citations} == {"Zoo news"}
    # When no document says the topic's words, the documents must hold the topic as they
    # would an answer (the support model), and then only the closest one is summed up.
    absent = answerer.ask("Which documents mention quantum chromodynamics lattice gluons?")
    assert absent.abstained and absent.answer == (
        "There are no documents about quantum chromodynamics lattice gluons.")
    lenient = Answerer(answerer.retriever,
                       answerer.settings.with_overrides(abstain_threshold=0.0))
    paraphrased = lenient.ask("Summarize the documents about wildlife parks")
    assert not paraphrased.abstained
    assert len({c.title for c in paraphrased.citations}) == 1


def test_an_overview_of_a_month_keeps_to_the_documents_of_that_month(answerer: Answerer) -> None:
    answer = answerer.ask("What happened in May 2020?")
    assert {c.title for c in answer.citations} == {"Zoo news"}  # its first two sentences
    empty = answerer.ask("What happened in May 2024?")
    assert empty.abstained and "no documents dated 2024-05-01 to 2024-05-31" in empty.answer


def test_a_short_answer_leads_with_the_phrase_asked_for(answerer: Answerer) -> None:
    answer = answerer.ask("When did the zebras arrive from Kenya?")
    short = answer.short_answer
    assert short is not None and short.text == "Monday" and short.n == 1
    cited = answer.citations[0]
    assert cited.highlight_start <= short.start < short.end <= cited.highlight_end
    document = answerer.retriever.store.catalog.document(cited.doc_id).text
    assert document[short.start : short.end] == "Monday"
    assert answer.answer.startswith("Monday — Zebras arrived from Kenya on Monday.")
    assert answer.to_dict()["short_answer"] == {"text": "Monday", "n": 1, "start": short.start,
                                                "end": short.end}


def test_no_short_answer_when_the_question_wants_no_entity(answerer: Answerer) -> None:
    assert answerer.ask("Where did the zebras arrive from?").short_answer is not None
    assert answerer.ask("What did the zoo open?").short_answer is None


def _sentence(text: str, wanted: list[tuple[str, str]]) -> ScoredSentence:
    """A scored sentence holding `wanted` (text, label) entities, found in order."""
    passage = StoredPassage(1, "d", 0, 0, len(text), None, text, "T", None, "s")
    hit = Hit(passage, 1, 1.0, 1, 0.5, 1, 1.0)
    entities = tuple(Entity(t, text.index(t), text.index(t) + len(t), label)
                     for t, label in wanted)
    return ScoredSentence(hit, 0, len(text), (), 1.0, entities)


def test_a_close_second_candidate_withholds_the_short_answer() -> None:
    """"How many were aboard?": "six were missing" and, a little lower, "22 passengers" — the
    answer quotes both and leads with neither in bold."""
    six = _sentence("Six people were missing.", [("Six", "CARDINAL")])
    crew = _sentence("It carried 22 passengers.", [("22", "CARDINAL")])
    close = replace(crew, score=six.score - 0.5)
    assert rivalled([six, close], margin=1.0)
    assert not rivalled([six, replace(crew, score=six.score - 1.5)], margin=1.0)  # far behind
    assert not rivalled([six, replace(close, wanted=six.wanted)], margin=1.0)  # the same one
    other = replace(close, hit=replace(close.hit, passage=replace(close.hit.passage, doc_id="e")))
    assert not rivalled([six, other], margin=1.0)  # another story's number


def test_a_short_place_or_time_is_where_the_sentence_puts_things() -> None:
    text = ("The US says it wants to base the system in eastern Europe by 2013 to protect "
            "against Iran's growing missile capability.")
    where = _sentence(text, [("US", "GPE"), ("Iran", "GPE"), ("Europe", "LOC")])
    terms = ANALYZER.keywords(["Where would the missile system go?"])[0]
    short = short_answer(where, terms, ANALYZER)
    assert short is not None and short.text == "Europe"  # "in eastern Europe", not "against Iran"
    when = _sentence("At the age of 95 he died on Saturday in the Vatican.",
                     [("the age of 95", "DATE"), ("Saturday", "DATE")])
    short = short_answer(when, ANALYZER.keywords(["When did he die?"])[0], ANALYZER)
    assert short is not None and short.text == "Saturday"
    town = _sentence("It last docked in the town of Milazzo, in Messina, on Wednesday.",
                     [("Milazzo", "GPE"), ("Messina", "GPE")])
    short = short_answer(town, ANALYZER.keywords(["Where did it dock last?"])[0], ANALYZER)
    assert short is not None and short.text == "Milazzo"  # "in the town of", nearest "dock"


def test_who_is_answered_with_a_person_before_an_organisation_or_a_country() -> None:
    text = "Brazil's rainforest lost a record area, said Ana Lima of the Space Research Institute."
    found = _sentence(text, [("Ana Lima", "PERSON"), ("the Space Research Institute", "ORG"),
                             ("Brazil", "GPE")])
    short = short_answer(found, ANALYZER.keywords(["Who said the rainforest lost a record?"])[0],
                         ANALYZER)
    assert short is not None and short.text == "Ana Lima"
    no_person = _sentence(text, [("the Space Research Institute", "ORG"), ("Brazil", "GPE")])
    short = short_answer(no_person, ANALYZER.keywords(["Who keeps track of the rainforest?"])[0],
                         ANALYZER)
    assert short is not None and short.text == "the Space Research Institute"


def test_she_in_a_follow_up_means_a_woman_the_documents_call_she(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    write(tmp_path / "d" / "talks.txt", "Talks\n\nVladimir Putin met Condoleezza Rice in "
          "Moscow. Vladimir Putin said he wanted calm and he praised the letter. Condoleezza "
          "Rice said she hoped for progress. She called the talks useful.")
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.0)
    index_paths([tmp_path / "d"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    answerer = Answerer(Retriever(store, fake, settings), settings)
    assert (answerer.gender("Vladimir Putin"), answerer.gender("Condoleezza Rice")) \
        == ("male", "female")
    assert answerer.gender("Sergei Lavrov") is None
    history = [{"role": "user", "content": "Who met in Moscow?"},
               {"role": "assistant", "content": "Vladimir Putin met Condoleezza Rice in Moscow."
                                                " [1]"}]
    query = answerer.ask("What did she say?", history=history).query_used
    assert "Condoleezza Rice" in query and "Vladimir Putin" not in query


def test_a_sentence_of_the_conversation_s_documents_is_preferred_when_nearly_as_good() -> None:
    from qa.answer.answerer import _in_focus

    def sentence(doc: str, score: float) -> ScoredSentence:
        passage = StoredPassage(0, doc, 0, 0, 9, None, "", "A sentence.", None, "")
        return ScoredSentence(Hit(passage, 1, 1.0, 1, 0.5, 1, 1.0), 0, 9, (), score)

    elsewhere, ours, also_elsewhere = sentence("b", 6.8), sentence("a", 6.1), sentence("b", 5.0)
    scored = [elsewhere, ours, also_elsewhere]
    assert _in_focus(scored, ["a"], margin=1.0) == [ours]
    assert _in_focus(scored, ["a"], margin=0.5) == scored  # too far below the best
    assert _in_focus(scored, ["c"], margin=1.0) == scored  # none of them is in focus
    assert _in_focus(scored, [], margin=1.0) == scored


def test_a_question_naming_nothing_new_keeps_to_the_conversation_s_story(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    # Two stories with tickets; the conversation has been reading the Adele one. Quoted only
    # when a focus sentence is within `focus_margin`, which is 0 here: the margin for a
    # question that names nothing new (`anchored_focus_margin`) decides alone.
    write(tmp_path / "d" / "adele.txt", "Adele\n\nAdele will play four shows in Munich. "
          "Ticket sales open on Feb. 7 for the shows.")
    write(tmp_path / "d" / "swift.txt", "Swift\n\nTaylor Swift tickets go on sale March 2. "
          "When do tickets go on sale for Swift? On sale March 2.")
    settings = Settings(index_dir=tmp_path / "ix", abstain_threshold=0.0, focus_margin=0.0,
                        anchored_focus_margin=100.0)
    index_paths([tmp_path / "d"], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    answerer = Answerer(Retriever(store, fake, settings), settings)
    history = [{"role": "user", "content": "Where will Adele play?"},
               {"role": "assistant", "content": "Adele will play four shows in Munich. [1]"}]
    alone = answerer.ask("When do tickets go on sale?")
    assert alone.citations[0].title == "Swift"
    reading = answerer.read("When do tickets go on sale?", history=history)
    assert reading.anchored
    assert answerer.answer(reading).citations[0].title == "Adele"
    # Naming someone the conversation hasn't is no longer about its story alone.
    named = answerer.read("When do Taylor Swift tickets go on sale?", history=history)
    assert not named.anchored
    assert answerer.answer(named).citations[0].title == "Swift"
    # A follow-up leaning on the context searches with the conversation's words already.
    assert not answerer.read("When do they go on sale?", history=history).anchored
    # Without anything read before, nothing anchors it.
    assert not answerer.read("When do tickets go on sale?").anchored
    strict = Answerer(answerer.retriever, settings.with_overrides(anchored_focus_margin=0.0))
    assert strict.ask("When do tickets go on sale?", history=history).citations[0].title \
        == "Swift"
