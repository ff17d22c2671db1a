"""How long `ask` takes in-process, beside its retrieval floor (prints figures, asserts nothing).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_ask.py --index eval-index/scifact \
        --queries ../shared/datasets/scifact/queries.jsonl [--questions 100]

The floor is what any answer needs first: embedding the question, FAISS and BM25 search, and
fusion (`Retriever.search`). `ask` adds choosing and quoting the sentences. Every question is
timed cold (the embedder's memo emptied first, so its vectors are computed as a new question's
would be) twice: retrieval alone, and the whole `ask`. The load average is printed beside the
figures, since a busy machine inflates them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from qa.answer.answerer import load_answerer
from qa.config import OFFLINE_ENV, Settings


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    os.environ.update(OFFLINE_ENV)
    questions = [json.loads(line)["text"] for line in args.queries.open(encoding="utf-8")]
    questions = questions[: args.questions]
    answerer = load_answerer(Settings(index_dir=args.index))
    answerer.ask(questions[0])  # load everything once
    retrieval, asking, answer_part = [], [], []
    memo = getattr(answerer.retriever.embedder, "_memo", {})
    for q in questions:
        memo.clear()
        began = time.perf_counter()
        answerer.retriever.search(q, k=answerer.settings.top_k)
        retrieval.append(time.perf_counter() - began)
        memo.clear()
        began = time.perf_counter()
        answer = answerer.ask(q)
        asking.append(time.perf_counter() - began)
        answer_part.append(answer.timings.get("answer_s", 0.0))
    floor = statistics.median(retrieval)
    print(f"index {args.index} ({answerer.retriever.store.count} passages), "
          f"{len(questions)} questions, load {os.getloadavg()[0]:.1f}")
    print(f"retrieval floor  p50 {floor * 1000:7.1f} ms  "
          f"p95 {_percentile(retrieval, .95) * 1000:7.1f} ms")
    print(f"ask              p50 {statistics.median(asking) * 1000:7.1f} ms  "
          f"p95 {_percentile(asking, .95) * 1000:7.1f} ms  "
          f"({statistics.median(asking) / floor:.2f}x floor)")
    print(f"answer step      p50 {statistics.median(answer_part) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
