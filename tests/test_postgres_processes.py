"""Processes sharing one PostgreSQL store: a `qa index` killed at any moment leaves the last
committed state (and its lock goes with it), and two `qa serve` processes answer from documents
indexed after they started, without a restart.

The children run the real CLI (`qa.cli.main`) with the fake embedder registered under the
model name "fake-bow".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, FakeEmbedder, write

from qa.config import Settings
from qa.index.backend import open_store
from qa.index.builder import index_paths

pytestmark = pytest.mark.postgres

#: A `qa index` whose write transaction takes a while: it marks the file `argv[3]` when the
#: transaction has begun (it computes the terms of the new passages inside it), then sleeps.
INDEX_CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from conftest import FakeEmbedder
from qa.index.embedding import register_embedder
import qa.index.postgres.target as target
register_embedder("fake-bow", lambda _batch_size: FakeEmbedder())
real_terms = target.passage_terms
def slow_terms(texts, analyzer):
    Path(sys.argv[3]).touch()
    time.sleep(1.5)
    return real_terms(texts, analyzer)
target.passage_terms = slow_terms
from qa.cli import main
sys.exit(main(["index", sys.argv[2], "--quiet"]))
"""
SERVE_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from conftest import FakeEmbedder
from qa.index.embedding import register_embedder
register_embedder("fake-bow", lambda _batch_size: FakeEmbedder())
from qa.cli import main
sys.exit(main(["serve", "--port", sys.argv[2]]))
"""
KILLS = 3


def _env(settings: Settings, schema: str) -> dict[str, str]:
    return dict(os.environ, QA_STORE=settings.store, QA_PG_SCHEMA=schema, QA_MODEL="fake-bow",
                QA_EMBEDDING_CACHE=settings.embedding_cache, QA_ABSTAIN_THRESHOLD="0")


def _titles(settings: Settings) -> set[str]:
    store = open_store(settings, model="fake-bow")
    # Every passage resolves, and its text is its document's text at its offsets.
    for row in store.catalog.documents():
        text = store.catalog.document(row.doc_id).text
        for pid, passage in store.catalog.passages_of(row.doc_id):
            (stored,) = store.catalog.passages([pid])
            assert stored.text == passage.text == text[passage.start : passage.end]
    assert store.count == sum(len(store.catalog.passages_of(r.doc_id))
                              for r in store.catalog.documents())
    return {row.title for row in store.catalog.documents()}


def _index(folder: Path, settings: Settings, schema: str, marker: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", INDEX_CHILD, str(ROOT / "tests"), str(folder), str(marker)],
        env=_env(settings, schema), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish(folder: Path, settings: Settings, schema: str, marker: Path) -> None:
    """Run `qa index` to the end; the killed run's session may take a moment to end."""
    for _ in range(20):
        child = _index(folder, settings, schema, marker)
        _, err = child.communicate(timeout=120)
        if child.returncode == 0:
            return
        assert b"another `qa index` is writing" in err, err
        time.sleep(0.25)
    raise AssertionError("the lock of the killed run was never released")


def test_a_killed_index_leaves_the_last_commit_and_its_lock(
        tmp_path: Path, pg_settings: Settings) -> None:
    folder = tmp_path / "docs"
    for i in range(4):
        write(folder / f"old{i}.txt", f"Old {i}\n\n" + f"Old story {i} about the harbour. " * 30)

    def fresh_schema(name: str) -> Settings:
        settings = pg_settings.with_overrides(pg_schema=f"{pg_settings.pg_schema}_{name}")
        index_paths([folder], settings, embedder=FakeEmbedder())
        return settings

    # Every run starts from the old state, indexed before the files change.
    timing = fresh_schema("timing")
    kills = [fresh_schema(f"kill{n}") for n in range(1, KILLS + 1)]
    old_titles = _titles(timing)
    write(folder / "old0.txt", "Old 0 revised\n\n" + "The harbour story was revised. " * 30)
    for i in range(6):
        write(folder / f"new{i}.txt", f"New {i}\n\n" + f"Fresh report {i} on the railway. " * 40)
    new_titles = (old_titles - {"Old 0"}) | {"Old 0 revised"} | {f"New {i}" for i in range(6)}

    began = time.perf_counter()
    child = _index(folder, timing, timing.pg_schema, tmp_path / "timing.mark")
    assert child.wait(timeout=120) == 0, child.stderr.read() if child.stderr else ""
    duration = time.perf_counter() - began
    assert _titles(timing) == new_titles

    # Kill once before the write begins, then twice inside its transaction (after the marker
    # appears, while it sleeps): those must roll back to the old state.
    when = [("before", duration * 0.2), ("inside", 0.2), ("inside", 0.9)]
    for n, (settings, (where, delay)) in enumerate(zip(kills, when, strict=True), start=1):
        marker = tmp_path / f"kill{n}.mark"
        child = _index(folder, settings, settings.pg_schema, marker)
        if where == "inside":
            deadline = time.monotonic() + 120
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert marker.exists(), "the run never began its transaction"
        time.sleep(delay)
        landed_inside = marker.exists()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        titles = _titles(settings)
        assert titles in (old_titles, new_titles), f"mixed state after kill {n}: {titles}"
        if where == "inside":
            assert titles == old_titles, "a run killed inside its transaction committed"
        print(f"kill {n}: {where}, marker {landed_inside}, state",
              "new" if titles == new_titles else "old")
        _finish(folder, settings, settings.pg_schema, marker)
        assert _titles(settings) == new_titles


def _get(url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        result: dict[str, object] = json.loads(resp.read())
    return result


def _wait_until_up(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        try:
            _get(base + "/api/v1/health")
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{base} did not start")


def test_two_servers_see_documents_indexed_after_they_started(
        tmp_path: Path, pg_settings: Settings, registered_fake: FakeEmbedder) -> None:
    from test_api import free_port

    folder = tmp_path / "docs"
    write(folder / "zoo.txt", "Zoo news\n\nZebras arrived from Kenya by plane. They eat hay.")
    settings = pg_settings.with_overrides(abstain_threshold=0.0)
    index_paths([folder], settings)
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-c", SERVE_CHILD, str(ROOT / "tests"), str(p)],
                                env=_env(settings, settings.pg_schema),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for p in ports]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base, child in zip(bases, servers, strict=True):
            _wait_until_up(base, child)
            assert _get(base + "/api/v1/health")["documents"] == 1
        write(folder / "ferry.txt", "Ferry log\n\nThe ferry crossed the Danube river at dawn.")
        report = index_paths([folder], settings)
        assert (report.added, report.documents) == (1, 2)
        for base in bases:
            health = _get(base + "/api/v1/health")
            assert (health["documents"], health["passages"]) == (2, report.passages)
            titles = {d["title"] for d in _get(base + "/api/v1/documents")["documents"]}
            assert titles == {"Zoo news", "Ferry log"}
            answer = _get(base + "/api/v1/ask", {"question": "Which river did the ferry cross?"})
            assert answer["citations"][0]["title"] == "Ferry log"  # type: ignore[index]
    finally:
        for child in servers:
            child.send_signal(signal.SIGTERM)
        for child in servers:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=15)
