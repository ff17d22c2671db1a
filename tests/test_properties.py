"""Properties that must hold for any input, checked by hypothesis on generated cases: reading
dates never fails and gives a range inside the calendar; passages are exactly their document's
text at their offsets, in order, bounded, and cover it; any bytes under any name are read or
skipped, never an exception.

Example counts are bounded (see `EXAMPLES`) so the suite stays quick; in CI (`CI` set) the
examples are derandomized, so a run is repeatable.
"""

from __future__ import annotations

import os
import string
from datetime import date
from pathlib import Path

from conftest import FakeEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answer.dates import parse_date_range
from qa.index.chunking import split_document
from qa.ingest import SUPPORTED_SUFFIXES, Document, ReadLimits, Skipped, load

#: Examples per property.
EXAMPLES = {"dates": 1000, "chunking": 300, "ingest": 200}
_CI = bool(os.environ.get("CI"))


def _settings(name: str) -> settings:
    return settings(max_examples=EXAMPLES[name], deadline=None, derandomize=_CI,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# Dates ---------------------------------------------------------------------------------------

_COUNT = st.one_of(st.integers(0, 10**15).map(str), st.text("0123456789", min_size=1,
                                                            max_size=40),
                   st.sampled_from(["a", "one", "two", "ten", "١٢", "٣"]))
_UNIT = st.sampled_from(["day", "days", "week", "weeks", "month", "months", "year", "years"])
_PHRASE = st.one_of(
    st.builds(lambda c, u: f"{c} {u} ago", _COUNT, _UNIT),
    st.builds(lambda w, c, u: f"{w} {c} {u}", st.sampled_from(
        ["last", "past", "the last", "the past", "previous", "this"]), _COUNT, _UNIT),
    st.sampled_from(["today", "yesterday", "tonight", "recently", "this week", "last week",
                     "this month", "this year", "last year"]),
    st.builds(lambda y, m, d: f"{m} {d}, {y}", st.integers(0, 9999),
              st.sampled_from(["Jan", "February", "Sept.", "dec"]), st.integers(0, 99)),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1900, 2099),
              st.integers(0, 99), st.integers(0, 99)),
    st.builds(lambda y: f"in {y}", st.integers(0, 99999)),
)
_QUESTION = st.builds(lambda a, p, b: f"{a} {p} {b}", st.text(max_size=30), _PHRASE,
                      st.text(max_size=30))


@_settings("dates")
@given(question=st.one_of(_QUESTION, st.text(max_size=200)),
       now=st.dates(min_value=date.min, max_value=date.max))
def test_any_question_on_any_day_gives_a_range_in_the_calendar(question: str, now: date) -> None:
    found = parse_date_range(question, now)
    if found is None:
        return
    start, end = date.fromisoformat(found.start), date.fromisoformat(found.end)
    assert start <= end
    assert found.text and found.text in question


# Chunking ------------------------------------------------------------------------------------

_WORDS = st.one_of(
    st.text(string.ascii_letters, min_size=1, max_size=12),
    st.text(string.ascii_letters + "/:.=-", min_size=100, max_size=3000),  # URLs, blobs
    st.sampled_from(["Zebras.", "hay!", "Kenya?", "Mr.", "e.g.", "—", "日本語。", "\u00e9t\u00e9"]),
)
_GAPS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  \t", ". ", "\r\n"])
_TEXT = st.lists(st.tuples(_WORDS, _GAPS), min_size=1, max_size=120).map(
    lambda parts: "".join(w + g for w, g in parts).strip() or "x")


@_settings("chunking")
@given(text=_TEXT, max_tokens=st.integers(8, 80), max_chars=st.integers(20, 2000),
       overlap=st.integers(0, 2))
def test_passages_are_the_text_at_their_offsets_bounded_and_covering(
        text: str, max_tokens: int, max_chars: int, overlap: int) -> None:
    fake = FakeEmbedder()
    doc = Document("d", "/d.txt", "A title", text)
    passages = split_document(doc, fake.count_tokens, max_tokens=max_tokens,
                              model_max_tokens=512, overlap_sentences=overlap,
                              max_chars=max_chars)
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    covered = bytearray(len(text))
    for before, passage in zip([None, *passages], passages, strict=False):
        assert 0 <= passage.start < passage.end <= len(text)
        assert text[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip()
        assert len(passage.text) <= max_chars
        assert before is None or before.start < passage.start
        covered[passage.start : passage.end] = b"\1" * (passage.end - passage.start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


# Ingest --------------------------------------------------------------------------------------

_NAME = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
                min_size=1, max_size=40).filter(
    lambda n: n not in (".", "..") and len(n.encode()) <= 200)
_SUFFIX = st.sampled_from([*sorted(SUPPORTED_SUFFIXES), ".TXT", ".exe", ""])
_CONTENT = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=500).map(lambda t: t.encode("utf-16", "surrogatepass")),
    st.sampled_from([b"%PDF-1.4\n", b"{\"_id\": null}\n", b"---\ntitle: x\n", b"\xef\xbb\xbf"]),
)


@_settings("ingest")
@given(files=st.lists(st.tuples(_NAME, _SUFFIX, _CONTENT), min_size=1, max_size=4,
                      unique_by=lambda f: (f[0] + f[1]).lower()))
def test_any_bytes_under_any_name_are_read_or_skipped(
        tmp_path_factory: object, files: list[tuple[str, str, bytes]]) -> None:
    folder = Path(tmp_path_factory.mktemp("any"))  # type: ignore[attr-defined]
    for name, suffix, content in files:
        (folder / f"{name}{suffix}").write_bytes(content)
    limits = ReadLimits(max_file_bytes=10_000, max_document_chars=10_000,
                        follow_symlinks_outside=False)
    items = list(load([folder], limits))
    visible = [n for n, s, _ in files if not n.startswith(".")]
    assert len([i for i in items if not i.source.endswith(".jsonl")
                and ".jsonl:" not in i.source]) <= len(visible)
    for item in items:
        if isinstance(item, Document):
            assert item.text and item.text == item.text.strip()
            for value in (item.text, item.title, item.doc_id, item.source):
                assert "\x00" not in value
                value.encode("utf-8")  # storable: no lone surrogates
        else:
            assert isinstance(item, Skipped) and item.reason
            item.source.encode("utf-8")
