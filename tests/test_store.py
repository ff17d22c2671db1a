"""The index folder: save → load → same hits, incremental updates, refusing bad indexes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, write

from qa.answer.retrieval import Filters, Retriever
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.index.builder import index_paths
from qa.index.layout import FORMAT_VERSION
from qa.index.store import IndexStore
from qa.ingest import Document, read_file

ARTICLES = {
    "space.txt": "March 3, 2021\n\nRocket launch\n\nThe rocket launched from Florida carrying "
                 "a weather satellite. Engineers cheered as the booster landed on a barge.",
    "garden.txt": "June 9, 2022\n\nGarden tips\n\nTomatoes need full sun and deep watering. "
                  "Mulch keeps the soil moist during hot summer weeks.",
    "bank.txt": "Central bank holds rates\n\nThe central bank kept interest rates unchanged, "
                "citing slowing inflation. Markets rallied after the announcement.",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    for name, text in ARTICLES.items():
        write(folder / name, text)
    return folder


def _settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", chunk_tokens=40, abstain_threshold=-1.0)


def test_save_load_gives_the_same_hits(tmp_path: Path, corpus: Path, fake: FakeEmbedder) -> None:
    settings = _settings(tmp_path)
    report = index_paths([corpus], settings, embedder=fake)
    assert (report.added, report.documents, report.written) == (3, 3, True)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    retriever = Retriever(store, fake, settings)
    before = [(h.passage_id, h.fused_score) for h in retriever.search("rocket satellite")]
    assert store.catalog.passages([before[0][0]])[0].title == "Rocket launch"
    again = Retriever(IndexStore.load(settings.index_dir, model=fake.name), fake, settings)
    assert [(h.passage_id, h.fused_score) for h in again.search("rocket satellite")] == before
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["model"] == "fake-bow" and manifest["dim"] == fake.dim
    assert manifest["counts"] == {"documents": 3, "passages": store.count}
    assert manifest["chunking"]["chunk_tokens"] == 40


def test_dense_search_matches_brute_force(tmp_path: Path, corpus: Path, fake: FakeEmbedder) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    all_vectors = store.dense.vectors(list(range(store.count)))
    query = fake.embed(["weather satellite rates"])[0]
    ids, scores = store.dense.search(query, store.count)
    expected = np.argsort(-(all_vectors @ query), kind="stable")
    assert np.allclose(scores, np.sort(all_vectors @ query)[::-1], atol=1e-5)
    assert set(ids[:2]) == set(expected[:2])


def test_incremental_add_change_unchanged_and_prune(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    fake = FakeEmbedder()
    index_paths([corpus], settings, embedder=fake)
    first_count = len(fake.embedded)

    fake.embedded.clear()
    report = index_paths([corpus], settings, embedder=fake)
    assert (report.unchanged, report.written, fake.embedded) == (3, False, [])

    write(corpus / "garden.txt", "June 9, 2022\n\nGarden tips\n\nRoses like clay soil.")
    write(corpus / "new.txt", "Chess\n\nThe chess final went to a tiebreak.")
    report = index_paths([corpus], settings, embedder=fake)
    assert (report.added, report.changed, report.unchanged) == (1, 1, 2)
    # Two passages (title, then text) and their two sentences, and the undated one's after its
    # title (which names a subject; a dated document's title is a headline): nothing of the
    # unchanged ones.
    assert report.embedded == 2 and all("Rocket" not in t for t in fake.embedded)
    assert sorted(fake.embedded) == sorted([
        "Chess\nThe chess final went to a tiebreak.", "Garden tips\nRoses like clay soil.",
        "The chess final went to a tiebreak.", "Roses like clay soil.",
        "Chess. The chess final went to a tiebreak."])
    assert first_count >= 3

    (corpus / "bank.txt").unlink()
    report = index_paths([corpus], settings, embedder=fake)
    assert report.removed == 0 and report.documents == 4, "without --prune nothing is dropped"
    report = index_paths([corpus], settings, embedder=fake, prune=True)
    assert (report.removed, report.documents) == (1, 3)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    titles = {row.title for row in store.catalog.documents()}
    assert titles == {"Rocket launch", "Garden tips", "Chess"}
    retriever = Retriever(store, fake, settings)
    assert retriever.search("chess tiebreak")[0].passage.title == "Chess"
    assert "Roses" in retriever.search("roses clay")[0].passage.text


def test_reindex_after_rebuild_embeds_nothing(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=FakeEmbedder())
    fake = FakeEmbedder()
    report = index_paths([corpus], settings, embedder=fake, rebuild=True)
    assert report.written and report.embedded == 0 and fake.embedded == []


def test_adding_a_folder_keeps_the_rest(tmp_path: Path, corpus: Path, fake: FakeEmbedder) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus / "space.txt"], settings, embedder=fake)
    report = index_paths([corpus / "bank.txt"], settings, embedder=fake)
    assert (report.added, report.documents) == (1, 2)


def test_filters_by_source_and_date(tmp_path: Path, corpus: Path, fake: FakeEmbedder) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    retriever = Retriever(IndexStore.load(settings.index_dir, model=fake.name), fake, settings)
    hits = retriever.search("weather", filters=Filters(source="garden"))
    assert hits and {h.passage.title for h in hits} == {"Garden tips"}
    hits = retriever.search("weather", filters=Filters(date_from="2022-01-01"))
    assert {h.passage.title for h in hits} == {"Garden tips"}
    hits = retriever.search("weather", filters=Filters(date_to="2021-12-31"))
    assert {h.passage.title for h in hits} == {"Rocket launch"}


def test_missing_index_is_named(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="run `qa index`"):
        IndexStore.load(tmp_path / "nothing")


def test_model_mismatch_is_refused(tmp_path: Path, corpus: Path, fake: FakeEmbedder) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    with pytest.raises(IndexMismatchError, match=r"built with model 'fake-bow'.*--rebuild"):
        IndexStore.load(settings.index_dir, model="other-model")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        index_paths([corpus], settings, embedder=FakeEmbedder(name="other-model"))
    report = index_paths([corpus], settings, embedder=FakeEmbedder(name="other-model"),
                         rebuild=True)
    assert report.written
    assert IndexStore.load(settings.index_dir, model="other-model").manifest.model == "other-model"


def _segment(folder: Path) -> Path:
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / manifest["segments"][0]["name"]


@pytest.mark.parametrize("damage", ["truncate-vectors", "delete-catalog", "bad-manifest",
                                    "flip-postings", "counts"])
def test_corrupt_index_is_refused_and_rebuild_recovers(
    tmp_path: Path, corpus: Path, fake: FakeEmbedder, damage: str
) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    folder = settings.index_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    if damage == "truncate-vectors":
        path = _segment(folder) / "vectors.faiss"
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "delete-catalog":
        (folder / manifest["catalog"]).unlink()
    elif damage == "bad-manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "flip-postings":
        # Same size, new mtime: the load hashes the file and finds it altered.
        path = _segment(folder) / "postings_tf.npy"
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        manifest["counts"]["passages"] += 1
        (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        IndexStore.load(folder, model=fake.name)
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        index_paths([corpus], settings, embedder=fake)
    index_paths([corpus], settings, embedder=fake, rebuild=True)
    assert IndexStore.load(folder, model=fake.name).manifest.counts["documents"] == 3


def test_leftovers_of_an_interrupted_write_are_ignored_then_removed(
    tmp_path: Path, corpus: Path, fake: FakeEmbedder
) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    folder = settings.index_dir
    (folder / "seg-000099").mkdir()
    (folder / "seg-000099" / "ids.npy").write_bytes(b"half written")
    (folder / "seg-000001.del-000099.npy").write_bytes(b"half written")
    (folder / "catalog-000099.sqlite").write_bytes(b"half written")
    (folder / "seg-000002.tmp").mkdir()
    assert IndexStore.load(folder, model=fake.name).manifest.generation == 1
    write(corpus / "new.txt", "New\n\nA new document.")
    index_paths([corpus], settings, embedder=fake)
    names = sorted(p.name for p in folder.iterdir())
    assert not {"seg-000099", "seg-000001.del-000099.npy", "catalog-000099.sqlite",
                "seg-000002.tmp"} & set(names), names
    assert {"seg-000001", "seg-000002", "catalog-000001.sqlite"} <= set(names), names


def test_an_index_of_the_previous_format_is_reindexed_from_its_stored_documents(
    tmp_path: Path, corpus: Path, fake: FakeEmbedder
) -> None:
    settings = _settings(tmp_path)
    folder = settings.index_dir
    _write_format_2(folder, [read_file(p) for p in sorted(corpus.iterdir())], fake)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        IndexStore.load(folder, model=fake.name)
    # Only one file is given, yet the other two documents survive: they come from the store.
    report = index_paths([corpus / "bank.txt"], settings, embedder=fake)
    assert report.written and report.documents == 3
    store = IndexStore.load(folder, model=fake.name)
    assert store.manifest.format_version == FORMAT_VERSION
    assert {row.title for row in store.catalog.documents()} == {
        "Rocket launch", "Garden tips", "Central bank holds rates"}
    assert not list(folder.glob("store-*")) and not list(folder.glob("bm25-*"))
    retriever = Retriever(store, fake, settings)
    assert retriever.search("rocket satellite")[0].passage.title == "Rocket launch"


def _write_format_2(folder: Path, documents: list[Document], fake: FakeEmbedder) -> None:
    """An index as version 2 wrote it: the documents in store-000001.sqlite (the vectors and
    BM25 files are never read again, so empty stand-ins do)."""
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "store-000001.sqlite")
    db.executescript(
        "CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT "
        "NOT NULL, date TEXT, author TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, "
        "page_starts TEXT NOT NULL); CREATE TABLE passages (passage_id INTEGER PRIMARY KEY, "
        'doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" '
        "INTEGER NOT NULL, page INTEGER);")
    db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(d.doc_id, d.source, d.title, d.date, d.author, d.sha256, d.text, "[]")
                    for d in documents])
    db.executemany("INSERT INTO passages VALUES (?, ?, 0, 0, ?, NULL)",
                   [(i, d.doc_id, len(d.text)) for i, d in enumerate(documents)])
    db.commit()
    db.close()
    (folder / "vectors-000001.faiss").write_bytes(b"")
    (folder / "bm25-000001").mkdir()
    manifest = {
        "format_version": 2, "generation": 1, "model": fake.name, "dim": fake.dim,
        "chunking": {"chunk_tokens": 40}, "bm25": {"k1": 0.9, "b": 0.4},
        "counts": {"documents": len(documents), "passages": len(documents)},
        "files": {"store": "store-000001.sqlite", "vectors": "vectors-000001.faiss",
                  "bm25": "bm25-000001"},
        "checksums": {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_leftovers_are_removed_even_when_nothing_changed(
    tmp_path: Path, corpus: Path, fake: FakeEmbedder
) -> None:
    settings = _settings(tmp_path)
    index_paths([corpus], settings, embedder=fake)
    folder = settings.index_dir
    # As if a run was killed after committing generation 1 but before deleting what the
    # generation before it needed.
    (folder / "catalog-000000.sqlite").write_bytes(b"previous generation")
    (folder / "seg-000000").mkdir()
    report = index_paths([corpus], settings, embedder=fake)
    assert not report.written
    assert not (folder / "catalog-000000.sqlite").exists()
    assert not (folder / "seg-000000").exists()
    assert IndexStore.load(folder, model=fake.name).manifest.generation == 1
