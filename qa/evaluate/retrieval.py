"""Retrieval figures: nDCG@10, Recall@1/5/10/100 and MRR@10 for BM25, dense and the hybrid.

Passages are mapped back to documents: a document scores as its best passage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..answer.dates import parse_date_range
from ..answer.retrieval import Retriever, rrf
from ..index.store import IndexStore
from .dataset import Dataset, asked_on

METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10")
SYSTEMS = ("bm25", "dense", "hybrid")
#: Passage candidates per retriever in evaluation: enough to rank 100 distinct documents.
EVAL_CANDIDATES = 400


def doc_ranking(store: IndexStore, passage_ids: Iterable[int], limit: int = 100) -> list[str]:
    """Documents in the order of their best passage."""
    docs = store.catalog.passage_doc_ids()
    seen: dict[str, None] = {}
    for pid in passage_ids:
        seen.setdefault(docs[int(pid)], None)
        if len(seen) >= limit:
            break
    return list(seen)


def score_ranking(ranked: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    """nDCG@10, Recall@k and MRR@10 of one ranked document list against its qrels."""
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    out = {"ndcg@10": dcg / idcg if idcg else 0.0}
    for k in (1, 5, 10, 100):
        out[f"recall@{k}"] = len(set(ranked[:k]) & set(relevant)) / len(relevant)
    rr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if d in relevant), 0.0)
    out["mrr@10"] = rr
    return out


def evaluate_retrieval(retriever: Retriever, dataset: Dataset) -> dict[str, dict[str, float]]:
    """Mean metrics over the dataset's queries for BM25, dense and hybrid.

    The hybrid is what the answerer searches with, including the date boost when a question
    names a time (relative to when it was asked) and `date_weight` is above zero.
    """
    store = retriever.store
    settings = retriever.settings
    vectors = retriever.embedder.embed([q.text for q in dataset.queries])
    totals = {s: dict.fromkeys(METRICS, 0.0) for s in SYSTEMS}
    for query, vector in zip(dataset.queries, vectors, strict=True):
        boost = (parse_date_range(query.text, asked_on(query))
                 if settings.date_weight > 0 else None)
        rankings, weights = retriever.all_rankings(query.text, vector, boost=boost,
                                                   candidates=EVAL_CANDIDATES)
        hybrid = [pid for pid, _ in rrf(rankings, weights, k=settings.rrf_k)]
        dense, bm25 = rankings[0].ids.tolist(), rankings[1].ids.tolist()
        for system, ranking in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid)):
            scores = score_ranking(doc_ranking(store, ranking), dataset.qrels[query.qid])
            for metric, value in scores.items():
                totals[system][metric] += value
    n = max(1, len(dataset.queries))
    return {s: {m: round(v / n, 4) for m, v in metrics.items()} for s, metrics in totals.items()}
