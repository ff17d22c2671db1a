"""What kind of answer a question wants, read from its wording."""

from __future__ import annotations

import pytest

from qa.answer.intent import intent_of


@pytest.mark.parametrize("question", [
    "What is this article about?", "what's this about", "Summarize the documents on missiles",
    "Can you summarise it?", "Give me a quick overview", "What happened in May 2024?",
    "What's this one about?", "What’s it all about?",
    "What happened last week?", "Any news?", "tl;dr",
    # What a folder holds, asked of it as a whole.
    "What's in these documents?", "What do my files contain?", "What do these articles say?",
    "What topics do the documents cover?",
])
def test_overview_requests(question: str) -> None:
    assert intent_of(question).kind == "overview"


@pytest.mark.parametrize(("question", "label"), [
    ("Who took part in the talks?", "PERSON"), ("When will the shield be ready?", "DATE"),
    ("Where will the system be based?", "GPE"), ("How many people died?", "CARDINAL"),
    ("How much did it cost?", "MONEY"), ("Which American president is mentioned?", "PERSON"),
    ("In what year did it open?", "DATE"), ("Which country objects?", "GPE"),
    ("Which US officials went to Moscow?", "PERSON"), ("Which countries host it?", "GPE"),
    ("When did the man who won arrive?", "DATE"),
    ("Which celebrities made fun of Musk?", "PERSON"), ("Which company bought it?", "ORG"),
    ("Which regions have temperate climates?", "LOC"), ("Do you know when the vote is?", "DATE"),
    # "What is the <noun>": the noun names the kind, as after "which".
    ("What are the dates?", "DATE"), ("What is the capital of France?", "GPE"),
    ("What's the date of the vote?", "DATE"),
    ("How hot does the plasma have to get?", "QUANTITY"),
    ("How quickly is the glacier retreating?", "QUANTITY"),
    ("How often do the blasts happen?", "CARDINAL"),
    # A film, a book, a song: a title (spaCy's WORK_OF_ART).
    ("Which film was based on Wintour?", "WORK_OF_ART"), ("What song won?", "WORK_OF_ART"),
    # What something costs or charges, its price or fee: a sum of money.
    ("What will the basic plan cost now?", "MONEY"), ("What does Hulu charge?", "MONEY"),
    ("What's the new price?", "MONEY"), ("What are the fees?", "MONEY"),
])
def test_entity_questions_want_an_entity_of_their_kind(question: str, label: str) -> None:
    intent = intent_of(question)
    assert intent.kind == "entity" and label in intent.labels


@pytest.mark.parametrize(("question", "kind"), [
    ("Why does Russia object?", "reason"), ("How come Russia objects?", "reason"),
    ("How does the shield work?", "manner"), ("What did Lavrov say?", "quote"),
    ("What happened to the Titanic?", "fact"), ("Who is Medvedev?", "definition"),
    ("who was Dmitry Medvedev", "definition"), ("What is a chiropractor?", "definition"),
    ("what are the layers of the earth", "definition"), ("What is the US planning?", "fact"),
    ("What was he wearing after the win?", "fact"), ("What was the checkmark for?", "fact"),
    ("What is the name of the ship?", "fact"), ("What was blamed for that one?", "fact"),
    # The first wh-word is the question's: a "when" or "who" later on starts a clause.
    ("What can keep an object from moving when it is pushed?", "fact"),
    ("What did the man who won say?", "quote"), ("What did she post?", "quote"),
    ("What does it mean?", "fact"), ("What is the plan?", "definition"),
    # A noun after a verb is its subject, not the kind of answer wanted.
    ("What is the president doing?", "fact"), ("What are people calling the planet now?", "fact"),
    ("Why did they leave when it rained?", "reason"),
    # Contractions ask the same: "What's" is "What is", with either apostrophe.
    ("What's thundersnow?", "definition"), ("Who’s Sergei Lavrov?", "definition"),
    ("What's he wearing?", "fact"), ("What's the name of the ship?", "fact"),
    # A yes/no question: its "who" and "when" open clauses and ask for no one and no time.
    ("Should people who already had a stroke worry?", "fact"),
    ("Did it work when CNN signed up a test account?", "fact"),
    ("Was Putin the one who invited Rice?", "fact"),
    ("What did they pay attention to?", "fact"),
    # Typed in lower case, a name is still a name; a role is still a role.
    ("who is medvedev", "definition"), ("who is sergei lavrov?", "definition"),
    ("who is the foreign minister", "entity"), ("who is president", "entity"),
    # "Which articles mention …" asks for the documents about it.
    ("Which articles mention Elm Park?", "overview"),
    ("Are there any stories about the garden?", "overview"),
    ("Which article did you quote?", "fact"),
    ("What does the article say about Putin?", "quote"), ("What is in the bill?", "definition"),
    # Not a question of the documents at all.
    ("hi", "chat"), ("Hello there!", "chat"), ("thanks!", "chat"), ("Thank you so much.", "chat"),
    ("what can you do?", "chat"), ("help", "chat"), ("How does this work?", "chat"),
    ("Hi, why does Russia object?", "reason"), ("How does the shield work?", "manner"),
])
def test_other_kinds(question: str, kind: str) -> None:
    assert intent_of(question).kind == kind


@pytest.mark.parametrize(("question", "label"), [
    ("Did Netflix say how many people will cancel?", "CARDINAL"),  # after a verb of saying
    ("Do you know where it sank?", "GPE"),
    ("Is there a new study, and who is running it?", "PERSON"),  # a question of its own
    ("Aren't the Bills at home? Who's the opponent?", "PERSON"),
])
def test_a_yes_no_question_may_still_ask_a_wh_question_inside(question: str, label: str) -> None:
    assert label in intent_of(question).labels


@pytest.mark.parametrize(("question", "counted"), [
    ("How many subscribers does Netflix have?", "subscribers"),
    ("How many new moons were found?", "moons"), ("How much snow is expected?", "snow"),
    ("How many were aboard?", ""), ("How many of them died?", ""), ("How much did it cost?", ""),
    ("When did the 22 passengers board?", ""),
])
def test_how_many_names_what_it_counts(question: str, counted: str) -> None:
    assert intent_of(question).counted == counted


@pytest.mark.parametrize("question", [
    "Who was the captain of the Bayesian?", "Who were the co-hosts?", "Who is the new CEO?",
])
def test_who_is_the_person_noun_wants_a_person_only(question: str) -> None:
    assert intent_of(question).labels == ("PERSON",)


def test_who_is_the_organisation_noun_wants_an_organisation_first() -> None:
    assert intent_of("Who are its competitors?").labels == ("ORG", "PERSON")
    assert intent_of("Who is the company behind it?").labels[0] == "ORG"


def test_who_alone_also_takes_an_organisation_or_a_country() -> None:
    assert intent_of("Who won?").labels == ("PERSON", "ORG", "NORP", "GPE")


@pytest.mark.parametrize(("question", "flag", "expected"), [
    # ahead: what is planned or expected.
    ("What will happen to Putin?", "ahead", True), ("What happens next?", "ahead", True),
    ("What's next for the bill?", "ahead", True), ("What happened next?", "ahead", False),
    ("What will the plan cost?", "ahead", False), ("Why will it happen?", "ahead", False),
    # several: more than one of the kind wanted.
    ("Which countries would host the shield?", "several", True),
    ("Who are its competitors?", "several", True), ("Who were the co-hosts?", "several", True),
    ("What are the dates?", "several", True),
    ("Which country would host the shield?", "several", False),
    ("Who is the captain?", "several", False),
    ("Which American president is mentioned?", "several", False),
    # naming: what a thing is called.
    ("What's the name of the method the lab uses?", "naming", True),
    ("What is it called?", "naming", True), ("What are people calling the planet now?", "naming", True),
    ("What nickname did it get?", "naming", True), ("What is a chiropractor?", "naming", False),
    ("What did Lavrov say?", "naming", False),
    # span: a length of time.
    ("How long did Truss last?", "span", True), ("When did Truss quit?", "span", False),
    ("How long ago did it happen?", "span", False),
])
def test_a_question_s_flags(question: str, flag: str, expected: bool) -> None:
    assert getattr(intent_of(question), flag) is expected
