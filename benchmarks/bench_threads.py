"""How many threads the query path should use: figures printed, nothing asserted.

    .venv/bin/python benchmarks/bench_threads.py --index eval-index/scifact-fp32
        [--dataset ../shared/datasets/scifact] [--threads 1,2] [--queries 100] [--concurrent 4]

For each thread count (`Settings.threads`: the model's onnxruntime session and FAISS), one
question at a time: the search (question embedded + FAISS + BM25 + fusion) and then the whole
`ask` (its question's vector remembered from the search), p50/p95. Then `--concurrent`
questions at once from as many Python threads, as a server under load answers them:
questions per second. Thread counts take turns question by question (FAISS's setting is per
process, so it is set before each), and the load average is printed beside the figures. The
index must exist (`qa eval DATASET --index DIR` builds it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qa.answer.answerer import load_answerer
from qa.config import Settings
from qa.evaluate.dataset import load_dataset
from qa.index import entities
from qa.index.dense import use_threads

ROOT = Path(__file__).resolve().parent.parent


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--dataset", type=Path,
                        default=ROOT.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()
    questions = [q.text for q in load_dataset(args.dataset, limit=args.queries).queries]
    counts = [int(t) for t in args.threads.split(",")]
    answerers: dict[int, Any] = {
        t: load_answerer(Settings(index_dir=args.index, threads=t)) for t in counts}
    for t, answerer in answerers.items():  # warm up (spaCy, first runs)
        use_threads(t)
        answerer.ask(questions[0])
    search: dict[int, list[float]] = {t: [] for t in counts}
    ask: dict[int, list[float]] = {t: [] for t in counts}
    print(f"{len(questions)} questions on {args.index}; load average before: {load()} "
          f"({os.cpu_count()} cores)")
    for n, question in enumerate(questions):
        for t in counts[n % len(counts):] + counts[:n % len(counts)]:
            use_threads(t)
            answerer = answerers[t]
            began = time.perf_counter()
            answerer.retriever.search(question, k=5)
            search[t].append(1000 * (time.perf_counter() - began))
            began = time.perf_counter()
            answerer.ask(question)
            ask[t].append(1000 * (time.perf_counter() - began))
    print(f"load average after one at a time: {load()}")
    print(f"{'threads':>8}{'search p50':>12}{'p95':>9}{'ask p50':>10}{'p95':>9}")
    for t in counts:
        print(f"{t:>8}{statistics.median(search[t]):>10.1f}ms{pct(search[t], 0.95):>7.1f}ms"
              f"{statistics.median(ask[t]):>8.1f}ms{pct(ask[t], 0.95):>7.1f}ms")
    for t in counts:
        # Afresh: nothing remembered from the runs above (the question and sentence vectors,
        # the entities of each sentence).
        entities._memo.clear()
        use_threads(t)
        answerer = load_answerer(Settings(index_dir=args.index, threads=t))
        began = time.perf_counter()
        with ThreadPoolExecutor(args.concurrent) as pool:
            list(pool.map(answerer.ask, questions))
        rate = len(questions) / (time.perf_counter() - began)
        print(f"{t} thread(s), {args.concurrent} questions at once: {rate:.1f} questions/s "
              f"(load average {load()})")


if __name__ == "__main__":
    main()
