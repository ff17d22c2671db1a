"""Reading the time a question asks about, relative to an explicit now."""

from __future__ import annotations

from datetime import date

import pytest

from qa.answer.dates import parse_date_range

NOW = date(2024, 3, 20)  # a Wednesday


@pytest.mark.parametrize(("question", "start", "end"), [
    ("What happened in March 2008?", "2008-03-01", "2008-03-31"),
    ("What did Putin say on March 18, 2008?", "2008-03-18", "2008-03-18"),
    ("What did Putin say on 18 March 2008?", "2008-03-18", "2008-03-18"),
    ("news of 2008-03-18", "2008-03-18", "2008-03-18"),
    ("Who won the election in 2022?", "2022-01-01", "2022-12-31"),
    ("What happened in 2022 in France?", "2022-01-01", "2022-12-31"),
    ("Who resigned this week?", "2024-03-13", "2024-03-20"),
    ("What happened last week?", "2024-03-06", "2024-03-20"),
    ("What changed this month?", "2024-03-01", "2024-03-20"),
    ("Who was elected this year?", "2024-01-01", "2024-03-20"),
    ("What happened in the past 3 days?", "2024-03-17", "2024-03-20"),
    ("What happened yesterday?", "2024-03-19", "2024-03-20"),
    ("What was announced two weeks ago?", "2024-03-03", "2024-03-09"),
    ("Feb 2020 storms", "2020-02-01", "2020-02-29"),
])
def test_ranges(question: str, start: str, end: str) -> None:
    found = parse_date_range(question, NOW)
    assert found is not None and (found.start, found.end) == (start, end)


@pytest.mark.parametrize("question", [
    "Where does the US want to put its missile defence system?",
    "How many people live in 2008 Street?",  # a number that is not introduced as a time
    "What is the may pole?",
    "February 30, 2020 is not a day",
])
def test_no_range(question: str) -> None:
    assert parse_date_range(question, NOW) is None


def test_now_defaults_to_today() -> None:
    found = parse_date_range("What happened this year?")
    assert found is not None and found.end == date.today().isoformat()
