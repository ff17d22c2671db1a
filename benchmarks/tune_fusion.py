"""Grid-search the fusion weights on an evaluation index (tune on scifact and squad2 only).

    .venv/bin/python benchmarks/tune_fusion.py ../shared/datasets/squad2_cs224n_dev

Runs each query's dense and BM25 rankings once, then scores every (dense weight, BM25 weight,
rrf_k) on the grid. Prints the figures; it changes nothing.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

from qa.answer.answerer import load_answerer
from qa.answer.retrieval import rrf
from qa.config import Settings
from qa.evaluate import (
    EVAL_CANDIDATES,
    default_eval_index,
    doc_ranking,
    load_dataset,
    score_ranking,
)

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    directory = Path(sys.argv[1])
    dataset = load_dataset(directory)
    settings = Settings.from_env(index_dir=default_eval_index(directory, Settings()))
    retriever = load_answerer(settings).retriever
    vectors = retriever.embedder.embed([q.text for q in dataset.queries])
    runs = [retriever.rankings(q.text, candidates=EVAL_CANDIDATES, vector=v)
            for q, v in zip(dataset.queries, vectors, strict=True)]
    print(f"{dataset.name}: {len(runs)} queries")
    print("w_dense w_bm25 rrf_k  ndcg@10 recall@1 recall@5 recall@100")
    for wd, k in product((0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2), (1, 2, 5, 10, 20, 60)):
        wb = 1.0
        total = {"ndcg@10": 0.0, "recall@1": 0.0, "recall@5": 0.0, "recall@100": 0.0}
        for query, (dense, bm25) in zip(dataset.queries, runs, strict=True):
            fused = [pid for pid, _ in rrf([dense, bm25], [wd, wb], k=k)]
            scores = score_ranking(doc_ranking(retriever.store, fused), dataset.qrels[query.qid])
            for m in total:
                total[m] += scores[m]
        n = len(runs)
        print(f"{wd:7.2f} {wb:6.2f} {k:5d}  " + " ".join(f"{total[m] / n:.4f}" for m in total))


if __name__ == "__main__":
    main()
