"""The bad-file corpus (tests/badfiles.py): each kind alone, then all of them through `qa index`.

Every bad path gets exactly one "skipped" line with its reason, every odd but readable file is
read right, nothing raises, and the index built from the lot holds only bounded, NUL-free
passages that are exactly their document's text at their offsets.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from badfiles import KINDS, MAX_DOCUMENT_CHARS, MAX_FILE_BYTES, MAX_PASSAGE_CHARS, Kind
from conftest import FakeEmbedder

from qa.cli import main
from qa.index.store import IndexStore
from qa.ingest import Document, ReadLimits, Skipped, load

LIMITS = ReadLimits(max_file_bytes=MAX_FILE_BYTES, max_document_chars=MAX_DOCUMENT_CHARS,
                    follow_symlinks_outside=False)


def test_the_corpus_has_at_least_forty_kinds() -> None:
    assert len(KINDS) >= 40 and len({k.name for k in KINDS}) == len(KINDS)
    assert sum(1 for k in KINDS if k.skipped) >= 30


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_kind_is_skipped_with_its_reason_or_read_right(tmp_path: Path, kind: Kind) -> None:
    folder = tmp_path / "corpus" / kind.name
    kind.make(folder)
    items = list(load([folder], LIMITS))
    docs = [i for i in items if isinstance(i, Document)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    if kind.skipped:
        assert len(skipped) == kind.lines, skipped
        assert all(kind.skipped in s.reason for s in skipped), skipped
    else:
        assert skipped == []
    if kind.check is not None:
        assert len(docs) == 1 and kind.check(docs[0]), docs
    else:
        # Only the good row next to a bad one in a corpus file is read.
        assert [d.doc_id for d in docs] == ([f"ok-{kind.name}"] if kind.name.startswith("jsonl")
                                            else [])


def test_pypdf_warnings_name_the_file(tmp_path: Path) -> None:
    # Run as a user would: the real CLI in its own process, with no logging set up.
    kind = next(k for k in KINDS if k.name == "pdf-no-eof")
    kind.make(tmp_path / "docs")
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(tmp_path / "docs"), "--quiet",
         "--index", str(tmp_path / "index")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "docs" / "noeof.pdf"
    lines = done.stderr.splitlines()
    assert f"{pdf}: EOF marker not found" in lines
    assert all(line.startswith((f"{pdf}: ", f"skipped {pdf}: unreadable PDF")) for line in lines)


def test_qa_index_over_the_whole_corpus(tmp_path: Path, registered_fake: FakeEmbedder,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    for kind in KINDS:
        kind.make(corpus / kind.name)
    index_dir = tmp_path / "index"
    for name, value in {"QA_INDEX_DIR": index_dir, "QA_MODEL": registered_fake.name,
                        "QA_MAX_FILE_BYTES": MAX_FILE_BYTES,
                        "QA_MAX_DOCUMENT_CHARS": MAX_DOCUMENT_CHARS}.items():
        monkeypatch.setenv(name, str(value))
    out, err = io.StringIO(), io.StringIO()
    assert main(["index", str(corpus), "--quiet"], stdout=out, stderr=err) == 0, err.getvalue()

    lines = err.getvalue().splitlines()
    assert all(line.startswith("skipped ") for line in lines), lines
    for kind in KINDS:
        prefix = f"skipped {corpus / kind.name}/"
        mine = [line for line in lines if line.startswith(prefix)]
        assert len(mine) == (kind.lines if kind.skipped else 0), (kind.name, mine)
        assert all(kind.skipped in line for line in mine), mine
    documents = sum(1 for k in KINDS if k.check) + sum(
        1 for k in KINDS if k.skipped and k.check is None and k.name.startswith("jsonl"))
    summary = out.getvalue()
    assert f"{documents} documents" in summary
    assert re.search(rf"skipped {len(lines)};", summary), summary

    store = IndexStore.load(index_dir, model=registered_fake.name)
    try:
        for pid in range(store.count):
            (passage,) = store.catalog.passages([pid])
            assert len(passage.text) <= MAX_PASSAGE_CHARS and "\x00" not in passage.text
            text = store.catalog.document(passage.doc_id).text
            assert text[passage.start : passage.end] == passage.text
    finally:
        store.close()
