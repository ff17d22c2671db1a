"""Measuring retrieval on a BEIR-layout dataset: nDCG@10, Recall@1/5/10/100 and MRR@10.

The corpus is indexed into its own folder, the queries that have qrels are run through BM25
alone, dense alone and the hybrid, and passages are mapped back to documents (a document
scores as its best passage). Query `metadata` holds gold labels and is never read, except
`question_date`, which is when a question was asked.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .answer.answerer import Answerer
from .answer.dates import parse_date_range
from .answer.retrieval import Retriever, rrf
from .config import Settings
from .errors import QAError
from .index.store import IndexStore
from .ingest import parse_date

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
    """A BEIR folder: `queries` are those with qrels; `all_queries` includes the rest (for
    SQuAD 2.0, the unanswerable ones); `answers` maps a query id to its gold answer strings
    when the folder has answers.jsonl (an empty list: unanswerable)."""

    name: str
    corpus: Path
    queries: tuple[Query, ...]
    qrels: dict[str, dict[str, int]]
    all_queries: tuple[Query, ...] = ()
    answers: dict[str, list[str]] | None = None


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
    every = tuple(read_queries(directory / "queries.jsonl"))
    queries = tuple(q for q in every if q.qid in qrels)
    answers = None
    if (directory / "answers.jsonl").exists():
        answers = {}
        for line in (directory / "answers.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                answers[str(row["_id"])] = [str(a) for a in row.get("answers") or []]
    return Dataset(directory.resolve().name, corpus, queries, qrels, every, answers)


def read_queries(path: Path) -> list[Query]:
    """Questions from a BEIR queries.jsonl; of `metadata`, only `question_date` is kept."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            meta = row.get("metadata") or {}
            asked = parse_date(meta.get("question_date")) if isinstance(meta, dict) else None
            out.append(Query(str(row["_id"]), str(row["text"]), asked))
    return out


def asked_on(query: Query) -> date | None:
    """When the question was asked, as a date (relative dates in it count from there)."""
    return date.fromisoformat(query.date) if query.date else None


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


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _PUNCT.sub(" ", text.lower().replace("’", "'").replace("“", '"').replace("”", '"'))
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(sentence: str, answers: Sequence[str]) -> bool:
    """Whether the sentence holds one of the gold answers, after normalisation."""
    padded = f" {normalize_answer(sentence)} "
    return any(f" {normalize_answer(a)} " in padded for a in answers if normalize_answer(a))


def evaluate_answers(answerer: Answerer, dataset: Dataset) -> tuple[dict[str, float], int]:
    """Answer sentence hits over the answerable questions, and abstention on them.

    Returns the `answers` figures and the number of answerable questions abstained on.
    """
    gold = dataset.answers or {}
    store = answerer.retriever.store
    first = top3 = abstained = cited = verbatim = 0
    answerable = [q for q in dataset.queries if gold.get(q.qid)]
    for query in answerable:
        answer = answerer.ask(query.text, now=asked_on(query))
        abstained += answer.abstained
        sentences = [c.highlight for c in answer.citations]
        first += bool(sentences) and contains_answer(sentences[0], gold[query.qid])
        top3 += any(contains_answer(s, gold[query.qid]) for s in sentences[:3])
        for c in answer.citations:
            cited += 1
            text = store.catalog.document(c.doc_id).text
            verbatim += text[c.highlight_start : c.highlight_end] == c.highlight
    n = max(1, len(answerable))
    return {
        "questions": len(answerable),
        "first_sentence_hit": round(first / n, 4),
        "top3_sentence_hit": round(top3 / n, 4),
        "citations_verbatim": round(verbatim / cited, 4) if cited else 1.0,
    }, abstained


def abstention_rate(answerer: Answerer, queries: Sequence[Query]) -> float:
    """The share of `queries` the answerer abstains on."""
    if not queries:
        return 0.0
    hits = sum(answerer.ask(q.text, now=asked_on(q)).abstained for q in queries)
    return round(hits / len(queries), 4)


def run_eval(answerer: Answerer, dataset: Dataset, *,
             out_of_corpus: Sequence[Query] = ()) -> dict[str, Any]:
    """The `qa eval --json` object for one dataset."""
    began = time.perf_counter()
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "retrieval": evaluate_retrieval(answerer.retriever, dataset),
    }
    abstention: dict[str, float] = {}
    if dataset.answers is not None:
        result["answers"], abstained = evaluate_answers(answerer, dataset)
        abstention["false_on_answerable"] = round(
            abstained / max(1, result["answers"]["questions"]), 4)
        unanswerable = [q for q in dataset.all_queries
                        if q.qid in dataset.answers and not dataset.answers[q.qid]]
        if unanswerable:
            abstention["unanswerable"] = abstention_rate(answerer, unanswerable)
    if out_of_corpus:
        abstention["out_of_corpus"] = abstention_rate(answerer, out_of_corpus)
        if "false_on_answerable" not in abstention:
            abstention["false_on_answerable"] = abstention_rate(answerer, dataset.queries)
    if abstention:
        result["abstention"] = abstention
    result["seconds"] = round(time.perf_counter() - began, 2)
    return result


def format_table(result: dict[str, Any]) -> str:
    """The figures as Markdown tables."""
    lines = [
        f"{result['dataset']}: {result['queries']} queries, {result['seconds']} s",
        "",
        "| system | " + " | ".join(METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for system, metrics in result["retrieval"].items():
        lines.append(f"| {system} | " + " | ".join(f"{metrics[m]:.4f}" for m in METRICS) + " |")
    for part in ("answers", "abstention"):
        if part in result:
            lines += ["", f"| {part} | value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in result[part].items()]
    return "\n".join(lines)


def default_eval_index(dataset_dir: Path, settings: Settings) -> Path:
    """Where an evaluation corpus is indexed unless --index says otherwise: never `index/`."""
    return Path("eval-index") / dataset_dir.resolve().name


def default_eval_schema(dataset_dir: Path, settings: Settings) -> str:
    """The PostgreSQL schema an evaluation corpus is indexed into: never the collection's.

    Example:
        >>> default_eval_schema(Path("../shared/datasets/squad2_cs224n_dev"), Settings())
        'qa_eval_squad2_cs224n_dev'
    """
    name = re.sub(r"[^a-z0-9_]+", "_", dataset_dir.resolve().name.lower())
    return f"{settings.pg_schema}_eval_{name}"[:63]
