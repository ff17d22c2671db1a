"""Reading the time a question asks about: "in March 2008", "last week", "this year", "2022".

Ranges are relative to an explicit `now` (today by default; in `qa eval`, when the question was
asked), inclusive, as ISO dates. No date in the question gives None. A range reaching past the
calendar ("3000 years ago", "the last 99999999999 days", "yesterday" on 0001-01-01) is clipped
to the dates there are: 0001-01-01 to 9999-12-31.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
#: Every name and abbreviation of a month, lower case ("march", "mar", "sept").
MONTH_NAMES = frozenset(_MONTHS)
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
_LAST_DAY = date.max.toordinal()
_MAX_COUNT_DIGITS = 9
_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("day", re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I)),
    ("day", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I)),
    ("iso", re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b")),
    ("month", re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", re.I)),
    ("relative", re.compile(
        r"\b(?P<which>this|last|past|previous|the\s+past|the\s+last)\s+"
        r"(?:(?P<count>\d+|a|one|two|three|four|five|six|ten)\s+)?"
        r"(?P<unit>day|week|month|year)s?\b", re.I)),
    ("ago", re.compile(
        r"\b(?P<count>\d+|a|one|two|three|four|five|six|ten)\s+(?P<unit>day|week|month|year)s?"
        r"\s+ago\b", re.I)),
    ("today", re.compile(r"\b(?P<word>today|yesterday|tonight|recently|lately)\b", re.I)),
    # "in 2008", but not "in 2008 Street": a capitalised word after the number makes it a name.
    ("year", re.compile(rf"\b(?:in|during|of|since|from)\s+{_YEAR}\b(?!\s+(?-i:[A-Z]))", re.I)),
]


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of ISO dates, and the words of the question that gave it."""

    start: str
    end: str
    text: str


def parse_date_range(question: str, now: date | None = None) -> DateRange | None:
    """The date range a question refers to, or None.

    Example:
        >>> parse_date_range("What happened in March 2008?", date(2024, 1, 1))
        DateRange(start='2008-03-01', end='2008-03-31', text='March 2008')
        >>> parse_date_range("Who resigned last week?", date(2024, 1, 15)).start
        '2024-01-01'
    """
    today = now or date.today()
    for kind, pattern in _PATTERNS:
        match = pattern.search(question)
        if match is None:
            continue
        found = _range(kind, match, today)
        if found is not None:
            return DateRange(found[0].isoformat(), found[1].isoformat(), match.group(0).strip())
    return None


def _range(kind: str, m: re.Match[str], today: date) -> tuple[date, date] | None:
    groups = m.groupdict()
    try:
        if kind in ("day", "iso"):
            month = int(groups["month"]) if kind == "iso" else _MONTHS[groups["month"].lower()]
            day = date(int(groups["year"]), month, int(groups["day"]))
            return day, day
        if kind == "month":
            year, month = int(groups["year"]), _MONTHS[groups["month"].lower()]
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None
    if kind == "year":
        year = int(groups["year"])
        return date(year, 1, 1), date(year, 12, 31)
    now = today.toordinal()
    if kind == "today":
        word = groups["word"].lower()
        back = {"today": 0, "tonight": 0, "yesterday": 1}.get(word, 30)
        return _days(now - back), today
    count_text = (groups.get("count") or "1").lower()
    # More digits than any span of the calendar needs are read as "very many" (and int()
    # refuses strings of thousands of digits).
    count = (min(int(count_text[:_MAX_COUNT_DIGITS + 1]), 10**_MAX_COUNT_DIGITS)
             if count_text.isdigit() else _WORDS.get(count_text, 1))
    unit = _UNITS[groups["unit"].lower()]
    span = unit * count
    if kind == "ago":
        # "two weeks ago": around that point, give or take half a unit either way.
        centre, slack = now - span, max(1, unit // 2)
        return _days(centre - slack), _days(min(now, centre + slack))
    which = groups["which"].lower()
    if which == "this":
        return _this(groups["unit"].lower(), today), today
    if which in ("last", "previous") and count == 1 and not groups.get("count"):
        # "last week": the one before this one, and this one too — people use it loosely.
        return _days(now - 2 * span), today
    return _days(now - span), today


def _days(ordinal: int) -> date:
    """The date with this day number, clipped to the calendar (year 1 to 9999)."""
    return date.fromordinal(min(max(ordinal, 1), _LAST_DAY))


def _this(unit: str, today: date) -> date:
    if unit == "year":
        return date(today.year, 1, 1)
    if unit == "month":
        return date(today.year, today.month, 1)
    if unit == "week":
        return _days(today.toordinal() - 7)
    return today
