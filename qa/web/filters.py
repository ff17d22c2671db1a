"""The chat's filter boxes read strictly: a date is a whole day, month or year, or an error.

"March 2008" in *Published from* means 2008-03-01 and in *Published until* 2008-03-31; "2008"
means the first or the last day of that year. Anything else that is not a date is refused with
a message saying what to write, never guessed (a lenient parser would fill in today's day or
month). A filter that leaves no document is reported as such, before and instead of a search
that could only come back empty.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ..answer.dates import parse_date_range
from ..answer.retrieval import Filters
from ..errors import InvalidFilterError
from ..index.store import IndexStore

DATE_FORMS = "2008-03-18, 2008-03, 2008, March 2008 or 18 March 2008"
_ISO = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?)?$")


@dataclass(frozen=True)
class FilterCount:
    """How many documents the filters leave, of how many."""

    matching: int
    total: int


def read_bound(text: str, *, label: str, end: bool) -> str | None:
    """An ISO date from what a visitor typed: the first day of the period it names, or with
    `end` the last. Blank is None.

    Raises:
        InvalidFilterError: it is not a whole date, month or year.

    Example:
        >>> read_bound("March 2008", label="From", end=False), read_bound("2008", label="To",
        ...                                                                 end=True)
        ('2008-03-01', '2008-12-31')
    """
    value = " ".join(text.split())
    if not value:
        return None
    iso = _ISO.match(value)
    try:
        if iso:
            year = int(iso["year"])
            month = int(iso["month"]) if iso["month"] else (12 if end else 1)
            if iso["day"]:
                return date(year, month, int(iso["day"])).isoformat()
            last = calendar.monthrange(year, month)[1] if end else 1
            return date(year, month, last).isoformat()
        named = parse_date_range(value, date.today())
    except ValueError:
        named = None
    if named is None or named.text.strip(" ,.").lower() != value.strip(" ,.").lower():
        raise InvalidFilterError(f"{label}: “{value}” is not a date; write {DATE_FORMS}")
    return named.end if end else named.start


def read_filters(source: str, date_from: str, date_to: str) -> Filters | None:
    """The chat's filter boxes as `Filters` (None when all are blank).

    Raises:
        InvalidFilterError: a date can't be read, or the range ends before it starts.
    """
    start = read_bound(date_from or "", label="Published from", end=False)
    stop = read_bound(date_to or "", label="Published until", end=True)
    if start and stop and start > stop:
        raise InvalidFilterError(f"Published from ({start}) is after Published until ({stop})")
    filters = Filters(source=(source or "").strip() or None, date_from=start, date_to=stop)
    return filters if filters.active else None


def count_matching(store: IndexStore, filters: Filters | None) -> FilterCount:
    """How many of the store's documents `filters` leaves."""
    total = store.manifest.counts["documents"]
    if filters is None:
        return FilterCount(total, total)
    doc_of = store.catalog.passage_doc_ids()
    return FilterCount(len({doc_of[int(i)] for i in store.catalog.filter_ids(filters)}), total)


def describe(filters: Filters) -> str:
    """The filters in words: `path contains "seeds/", published 2008-03-01 to 2008-03-31`."""
    parts = [f"path contains “{filters.source}”"] if filters.source else []
    if filters.date_from and filters.date_to:
        parts.append(f"published {filters.date_from} to {filters.date_to}")
    elif filters.date_from:
        parts.append(f"published on or after {filters.date_from}")
    elif filters.date_to:
        parts.append(f"published on or before {filters.date_to}")
    return ", ".join(parts)
