"""This project beside its peers on the same corpus, in one run: figures printed, nothing asserted.

    .venv/bin/pip install -e '.[bench]'        # txtai (`make bench` installs it itself)
    .venv/bin/python benchmarks/compare_peers.py [--docs 1000] [--queries 300] [--rounds 2]
        [--threads 1] [--systems qa,st-faiss,txtai]

The corpus is a sample of scifact from ../shared/datasets: the documents relevant to a fixed
sample of its test questions, then other abstracts up to `--docs`. Three systems index it:

- qa: this project (`index_paths`: chunking, the lean embedder, FAISS + BM25; fused search),
  from an empty index folder and an empty embedding cache;
- st-faiss: plain sentence-transformers `encode` + a flat inner-product FAISS index;
- txtai: `txtai.Embeddings` with `hybrid=True` (dense + BM25), the same model loaded by path.

All use the bundled all-MiniLM-L6-v2 and `--threads` threads (torch, onnxruntime, FAISS).
Builds run `--rounds` times, each time in another order; questions go to the systems one
question at a time, the order turning with each question, so that a change in the machine's
load affects all alike. Printed per system: documents indexed per second (median over rounds),
how many texts it embedded and how many per second (qa splits an abstract into passages that
fit the model's window, with one sentence of overlap; the others embed one text per document,
which the model cuts at 256 word pieces), search time per question (p50/p95, the question's
embedding included) and nDCG@10 (documents ranked by their best passage), with the load
average while measuring. `qa` is also timed answering (`ask`, quotes and citations included),
whose ranking is the search's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qa.config import BUNDLED_MODEL, Settings
from qa.evaluate.dataset import load_dataset
from qa.evaluate.retrieval import score_ranking
from qa.index.embedding import bundled_model_path

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


@dataclass
class Corpus:
    """The sample: documents by id (title, text), questions by id, and their qrels."""

    docs: dict[str, tuple[str, str]]
    questions: dict[str, str]
    qrels: dict[str, dict[str, int]]


def sample(dataset_dir: Path, docs: int, queries: int) -> Corpus:
    """Questions (shuffled with a fixed seed) whose relevant documents all fit in half of
    `docs`, those documents, then the corpus's other documents in order up to `docs`."""
    dataset = load_dataset(dataset_dir)
    rows = {r["_id"]: (r.get("title", ""), r["text"]) for r in
            map(json.loads, (dataset_dir / "corpus.jsonl").read_text().splitlines())}
    questions = list(dataset.queries)
    random.Random(0).shuffle(questions)
    chosen: dict[str, str] = {}
    keep: dict[str, None] = {}
    for q in questions:
        relevant = [d for d in dataset.qrels[q.qid] if d in rows]
        if len(chosen) >= queries or len(keep) + len(relevant) > docs // 2:
            continue
        chosen[q.qid] = q.text
        keep.update(dict.fromkeys(relevant))
    for doc_id in rows:
        if len(keep) >= docs:
            break
        keep.setdefault(doc_id, None)
    return Corpus({d: rows[d] for d in keep}, chosen,
                  {q: dataset.qrels[q] for q in chosen})


class System(Protocol):
    name: str
    passages: int  # texts embedded for the corpus

    def build(self, corpus: Corpus) -> None: ...

    def ready(self) -> None: ...

    def search(self, question: str) -> list[str]: ...


class Qa:
    """This project, as `qa index` and the answerer run it."""

    name = "qa"

    def __init__(self, workdir: Path, threads: int) -> None:
        self.workdir = workdir
        self.threads = threads
        self.answerer: Any = None
        self.settings = Settings()
        self.runs = 0
        self.passages = 0

    def build(self, corpus: Corpus) -> None:
        from qa.index.builder import index_paths

        self.runs += 1
        where = self.workdir / f"qa-{self.runs}"
        where.mkdir(parents=True)
        path = where / "corpus.jsonl"
        path.write_text("".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n"
                                for d, (t, x) in corpus.docs.items()))
        settings = Settings(index_dir=where / "index", threads=self.threads,
                            embedding_cache=str(where / "embeddings.sqlite"))
        report = index_paths([path], settings)
        self.passages = report.passages
        self.settings = settings

    def ready(self) -> None:
        """Open the index and load the model for questions (not part of the build time)."""
        from qa.answer.answerer import load_answerer

        self.answerer = load_answerer(self.settings)

    def search(self, question: str) -> list[str]:
        hits = self.answerer.retriever.search(question, k=40)
        return list(dict.fromkeys(h.passage.doc_id for h in hits))[:10]

    def ask(self, question: str) -> None:
        self.answerer.ask(question)


class StFaiss:
    """sentence-transformers `encode` + FAISS `IndexFlatIP`, nothing else."""

    name = "st-faiss"

    def __init__(self, threads: int) -> None:
        import faiss
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
        self.model = SentenceTransformer(bundled_model_path(), device="cpu",
                                         local_files_only=True)
        self.ids: list[str] = []
        self.index: Any = None
        self.passages = 0

    def ready(self) -> None:
        pass

    def build(self, corpus: Corpus) -> None:
        import faiss

        self.ids = list(corpus.docs)
        texts = [f"{t}\n{x}" if t else x for t, x in corpus.docs.values()]
        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.passages = len(texts)  # one text per document, cut at the model's 256 pieces

    def search(self, question: str) -> list[str]:
        vector = self.model.encode([question], normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        _, ids = self.index.search(vector, 10)
        return [self.ids[i] for i in ids[0] if i >= 0]


class Txtai:
    """txtai's `Embeddings`, hybrid (dense + BM25), the bundled model loaded by path."""

    name = "txtai"

    def __init__(self, threads: int) -> None:
        try:
            import txtai  # noqa: F401
        except ImportError:
            raise SystemExit("txtai is not installed: .venv/bin/pip install -e '.[bench]' "
                             "(or leave it out with --systems qa,st-faiss)") from None
        import faiss
        import torch

        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
        self.embeddings: Any = None
        self.passages = 0

    def ready(self) -> None:
        pass

    def build(self, corpus: Corpus) -> None:
        from txtai import Embeddings

        self.embeddings = Embeddings(path=bundled_model_path(), hybrid=True, content=False,
                                     backend="faiss")
        self.embeddings.index([(d, f"{t}\n{x}" if t else x, None)
                               for d, (t, x) in corpus.docs.items()])
        self.passages = len(corpus.docs)  # likewise

    def search(self, question: str) -> list[str]:
        return [str(uid) for uid, _ in self.embeddings.search(question, 10)]


@dataclass
class Figures:
    build_s: list[float] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    ndcg: dict[str, float] = field(default_factory=dict)
    ask_ms: list[float] = field(default_factory=list)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = run(*args)
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="builds of each system")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--systems", default="qa,st-faiss,txtai")
    args = parser.parse_args()
    if not (args.dataset / "corpus.jsonl").exists():
        raise SystemExit(f"{args.dataset} has no corpus.jsonl (scifact is expected in "
                         "../shared/datasets/scifact, or give --dataset)")
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "OMP_NUM_THREADS": str(args.threads)}.items():
        os.environ.setdefault(name, value)
    corpus = sample(args.dataset, args.docs, args.queries)
    print(f"{len(corpus.docs)} scifact documents, {len(corpus.questions)} questions; model "
          f"{BUNDLED_MODEL}; {args.threads} thread(s) each; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        makers: dict[str, Callable[[], System]] = {
            "qa": lambda: Qa(Path(tmp), args.threads),
            "st-faiss": lambda: StFaiss(args.threads),
            "txtai": lambda: Txtai(args.threads)}
        systems = [makers[name]() for name in args.systems.split(",")]
        figures = {s.name: Figures() for s in systems}
        loads = [f"before builds {load()}"]
        for round_ in range(args.rounds):
            turn = systems[round_ % len(systems):] + systems[:round_ % len(systems)]
            for system in turn:
                seconds, _ = timed(system.build, corpus)
                figures[system.name].build_s.append(seconds)
                system.ready()
        loads.append(f"after builds {load()}")
        for system in systems:  # warm up: first calls load lazily (spaCy, tokenizers…)
            system.search("warm up")
            if isinstance(system, Qa):
                system.ask("warm up")
        scores: dict[str, list[float]] = {s.name: [] for s in systems}
        for n, (qid, question) in enumerate(corpus.questions.items()):
            turn = systems[n % len(systems):] + systems[:n % len(systems)]
            for system in turn:
                seconds, ranked = timed(system.search, question)
                figures[system.name].search_ms.append(1000 * seconds)
                scores[system.name].append(score_ranking(ranked, corpus.qrels[qid])["ndcg@10"])
                if isinstance(system, Qa):
                    seconds, _ = timed(system.ask, question)
                    figures[system.name].ask_ms.append(1000 * seconds)
        loads.append(f"after questions {load()}")
    print(f"{'system':<12}{'docs/s':>8}{'passages':>10}{'passages/s':>12}{'search p50':>12}"
          f"{'p95':>9}{'nDCG@10':>9}")
    for system in systems:
        f = figures[system.name]
        ms = sorted(f.search_ms)
        build = statistics.median(f.build_s)
        ndcg = statistics.mean(scores[system.name])
        print(f"{system.name:<12}{len(corpus.docs) / build:>8.1f}{system.passages:>10}"
              f"{system.passages / build:>12.1f}{statistics.median(ms):>10.1f}ms"
              f"{ms[int(0.95 * (len(ms) - 1))]:>7.1f}ms{ndcg:>9.4f}")
        if isinstance(system, Qa):
            asked = sorted(f.ask_ms)
            print(f"{'qa ask':<12}{'':>30}{statistics.median(asked):>10.1f}ms"
                  f"{asked[int(0.95 * (len(asked) - 1))]:>7.1f}ms   (the answer: quotes, "
                  "citations)")
    print("load average (1, 5, 15 min): " + "; ".join(loads))


if __name__ == "__main__":
    main()
