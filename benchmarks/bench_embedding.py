"""The lean embedder's speed by precision and threads, printed as figures (nothing asserted).

    .venv/bin/python benchmarks/bench_embedding.py [--passages 256] [--queries 100]
        [--precisions fp32,int8] [--threads 1,2] [--rounds 3] [--reference]

For each (precision, threads) pair: passages embedded per second (wall clock, and per CPU
second of the process: what matters when the machine is shared), and the time to embed one
question (p50/p95, the query path). The pairs take turns round by round, so a change in the
machine's load affects all alike; the load average is printed beside the figures. Then how
close int8 vectors are to fp32 ones (cosine, mean and min). With `--reference`,
sentence-transformers on torch (fp32) runs beside them as "torch". Passages are the first scifact
abstracts from ../shared/datasets when present (title + text, as the index embeds them), else
the seed article's lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from qa.config import BUNDLED_MODEL
from qa.index.chunking import embed_text
from qa.index.embedding import Embedder, SentenceTransformerEmbedder, load_embedder

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


def texts(passages: int, queries: int) -> tuple[list[str], list[str]]:
    if SCIFACT.exists():
        rows = [json.loads(line) for line in
                (SCIFACT / "corpus.jsonl").read_text().splitlines()[:passages]]
        found = [embed_text(r.get("title", ""), r["text"]) for r in rows]
        asked = [json.loads(line)["text"] for line in
                 (SCIFACT / "queries.jsonl").read_text().splitlines()[:queries]]
        return found, asked
    lines = [line for p in sorted((ROOT / "seeds").glob("*.txt"))
             for line in p.read_text().splitlines() if line.strip()]
    return lines[:passages], lines[:queries]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--precisions", default="fp32,int8")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", action="store_true",
                        help="also sentence-transformers on torch (fp32)")
    args = parser.parse_args()
    found, asked = texts(args.passages, args.queries)
    threads = [int(t) for t in args.threads.split(",")]
    configs = [(p, t) for p in args.precisions.split(",") for t in threads]
    models: dict[tuple[str, int], Embedder] = {
        c: load_embedder(BUNDLED_MODEL, precision=c[0], threads=c[1]) for c in configs}
    if args.reference:
        # torch's thread count is per process: the reference runs with the last one given.
        models[("torch", threads[-1])] = SentenceTransformerEmbedder(threads=threads[-1])
        configs.append(("torch", threads[-1]))
    for model in models.values():
        model.embed(found[:8])  # warm up
    wall: dict[tuple[str, int], float] = dict.fromkeys(configs, 0.0)
    cpu: dict[tuple[str, int], float] = dict.fromkeys(configs, 0.0)
    latency: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    print(f"{len(found)} passages, {len(asked)} questions, {args.rounds} rounds; "
          f"load average before: {load()} ({os.cpu_count()} cores)")
    for _ in range(args.rounds):
        for config in configs:
            model = models[config]
            began, began_cpu = time.perf_counter(), time.process_time()
            model.embed(found)
            wall[config] += time.perf_counter() - began
            cpu[config] += time.process_time() - began_cpu
            for question in asked:
                began = time.perf_counter()
                model.embed([question])
                latency[config].append(time.perf_counter() - began)
    print(f"load average after: {load()}")
    print(f"{'precision':<10}{'threads':>8}{'passages/s':>12}{'per CPU-s':>11}"
          f"{'query p50':>11}{'p95':>9}")
    for config in configs:
        done = len(found) * args.rounds
        ms = sorted(1000 * x for x in latency[config])
        print(f"{config[0]:<10}{config[1]:>8}{done / wall[config]:>12.1f}"
              f"{done / cpu[config]:>11.1f}{statistics.median(ms):>9.1f}ms"
              f"{ms[int(0.95 * (len(ms) - 1))]:>7.1f}ms")
    precisions = sorted({p for p, _ in configs})
    if {"fp32", "int8"} <= set(precisions):
        a = models[next(c for c in configs if c[0] == "fp32")].embed(found + asked)
        b = models[next(c for c in configs if c[0] == "int8")].embed(found + asked)
        cosines = (a * b).sum(axis=1)
        print(f"int8 vs fp32 cosine: mean {cosines.mean():.4f}, min {cosines.min():.4f} "
              f"over {len(cosines)} texts")
        near = [len(set(np.argsort(-a[len(found):] @ a[:len(found)].T)[i][:10])
                    & set(np.argsort(-b[len(found):] @ b[:len(found)].T)[i][:10])) / 10
                for i in range(len(asked))]
        print(f"10 nearest passages of each question, int8 vs fp32 overlap: "
              f"{statistics.mean(near):.3f}")


if __name__ == "__main__":
    main()
