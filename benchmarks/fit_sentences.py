"""Fit the answer-sentence model: a logistic regression over the features of qa/answer/sentences.py.

    .venv/bin/python benchmarks/fit_sentences.py [--write]

Training rows come from two sources, each weighing as much as the other:

- WikiQA train (`../shared/datasets/wikiqa/train`, indexed into eval-index/wikiqa-train): every
  sentence of the paragraph each question was paired with, for the questions whose paragraph
  has a right and a wrong sentence; right = it overlaps a labelled answering sentence. Real
  search-engine questions, worded the way people ask.
- SQuAD 2.0 dev (eval-index/squad2_cs224n_dev), every other answerable question: the
  sentences of the top passages the answerer retrieves; right = it holds a gold answer.

It prints, for the bundled model and the fitted one: WikiQA dev MAP/MRR (sentence ranking in
the paired paragraph; eval-index/wikiqa) and the first-sentence hit on the SQuAD questions not
fitted on. WikiQA test and realtimeqa_news are never read. `--write` saves the coefficients
to qa/answer/models/sentences.json. Build the indexes first with `qa eval` on each dataset
(and `qa index ../shared/datasets/wikiqa/train/corpus.jsonl --index eval-index/wikiqa-train`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer.answerer import Answerer, load_answerer
from qa.answer.intent import intent_of
from qa.answer.sentences import FEATURES, SentenceModel
from qa.config import Settings
from qa.evaluate import contains_answer, load_dataset
from qa.evaluate.sentences import average_precision, gold_spans, overlaps

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
MODEL = ROOT / "qa" / "answer" / "models" / "sentences.json"
L2 = 1.0

Group = tuple[np.ndarray, np.ndarray]  # (features, labels) of one question's candidates


def answerer_for(index: str) -> Answerer:
    settings = Settings.from_env(index_dir=ROOT / "eval-index" / index,
                                 embedding_cache=str(ROOT / "eval-index" / "embeddings.sqlite"))
    return load_answerer(settings)


def paragraph_groups(answerer: Answerer, directory: Path, split: str | None) -> list[Group]:
    """WikiQA: each question's paired paragraph, every sentence labelled."""
    dataset = load_dataset(directory, split=split)
    gold, paired = dataset.answer_sentences or {}, dataset.paired_docs or {}
    catalog = answerer.retriever.store.catalog
    groups = []
    for query in dataset.all_queries:
        if not gold.get(query.qid) or query.qid not in paired:
            continue
        spans = gold_spans(catalog.document(paired[query.qid]).text, gold[query.qid])
        ranked = answerer.rank_document_sentences(query.text, paired[query.qid])
        labels = np.array([overlaps((s.start, s.end), spans) for s in ranked], dtype=float)
        if 0 < labels.sum() < len(labels):
            groups.append((np.array([s.features for s in ranked]), labels))
    return groups


def retrieved_groups(answerer: Answerer, directory: Path, half: int) -> list[Group]:
    """SQuAD: the sentences of the passages retrieved for each question of one half."""
    dataset = load_dataset(directory)
    groups = []
    for query in dataset.queries:
        answers = (dataset.answers or {}).get(query.qid)
        if not answers or _half(query.qid) != half:
            continue
        hits = answerer.retriever.search(query.text)[: answerer.settings.answer_passages]
        scored = answerer._score(query.text, query.text, hits, intent_of(query.text))
        labels = np.array([contains_answer(s.text, answers) for s in scored], dtype=float)
        if len(scored):
            groups.append((np.array([s.features for s in scored]), labels))
    return groups


def _half(qid: str) -> int:
    return int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2


def fit(sources: Sequence[list[Group]]) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method; each source weighs the same in
    total, and within a source each question the same."""
    rows, labels, weights = [], [], []
    for groups in sources:
        for x, y in groups:
            rows.append(x)
            labels.append(y)
            weights.append(np.full(len(y), 1.0 / (len(groups) * len(y))))
    x = np.vstack(rows)
    y = np.concatenate(labels)
    w = np.concatenate(weights) * len(y) / len(sources)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(y), 1))])
    beta = np.zeros(z.shape[1])
    penalty = L2 * np.diag(np.r_[np.ones(len(beta) - 1), 0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        grad = z.T @ (w * (p - y)) + L2 * np.r_[beta[:-1], 0.0]
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    coef = beta[:-1] / scale
    return coef, float(beta[-1] - (coef * mean).sum())


def map_mrr(model: SentenceModel, groups: list[Group]) -> tuple[float, float]:
    aps, rrs = [], []
    for x, y in groups:
        order = np.argsort(-model.score(x), kind="stable")
        labels = [bool(v) for v in y[order]]
        aps.append(average_precision(labels))
        rrs.append(1.0 / (labels.index(True) + 1))
    return float(np.mean(aps)), float(np.mean(rrs))


def first_hit(model: SentenceModel, groups: list[Group]) -> float:
    return float(np.mean([y[int(np.argmax(model.score(x)))] for x, y in groups]))


def report(name: str, model: SentenceModel, wikiqa_dev: list[Group],
           squad_test: list[Group]) -> None:
    mean_ap, mrr = map_mrr(model, wikiqa_dev)
    print(f"{name:>8}: WikiQA dev MAP {mean_ap:.4f} MRR {mrr:.4f} ({len(wikiqa_dev)} questions)"
          f" · SQuAD held-out first sentence {first_hit(model, squad_test):.4f}"
          f" ({len(squad_test)} questions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="save the fitted coefficients")
    args = parser.parse_args()
    bundled = SentenceModel.bundled()
    # Features are computed with every feature present; the model only orders them.
    wikiqa_train = paragraph_groups(answerer_for("wikiqa-train"), DATA / "wikiqa" / "train", None)
    wikiqa_dev = paragraph_groups(answerer_for("wikiqa"), DATA / "wikiqa", "dev")
    squad = answerer_for("squad2_cs224n_dev")
    squad_fit = retrieved_groups(squad, DATA / "squad2_cs224n_dev", 0)
    squad_test = retrieved_groups(squad, DATA / "squad2_cs224n_dev", 1)
    report("bundled", bundled, wikiqa_dev, squad_test)
    report("cosine", SentenceModel(("cosine",), (1.0,), 0.0), wikiqa_dev, squad_test)
    coef, bias = fit([wikiqa_train, squad_fit])
    fitted = replace(bundled, features=FEATURES, weights=tuple(round(float(c), 4) for c in coef),
                     bias=round(bias, 4))
    report("fitted", fitted, wikiqa_dev, squad_test)
    print(json.dumps(dict(zip(FEATURES, fitted.weights, strict=True))), "bias", fitted.bias)
    if args.write:
        MODEL.write_text(json.dumps({
            "features": list(FEATURES), "weights": list(fitted.weights), "bias": fitted.bias,
            "fitted_on": "WikiQA train + half of SQuAD 2.0 dev answerable questions",
            "command": "benchmarks/fit_sentences.py --write",
        }, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL}")


if __name__ == "__main__":
    main()
