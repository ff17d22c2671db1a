"""Measuring the assistant on BEIR-layout datasets: retrieval, answers, abstention.

`qa eval DATASET_DIR` indexes the corpus into its own folder (never `index/`), runs every query
that has relevance judgements, and prints the figures (`run_eval`, `format_table`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..answer.answerer import Answerer
from ..config import Settings
from .answers import abstention_rate, contains_answer, evaluate_answers, normalize_answer
from .dataset import (
    Dataset,
    Query,
    asked_on,
    load_dataset,
    read_queries,
    sample_queries,
)
from .retrieval import METRICS, doc_ranking, evaluate_retrieval, score_ranking
from .sentences import evaluate_sentence_ranking

__all__ = [
    "METRICS", "Dataset", "Query", "abstention_rate", "asked_on", "contains_answer",
    "default_eval_index", "default_eval_schema", "doc_ranking", "evaluate_answers",
    "evaluate_retrieval",
    "format_table", "load_dataset", "normalize_answer", "read_queries", "run_eval",
    "sample_queries", "score_ranking",
]


def run_eval(answerer: Answerer, dataset: Dataset, *, out_of_corpus: Sequence[Query] = (),
             answers: bool = True) -> dict[str, Any]:
    """The `qa eval --json` object for one dataset."""
    began = time.perf_counter()
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "retrieval": evaluate_retrieval(answerer.retriever, dataset),
    }
    abstention: dict[str, float] = {}
    if dataset.answers is not None and answers:
        result["answers"], abstained = evaluate_answers(answerer, dataset)
        if dataset.answer_sentences is not None:
            result["answers"].update(evaluate_sentence_ranking(answerer, dataset))
        abstention["false_on_answerable"] = round(
            abstained / max(1, result["answers"]["questions"]), 4)
        unanswerable = [q for q in dataset.all_queries
                        if q.qid in dataset.answers and not dataset.answers[q.qid]]
        if unanswerable:
            abstention["unanswerable"] = abstention_rate(answerer, unanswerable)
    if out_of_corpus and answers:
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
