"""Calibrate the abstention threshold: in-corpus questions against out-of-corpus ones.

    .venv/bin/python benchmarks/calibrate_abstention.py DATASET_DIR OTHER/queries.jsonl [...]

For the answerable questions of DATASET_DIR (asked of its own evaluation index) and for each
other queries file (asked of the same index, so their answers are not there), computes the
answerer's support (`Answerer.support`: cosine blended with keyword coverage, weight
QA_ABSTAIN_KEYWORD_WEIGHT) and prints the share abstained at a range of thresholds, and the
threshold that keeps false abstention on answerable questions at 5%. Changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qa.answer.answerer import load_answerer
from qa.config import Settings
from qa.evaluate import default_eval_index, load_dataset, read_queries

ROOT = Path(__file__).resolve().parent.parent

TARGET_FALSE_ABSTENTION = 0.05


def supports(answerer, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The support for each text (what the abstention threshold is compared to)."""
    return np.array([answerer.support(t, answerer.retriever.search(t)) for t in texts])


def main() -> None:
    directory = Path(sys.argv[1])
    dataset = load_dataset(directory)
    settings = Settings.from_env(index_dir=default_eval_index(directory, Settings()))
    answerer = load_answerer(settings)
    gold = dataset.answers or {}
    inside = [q.text for q in dataset.queries if gold.get(q.qid, [True])]
    scores = {"answerable (in corpus)": supports(answerer, inside)}
    for other in sys.argv[2:]:
        texts = [q.text for q in read_queries(Path(other))]
        scores[f"{Path(other).parent.name} (out of corpus)"] = supports(answerer, texts)
    answerable = scores["answerable (in corpus)"]
    print(f"{dataset.name} index; share abstained by threshold on the support")
    print("threshold  " + "  ".join(f"{name:>28}" for name in scores))
    for t in np.arange(0.30, 0.61, 0.025):
        print(f"{t:9.3f}  " + "  ".join(f"{(s < t).mean():28.3f}" for s in scores.values()))
    calibrated = float(np.quantile(answerable, TARGET_FALSE_ABSTENTION))
    print(f"threshold with {TARGET_FALSE_ABSTENTION:.0%} false abstention on answerable "
          f"questions: {calibrated:.3f}; abstained there: " + ", ".join(
              f"{name} {(s < calibrated).mean():.3f}" for name, s in scores.items()))


if __name__ == "__main__":
    main()
