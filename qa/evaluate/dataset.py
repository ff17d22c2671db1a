"""Evaluation data in BEIR layout: corpus, queries, qrels, and gold answers when present.

Query `metadata` holds gold labels and is never read, except `question_date` (when a question
was asked) and `split` (which part of the data it belongs to); neither is a label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import QAError
from ..ingest import parse_date


@dataclass(frozen=True)
class Query:
    """An evaluation question; `date` is when it was asked (the only metadata read)."""

    qid: str
    text: str
    date: str | None = None
    split: str | None = None


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
    #: WikiQA-style gold: the answering sentences of each question (empty: none answers) and
    #: the paragraph each question was paired with (for the sentence-ranking protocol).
    answer_sentences: dict[str, list[str]] | None = None
    paired_docs: dict[str, str] | None = None


def sample_queries(queries: Sequence[Query], limit: int) -> list[Query]:
    """A fixed sample of `limit` queries: the first by a hash of their ids, in their order."""
    keep = set(sorted((q.qid for q in queries),
                      key=lambda qid: hashlib.sha256(qid.encode()).hexdigest())[:limit])
    return [q for q in queries if q.qid in keep]


def load_dataset(directory: Path, *, split: str | None = None,
                 limit: int | None = None) -> Dataset:
    """Read `corpus.jsonl`, `queries.jsonl` and `qrels/test.tsv` (or, in a folder holding
    another part, its one `qrels/*.tsv`: WikiQA's `train/` has `train.tsv`) from a BEIR
    folder, keeping only the queries of `split` (their `metadata.split`) when given, and a
    fixed sample of `limit` of them when given.

    Raises:
        QAError: a file is missing or malformed.
    """
    corpus = directory / "corpus.jsonl"
    qrels_path = directory / "qrels" / "test.tsv"
    others = sorted((directory / "qrels").glob("*.tsv")) if not qrels_path.exists() else []
    if len(others) == 1:
        qrels_path = others[0]
    for needed in (corpus, directory / "queries.jsonl", qrels_path):
        if not needed.exists():
            raise QAError(f"{needed} is missing: DATASET_DIR must be in BEIR layout "
                          "(corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    for line in qrels_path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and int(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    every = tuple(q for q in read_queries(directory / "queries.jsonl")
                  if split is None or q.split == split)
    if split is not None and not every:
        raise QAError(f"no query of {directory} has metadata.split {split!r}")
    if limit:
        every = tuple(sample_queries(every, limit))
    queries = tuple(q for q in every if q.qid in qrels)
    answers, sentences, paired = _read_answers(directory / "answers.jsonl")
    return Dataset(directory.resolve().name, corpus, queries, qrels, every, answers, sentences,
                   paired)


def _read_answers(path: Path) -> tuple[dict[str, list[str]] | None,
                                       dict[str, list[str]] | None, dict[str, str] | None]:
    """Gold answer strings (SQuAD, RealtimeQA) or answering sentences (WikiQA), by query id."""
    if not path.exists():
        return None, None, None
    answers: dict[str, list[str]] = {}
    sentences: dict[str, list[str]] = {}
    paired: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        qid = str(row["_id"])
        if "answer_sentences" in row:
            sentences[qid] = [str(a) for a in row["answer_sentences"] or []]
            answers[qid] = sentences[qid]
            if row.get("doc_id"):
                paired[qid] = str(row["doc_id"])
        else:
            answers[qid] = [str(a) for a in row.get("answers") or []]
    return answers, sentences or None, paired or None


def read_queries(path: Path) -> list[Query]:
    """Questions from a BEIR queries.jsonl; of `metadata`, only `question_date` and `split`
    are kept (never the gold labels)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
            asked = parse_date(meta.get("question_date"))
            split = meta.get("split") if isinstance(meta.get("split"), str) else None
            out.append(Query(str(row["_id"]), str(row["text"]), asked, split))
    return out


def asked_on(query: Query) -> date | None:
    """When the question was asked, as a date (relative dates in it count from there)."""
    return date.fromisoformat(query.date) if query.date else None
