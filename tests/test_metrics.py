"""The retrieval metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from qa.evaluate import score_ranking


def test_perfect_and_missing() -> None:
    assert score_ranking(["a", "b"], {"a": 1}) == {
        "ndcg@10": 1.0, "recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "recall@100": 1.0,
        "mrr@10": 1.0}
    assert score_ranking(["x", "y"], {"a": 1})["ndcg@10"] == 0.0


def test_second_place_and_two_relevant() -> None:
    s = score_ranking(["x", "a", "b"], {"a": 1, "b": 1})
    assert s["mrr@10"] == 0.5
    assert s["recall@1"] == 0.0 and s["recall@5"] == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    assert s["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
