"""Tune the answer-sentence weights on SQuAD 2.0 (answerable questions, whole corpus).

    .venv/bin/python benchmarks/tune_sentences.py ../shared/datasets/squad2_cs224n_dev [N]

Retrieves once per question, computes each candidate sentence's evidence (cosine, IDF keyword
share, answer-type match, passage rank), then scores a grid of weights offline and prints
first_sentence_hit and top3_sentence_hit for each. It changes nothing.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from itertools import product
from pathlib import Path

from qa.answer.answerer import load_answerer
from qa.answer.sentences import choose, score_sentences
from qa.config import Settings
from qa.evaluate import contains_answer, default_eval_index, load_dataset

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    directory = Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    dataset = load_dataset(directory)
    settings = Settings.from_env(index_dir=default_eval_index(directory, Settings()))
    answerer = load_answerer(settings)
    gold = dataset.answers or {}
    questions = [q for q in dataset.queries if gold.get(q.qid)]
    questions = questions[:: max(1, len(questions) // limit)] if limit else questions
    runs = []
    for passages in (3,):
        for q in questions:
            hits = answerer.retriever.search(q.text, k=settings.top_k)
            scored = score_sentences(
                q.text, hits[:passages], embed=answerer.retriever.embedder.embed,
                terms=answerer.retriever.store.analyzer.keywords,
                idf=answerer.retriever.store.lexical.idf, settings=settings)
            runs.append((q, scored))
    print(f"{dataset.name}: {len(runs)} answerable questions")
    print("lexical type rank margin  first  top3  mean_sentences")
    for lex, typ, rank, margin in product((0.3, 0.5, 0.8, 1.2), (0.1, 0.2, 0.3),
                                          (0.1,), (0.2, 0.3, 0.4, 0.5)):
        first = top3 = shown = 0
        for q, scored in runs:
            rescored = sorted(
                (replace(s, score=s.semantic + lex * s.lexical + typ * s.type_match
                         + rank * s.rank) for s in scored),
                key=lambda s: -s.score)
            chosen = choose(rescored, limit=3, margin=margin)
            texts = [c.text for c in chosen]
            first += bool(texts) and contains_answer(texts[0], gold[q.qid])
            top3 += any(contains_answer(t, gold[q.qid]) for t in texts)
            shown += len(texts)
        n = len(runs)
        print(f"{lex:7.2f} {typ:4.2f} {rank:4.2f} {margin:6.2f}  {first / n:.4f} {top3 / n:.4f}"
              f"  {shown / n:.2f}")


if __name__ == "__main__":
    main()
