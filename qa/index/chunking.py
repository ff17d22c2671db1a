"""Cutting a document into passages: whole sentences, within the embedding model's window.

A passage is a span `[start, end)` of the document text made of consecutive sentences, with a
small sentence overlap between neighbours. Its size is measured in the model's own word pieces,
and the title goes with it to the embedder, so the budget for the passage is what the model
window leaves after the title: nothing is cut off silently. A sentence longer than the budget
is split at word boundaries. A passage also has at most `max_chars` characters: the tokenizer
counts any very long word as one unknown piece, so a 2 MB "word" would otherwise be one
passage; a longer span is cut, at a space where there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..ingest import Document

#: Counts the model's word pieces of each text (without the special tokens).
TokenCounter = Callable[[Sequence[str]], list[int]]

_WORD = re.compile(r"\S+")
#: Word pieces the model adds around every input ([CLS] and [SEP] for BERT-like models).
SPECIAL_TOKENS = 2
#: At most this many word pieces of the title go with each passage to the embedder.
MAX_TITLE_TOKENS = 48


@dataclass(frozen=True)
class Passage:
    """A span of a document's text: the unit that is embedded, searched and cited."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Span:
    """A sentence (or a piece of an over-long one) as offsets into the document text."""

    start: int
    end: int


def sentence_spans(text: str, *, language: str = "en") -> list[Span]:
    """The sentences of `text` as offsets, trimmed of surrounding whitespace.

    Uses sentencex (Wikimedia's maintained segmenter), which also breaks at blank lines.

    Example:
        >>> [("Hi there. Bye."[s.start:s.end]) for s in sentence_spans("Hi there. Bye.")]
        ['Hi there.', 'Bye.']
    """
    import sentencex

    spans: list[Span] = []
    for boundary in sentencex.get_sentence_boundaries(language, text):
        start, end = int(boundary["start_index"]), int(boundary["end_index"])
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        spans.append(Span(start + lead, start + lead + len(stripped)))
    return spans


def embed_text(title: str, passage_text: str) -> str:
    """What the embedder reads for a passage: its document title, then the passage."""
    return f"{title}\n{passage_text}" if title else passage_text


def fit_title(title: str, count_tokens: TokenCounter) -> str:
    """The title, shortened at a word boundary to MAX_TITLE_TOKENS word pieces if longer."""
    words = title.split()
    while words and count_tokens([" ".join(words)])[0] > MAX_TITLE_TOKENS:
        words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
    return " ".join(words)


def split_document(
    doc: Document,
    count_tokens: TokenCounter,
    *,
    max_tokens: int,
    model_max_tokens: int,
    overlap_sentences: int = 1,
    max_chars: int = 3000,
) -> list[Passage]:
    """Cut `doc` into passages of whole sentences that fit the model with the title.

    Args:
        doc: the document; passages point into `doc.text`.
        count_tokens: the embedder's word-piece counter.
        max_tokens: the preferred passage size in word pieces.
        model_max_tokens: the model's window; title + passage + special tokens stay within it.
        overlap_sentences: sentences repeated at the start of the next passage.
        max_chars: the most characters a passage may span (`Settings.max_passage_chars`).

    Returns:
        Passages in document order; their spans cover every sentence of the document, each
        within both budgets.
    """
    title = fit_title(doc.title, count_tokens)
    title_tokens = count_tokens([title])[0] if title else 0
    budget = min(max_tokens, model_max_tokens - SPECIAL_TOKENS - title_tokens)
    if budget < 8:
        raise ValueError(f"model window {model_max_tokens} leaves no room for passages")
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    spans = [piece for span in sentence_spans(doc.text)
             for piece in _cut_to_chars(doc.text, span, max_chars)]
    counts = count_tokens([doc.text[s.start : s.end] for s in spans]) if spans else []
    pieces: list[tuple[Span, int]] = []
    for span, count in zip(spans, counts, strict=True):
        if count <= budget:
            pieces.append((span, count))
        else:
            pieces.extend(_split_long(doc.text, span, budget, count_tokens))
    windows = _windows([count for _, count in pieces], budget, overlap_sentences,
                       [span for span, _ in pieces], max_chars)
    passages = []
    for ordinal, (first, last) in enumerate(windows):
        start, end = pieces[first][0].start, pieces[last][0].end
        passages.append(
            Passage(doc.doc_id, ordinal, start, end, doc.text[start:end], doc.page_at(start))
        )
    return passages


def _cut_to_chars(text: str, span: Span, max_chars: int) -> list[Span]:
    """`span` in pieces of at most `max_chars` characters, each ending at the last space
    before the limit when there is one (leading and trailing space trimmed)."""
    pieces: list[Span] = []
    start = span.start
    while start < span.end:
        while start < span.end and text[start].isspace():
            start += 1
        if start >= span.end:
            break
        end = min(span.end, start + max_chars)
        if end < span.end:
            space = max(text.rfind(" ", start + 1, end + 1), text.rfind("\n", start + 1, end + 1))
            if space > start:
                end = space
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        pieces.append(Span(start, stop))
        start = end
    return pieces


def _split_long(
    text: str, span: Span, budget: int, count_tokens: TokenCounter
) -> list[tuple[Span, int]]:
    """Split an over-long sentence into runs of whole words of at most `budget` word pieces."""
    words = [
        Span(span.start + m.start(), span.start + m.end())
        for m in _WORD.finditer(text[span.start : span.end])
    ]
    word_counts = count_tokens([text[w.start : w.end] for w in words])
    out: list[tuple[Span, int]] = []
    first, total = 0, 0
    for i, count in enumerate(word_counts):
        if total + count > budget and i > first:
            out.append((Span(words[first].start, words[i - 1].end), total))
            first, total = i, 0
        total += count
    out.append((Span(words[first].start, words[-1].end), total))
    # A single "word" longer than the budget (a URL, a base64 blob) is cut by characters.
    return [piece for item in out for piece in _cut_chars(text, item, budget, count_tokens)]


def _cut_chars(
    text: str, item: tuple[Span, int], budget: int, count_tokens: TokenCounter
) -> list[tuple[Span, int]]:
    span, count = item
    if count <= budget:
        return [item]
    middle = (span.start + span.end) // 2
    halves = [Span(span.start, middle), Span(middle, span.end)]
    counts = count_tokens([text[h.start : h.end] for h in halves])
    return [
        piece
        for half, half_count in zip(halves, counts, strict=True)
        for piece in _cut_chars(text, (half, half_count), budget, count_tokens)
    ]


def _windows(counts: list[int], budget: int, overlap: int, spans: Sequence[Span] = (),
             max_chars: int | None = None) -> list[tuple[int, int]]:
    """Greedy windows `(first, last)` over sentence token counts, each within `budget` (and,
    given the sentences' spans, at most `max_chars` characters from first to last).

    The next window starts `overlap` sentences before the previous one ended, as long as that
    still moves forward and leaves room for new text.
    """
    def fits(first: int, last: int) -> bool:
        return max_chars is None or not spans or spans[last].end - spans[first].start <= max_chars

    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(counts):
        last, total = first, counts[first]
        while last + 1 < len(counts) and total + counts[last + 1] <= budget \
                and fits(first, last + 1):
            last += 1
            total += counts[last]
        windows.append((first, last))
        if last + 1 >= len(counts):
            break
        next_first = last + 1
        for back in range(overlap):
            candidate = last - back
            if candidate <= first or sum(counts[candidate : last + 1]) > budget // 2:
                break
            next_first = candidate
        first = next_first
    return windows
