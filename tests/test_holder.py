"""The live index: a holder notices a new generation on disk, swaps to it between requests, keeps
a request on the generation it started with, closes the old store only when nobody uses it,
and never trades a working index for one that can't be loaded."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa.answer.answerer import Answerer
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.index.builder import index_paths
from qa.index.layout import MANIFEST
from qa.index.store import IndexStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path, fake: FakeEmbedder) -> tuple[AnswererHolder, Settings, Clock, Path]:
    docs = tmp_path / "docs"
    write(docs / "zoo.txt", "Zoo news\n\nZebras arrived from Kenya by plane.")
    settings = Settings(index_dir=tmp_path / "index", abstain_threshold=0.1,
                        reload_check_seconds=2.0)
    index_paths([docs], settings, embedder=fake)
    clock = Clock()

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    return AnswererHolder(settings, loader=loader, clock=clock), settings, clock, docs


def _closed(store: IndexStore) -> bool:
    try:
        store.catalog.document_count()
    except sqlite3.ProgrammingError:
        return True
    return False


def _add_ferry(docs: Path, settings: Settings, fake: FakeEmbedder) -> None:
    write(docs / "ferry.txt", "Ferry log\n\nThe ferry crossed the Danube river at dawn.")
    index_paths([docs], settings, embedder=fake)


def test_a_new_generation_is_swapped_in_at_the_next_check(
        setup: tuple[AnswererHolder, Settings, Clock, Path], fake: FakeEmbedder) -> None:
    # Defect 1: documents indexed while the server ran stayed invisible until a restart.
    holder, settings, clock, docs = setup
    with holder.lease() as answerer:
        assert answerer.retriever.store.manifest.counts["documents"] == 1
    _add_ferry(docs, settings, fake)
    clock.now = 1.0  # too soon: no look at the disk yet
    with holder.lease() as answerer:
        assert answerer.retriever.store.manifest.counts["documents"] == 1
    clock.now = 2.5
    with holder.lease() as answerer:
        assert answerer.retriever.store.manifest.counts["documents"] == 2
        answer = answerer.ask("Which river did the ferry cross?")
    assert answer.citations[0].title == "Ferry log"
    assert holder.generation == 2


def test_a_request_keeps_its_generation_and_the_old_store_closes_after_it(
        setup: tuple[AnswererHolder, Settings, Clock, Path], fake: FakeEmbedder) -> None:
    holder, settings, _, docs = setup
    with holder.lease() as before:
        old = before.retriever.store
        _add_ferry(docs, settings, fake)
        assert holder.refresh() is True
        with holder.lease() as after:
            assert after.retriever.store is not old
        # The request that began on the old generation still answers from it.
        assert not _closed(old)
        assert before.ask("Where did the zebras arrive from?").citations[0].title == "Zoo news"
    assert _closed(old), "closed once its last lease ended"


def test_an_unchanged_manifest_is_not_reloaded(
        setup: tuple[AnswererHolder, Settings, Clock, Path]) -> None:
    holder, _, clock, _ = setup
    first = holder.answerer()
    clock.now = 10.0
    with holder.lease() as answerer:
        assert answerer is first
    assert holder.refresh() is False


def test_an_index_that_cannot_be_loaded_is_skipped_and_the_old_one_kept(
        setup: tuple[AnswererHolder, Settings, Clock, Path], fake: FakeEmbedder,
        caplog: pytest.LogCaptureFixture) -> None:
    holder, settings, clock, docs = setup
    first = holder.answerer()
    _add_ferry(docs, settings, fake)
    manifest = settings.index_dir / MANIFEST
    manifest.write_text(manifest.read_text().replace('"generation": 2', '"generation": 7'))
    shutil.rmtree(settings.index_dir / "seg-000002")  # as a half-copied folder would be
    assert holder.refresh() is False
    assert "could not be loaded" in caplog.text and "generation 1" in caplog.text
    clock.now = 5.0
    with holder.lease() as answerer:
        assert answerer is first
        assert answerer.ask("Where did the zebras arrive from?").citations
    assert not _closed(first.retriever.store)


def test_concurrent_requests_during_swaps_are_all_answered(
        setup: tuple[AnswererHolder, Settings, Clock, Path], fake: FakeEmbedder) -> None:
    holder, settings, clock, docs = setup
    clock.now = 100.0
    failures: list[BaseException] = []
    answered = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set() and len(answered) < 400:
            try:
                clock.now += 5.0  # every lease may check the disk
                with holder.lease() as answerer:
                    answer = answerer.ask("Where did the zebras arrive from?")
                assert answer.citations[0].title == "Zoo news"
                answered.append(1)
            except BaseException as err:
                failures.append(err)
                return

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(3):
        write(docs / f"extra{i}.txt", f"Extra {i}\n\nNothing about animals, item {i}.")
        index_paths([docs], settings, embedder=fake)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert failures == []
    assert answered
    clock.now += 5.0
    with holder.lease() as answerer:
        assert answerer.retriever.store.manifest.counts["documents"] == 4


def test_the_first_index_is_picked_up_when_it_appears(tmp_path: Path,
                                                      fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", abstain_threshold=0.1)

    def loader(s: Settings) -> Answerer:
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    holder = AnswererHolder(settings, loader=loader)
    with pytest.raises(Exception, match="no index"), holder.lease():
        pass
    write(tmp_path / "docs" / "zoo.txt", "Zoo news\n\nZebras arrived from Kenya by plane.")
    index_paths([tmp_path / "docs"], settings, embedder=fake)
    with holder.lease() as answerer:
        assert answerer.retriever.store.manifest.counts["documents"] == 1
    holder.close()
