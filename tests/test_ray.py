"""Embedding on Ray: a local cluster (2 CPUs, 127.0.0.1 only) embeds a small corpus with the real
model; the vectors equal the local path's, the index answers the same, and the embedding cache
is filled the same way. Starting the cluster takes about 15 s, so there is one test."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, write

from qa.answer.answerer import Answerer
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.index.builder import index_paths
from qa.index.embedding import Embedder
from qa.index.store import IndexStore

pytestmark = [pytest.mark.ray, pytest.mark.model]

EXTRA = {
    "space.txt": "Rocket launch\n\nThe rocket launched from Florida carrying a weather "
                 "satellite. Engineers cheered as the booster landed on a barge.",
    "garden.txt": "Garden tips\n\nTomatoes need full sun and deep watering. Mulch keeps the "
                  "soil moist during hot summer weeks.",
    "ferry.txt": "Ferry log\n\nThe ferry crossed the Danube river at dawn, and fog delayed it.",
}
QUESTIONS = ["Where does the US want to put its missile defence system?",
             "Which river did the ferry cross?", "What do tomatoes need?"]


def test_ray_embeds_like_the_local_path_and_the_index_answers_the_same(
        tmp_path: Path, real_model: Embedder) -> None:
    pytest.importorskip("ray.data", reason="the Ray tests need qa-docs[ray]")
    corpus = tmp_path / "docs"
    shutil.copytree(SEEDS, corpus)
    for name, text in EXTRA.items():
        write(corpus / name, text)
    local = Settings(index_dir=tmp_path / "local", embedding_cache=str(tmp_path / "local.sqlite"))
    on_ray = Settings(index_dir=tmp_path / "ray", embedding_cache=str(tmp_path / "ray.sqlite"),
                      ray="local", ray_cpus=2, ray_batch_size=2)
    expected = index_paths([corpus], local, embedder=real_model)
    report = index_paths([corpus], on_ray, embedder=real_model)
    assert report.embedded == report.passages == expected.passages > len(EXTRA)

    a = IndexStore.load(local.index_dir, model=real_model.name)
    b = IndexStore.load(on_ray.index_dir, model=real_model.name)
    ids = list(range(a.count))
    assert [(p.doc_id, p.start, p.end) for p in a.catalog.passages(ids)] == \
        [(p.doc_id, p.start, p.end) for p in b.catalog.passages(ids)]
    cosines = np.sum(a.dense.vectors(ids) * b.dense.vectors(ids), axis=1)
    assert cosines.min() >= 0.9999, cosines
    answer_local = Answerer(Retriever(a, real_model, local), local)
    answer_ray = Answerer(Retriever(b, real_model, on_ray), on_ray)
    for question in QUESTIONS:
        got, want = answer_ray.ask(question), answer_local.ask(question)
        assert (got.answer, [c.doc_id for c in got.citations]) == \
            (want.answer, [c.doc_id for c in want.citations])

    # The cache the Ray run filled serves a rebuild: nothing is embedded, Ray is not started.
    again = index_paths([corpus], on_ray, embedder=real_model, rebuild=True)
    assert (again.embedded, again.passages) == (0, report.passages)
