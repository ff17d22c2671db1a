"""Answer figures: does the first quoted sentence hold a gold answer, are citations verbatim,
and how often does the answerer abstain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..answer.answerer import Answerer
from .dataset import Dataset, Query, asked_on

#: Shortest quoted text (characters) that counts as a hit when it lies inside a gold sentence.
_MIN_FRAGMENT = 20
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _PUNCT.sub(" ", text.lower().replace("’", "'").replace("“", '"').replace("”", '"'))
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(sentence: str, answers: Sequence[str]) -> bool:
    """Whether the sentence holds one of the gold answers, after normalisation."""
    padded = f" {normalize_answer(sentence)} "
    return any(f" {normalize_answer(a)} " in padded for a in answers if normalize_answer(a))


def sentence_hit(quoted: str, gold: Sequence[str]) -> bool:
    """Whether a quoted sentence is (or holds, or lies inside) a gold answering sentence."""
    ours = normalize_answer(quoted)
    for sentence in gold:
        theirs = normalize_answer(sentence)
        if theirs and (theirs in ours or (len(ours) >= _MIN_FRAGMENT and ours in theirs)):
            return True
    return False


def evaluate_answers(answerer: Answerer, dataset: Dataset) -> tuple[dict[str, float], int]:
    """Answer sentence hits over the answerable questions, and abstention on them.

    Returns the `answers` figures and the number of answerable questions abstained on.
    """
    gold = dataset.answers or {}
    store = answerer.retriever.store
    first = top3 = abstained = cited = verbatim = 0
    answerable = [q for q in dataset.queries if gold.get(q.qid)]
    for query in answerable:
        answer = answerer.ask(query.text, now=asked_on(query))
        abstained += answer.abstained
        sentences = [c.highlight for c in answer.citations]
        hit = sentence_hit if dataset.answer_sentences is not None else contains_answer
        first += bool(sentences) and hit(sentences[0], gold[query.qid])
        top3 += any(hit(s, gold[query.qid]) for s in sentences[:3])
        for c in answer.citations:
            cited += 1
            text = store.catalog.document(c.doc_id).text
            verbatim += text[c.highlight_start : c.highlight_end] == c.highlight
    n = max(1, len(answerable))
    return {
        "questions": len(answerable),
        "first_sentence_hit": round(first / n, 4),
        "top3_sentence_hit": round(top3 / n, 4),
        "citations_verbatim": round(verbatim / cited, 4) if cited else 1.0,
    }, abstained


def abstention_rate(answerer: Answerer, queries: Sequence[Query]) -> float:
    """The share of `queries` the answerer abstains on."""
    if not queries:
        return 0.0
    hits = sum(answerer.ask(q.text, now=asked_on(q)).abstained for q in queries)
    return round(hits / len(queries), 4)
