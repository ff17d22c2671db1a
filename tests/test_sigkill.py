"""Killing `qa index` with SIGKILL at any moment leaves the old index or the new one, never a mix.

The first test runs the real CLI (`qa.cli.main(["index", …])`) in a child process with a fake
embedder and a deliberately slow fsync, so that kills land all through embedding and writing.
The others kill the child at each of its fsyncs in turn — every step of writing a segment,
its tombstones, the catalog, the manifest, and of a merge — and check each state it leaves.
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
from qa.index.layout import Manifest
from qa.index.parts import Filters
from qa.index.store import IndexStore

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from conftest import FakeEmbedder
import qa.index.files
from qa.index.embedding import register_embedder
class Slow(FakeEmbedder):
    def embed(self, texts):
        time.sleep(0.02)
        return super().embed(texts)
register_embedder("fake-bow", lambda _batch_size: Slow())
real_fsync = qa.index.files.fsync
def slow_fsync(path):
    time.sleep(0.1)
    real_fsync(path)
qa.index.files.fsync = slow_fsync
from qa.cli import main
sys.exit(main(["index", sys.argv[2], "--quiet"]))
"""

KILLS = 10


def _titles(index_dir: Path) -> set[str]:
    store = IndexStore.load(index_dir, model="fake-bow")
    try:
        # Every passage must resolve, and its text must be its document's text at its offsets.
        ids = store.catalog.filter_ids(Filters())
        assert len(ids) == store.count == store.dense.count() == store.lexical.count()
        for pid in ids:
            (passage,) = store.catalog.passages([int(pid)])
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
        _assert_no_leftovers(index_dir)
    print("kill outcomes:", outcomes)
    assert "old" in outcomes, outcomes  # at least some kills landed before the commit point


def _assert_no_leftovers(index_dir: Path) -> None:
    """Of the index's own files (the caches beside them aside), the folder holds what the
    manifest names, nothing else."""
    manifest = Manifest.read(index_dir)
    named = {manifest.catalog, "manifest.json"}
    named |= {s.name for s in manifest.segments} | {s.tombstones for s in manifest.segments}
    own = {p.name for p in index_dir.iterdir() if p.name.startswith(("seg-", "catalog-",
                                                                     "manifest"))}
    assert own <= named, sorted(own)


#: Runs `index_paths` on a folder, killing itself with SIGKILL at its N-th fsync (never, for
#: N = 0: then it prints how many fsyncs the run made).
CRASH_CHILD = r"""
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from conftest import FakeEmbedder
import qa.index.files
from qa.config import Settings
from qa.index.builder import index_paths
crash_at, calls = int(sys.argv[4]), [0]
real_fsync = qa.index.files.fsync
def fsync(path):
    calls[0] += 1
    if calls[0] == crash_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(path)
qa.index.files.fsync = fsync
settings = Settings(index_dir=Path(sys.argv[3]), model="fake-bow", chunk_tokens=40,
                    merge_factor=int(sys.argv[5]), merge_deleted_share=1.0)
index_paths([Path(sys.argv[2])], settings, prune=True, embedder=FakeEmbedder())
print(calls[0])
"""


def _crash_run(folder: Path, index_dir: Path, crash_at: int, merge_factor: int) -> int:
    """Run the child; returns its fsync count (crash_at 0) or its exit status."""
    done = subprocess.run(
        [sys.executable, "-c", CRASH_CHILD, str(ROOT / "tests"), str(folder), str(index_dir),
         str(crash_at), str(merge_factor)], capture_output=True, text=True, timeout=120)
    if crash_at == 0:
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])
    return done.returncode


def _at_every_fsync(tmp_path: Path, merge_factor: int) -> list[str]:
    """Kill a write (one changed, one deleted and two new documents) at each of its fsyncs;
    each time the index must be the old one or the new one, and the next run must finish it.
    Returns what each kill left: "old" or "new"."""
    folder = tmp_path / "docs"
    for i in range(3):
        write(folder / f"old{i}.txt", f"Old {i}\n\n" + f"Old story {i} about the harbour. " * 12)
    base = tmp_path / "base"
    index_paths([folder], Settings(index_dir=base, chunk_tokens=40), embedder=FakeEmbedder())
    old_titles = _titles(base)
    write(folder / "old0.txt", "Old 0 revised\n\n" + "The harbour story was revised. " * 12)
    (folder / "old2.txt").unlink()
    for i in range(2):
        write(folder / f"new{i}.txt", f"New {i}\n\n" + f"Fresh report {i} on the railway. " * 12)
    new_titles = {"Old 0 revised", "Old 1", "New 0", "New 1"}

    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    steps = _crash_run(folder, probe, 0, merge_factor)
    assert _titles(probe) == new_titles
    outcomes = []
    for step in range(1, steps + 1):
        index_dir = tmp_path / f"crash{step}"
        shutil.copytree(base, index_dir)
        assert _crash_run(folder, index_dir, step, merge_factor) == -signal.SIGKILL
        titles = _titles(index_dir)
        assert titles in (old_titles, new_titles), f"mixed index after fsync {step}: {titles}"
        outcomes.append("new" if titles == new_titles else "old")
        # The next run completes, whatever the kill left behind.
        _crash_run(folder, index_dir, 0, merge_factor)
        assert _titles(index_dir) == new_titles
        _assert_no_leftovers(index_dir)
        shutil.rmtree(index_dir)
    return outcomes


def test_a_kill_at_any_fsync_of_a_segment_write_leaves_old_or_new(tmp_path: Path) -> None:
    outcomes = _at_every_fsync(tmp_path, merge_factor=10)
    probe = Manifest.read(tmp_path / "probe")
    assert len(probe.segments) == 2 and probe.generation == 2, probe
    # Kills before the manifest's rename leave the old index, the rest the new one.
    assert outcomes[0] == "old" and outcomes[-1] == "new", outcomes
    assert outcomes == sorted(outcomes, key=["old", "new"].index), outcomes


def test_a_kill_at_any_fsync_of_a_merge_leaves_old_or_new(tmp_path: Path) -> None:
    # With a merge factor of 2, the write's new segment is merged with the first at once
    # (both are below the smallest tier's size): the run commits the write, then the merge,
    # each its own generation.
    outcomes = _at_every_fsync(tmp_path, merge_factor=2)
    probe = Manifest.read(tmp_path / "probe")
    assert len(probe.segments) == 1 and probe.generation == 3, probe
    assert outcomes == sorted(outcomes, key=["old", "new"].index), outcomes
    # A kill anywhere in the merge (its segment's ten files and folder, its manifest) leaves
    # the write committed, searchable from the segments the merge was replacing.
    assert outcomes.count("old") > 0 and outcomes.count("new") >= 10, outcomes
