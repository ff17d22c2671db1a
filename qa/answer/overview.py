"""Overviews: "What is this article about?", "Summarize the documents on X", "What happened in
May 2024?" are answered with the lead sentences of the best documents, the way a news reader
would tell you what a story is about.

Which documents: those the question's own topic words find (if it names a topic: those saying
one of its words, if any do), among those dated in the range it names (if it names one); for
"Sum up this story" in a conversation, the document the last answer quoted; otherwise the
newest documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..index.analysis import topic_words
from ..index.parts import Filters
from .dates import DateRange
from .intent import MENTIONS
from .retrieval import Hit, Retriever
from .sentences import candidate_spans

#: Words of overview requests that name no topic.
_REQUEST_WORDS = {
    "article", "articles", "document", "documents", "doc", "docs", "story", "stories", "text",
    "texts", "piece", "report", "reports", "paper", "papers", "news", "page", "pages", "file",
    "files", "summarize", "summarise", "summary", "overview", "gist", "rundown", "sum", "tl",
    "dr", "tldr", "happened", "happening", "main", "point", "points", "give", "going", "new",
    "lately", "recently", "today", "yesterday", "week", "month", "year", "last", "past",
    "mention", "mentions", "mentioning", "discuss", "cover", "refer", "deal", "anything",
}
#: "Sum up this story", "what is it about": the story the conversation is about.
_POINTS_BACK = re.compile(r"\b(?:this|that|it|the (?:story|article|piece|report|document))\b",
                          re.IGNORECASE)
#: A single document is summed up by this many of its first sentences.
_SINGLE_DOCUMENT_SENTENCES = 2


@dataclass(frozen=True)
class Overview:
    """The lead sentences an overview quotes, as (hit, document start, document end), best
    document first; or, when the request names a topic no document says in words and the
    documents don't hold it either, that topic (`unheld`) and no sentences."""

    sentences: tuple[tuple[Hit, int, int], ...]
    unheld: str | None = None


def overview(retriever: Retriever, query: str, *, filters: Filters | None,
             when: DateRange | None, documents: int, about: str | None = None,
             holds: Callable[[str], bool] = lambda _topic: True) -> Overview:
    """Up to `documents` lead sentences; none when no document matches.

    Args:
        query: the question (with any topic words a follow-up carries).
        about: a sentence the conversation last quoted: "this story" is its document.
        holds: whether the documents hold a topic none of them says in words ("Which
            documents mention Russia?" of a folder of local news), as they would an answer
            about it.
    """
    scope = _scope(filters, when)
    topic = overview_topic(query, when)
    if about is not None and when is None and _POINTS_BACK.search(query):
        hits = retriever.search(about, k=1, filters=scope)
        doc_ids = [hits[0].doc_id] if hits else []
    elif topic:
        hits = retriever.search(" ".join(topic), k=documents * 4, filters=scope)
        # A topic named in words keeps to the documents saying one of them (those BM25 found):
        # "Summarize the documents about the garden" of a folder of three is the garden's
        # story alone, though dense search ranks every document. Only when none says any (the
        # documents say "pope" of "the pontiff") does meaning choose, if the documents hold
        # the topic at all, and then only the closest document: how far down its ranking the
        # topic still holds is unknown.
        said = [h for h in hits if h.bm25_rank is not None]
        if not said and not holds(" ".join(topic)):
            return Overview((), " ".join(topic))
        doc_ids = list(dict.fromkeys(h.doc_id for h in (said or hits[:1])))
    else:
        doc_ids = _newest(retriever, scope)
    doc_ids = _distinct(retriever, doc_ids, documents)
    per_document = _SINGLE_DOCUMENT_SENTENCES if len(doc_ids) == 1 else 1
    out: list[tuple[Hit, int, int]] = []
    seen: set[str] = set()
    for doc_id in doc_ids:
        for hit, start, end in _lead(retriever, doc_id, per_document):
            # Two different stories may still open with the same sentence (one wire report
            # in two papers): it is quoted once.
            text = " ".join(hit.passage.text[start - hit.passage.start:
                                             end - hit.passage.start].split())
            if text not in seen:
                seen.add(text)
                out.append((hit, start, end))
    return Overview(tuple(out))


def overview_topic(query: str, when: DateRange | None = None) -> list[str]:
    """The words of an overview request that name its topic (none: "What is this article
    about?"; the dates it names are no topic).

    Example:
        >>> overview_topic("Which articles mention the Elm Park garden?")
        ['Elm', 'Park', 'garden']
    """
    return [w for w in topic_words(MENTIONS.sub(" ", query)) if w.lower() not in _REQUEST_WORDS
            and not (when and w in when.text)]


def _distinct(retriever: Retriever, doc_ids: list[str], limit: int) -> list[str]:
    """The first `limit` of `doc_ids` whose texts differ: a story saved twice (a copy in
    another folder) is one story, told with a single document's sentences."""
    catalog = retriever.store.catalog
    out: list[str] = []
    texts: set[str] = set()
    for doc_id in doc_ids:
        if len(out) == limit:
            break
        text = catalog.document(doc_id).text
        if text not in texts:
            texts.add(text)
            out.append(doc_id)
    return out


def _scope(filters: Filters | None, when: DateRange | None) -> Filters | None:
    """The filters, narrowed to the date range the question names."""
    if when is None:
        return filters
    base = filters or Filters()
    return Filters(source=base.source,
                   date_from=max(d for d in (base.date_from, when.start) if d),
                   date_to=min(d for d in (base.date_to, when.end) if d))


def _newest(retriever: Retriever, scope: Filters | None) -> list[str]:
    """Document ids within `scope`, newest first (undated last)."""
    catalog = retriever.store.catalog
    rows = catalog.documents()
    if scope is not None and scope.active:
        allowed = set(catalog.passage_doc_ids()[int(i)] for i in catalog.filter_ids(scope))
        rows = [r for r in rows if r.doc_id in allowed]
    rows.sort(key=lambda r: r.date or "", reverse=True)
    return [r.doc_id for r in rows]


def _lead(retriever: Retriever, doc_id: str, sentences: int) -> list[tuple[Hit, int, int]]:
    """The first prose sentences of a document (headings and the title skipped)."""
    catalog = retriever.store.catalog
    first = [pid for pid, _ in catalog.passages_of(doc_id)][:1]
    if not first:
        return []
    (passage,) = catalog.passages(first)
    hit = Hit(passage=passage, fused_rank=1, fused_score=0.0, dense_rank=None, dense_score=0.0,
              bm25_rank=None, bm25_score=None)
    return [(hit, start, end) for _, start, end in candidate_spans([hit])[:sentences]]
