"""Follow-up questions: detected when they lean on earlier turns, carried to the query."""

from __future__ import annotations

import pytest

from qa.answer.followup import (
    changes_topic,
    contextual_query,
    gender_in,
    leans_on_context,
)

HISTORY = [
    {"role": "user", "content": "What did Putin say about the letter from Bush?"},
    {"role": "assistant",
     "content": "Putin called a letter from his US counterpart 'a very serious document'. [1]"},
]


@pytest.mark.parametrize("question", [
    "What did he say about it?", "And Russia?", "By when?", "Why?", "When did they conquer it?",
    "Who was the first one?", "What about the Czech sites?", "How many people live there?",
    "Quick question: what did he say this week?", "What happens next?",
    "What are the British doing instead?", "How long until it's commercial?", "Who else was there?",
])
def test_follow_ups_are_detected(question: str) -> None:
    assert leans_on_context(question)


@pytest.mark.parametrize("question", [
    "Who is the president of France?",
    "Where does the US want to put its missile defence system?",
    "When was the University of Chicago founded by John D. Rockefeller?",
    # "one" in a preamble and "this" before a time are no pronouns.
    "Quick one: how many stores will Advance Auto close?",
    "Who won the Monaco race this year?", "Quick one: who won the Monaco race this year?",
    "Who is going to be Russia's next president?",
])
def test_self_contained_questions_are_left_alone(question: str) -> None:
    assert not leans_on_context(question)
    assert contextual_query(question, HISTORY) == question


def test_short_follow_up_takes_the_topic_and_the_names_of_the_last_answer() -> None:
    query = contextual_query("And Medvedev?", HISTORY)
    assert query.startswith("And Medvedev? ")
    for word in ("Putin", "letter", "Bush", "US"):
        assert word in query.split()


def test_the_answer_names_can_be_left_out_for_scoring_sentences() -> None:
    query = contextual_query("And Medvedev?", HISTORY, names_carried=False)
    assert "letter" in query.split() and "US" not in query.split()


def test_richer_follow_up_takes_the_topic_but_not_the_answer_names() -> None:
    query = contextual_query("What did he promise about missile defence?", HISTORY)
    assert "Putin" in query and "letter" in query
    assert "counterpart" not in query and "document" not in query


def test_no_history_no_change() -> None:
    assert contextual_query("And Russia?", []) == "And Russia?"


def test_the_last_self_contained_question_anchors_a_chain_of_follow_ups() -> None:
    history = [
        {"role": "user", "content": "Who founded the Yuan dynasty?"},
        {"role": "assistant", "content": "Kublai Khan founded it. [1]"},
        {"role": "user", "content": "When?"},
        {"role": "assistant", "content": "In 1271. [1]"},
    ]
    query = contextual_query("Where was its capital?", history)
    assert "Yuan" in query and "dynasty" in query


def test_a_question_the_documents_could_not_answer_never_becomes_the_topic() -> None:
    history = [
        {"role": "user", "content": "What did Putin say about the letter from Bush?"},
        {"role": "assistant", "content": "Putin called the letter 'a very serious document'. [1]"},
        {"role": "user", "content": "What did the Chinese government say about the talks?"},
        {"role": "assistant", "content": "I could not find an answer to this in the documents."},
    ]
    query = contextual_query("What did he promise?", history)
    assert "Chinese" not in query and "government" not in query
    assert "Putin" in query
    # Every refusal's wording counts: a pronoun it could not resolve, an overview of nothing.
    for refusal in ("I could not tell what “it” refers to: no earlier answer says. Ask again "
                    "naming it.", "There are no documents about the Chinese government."):
        said = [*history[:3], {"role": "assistant", "content": refusal}]
        assert "Chinese" not in contextual_query("What did he promise?", said)


def test_a_question_with_its_own_topic_is_never_rewritten() -> None:
    history = [{"role": "user", "content": "Who opened the new bridge?"},
               {"role": "assistant", "content": "The mayor opened it on Monday. [1]"}]
    for question in ("Why did residents petition the council?", "What did Lavrov say?",
                     "What will happen to Putin?"):
        assert not leans_on_context(question)
        assert contextual_query(question, history) == question


def test_he_and_there_resolve_to_the_last_person_and_place() -> None:
    history = [
        {"role": "user", "content": "Who met the Russian foreign minister?"},
        {"role": "assistant", "content": "Condoleezza Rice met Sergei Lavrov in Moscow. [1]"},
    ]
    assert "Condoleezza Rice" in contextual_query("What did he promise?", history)
    assert "Moscow" in contextual_query("What happened there?", history)


def test_a_question_leaving_the_topic_stands_alone_and_its_preamble_is_no_topic() -> None:
    assert not leans_on_context("Unrelated, but how do you make sourdough?")
    assert not leans_on_context("OK, different topic - why?")
    history = [
        {"role": "user", "content": "OK different topic - did Netflix raise prices?"},
        {"role": "assistant", "content": "Netflix is raising its prices. [1]"},
    ]
    query = contextual_query("By how much?", history)
    assert "Netflix" in query and "different" not in query and "topic" not in query
    # However the change is worded: "Switching topics,", "Changing the subject,", "On another
    # note,".
    for preamble in ("Switching topics,", "Changing the subject,", "On another note,",
                     "Switching gears:"):
        assert changes_topic(f"{preamble} did Netflix raise prices?")
        said = [{"role": "user", "content": f"{preamble} did Netflix raise prices?"},
                history[1]]
        query = contextual_query("By how much?", said)
        assert "Netflix" in query and not {"Switching", "Changing", "note", "gears"} & set(
            query.split()), query


@pytest.mark.parametrize("question", [
    "Now, about the fusion experiment: where did it happen?",
    "Switching to the whales in Scotland: has a stranding like that happened before?",
    "Now the superyacht: who built it?",
    "Back to tennis - who did he beat?",
])
def test_a_question_naming_the_topic_it_turns_to_stands_alone(question: str) -> None:
    assert changes_topic(question) and not leans_on_context(question)


@pytest.mark.parametrize("question", ["Quick one: who won?", "So, what did she say?",
                                      "Also - why?"])
def test_a_preamble_of_filler_words_names_no_topic(question: str) -> None:
    assert not changes_topic(question)


def test_a_referent_the_topic_names_already_is_not_repeated() -> None:
    history = [
        {"role": "user", "content": "Which senator is Kyrsten Sinema?"},
        {"role": "assistant", "content": "Kyrsten Sinema is the senator for Arizona. [1]"},
    ]
    query = contextual_query("What was her role?", history)
    assert query.count("Sinema") == 1 and "Kyrsten" in query


def test_the_topic_carries_across_several_follow_ups() -> None:
    history = [
        {"role": "user", "content": "Where will the US put its missile shield?"},
        {"role": "assistant", "content": "In Poland and the Czech Republic. [1]"},
        {"role": "user", "content": "By when?"},
        {"role": "assistant", "content": "By 2013. [1]"},
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "To protect against Iran. [1]"},
    ]
    query = contextual_query("And what does Russia think of it?", history)
    assert "missile" in query and "shield" in query


def test_a_pronoun_s_referent_replaces_the_other_names_of_the_last_answer() -> None:
    history = [
        {"role": "user", "content": "Which US officials went to Moscow?"},
        {"role": "assistant", "content": "Condoleezza Rice and Robert Gates met Dmitry Medvedev"
                                         " in Moscow. [1]"},
    ]
    query = contextual_query("What did she say?", history)
    assert "Condoleezza Rice" in query
    assert "Medvedev" not in query and "Gates" not in query


def test_after_who_a_pronoun_means_the_one_the_answer_named_that_the_question_did_not() -> None:
    history = [
        {"role": "user", "content": "Who had the American League home run record before Judge?"},
        {"role": "assistant", "content": "New York Yankees slugger Aaron Judge broke Roger Maris’"
                                         " single-season American League home run record. [1]"},
    ]
    query = contextual_query("When did he set it?", history)
    assert "Roger Maris" in query and "Aaron" not in query
    # Not after a question asking something else: the first person named is meant.
    history[0]["content"] = "What record did Judge break?"
    assert "Aaron Judge" in contextual_query("When did he set it?", history)


def test_a_question_saying_enough_of_its_own_still_gets_whom_she_means() -> None:
    history = [{"role": "user", "content": "Is Anna Wintour leaving Vogue?"},
               {"role": "assistant", "content": "Anna Wintour is out as Editor-in-Chief. [1]"}]
    question = "Where does she usually sit at the big NYC runway shows?"
    assert not leans_on_context(question)
    query = contextual_query(question, history)
    assert query == f"{question} Anna Wintour"  # whom "she" means; no topic words
    # Without a pronoun it stands as it is.
    assert contextual_query("Where do editors sit at the big NYC runway shows?", history) == (
        "Where do editors sit at the big NYC runway shows?")


def test_she_skips_a_man_the_documents_call_he() -> None:
    history = [
        {"role": "user", "content": "Who met at the Kremlin?"},
        {"role": "assistant", "content": "Vladimir Putin met Condoleezza Rice at the Kremlin. [1]"},
    ]
    genders = {"Vladimir Putin": "male", "Condoleezza Rice": "female"}
    assert "Vladimir Putin" in contextual_query("What did she say?", history)  # no evidence
    query = contextual_query("What did she say?", history, genders.get)
    assert "Condoleezza Rice" in query and "Vladimir Putin" not in query
    assert "Vladimir Putin" in contextual_query("What did he say?", history, genders.get)
    # Someone the documents don't tell about is not ruled out.
    assert "Vladimir Putin" in contextual_query("What did she say?", history, {}.get)


def test_gender_is_read_from_the_pronouns_after_the_whole_name() -> None:
    texts = ["Kathy Griffin said her account was suspended. She would appeal.",
             "Drew Griffin reported that he had seen the texts; Griffin said he was sure."]
    assert gender_in(texts, "Kathy Griffin") == "female"
    assert gender_in(texts, "Drew Griffin") == "male"
    assert gender_in(texts, "Tom Griffin") is None
