"""The index folder at scale: ANN recall, search latency at 100k passages, the cost of a small
write on a large index, and load time and memory at a million passages. Prints figures with
the load average beside them; asserts nothing.

    nice -n 10 env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python \\
        benchmarks/bench_scale.py --embeddings eval-index/embeddings.sqlite \\
        [--sections recall,sweep,search,write,million] [--workdir /tmp/qa-bench-scale]

Material, all real, nothing embedded: the vectors of the embedding cache that `qa eval` fills
(the bundled model's vectors of scifact, SQuAD, RealTimeQA and WikiQA passages; read-only),
and the documents and queries of ../shared/datasets. Synthetic collections larger than that
repeat the real documents (titles numbered) and give each passage a real vector plus a little
noise (`CachedVectors`), so indexing costs what it costs with a cache full of vectors: no
model runs. The query encoder is left out of the latency figures for the same reason (it is
the same at any collection size); the figures are the index's own share of a search.

Sections (each bounded to minutes; the built collections are kept in --workdir and reused):

- recall: HNSW recall@10 and @100 against exact search on the real vectors (held-out real
  passage vectors as queries), through the index's own search code.
- sweep: exact vs HNSW search time and HNSW build time by segment size (the ANN threshold).
- search: `Retriever.search` (dense + BM25 + fusion + catalog) p50/p95 on a 100k-passage
  index built by `index_paths` from synthetic documents.
- write: `index_paths` adding 10 documents to that index, vs indexing the same 10 alone.
- million: load time, RSS and query latency of a 1M-passage index (written once, straight
  through the index writer: the documents are cut into passages without the sentence
  splitter, which would take most of an hour at that size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
SETS = ("scifact", "squad2_cs224n_dev", "realtimeqa_news", "wikiqa")
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def real_vectors(path: Path) -> np.ndarray:
    """Every vector of the bundled model in the embedding cache (opened read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute("SELECT vector FROM embeddings WHERE model = ? AND dim = 384 "
                      "ORDER BY key", [MODEL]).fetchall()
    db.close()
    return np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(-1, 384).copy()


def documents() -> list[dict[str, str]]:
    out = []
    for name in SETS:
        for line in (DATASETS / name / "corpus.jsonl").read_text().splitlines():
            row = json.loads(line)
            out.append({"title": row.get("title", ""), "text": row["text"]})
    return out


def queries(limit: int) -> list[str]:
    out: list[str] = []
    for name in SETS:
        lines = (DATASETS / name / "queries.jsonl").read_text().splitlines()
        out += [json.loads(line)["text"] for line in lines[: limit // len(SETS) + 1]]
    return out[:limit]


class CachedVectors:
    """An embedder standing in for a cache full of the bundled model's vectors: each text gets
    a real vector (chosen by its hash) plus a little noise, normalised. Counts words as tokens."""

    name = "bench-cached-minilm"
    dim = 384
    max_tokens = 256

    def __init__(self, real: np.ndarray, noise: float = 0.02) -> None:
        self.real = real
        self.noise = noise

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            out[row] = self.real[seed % len(self.real)] + rng.normal(0, self.noise, self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def synthetic_vectors(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(real), n)
    out = real[rows] + rng.normal(0, 0.02, (n, real.shape[1])).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def quantiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms (n={len(ms)})"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


# Sections --------------------------------------------------------------------------------------


def dense_over(vectors: np.ndarray, params: dict[str, object], folder: Path):
    """A one-segment dense index over `vectors`, written and mapped as the index does."""
    from qa.index.ann import read_faiss, write_faiss
    from qa.index.dense import SegmentedDense
    from qa.index.layout import SegmentEntry
    from qa.index.segment import Segment

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{params['kind']}-{len(vectors)}.faiss"
    began = time.perf_counter()
    write_faiss(path, vectors, params)
    built = time.perf_counter() - began
    entry = SegmentEntry("seg-000001", len(vectors), dict(params), {})
    segment = Segment(entry, np.arange(len(vectors)), read_faiss(path),
                      _no_postings(len(vectors)), np.zeros(0, dtype=np.int64))
    return SegmentedDense([segment], vectors.shape[1]), built


def _no_postings(rows: int):
    from qa.index.postings import Postings

    return Postings(terms=[], starts=np.zeros(1, dtype=np.int64), rows=np.zeros(0, np.int32),
                    tfs=np.zeros(0, np.uint16), lengths=np.zeros(rows, np.int32))


def section_recall(real: np.ndarray, work: Path, settings, query_model: bool) -> None:
    rng = np.random.default_rng(7)
    order = rng.permutation(len(real))
    held, base = real[order[:500]], real[order[500:]]
    _recall(base, held, "held-out real passage vectors", work, settings)
    if query_model:
        from qa.index.embedding import load_embedder

        model = load_embedder(MODEL)
        texts = queries(400)
        _recall(real, model.embed(texts), "real dataset queries embedded by the bundled model",
                work, settings)


def _recall(base: np.ndarray, held: np.ndarray, what: str, work: Path, settings) -> None:
    exact, _ = dense_over(base, {"kind": "flat"}, work / "recall")
    truth10 = [exact.search(q, 10)[0] for q in held]
    truth100 = [exact.search(q, 100)[0] for q in held]
    print(f"recall: {len(base)} real passage vectors; queries: {len(held)} {what} "
          f"({load_average()})")
    for ef in sorted({settings.hnsw_ef_search, 64, 256}):
        params = {"kind": "hnsw", "m": settings.hnsw_m,
                  "ef_construction": settings.hnsw_ef_construction, "ef_search": ef}
        ann, built = dense_over(base, params, work / "recall")
        got10 = [ann.search(q, 10)[0] for q in held]
        got100 = [ann.search(q, 100)[0] for q in held]
        r10 = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got10, truth10, strict=True)])
        r100 = np.mean([len(set(a) & set(b)) / 100
                        for a, b in zip(got100, truth100, strict=True)])
        times = timed(lambda a=ann: [a.search(q, 10) for q in held[:100]], 1)[0] / 100
        print(f"  HNSW M={settings.hnsw_m} efConstruction={settings.hnsw_ef_construction} "
              f"efSearch={ef}: recall@10 {r10:.4f}, recall@100 {r100:.4f} (efSearch at least "
              f"100), {times * 1000:.2f} ms/query, built in {built:.1f} s")


def section_sweep(real: np.ndarray, work: Path, settings) -> None:
    print(f"sweep: one segment of N synthetic passages (real vectors + noise), top 100 "
          f"({load_average()})")
    qs = real[np.random.default_rng(3).integers(0, len(real), 100)]
    for n in (25_000, 50_000, 100_000):
        vectors = synthetic_vectors(real, n, seed=n)
        flat, _ = dense_over(vectors, {"kind": "flat"}, work / "sweep")
        params = {"kind": "hnsw", "m": settings.hnsw_m,
                  "ef_construction": settings.hnsw_ef_construction,
                  "ef_search": settings.hnsw_ef_search}
        ann, built = dense_over(vectors, params, work / "sweep")
        flat_t = [timed(lambda q=q, f=flat: f.search(q, 100), 1)[0] for q in qs]
        ann_t = [timed(lambda q=q, a=ann: a.search(q, 100), 1)[0] for q in qs]
        print(f"  {n:>7} passages: exact {quantiles(flat_t)}; HNSW {quantiles(ann_t)}, "
              f"built in {built:.1f} s ({built / n * 1000:.2f} ms per passage)")
        shutil.rmtree(work / "sweep")


def corpus_file(path: Path, docs: list[dict[str, str]], copies: int, start: int = 0) -> None:
    with path.open("w") as out:
        for k in range(copies):
            for i, doc in enumerate(docs):
                row = {"_id": f"{start + k}-{i}", "title": f"{doc['title']} ({start + k})",
                       "text": doc["text"]}
                out.write(json.dumps(row) + "\n")


def build_100k(real: np.ndarray, work: Path, settings, target: int) -> Path:
    from qa.index.builder import index_paths

    index_dir = work / f"index-{target}"
    if (index_dir / "manifest.json").exists():
        return index_dir
    docs = documents()
    words = sum(len(d["text"].split()) for d in docs)
    copies = max(1, round(target / max(1, words / 200)))
    corpus = work / "corpus.jsonl"
    corpus_file(corpus, docs, copies)
    began, cpu = time.perf_counter(), time.process_time()
    report = index_paths([corpus], settings.with_overrides(index_dir=index_dir),
                         embedder=CachedVectors(real))
    print(f"built {index_dir}: {report.documents} documents, {report.passages} passages in "
          f"{time.perf_counter() - began:.0f} s ({time.process_time() - cpu:.0f} CPU-s, "
          f"{load_average()})")
    return index_dir


def section_search(real: np.ndarray, work: Path, settings, target: int) -> None:
    from qa.answer.retrieval import Retriever
    from qa.index.store import IndexStore

    index_dir = build_100k(real, work, settings, target)
    began = time.perf_counter()
    store = IndexStore.load(index_dir)
    loaded = time.perf_counter() - began
    embedder = CachedVectors(real)
    retriever = Retriever(store, embedder, settings)
    texts = queries(200)
    vectors = embedder.embed(texts)
    retriever.search(texts[0])  # first use builds each segment's term dictionary
    kinds = ", ".join(f"{s.name} {s.live} {s.dense['kind']}" for s in store.manifest.segments)
    print(f"search: {store.count} passages ({kinds}), loaded in {loaded * 1000:.0f} ms; "
          f"{len(texts)} real dataset queries, vectors from the cache stand-in "
          f"({load_average()})")
    dense = [timed(lambda v=v: store.dense.search(v, settings.candidates), 1)[0]
             for v in vectors]
    bm25 = [timed(lambda t=t: store.lexical.search(t, settings.candidates), 1)[0]
            for t in texts]
    full = [timed(lambda t=t: retriever.search(t), 1)[0] for t in texts]
    print(f"  dense top {settings.candidates}: {quantiles(dense)}")
    print(f"  BM25 top {settings.candidates}: {quantiles(bm25)}")
    print(f"  Retriever.search (dense + BM25 + dates + fusion + catalog): {quantiles(full)}")
    store.close()


def section_write(real: np.ndarray, work: Path, settings, target: int,
                  repeat: int) -> None:
    from qa.index.builder import index_paths

    index_dir = build_100k(real, work, settings, target)
    copy = work / "index-write"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index_dir, copy)
    docs = documents()
    embedder = CachedVectors(real)
    on_large, alone, passages = [], [], []
    for k in range(repeat):
        ten = work / f"ten-{k}.jsonl"
        rows = [docs[(k * 97 + i * 13) % len(docs)] for i in range(10)]
        corpus_file(ten, rows, 1, start=10_000 + k)
        began = time.perf_counter()
        report = index_paths([ten], settings.with_overrides(index_dir=copy), embedder=embedder)
        on_large.append(time.perf_counter() - began)
        fresh = work / f"index-ten-{k}"
        shutil.rmtree(fresh, ignore_errors=True)
        began = time.perf_counter()
        alone_report = index_paths([ten], settings.with_overrides(index_dir=fresh),
                                   embedder=embedder)
        alone.append(time.perf_counter() - began)
        passages.append(alone_report.passages)
        shutil.rmtree(fresh)
    ratio = statistics.median(on_large) / statistics.median(alone)
    print(f"write: +10 documents ({statistics.median(passages):.0f} passages) on a "
          f"{report.passages - statistics.median(passages):.0f}-passage index vs the same 10 "
          f"alone, {repeat} times each, in process ({load_average()})")
    print(f"  on the large index: median {statistics.median(on_large) * 1000:.0f} ms "
          f"(each: {', '.join(f'{t * 1000:.0f}' for t in on_large)} ms)")
    print(f"  alone: median {statistics.median(alone) * 1000:.0f} ms "
          f"(each: {', '.join(f'{t * 1000:.0f}' for t in alone)} ms); ratio {ratio:.1f}x")
    shutil.rmtree(copy)


def build_million(real: np.ndarray, work: Path, settings, n: int) -> Path:
    """A 1M-passage index written straight through the index writer (one fresh write)."""
    from qa.index.analysis import TextAnalyzer
    from qa.index.backend import segment_policy
    from qa.index.chunking import Passage
    from qa.index.delta import Delta, IndexSettings, lexical_text
    from qa.index.writer import LocalTarget
    from qa.ingest import Document

    index_dir = work / f"index-{n}"
    if (index_dir / "manifest.json").exists():
        return index_dir
    began, cpu = time.perf_counter(), time.process_time()
    source = documents()
    documents_out: list[Document] = []
    passages: list[Passage] = []
    texts: list[str] = []
    k = 0
    while len(passages) < n:
        base = source[k % len(source)]
        doc = Document(doc_id=f"m{k}", source=f"/bench/m{k}", title=f"{base['title']} ({k})",
                       text=base["text"])
        documents_out.append(doc)
        words = doc.text.split(" ")
        start = 0
        for ordinal, first in enumerate(range(0, len(words), 150)):
            piece = " ".join(words[first:first + 150])
            passages.append(Passage(doc.doc_id, ordinal, start, start + len(piece), piece, None))
            texts.append(lexical_text(doc.title, piece))
            start += len(piece) + 1
            if len(passages) >= n:
                break
        k += 1
    vectors = synthetic_vectors(real, len(passages), seed=11)
    delta = Delta(order=[d.doc_id for d in documents_out], documents=documents_out,
                  passages=passages, vectors=vectors, lexical_texts=texts, removed=frozenset(),
                  replace=True)
    how = IndexSettings(model=CachedVectors.name, chunking={"bench": "fixed 150 words"},
                        bm25={"k1": settings.bm25_k1, "b": settings.bm25_b},
                        analyzer=TextAnalyzer())
    target = LocalTarget(index_dir, policy=segment_policy(settings))
    with target.lock():
        target.write(delta, how, None)
    print(f"built {index_dir}: {len(documents_out)} documents, {len(passages)} passages in "
          f"{time.perf_counter() - began:.0f} s ({time.process_time() - cpu:.0f} CPU-s, "
          f"{load_average()})")
    return index_dir


LOAD_CHILD = r"""
import json, os, sys, time
began = time.perf_counter()
from qa.index.store import IndexStore
imported = time.perf_counter()
store = IndexStore.load(__import__("pathlib").Path(sys.argv[1]))
loaded = time.perf_counter()
def rss():
    fields = {}
    for line in open("/proc/self/status"):
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields
after_load = rss()
import numpy as np
qs = np.load(sys.argv[2])
texts = json.loads(open(sys.argv[3]).read())
t = time.perf_counter(); store.dense.search(qs[0], 100); first_dense = time.perf_counter() - t
t = time.perf_counter(); store.lexical.search(texts[0], 100); first_bm25 = time.perf_counter() - t
dense, bm25 = [], []
for q, text in zip(qs[1:], texts[1:]):
    t = time.perf_counter(); store.dense.search(q, 100); dense.append(time.perf_counter() - t)
    t = time.perf_counter(); store.lexical.search(text, 100); bm25.append(time.perf_counter() - t)
print(json.dumps({"import": imported - began, "load": loaded - imported, "rss_load": after_load,
                  "rss_after": rss(), "first_dense": first_dense,
                  "first_bm25": first_bm25, "dense": dense, "bm25": bm25,
                  "passages": store.count}))
"""


def section_million(real: np.ndarray, work: Path, settings, n: int) -> None:
    index_dir = build_million(real, work, settings, n)
    size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    qs = work / "million-queries.npy"
    texts = queries(101)
    np.save(qs, CachedVectors(real).embed(texts))
    (work / "million-queries.json").write_text(json.dumps(texts))
    print(f"million: {index_dir} ({size / 1e9:.2f} GB on disk), loaded in a new process "
          f"({load_average()})")
    for run in ("first", "second"):
        done = subprocess.run([sys.executable, "-c", LOAD_CHILD, str(index_dir), str(qs),
                               str(work / "million-queries.json")], capture_output=True,
                              text=True, check=True, cwd=ROOT)
        r = json.loads(done.stdout)
        load, after = r["rss_load"], r["rss_after"]
        print(f"  {run} run: {r['passages']} passages; load {r['load'] * 1000:.0f} ms "
              f"(imports {r['import'] * 1000:.0f} ms); RSS after load {load['VmRSS']:.0f} MB "
              f"({load['RssAnon']:.0f} MB private, {load['RssFile']:.0f} MB mapped files), "
              f"after 100 queries {after['VmRSS']:.0f} MB ({after['RssAnon']:.0f} MB private, "
              f"{after['RssFile']:.0f} MB mapped files; peak {after['VmHWM']:.0f} MB); "
              f"first query dense {r['first_dense'] * 1000:.0f} ms, BM25 "
              f"{r['first_bm25'] * 1000:.0f} ms; then dense {quantiles(r['dense'])}, BM25 "
              f"{quantiles(r['bm25'])}")


def main() -> None:
    from qa.config import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--embeddings", type=Path,
                        default=ROOT / "eval-index" / "embeddings.sqlite",
                        help="the embedding cache `qa eval` filled (read-only)")
    parser.add_argument("--query-model", action="store_true",
                        help="recall: also with real dataset queries embedded by the bundled "
                             "model (loads it: about 15 s more)")
    parser.add_argument("--sections", default="recall,sweep,search,write")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/qa-bench-scale"))
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    args.workdir.mkdir(parents=True, exist_ok=True)
    real = real_vectors(args.embeddings)
    print(f"{len(real)} real vectors of {MODEL} from {args.embeddings}; ANN threshold "
          f"{settings.ann_threshold}, HNSW M={settings.hnsw_m} efConstruction="
          f"{settings.hnsw_ef_construction} efSearch={settings.hnsw_ef_search}")
    for section in args.sections.split(","):
        began = time.perf_counter()
        if section == "recall":
            section_recall(real, args.workdir, settings, args.query_model)
        elif section == "sweep":
            section_sweep(real, args.workdir, settings)
        elif section == "search":
            section_search(real, args.workdir, settings, args.passages)
        elif section == "write":
            section_write(real, args.workdir, settings, args.passages, args.repeat)
        elif section == "million":
            section_million(real, args.workdir, settings, args.million)
        else:
            raise SystemExit(f"unknown section {section!r}")
        print(f"  ({section}: {time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
