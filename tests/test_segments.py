"""The segmented index folder: writes add segments and tombstones, merges keep every score,
BM25 statistics are global, readers keep their generation, large segments go approximate,
files are mapped, and `qa verify` reads every byte."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, write

from qa.cli import main
from qa.config import Settings
from qa.errors import IndexCorruptError
from qa.index.analysis import TextAnalyzer
from qa.index.builder import index_paths
from qa.index.delta import lexical_text
from qa.index.layout import Manifest
from qa.index.merge import MergePolicy
from qa.index.parts import Filters
from qa.index.store import IndexStore

TOPICS = ["harbour ferry boats", "railway station trains", "garden tomato soil",
          "central bank rates", "rocket launch satellite", "chess final tiebreak",
          "river flood rain", "museum painting exhibition"]
QUERIES = ["ferry harbour", "bank rates inflation", "tomato", "rocket satellite launch",
           "rain river flood warning", "the painting"]


def _article(i: int, version: int = 0) -> str:
    """A small article about topic i (a different wording for each version)."""
    words = TOPICS[i % len(TOPICS)]
    body = " ".join(f"Report {i}.{version} on {words} number {j}." for j in range(2 + i % 3))
    return f"Article {i}\n\n{body} Extra {'word ' * (i % 4)}end."


def _settings(index_dir: Path, **overrides: object) -> Settings:
    return Settings(index_dir=index_dir, chunk_tokens=12, **overrides)  # type: ignore[arg-type]


def _by_passage(store: IndexStore, ids: np.ndarray, scores: np.ndarray
                ) -> dict[tuple[str, int], float]:
    """Scores keyed by (document, passage ordinal): the same passage has another id in
    another index."""
    passages = store.catalog.passages([int(i) for i in ids])
    return {(p.doc_id, p.ordinal): float(s) for p, s in zip(passages, scores, strict=True)}


def _all_scores(store: IndexStore, query: str, fake: FakeEmbedder
                ) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    bm25 = _by_passage(store, *store.lexical.search(query, 10_000))
    dense = _by_passage(store, *store.dense.search(fake.embed([query])[0], 10_000))
    return bm25, dense


def _assert_same_scores(a: IndexStore, b: IndexStore, fake: FakeEmbedder) -> None:
    assert a.count == b.count and a.lexical.count() == b.lexical.count()
    for query in QUERIES:
        bm25_a, dense_a = _all_scores(a, query, fake)
        bm25_b, dense_b = _all_scores(b, query, fake)
        assert bm25_a.keys() == bm25_b.keys(), query
        for key, score in bm25_a.items():
            assert score == pytest.approx(bm25_b[key], rel=1e-5), (query, key)
        assert dense_a.keys() == dense_b.keys()
        for key, score in dense_a.items():
            assert score == pytest.approx(dense_b[key], abs=1e-5), (query, key)


@pytest.fixture
def history(tmp_path: Path, fake: FakeEmbedder) -> tuple[Path, Settings]:
    """An index built by five writes: adds, changes and deletions, no merging."""
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index", merge_factor=100, merge_deleted_share=1.0)
    for i in range(4):
        write(docs / f"a{i}.txt", _article(i))
    index_paths([docs], settings, embedder=fake)
    for i in range(4, 7):
        write(docs / f"a{i}.txt", _article(i))
    index_paths([docs], settings, embedder=fake)
    write(docs / "a1.txt", _article(1, version=1))
    (docs / "a2.txt").unlink()
    index_paths([docs], settings, embedder=fake, prune=True)
    write(docs / "a7.txt", _article(7))
    write(docs / "a4.txt", _article(4, version=2))
    index_paths([docs], settings, embedder=fake)
    write(docs / "a8.txt", _article(8))
    index_paths([docs], settings, embedder=fake)
    return docs, settings


def test_each_write_adds_a_segment_and_tombstones_what_it_replaced(
        history: tuple[Path, Settings], fake: FakeEmbedder) -> None:
    _, settings = history
    manifest = Manifest.read(settings.index_dir)
    assert manifest.generation == 5 and len(manifest.segments) == 5
    # a1 and a2 were in the first segment, a4 in the second: their old passages are deleted.
    first, second = manifest.segments[0], manifest.segments[1]
    assert first.deleted > 0 and first.tombstones == "seg-000001.del-000003.npy"
    assert second.deleted > 0 and second.tombstones == "seg-000002.del-000004.npy"
    assert [s.deleted for s in manifest.segments[2:]] == [0, 0, 0]
    store = IndexStore.load(settings.index_dir, model=fake.name)
    titles = {r.title for r in store.catalog.documents()}
    assert titles == {f"Article {i}" for i in (0, 1, 3, 4, 5, 6, 7, 8)}
    # No search finds a deleted passage; filters and counts leave them out too.
    live = set(store.catalog.filter_ids(Filters()).tolist())
    assert len(live) == store.count == store.dense.count() == store.lexical.count()
    for query in QUERIES:
        assert set(store.lexical.search(query, 10_000)[0].tolist()) <= live
        assert set(store.dense.search(fake.embed([query])[0], 10_000)[0].tolist()) == live
    texts = [p.text for p in store.catalog.passages(sorted(live))]
    assert not any("1.0 on" in t or "4.0 on" in t or "Report 2." in t for t in texts)
    assert any("1.1 on" in t for t in texts) and any("4.2 on" in t for t in texts)


def test_passage_ids_are_never_reused(history: tuple[Path, Settings], fake: FakeEmbedder
                                      ) -> None:
    _, settings = history
    manifest = Manifest.read(settings.index_dir)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    segments = store.dense.segments  # type: ignore[attr-defined]
    ids = np.concatenate([np.asarray(s.ids) for s in segments])
    assert len(np.unique(ids)) == len(ids) and ids.max() < manifest.next_passage
    assert manifest.next_passage > store.count  # replaced passages took ids of their own


def test_a_segmented_index_scores_like_a_fresh_one_and_merging_changes_nothing(
        history: tuple[Path, Settings], fake: FakeEmbedder, tmp_path: Path) -> None:
    docs, settings = history
    segmented = IndexStore.load(settings.index_dir, model=fake.name)
    fresh_settings = _settings(tmp_path / "fresh")
    index_paths([docs], fresh_settings, embedder=fake)
    fresh = IndexStore.load(fresh_settings.index_dir, model=fake.name)
    assert len(fresh.manifest.segments) == 1 and not fresh.manifest.segments[0].deleted
    _assert_same_scores(segmented, fresh, fake)

    report = index_paths([docs], settings, embedder=fake, optimize=True)
    assert (report.written, report.merged) == (False, 5)
    merged = IndexStore.load(settings.index_dir, model=fake.name)
    assert len(merged.manifest.segments) == 1 and merged.manifest.segments[0].deleted == 0
    assert merged.manifest.generation == 6
    _assert_same_scores(merged, fresh, fake)
    # Merging keeps passage ids: what a reader found before is the same passage after.
    assert sorted(merged.catalog.filter_ids(Filters()).tolist()) == \
        sorted(segmented.catalog.filter_ids(Filters()).tolist())
    assert index_paths([docs], settings, embedder=fake, optimize=True).merged == 0


def test_bm25_scores_equal_bm25s_over_the_live_passages(
        history: tuple[Path, Settings], fake: FakeEmbedder) -> None:
    import bm25s

    _, settings = history
    store = IndexStore.load(settings.index_dir, model=fake.name)
    ids = store.catalog.filter_ids(Filters())
    passages = store.catalog.passages([int(i) for i in ids])
    analyzer = TextAnalyzer()
    reference = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b)
    reference.index(analyzer.bm25_tokens([lexical_text(p.title, p.text) for p in passages]),
                    show_progress=False)
    for query in QUERIES:
        tokens = [t for t in analyzer.bm25_tokens([query], return_ids=False)[0]
                  if t in reference.vocab_dict]
        expected = reference.get_scores(tokens) if tokens else np.zeros(len(ids))
        found_ids, found = store.lexical.search(query, 10_000)
        ours = dict(zip(found_ids.tolist(), found.tolist(), strict=True))
        assert set(ours) == set(ids[expected > 0].tolist()), query
        for pid, score in zip(ids.tolist(), expected.tolist(), strict=True):
            if score > 0:
                assert ours[pid] == pytest.approx(score, rel=1e-5), (query, pid)
    idf = store.lexical.idf(["ferri", "nowher"])
    assert idf["ferri"] < idf["nowher"]
    assert store.lexical.unseen(["ferri", "nowher"]) == {"nowher"}


def test_segments_merge_by_tier(tmp_path: Path, fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index", merge_factor=3, merge_floor_passages=100)
    for i in range(3):
        write(docs / f"a{i}.txt", _article(i))
        index_paths([docs], settings, embedder=fake)
    manifest = Manifest.read(settings.index_dir)
    # Three small segments make a tier: merged into one by the third write.
    assert len(manifest.segments) == 1 and manifest.generation == 4
    assert manifest.segments[0].name == "seg-000004"
    assert not (settings.index_dir / "seg-000001").exists()
    store = IndexStore.load(settings.index_dir, model=fake.name)
    assert {r.title for r in store.catalog.documents()} == {"Article 0", "Article 1",
                                                            "Article 2"}


def test_the_merge_policy_groups_by_size_and_rewrites_mostly_deleted_segments() -> None:
    from qa.index.layout import SegmentEntry

    def seg(n: int, rows: int, deleted: int = 0) -> SegmentEntry:
        return SegmentEntry(f"seg-{n:06d}", rows, {"kind": "flat"}, {}, deleted=deleted,
                            tombstones="x" if deleted else "")

    policy = MergePolicy(factor=3, floor=10, max_deleted=0.3)
    big = [seg(1, 5000), seg(2, 400), seg(3, 300)]
    assert policy.plan([*big, seg(4, 5)]) == []
    assert policy.plan([*big, seg(4, 5), seg(5, 9), seg(6, 1)]) == \
        ["seg-000004", "seg-000005", "seg-000006"]
    assert policy.plan([*big, seg(7, 350)]) == ["seg-000002", "seg-000003", "seg-000007"]
    assert policy.plan([seg(1, 5000, deleted=2000), seg(2, 40)]) == ["seg-000001"]


def test_a_reader_keeps_the_generation_it_loaded(tmp_path: Path, fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index")
    for i in range(3):
        write(docs / f"a{i}.txt", _article(i))
    index_paths([docs], settings, embedder=fake)
    before = IndexStore.load(settings.index_dir, model=fake.name)
    old_ids = before.catalog.filter_ids(Filters())
    doc_id = before.catalog.documents()[1].doc_id
    write(docs / "a1.txt", _article(1, version=5))
    write(docs / "a9.txt", _article(9))
    index_paths([docs], settings, embedder=fake)
    after = IndexStore.load(settings.index_dir, model=fake.name)
    # The same catalog file, two generations: each sees its own documents and passages.
    assert before.catalog.document(doc_id).text != after.catalog.document(doc_id).text
    assert len(before.catalog.documents()) == 3 and len(after.catalog.documents()) == 4
    assert np.array_equal(before.catalog.filter_ids(Filters()), old_ids)
    assert before.catalog.passage_count() == before.count
    assert [p.passage_id for p in before.catalog.passages([int(i) for i in old_ids])] == \
        old_ids.tolist()
    # A changed document keeps its place in the listing.
    assert [r.doc_id for r in after.catalog.documents()][:3] == \
        [r.doc_id for r in before.catalog.documents()]


def test_removed_rows_are_deleted_once_old_enough(tmp_path: Path, fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index", index_keep_retired_s=0)
    write(docs / "a0.txt", _article(0))
    index_paths([docs], settings, embedder=fake)
    write(docs / "a0.txt", _article(0, version=1))
    index_paths([docs], settings, embedder=fake)
    manifest = Manifest.read(settings.index_dir)
    db = sqlite3.connect(settings.index_dir / manifest.catalog)
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 2  # kept a while
    db.close()
    write(docs / "a1.txt", _article(1))
    index_paths([docs], settings, embedder=fake)
    db = sqlite3.connect(settings.index_dir / manifest.catalog)
    assert db.execute("SELECT count(*) FROM documents WHERE removed_in IS NOT NULL"
                      ).fetchone()[0] == 0
    db.close()


def test_a_write_killed_between_catalog_and_manifest_is_invisible_then_undone(
        tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index", merge_deleted_share=1.0)
    for i in range(2):
        write(docs / f"a{i}.txt", _article(i))
    index_paths([docs], settings, embedder=fake)
    write(docs / "a0.txt", _article(0, version=3))
    write(docs / "a5.txt", _article(5))

    def killed(self: Manifest, index_dir: Path) -> None:
        raise KeyboardInterrupt  # as if the process died right before its commit

    with monkeypatch.context() as patch:
        patch.setattr(Manifest, "write", killed)
        with pytest.raises(KeyboardInterrupt):
            index_paths([docs], settings, embedder=fake)
    # The catalog holds the uncommitted rows, yet a reader of the manifest sees generation 1.
    store = IndexStore.load(settings.index_dir, model=fake.name)
    assert store.manifest.generation == 1
    assert {r.title for r in store.catalog.documents()} == {"Article 0", "Article 1"}
    assert "Report 0.0" in store.catalog.document(store.catalog.documents()[0].doc_id).text
    store.close()
    report = index_paths([docs], settings, embedder=fake)
    assert (report.added, report.changed) == (1, 1)
    after = IndexStore.load(settings.index_dir, model=fake.name)
    assert after.manifest.generation == 2 and len(after.catalog.documents()) == 3
    db = sqlite3.connect(settings.index_dir / after.manifest.catalog)
    # One current row per document, plus the replaced version of a0: the dead run left none.
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 4
    db.close()


def test_segments_above_the_threshold_are_searched_by_hnsw(tmp_path: Path,
                                                            fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    for i in range(40):
        write(docs / f"a{i:02d}.txt", _article(i))
    settings = _settings(tmp_path / "index", ann_threshold=50, hnsw_m=8,
                         hnsw_ef_construction=40, hnsw_ef_search=64)
    index_paths([docs], settings, embedder=fake)
    manifest = Manifest.read(settings.index_dir)
    (big,) = manifest.segments
    assert big.rows >= 50
    assert big.dense == {"kind": "hnsw", "m": 8, "ef_construction": 40, "ef_search": 64}
    raw = json.loads((settings.index_dir / "manifest.json").read_text())
    assert raw["segments"][0]["dense"]["kind"] == "hnsw"
    write(docs / "new.txt", _article(3, version=9))
    index_paths([docs], settings, embedder=fake)
    manifest = Manifest.read(settings.index_dir)
    assert [s.dense["kind"] for s in manifest.segments] == ["hnsw", "flat"]
    # On a graph this small the walk finds the exact top 10 (the same scores: the fake
    # embedder gives many passages equal vectors), also with deleted passages (the changed
    # document's old version) and with a filter.
    store = IndexStore.load(settings.index_dir, model=fake.name)
    ids = store.catalog.filter_ids(Filters())
    vectors = store.dense.vectors(ids.tolist())
    for query in QUERIES:
        q = fake.embed([query])[0]
        exact = np.sort(vectors @ q)[::-1][:10]
        found, scores = store.dense.search(q, 10)
        assert set(found.tolist()) <= set(ids.tolist())
        assert np.allclose(scores, exact, atol=1e-5), query
        some = ids[::3]
        found, _ = store.dense.search(q, 5, allowed=some)
        assert set(found.tolist()) <= set(some.tolist()) and len(found) == 5


def test_a_load_racing_a_commit_reads_the_new_manifest(
        tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    settings = _settings(tmp_path / "index")
    for i in range(2):
        write(docs / f"a{i}.txt", _article(i))
        index_paths([docs], settings, embedder=fake)
    stale = Manifest.read(settings.index_dir)
    index_paths([docs], settings, embedder=fake, optimize=True)  # deletes seg-000001 and 2
    assert not (settings.index_dir / "seg-000001").exists()
    real_read = Manifest.read.__func__  # type: ignore[attr-defined]
    reads: list[int] = []

    def read(cls: type[Manifest], index_dir: Path) -> Manifest:
        # The first read is the manifest as it was before the merge committed.
        reads.append(1)
        return stale if len(reads) == 1 else real_read(cls, index_dir)

    monkeypatch.setattr(Manifest, "read", classmethod(read))
    store = IndexStore.load(settings.index_dir, model=fake.name)
    assert store.manifest.generation == 3 and len(reads) >= 2
    assert {r.title for r in store.catalog.documents()} == {"Article 0", "Article 1"}


def test_files_are_memory_mapped(tmp_path: Path, fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    for i in range(3):
        write(docs / f"a{i}.txt", _article(i))
    settings = _settings(tmp_path / "index")
    index_paths([docs], settings, embedder=fake)
    store = IndexStore.load(settings.index_dir, model=fake.name)
    segment = settings.index_dir / store.manifest.segments[0].name
    maps = Path(f"/proc/{os.getpid()}/maps").read_text()
    for name in ("vectors.faiss", "ids.npy", "postings_rows.npy", "lengths.npy"):
        assert str(segment / name) in maps, name
    assert store.dense.search(fake.embed(["ferry"])[0], 3)[0].size == 3


def test_a_load_does_not_hash_but_qa_verify_finds_a_flipped_byte(
        tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    for i in range(3):
        write(docs / f"a{i}.txt", _article(i))
    settings = _settings(tmp_path / "index")
    index_paths([docs], settings, embedder=registered_fake)
    code, out, err = _qa(settings.index_dir, "verify")
    assert code == 0 and err == "" and "verified" in out and "3 documents" in out, (out, err)

    manifest = Manifest.read(settings.index_dir)
    vectors = settings.index_dir / manifest.segments[0].name / "vectors.faiss"
    info = vectors.stat()
    data = bytearray(vectors.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one vector
    vectors.write_bytes(bytes(data))
    os.utime(vectors, ns=(info.st_atime_ns, info.st_mtime_ns))
    IndexStore.load(settings.index_dir, model=registered_fake.name)  # sizes and mtimes agree
    code, out, err = _qa(settings.index_dir, "verify")
    assert code == 1 and out == ""
    assert f"{vectors} does not match its checksum" in err and "qa index --rebuild" in err

    # Without keeping the mtime, the load itself hashes the file and refuses it.
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="does not match its checksum"):
        IndexStore.load(settings.index_dir, model=registered_fake.name)


def test_qa_verify_finds_altered_document_text(tmp_path: Path,
                                               registered_fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    for i in range(3):
        write(docs / f"a{i}.txt", _article(i))
    settings = _settings(tmp_path / "index")
    index_paths([docs], settings, embedder=registered_fake)
    manifest = Manifest.read(settings.index_dir)
    db = sqlite3.connect(settings.index_dir / manifest.catalog)
    db.execute("UPDATE texts SET text = replace(text, 'Report', 'Rumour') WHERE doc_key = "
               "(SELECT doc_key FROM documents WHERE title = 'Article 1')")
    db.commit()
    db.close()
    code, _out, err = _qa(settings.index_dir, "verify")
    assert code == 1 and "does not match its hash" in err and "'Article 1'" in err, err


def test_a_load_refuses_a_truncated_file(tmp_path: Path, fake: FakeEmbedder) -> None:
    docs = tmp_path / "docs"
    write(docs / "a0.txt", _article(0))
    settings = _settings(tmp_path / "index")
    index_paths([docs], settings, embedder=fake)
    manifest = Manifest.read(settings.index_dir)
    ids = settings.index_dir / manifest.segments[0].name / "ids.npy"
    size = ids.stat().st_size
    ids.write_bytes(ids.read_bytes()[:-8])
    with pytest.raises(IndexCorruptError) as raised:
        IndexStore.load(settings.index_dir, model=fake.name)
    message = str(raised.value)
    assert message == (f"{ids} is {size - 8} bytes, not {size} (cut short or altered); "
                       "run `qa index --rebuild` to build it again")


def _qa(index_dir: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ("QA_INDEX_DIR", "QA_MODEL")}
    os.environ.update(QA_INDEX_DIR=str(index_dir), QA_MODEL="fake-bow")
    try:
        code = main(list(args), stdout=out, stderr=err)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return code, out.getvalue(), err.getvalue()
