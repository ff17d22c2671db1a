"""Indexing and answering speed on this machine, printed as figures (nothing is asserted).

    .venv/bin/python benchmarks/bench_index.py [--docs 300]

Uses the first N abstracts of ../shared/datasets/scifact when present (else the seeds), the
real bundled model, and a throw-away index folder.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from qa.answer.answerer import load_answerer
from qa.config import Settings
from qa.index.builder import index_paths

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--questions", type=int, default=50)
    args = parser.parse_args()
    scifact = ROOT.parent / "shared" / "datasets" / "scifact"
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        questions: list[str] = []
        if scifact.exists():
            lines = (scifact / "corpus.jsonl").read_text().splitlines()[: args.docs]
            corpus.write_text("\n".join(lines) + "\n")
            questions = [json.loads(q)["text"] for q in
                         (scifact / "queries.jsonl").read_text().splitlines()[: args.questions]]
            source = f"{len(lines)} scifact abstracts"
        else:
            corpus = ROOT / "seeds"
            questions = ["Where does the US want to put its missile defence system?"] * 10
            source = "seeds/"
        settings = Settings(index_dir=Path(tmp) / "index")
        began = time.perf_counter()
        first = index_paths([corpus], settings)
        cold = time.perf_counter() - began
        began = time.perf_counter()
        index_paths([corpus], settings, rebuild=True)
        warm = time.perf_counter() - began
        answerer = load_answerer(settings)
        answerer.ask("warm up")
        latencies = []
        for question in questions:
            began = time.perf_counter()
            answerer.ask(question)
            latencies.append(time.perf_counter() - began)
        latencies.sort()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"corpus: {source}; {first.documents} documents, {first.passages} passages")
        print(f"index, cold cache: {cold:.1f} s ({first.passages / cold:.1f} passages/s, "
              "model load included)")
        print(f"index --rebuild, warm cache: {warm:.1f} s (embedded 0 texts)")
        print(f"qa ask over {len(latencies)} questions: p50 {statistics.median(latencies)*1000:.0f}"
              f" ms, p95 {latencies[int(len(latencies) * 0.95) - 1]*1000:.0f} ms")
        print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
