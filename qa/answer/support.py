"""Whether the documents hold the answer: a calibrated probability, from a fitted model.

A few signals, each comparable across collections of any size:

- passage_cosine, sentence_cosine: how close in meaning the best passage and the best sentence
  are to the question (paraphrase counts: "object to" vs "would threaten");
- coverage: the rarity-weighted share of the question's keywords that one top passage holds;
- sentence_lexical: the same for the best sentence and the one before it;
- names_missing: the share of the names in the question ("Lavrov", "Beijing") that no top
  passage mentions — a question about someone the documents never name is not answered;
- entity_missing: the question wants a date, a number, a person… and no candidate sentence
  holds one;
- agreement: dense and BM25 search both rank the same passage first;
- best_sentence: the answer-sentence model's score of the best sentence.

A logistic regression over them (`benchmarks/fit_support.py`, coefficients in
`qa/answer/models/support.json`), fitted on answerable questions and on questions asked of a
collection that doesn't hold them, across several datasets at once, gives the probability that
the answer is supported. Below `abstain_threshold` the answer says the documents don't hold it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from ..index.analysis import names
from .intent import Intent
from .retrieval import Hit
from .sentences import ScoredSentence, keyword_share

SUPPORT_FEATURES = ("passage_cosine", "sentence_cosine", "coverage", "sentence_lexical",
                    "names_missing", "entity_missing", "agreement", "best_sentence")


@dataclass(frozen=True)
class SupportModel:
    """A logistic regression over `SUPPORT_FEATURES`."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, row: np.ndarray) -> float:
        """P(the documents hold the answer) for one row of features."""
        order = [SUPPORT_FEATURES.index(name) for name in self.features]
        logit = float(row[order] @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    @staticmethod
    @cache
    def bundled() -> SupportModel:
        """The fitted model shipped in `qa/answer/models/support.json`."""
        data = json.loads((files("qa.answer") / "models" / "support.json").read_text("utf-8"))
        return SupportModel(tuple(data["features"]), tuple(data["weights"]),
                            float(data["bias"]))


def support_features(question: str, hits: Sequence[Hit], scored: Sequence[ScoredSentence], *,
                     weights: dict[str, float], keywords: list[list[str]],
                     intent: Intent) -> np.ndarray:
    """The signals for one answer, in `SUPPORT_FEATURES` order.

    Args:
        question: the user's own words (names in it must be found).
        hits: the passages retrieved, best first.
        scored: the candidate sentences, best first.
        weights: the question's keyword weights (as the sentence scorer computed them).
        keywords: the keywords of each top passage (title and text), best first.
        intent: what the question wants.
    """
    if not hits:
        return np.zeros(len(SUPPORT_FEATURES))
    coverage = max((keyword_share(weights, set(words)) for words in keywords), default=0.0)
    top_text = " ".join(f"{h.passage.title} {h.passage.text}" for h in hits[:3]).lower()
    asked = [n for n in names(question) if n != question.split()[0].strip("?,.!")]
    missing = sum(n.lower() not in top_text for n in asked) / len(asked) if asked else 0.0
    wants = intent.kind == "entity"
    best = scored[0] if scored else None
    return np.array([
        max(h.dense_score for h in hits),
        max((s.feature("cosine") for s in scored), default=0.0),
        coverage,
        max((s.feature("context") for s in scored), default=0.0),
        missing,
        float(wants and not any(s.wanted for s in scored)),
        float(hits[0].dense_rank == 1 and hits[0].bm25_rank == 1),
        best.score if best is not None else -10.0,
    ])
