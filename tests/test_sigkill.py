"""Killing `qa index` with SIGKILL at any moment leaves the old index or the new one, never a mix.

The child process runs the real CLI (`qa.cli.main(["index", …])`) with a fake embedder and a
deliberately slow fsync, so that the kills land all through embedding and writing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, FakeEmbedder, write

from qa.config import Settings
from qa.index.builder import index_paths
from qa.index.store import IndexStore

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from conftest import FakeEmbedder
import qa.index.layout
from qa.index.embedding import register_embedder
class Slow(FakeEmbedder):
    def embed(self, texts):
        time.sleep(0.02)
        return super().embed(texts)
register_embedder("fake-bow", lambda _batch_size: Slow())
real_fsync = qa.index.layout.fsync
def slow_fsync(path):
    time.sleep(0.1)
    real_fsync(path)
qa.index.layout.fsync = slow_fsync
from qa.cli import main
sys.exit(main(["index", sys.argv[2], "--quiet"]))
"""

KILLS = 10


def _titles(index_dir: Path) -> set[str]:
    store = IndexStore.load(index_dir, model="fake-bow")
    try:
        # Every passage must resolve, and its text must be its document's text at its offsets.
        for pid in range(store.count):
            (passage,) = store.catalog.passages([pid])
            assert store.catalog.document(passage.doc_id).text[passage.start : passage.end] == passage.text
        return {row.title for row in store.catalog.documents()}
    finally:
        store.close()


def _child(folder: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QA_INDEX_DIR=str(index_dir), QA_MODEL="fake-bow")
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT / "tests"), str(folder)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def test_sigkill_leaves_old_or_new_index_and_the_next_run_completes(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    for i in range(4):
        write(folder / f"old{i}.txt", f"Old {i}\n\n" + f"Old story {i} about the harbour. " * 30)
    base = tmp_path / "base"
    index_paths([folder], Settings(index_dir=base), embedder=FakeEmbedder())
    old_titles = _titles(base)
    write(folder / "old0.txt", "Old 0 revised\n\n" + "The harbour story was revised. " * 30)
    for i in range(6):
        write(folder / f"new{i}.txt", f"New {i}\n\n" + f"Fresh report {i} on the railway. " * 40)
    new_titles = (old_titles - {"Old 0"}) | {"Old 0 revised"} | {f"New {i}" for i in range(6)}

    timing = tmp_path / "timing"
    shutil.copytree(base, timing)
    began = time.perf_counter()
    child = _child(folder, timing)
    assert child.wait(timeout=120) == 0, child.stderr.read() if child.stderr else ""
    duration = time.perf_counter() - began
    assert _titles(timing) == new_titles

    outcomes = []
    for n in range(1, KILLS + 1):
        index_dir = tmp_path / f"kill{n}"
        shutil.copytree(base, index_dir)
        child = _child(folder, index_dir)
        time.sleep(duration * n / (KILLS + 1))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        titles = _titles(index_dir)
        assert titles in (old_titles, new_titles), f"mixed index after kill {n}: {titles}"
        outcomes.append("new" if titles == new_titles else "old")
        # The next run completes, whatever the kill left behind.
        rerun = _child(folder, index_dir)
        assert rerun.wait(timeout=120) == 0, rerun.stderr.read() if rerun.stderr else ""
        assert _titles(index_dir) == new_titles
        generation_files = [p.name for p in index_dir.iterdir() if p.name[:5] in ("store", "vecto")]
        assert len(generation_files) == 2, generation_files
    print("kill outcomes:", outcomes)
    assert "old" in outcomes, outcomes  # at least some kills landed before the commit point
