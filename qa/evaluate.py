"""Measuring retrieval on a BEIR-layout dataset: nDCG@10, Recall@1/5/10/100 and MRR@10.

The corpus is indexed into its own folder, the queries that have qrels are run through BM25
alone, dense alone and the hybrid, and passages are mapped back to documents (a document
scores as its best passage). Query `metadata` holds gold labels and is never read, except
`question_date`, which is when a question was asked.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import QAError
from .retrieval import Ranking, Retriever, rrf
from .store import IndexStore

METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10")
SYSTEMS = ("bm25", "dense", "hybrid")
#: Passage candidates per retriever in evaluation: enough to rank 100 distinct documents.
EVAL_CANDIDATES = 400


@dataclass(frozen=True)
class Query:
    """An evaluation question; `date` is when it was asked (the only metadata read)."""

    qid: str
    text: str
    date: str | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    corpus: Path
    queries: tuple[Query, ...]
    qrels: dict[str, dict[str, int]]


def load_dataset(directory: Path) -> Dataset:
    """Read `corpus.jsonl`, `queries.jsonl` and `qrels/test.tsv` from a BEIR folder.

    Raises:
        QAError: a file is missing or malformed.
    """
    corpus = directory / "corpus.jsonl"
    for needed in (corpus, directory / "queries.jsonl", directory / "qrels" / "test.tsv"):
        if not needed.exists():
            raise QAError(f"{needed} is missing: DATASET_DIR must be in BEIR layout "
                          "(corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    for line in (directory / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and int(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = tuple(q for q in read_queries(directory / "queries.jsonl") if q.qid in qrels)
    return Dataset(directory.resolve().name, corpus, queries, qrels)


def read_queries(path: Path) -> list[Query]:
    """Questions from a BEIR queries.jsonl; of `metadata`, only `question_date` is kept."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            meta = row.get("metadata") or {}
            date = meta.get("question_date") if isinstance(meta, dict) else None
            out.append(Query(str(row["_id"]), str(row["text"]), date))
    return out


def doc_ranking(store: IndexStore, passage_ids: Iterable[int], limit: int = 100) -> list[str]:
    """Documents in the order of their best passage."""
    docs = store.passage_doc_ids()
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
    """Mean metrics over the dataset's queries for BM25, dense and hybrid."""
    store = retriever.store
    settings = retriever.settings
    vectors = retriever.embedder.embed([q.text for q in dataset.queries])
    totals = {s: dict.fromkeys(METRICS, 0.0) for s in SYSTEMS}
    for query, vector in zip(dataset.queries, vectors, strict=True):
        dense, bm25 = retriever.rankings(query.text, candidates=EVAL_CANDIDATES, vector=vector)
        fused = rrf([dense, bm25], [settings.dense_weight, settings.bm25_weight], k=settings.rrf_k)
        hybrid = Ranking(ids=_ids(fused), scores=_ids(fused))
        for system, ranking in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid)):
            scores = score_ranking(doc_ranking(store, ranking.ids), dataset.qrels[query.qid])
            for metric, value in scores.items():
                totals[system][metric] += value
    n = max(1, len(dataset.queries))
    return {s: {m: round(v / n, 4) for m, v in metrics.items()} for s, metrics in totals.items()}


def _ids(fused: list[tuple[int, float]]) -> Any:
    import numpy as np

    return np.array([pid for pid, _ in fused], dtype=np.int64)


def run_eval(retriever: Retriever, dataset: Dataset) -> dict[str, Any]:
    """The `qa eval --json` object for one dataset."""
    began = time.perf_counter()
    retrieval = evaluate_retrieval(retriever, dataset)
    return {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "retrieval": retrieval,
        "seconds": round(time.perf_counter() - began, 2),
    }


def format_table(result: dict[str, Any]) -> str:
    """The retrieval figures as a Markdown table."""
    lines = [
        f"{result['dataset']}: {result['queries']} queries, {result['seconds']} s",
        "",
        "| system | " + " | ".join(METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for system, metrics in result["retrieval"].items():
        lines.append(f"| {system} | " + " | ".join(f"{metrics[m]:.4f}" for m in METRICS) + " |")
    return "\n".join(lines)


def default_eval_index(dataset_dir: Path, settings: Settings) -> Path:
    """Where an evaluation corpus is indexed unless --index says otherwise: never `index/`."""
    return Path("eval-index") / dataset_dir.resolve().name
