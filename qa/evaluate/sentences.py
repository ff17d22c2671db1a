"""Answer-sentence ranking, WikiQA's protocol: rank the sentences of the paragraph a question was
paired with, and score the ranking against the labelled answering sentences (MAP and MRR over
the questions whose paragraph has both a right and a wrong sentence).

Sentences are the answerer's own (sentencex); one counts as right when it and a gold sentence
share at least half of the shorter of the two, by character offsets in the paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..answer.answerer import Answerer
from .dataset import Dataset


def gold_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where each gold sentence is in the paragraph (sentences not found are left out)."""
    spans = []
    for sentence in sentences:
        at = text.find(sentence.strip())
        if at >= 0:
            spans.append((at, at + len(sentence.strip())))
    return spans


def overlaps(span: tuple[int, int], gold: Sequence[tuple[int, int]]) -> bool:
    """Whether `span` shares at least half of the shorter of it and some gold span.

    Example:
        >>> overlaps((0, 10), [(5, 30)]), overlaps((0, 10), [(8, 30)])
        (True, False)
    """
    for start, end in gold:
        shared = min(span[1], end) - max(span[0], start)
        if shared > 0 and shared * 2 >= min(span[1] - span[0], end - start):
            return True
    return False


def average_precision(labels: Sequence[bool]) -> float:
    """AP of a ranked list of right/wrong labels.

    Example:
        >>> average_precision([False, True, True])
        0.5833333333333333
    """
    hits, total = 0, 0.0
    for rank, right in enumerate(labels, start=1):
        if right:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def evaluate_sentence_ranking(answerer: Answerer, dataset: Dataset) -> dict[str, float]:
    """MAP and MRR of the answerer's sentence ranking within each question's paired paragraph."""
    gold = dataset.answer_sentences or {}
    paired = dataset.paired_docs or {}
    catalog = answerer.retriever.store.catalog
    aps, rrs = [], []
    for query in dataset.all_queries:
        if not gold.get(query.qid) or query.qid not in paired:
            continue
        text = catalog.document(paired[query.qid]).text
        spans = gold_spans(text, gold[query.qid])
        ranked = answerer.rank_document_sentences(query.text, paired[query.qid])
        labels = [overlaps((s.start, s.end), spans) for s in ranked]
        if not any(labels) or all(labels):
            continue
        aps.append(average_precision(labels))
        rrs.append(1.0 / (labels.index(True) + 1))
    n = max(1, len(aps))
    return {"ranked_questions": len(aps), "sentence_map": round(sum(aps) / n, 4),
            "sentence_mrr": round(sum(rrs) / n, 4)}
