"""The corruption matrix: every kind of damage to the index folder or the embedding cache is
refused in one line naming the file and the command, and that command recovers.

Each case builds a small index with the real CLI (fake embedder), damages it, then checks:
`qa ask` (and the API) refuses in one line or still answers, `qa index` refuses in one line
(or, for harmless leftovers, cleans up), `qa index --rebuild` succeeds, and afterwards both
answer and update as if nothing had happened.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, write
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.answer.holder import AnswererHolder
from qa.cli import main
from qa.config import Settings
from qa.web.api import create_api

REBUILD = "qa index --rebuild"
DOCS = {
    "zoo.txt": "Zoo news\n\nZebras arrived from Kenya by plane. They eat hay.",
    "tax.txt": "Tax rules\n\nTax forms are due in April every year.",
    "ferry.txt": "Ferry log\n\nThe ferry crossed the Danube river at dawn.",
}
QUESTION = "Where did the zebras arrive from?"


# Ways to damage an index ---------------------------------------------------------------------


def manifest(index: Path) -> dict[str, Any]:
    return dict(json.loads((index / "manifest.json").read_text()))


def edit_manifest(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        data = manifest(index)
        change(data)
        (index / "manifest.json").write_text(json.dumps(data))
    return damage


def catalog(index: Path) -> Path:
    return index / manifest(index)["catalog"]


def segment(index: Path, member: str = "") -> Path:
    folder = index / manifest(index)["segments"][0]["name"]
    return folder / member if member else folder


def tombstones(index: Path) -> Path:
    return index / manifest(index)["segments"][0]["tombstones"]


def replace_with_folder(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    path.mkdir()
    (path / "junk").write_text("x")


def flip_bytes(path: Path, at: float = 0.5, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(len(data), start + count)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def keeping_mtime(change: Callable[[Path], None]) -> Callable[[Path], None]:
    """The change, with the file's mtime put back: nothing tells a load the bytes changed,
    so only the reader of the file itself can notice."""
    def damage(path: Path) -> None:
        before = path.stat()
        change(path)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return damage


def same_size_garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def catalog_pages_flipped(index: Path) -> None:
    # Damage the b-tree pages (after the 100-byte header), not only free space.
    path = catalog(index)
    data = bytearray(path.read_bytes())
    for i in range(1024, len(data), 97):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def cache(index: Path) -> Path:
    return index / "embeddings.sqlite"


def cache_wrong_schema(index: Path) -> None:
    cache(index).unlink()
    db = sqlite3.connect(cache(index))
    db.execute("CREATE TABLE embeddings (something TEXT)")
    db.commit()
    db.close()


def cache_pages_flipped(index: Path) -> None:
    # Make the cache span several pages first, then damage the b-tree pages.
    db = sqlite3.connect(cache(index))
    db.executemany("INSERT INTO embeddings VALUES (?, ?, ?, ?)",
                   [("other-model", f"k{i}", 4, b"\0" * 4000) for i in range(60)])
    db.commit()
    db.close()
    data = bytearray(cache(index).read_bytes())
    for i in range(4096, len(data), 89):
        data[i] ^= 0x5A
    cache(index).write_bytes(bytes(data))


def cache_wrong_dimension(index: Path) -> None:
    db = sqlite3.connect(cache(index))
    db.execute("UPDATE embeddings SET vector = x'00000000', dim = 1")
    db.commit()
    db.close()


@dataclass(frozen=True)
class Damage:
    """One kind of damage and what each command must do about it."""

    name: str
    damage: Callable[[Path], None]
    #: What the refusal names (a file of the index, relative to it).
    names: str
    #: Whether `qa ask` still answers (damage to what only writing uses).
    ask_answers: bool = False
    #: Whether `qa index` (an update adding a file) goes through (harmless leftovers, an old
    #: format it upgrades, a cache row it re-embeds).
    index_works: bool = False
    command: str = REBUILD


SEG = "seg-000001"
DAMAGES = [
    Damage("manifest missing", lambda i: (i / "manifest.json").unlink(), "index/",
           command="qa index", index_works=True),
    Damage("manifest empty", lambda i: (i / "manifest.json").write_text(""), "manifest.json"),
    Damage("manifest not JSON", lambda i: (i / "manifest.json").write_text("{nope"),
           "manifest.json"),
    Damage("manifest cut short", lambda i: (i / "manifest.json").write_text(
        (i / "manifest.json").read_text()[:80]), "manifest.json"),
    Damage("manifest is a folder", lambda i: replace_with_folder(i / "manifest.json"),
           "manifest.json"),
    Damage("manifest is a list", lambda i: (i / "manifest.json").write_text("[]"),
           "manifest.json"),
    Damage("generation not a number", edit_manifest(lambda m: m.update(generation="abc")),
           "manifest.json"),
    Damage("generation negative", edit_manifest(lambda m: m.update(generation=-3)),
           "manifest.json"),
    Damage("generation a fraction", edit_manifest(lambda m: m.update(generation=1.5)),
           "manifest.json"),
    Damage("generation true", edit_manifest(lambda m: m.update(generation=True)),
           "manifest.json"),
    Damage("counts lack passages", edit_manifest(lambda m: m["counts"].pop("passages")),
           "manifest.json"),
    Damage("a segment lists no files", edit_manifest(lambda m: m["segments"][0].update(files={})),
           "manifest.json"),
    Damage("a file stamp lacks its size",
           edit_manifest(lambda m: m["segments"][0]["files"]["ids.npy"].pop("size")),
           "manifest.json"),
    Damage("unknown manifest field", edit_manifest(lambda m: m.update(extra=1)),
           "manifest.json"),
    Damage("catalog name leaves the folder",
           edit_manifest(lambda m: m.update(catalog="../../etc/passwd")), "manifest.json"),
    Damage("segment name leaves the folder",
           edit_manifest(lambda m: m["segments"][0].update(name="../seg-000001")),
           "manifest.json"),
    Damage("tombstones without deletions",
           edit_manifest(lambda m: m["segments"][0].update(deleted=0)), "manifest.json"),
    Damage("counts disagree",
           edit_manifest(lambda m: m["counts"].update(passages=m["counts"]["passages"] + 1)),
           "index/"),
    Damage("dimension disagrees", edit_manifest(lambda m: m.update(dim=m["dim"] + 1)), "index/"),
    Damage("another model", edit_manifest(lambda m: m.update(model="other-model")), "index/"),
    Damage("a later format version", edit_manifest(lambda m: m.update(format_version=99)),
           "index/"),
    Damage("catalog missing", lambda i: catalog(i).unlink(), "catalog-000001.sqlite"),
    Damage("catalog empty", lambda i: catalog(i).write_bytes(b""), "catalog-000001.sqlite"),
    Damage("catalog pages flipped", catalog_pages_flipped, "catalog-000001.sqlite"),
    Damage("catalog garbage", lambda i: catalog(i).write_bytes(os.urandom(8192)),
           "catalog-000001.sqlite"),
    Damage("catalog garbage, same size and mtime",
           lambda i: keeping_mtime(same_size_garbage)(catalog(i)), "catalog-000001.sqlite"),
    Damage("catalog is a folder", lambda i: replace_with_folder(catalog(i)),
           "catalog-000001.sqlite"),
    Damage("segment missing", lambda i: shutil.rmtree(segment(i)), f"{SEG}/ids.npy"),
    Damage("segment is a file", lambda i: (shutil.rmtree(segment(i)),
                                           segment(i).write_text("x")), f"{SEG}/ids.npy"),
    Damage("vectors missing", lambda i: segment(i, "vectors.faiss").unlink(),
           f"{SEG}/vectors.faiss"),
    Damage("vectors cut short", lambda i: segment(i, "vectors.faiss").write_bytes(
        segment(i, "vectors.faiss").read_bytes()[:100]), f"{SEG}/vectors.faiss"),
    Damage("vectors bytes flipped", lambda i: flip_bytes(segment(i, "vectors.faiss"), at=0.1),
           f"{SEG}/vectors.faiss"),
    Damage("vectors garbage, same size and mtime",
           lambda i: keeping_mtime(same_size_garbage)(segment(i, "vectors.faiss")), SEG),
    Damage("vectors is a folder", lambda i: replace_with_folder(segment(i, "vectors.faiss")),
           f"{SEG}/vectors.faiss"),
    Damage("postings member deleted", lambda i: segment(i, "terms.txt").unlink(),
           f"{SEG}/terms.txt"),
    Damage("lengths garbage, same size and mtime",
           lambda i: keeping_mtime(same_size_garbage)(segment(i, "lengths.npy")), SEG),
    Damage("tombstones missing", lambda i: tombstones(i).unlink(), f"{SEG}.del-000002.npy"),
    Damage("tombstones bytes flipped", lambda i: flip_bytes(tombstones(i), at=0.9, count=8),
           f"{SEG}.del-000002.npy"),
    Damage(".lock is a folder", lambda i: replace_with_folder(i / ".lock"), ".lock",
           ask_answers=True),
    Damage("cache garbage", lambda i: cache(i).write_bytes(os.urandom(4096)),
           "embeddings.sqlite", ask_answers=True),
    Damage("cache is a folder", lambda i: replace_with_folder(cache(i)), "embeddings.sqlite",
           ask_answers=True),
    Damage("cache has another schema", cache_wrong_schema, "embeddings.sqlite",
           ask_answers=True),
    Damage("cache pages flipped", cache_pages_flipped, "embeddings.sqlite", ask_answers=True),
    Damage("cache rows of another dimension", cache_wrong_dimension, "embeddings.sqlite",
           ask_answers=True, index_works=True),
    Damage("leftover manifest.json.tmp folder",
           lambda i: replace_with_folder(i / "manifest.json.tmp"), "manifest.json.tmp",
           ask_answers=True, index_works=True),
    Damage("leftover segment and catalog files", lambda i: (
        (i / "catalog-000009.sqlite").write_text("junk"), replace_with_folder(i / "seg-000009"),
        (i / f"{SEG}.del-000009.npy").write_text("junk")),
           "seg-000009", ask_answers=True, index_works=True),
]


# The matrix ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the documents and an index of them, built once; each case copies it."""
    from qa.index.embedding import register_embedder, unregister_embedder

    fake = FakeEmbedder()
    register_embedder(fake.name, lambda _b: fake)
    base = tmp_path_factory.mktemp("pristine")
    for name, text in DOCS.items():
        write(base / "docs" / name, text)
    # One more document, indexed and then pruned: the segment has a tombstone file.
    gone = write(base / "docs" / "gone.txt", "Gone\n\nThis article was withdrawn.")
    try:
        code, _out, err = _qa(base, "index", str(base / "docs"))
        assert code == 0, err
        gone.unlink()
        code, _out, err = _qa(base, "index", str(base / "docs"), "--prune")
        assert code == 0, err
    finally:
        unregister_embedder(fake.name)
    return base


def _qa(base: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"QA_INDEX_DIR": str(base / "index"), "QA_MODEL": "fake-bow"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        code = main([*args, *(["--quiet"] if args[0] == "index" else [])], stdout=out,
                    stderr=err)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return code, out.getvalue(), err.getvalue()


def _one_line_refusal(err: str, command: str, case: Damage, base: Path) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert "Traceback" not in line and command in line, line
    named = str(base / "index" / case.names) if case.names != "index/" else f"{base}/index/"
    assert named in line or named.rstrip("/") in line, line
    return line


def test_the_matrix_has_at_least_twenty_five_kinds() -> None:
    assert len(DAMAGES) >= 25 and len({d.name for d in DAMAGES}) == len(DAMAGES)


@pytest.mark.parametrize("case", DAMAGES, ids=lambda d: d.name)
def test_damage_is_refused_in_one_line_and_the_command_recovers(
        case: Damage, pristine: Path, tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    base = tmp_path / "case"
    shutil.copytree(pristine, base, symlinks=True)
    case.damage(base / "index")

    code, out, err = _qa(base, "ask", QUESTION)
    if case.ask_answers:
        assert code == 0 and "Kenya" in out, err
    else:
        assert code == 1 and out == ""
        message = _one_line_refusal(err, case.command, case, base).removeprefix("qa ask: ")
        _api_refuses(base, message)

    write(base / "docs" / "new.txt", "Chess\n\nThe chess final went to a tiebreak.")
    code, out, err = _qa(base, "index", str(base / "docs"))
    if case.index_works:
        assert code == 0 and err == "", err
    else:
        assert code == 1 and out == ""
        _one_line_refusal(err, case.command, case, base)

    code, out, err = _qa(base, "index", str(base / "docs"), "--rebuild")
    assert code == 0 and err == "", err
    assert "4 documents" in out, out
    code, out, err = _qa(base, "ask", QUESTION)
    assert code == 0 and "Kenya" in out, err
    code, out, err = _qa(base, "index", str(base / "docs"))
    assert code == 0 and "already up to date" in out, (out, err)


def _api_refuses(base: Path, message: str) -> None:
    """The API answers the same damage with 503 and the same line."""
    settings = Settings(index_dir=base / "index", model="fake-bow")
    app = FastAPI()
    app.mount("/api/v1", create_api(settings, AnswererHolder(settings)))
    client = TestClient(app, base_url="http://127.0.0.1")
    response = client.post("/api/v1/ask", json={"question": QUESTION})
    assert response.status_code == 503, response.text
    assert response.json()["message"] == message
    health = client.get("/api/v1/health").json()
    assert health["index_loaded"] is False and health["message"] == message


def test_a_rebuild_keeps_what_a_damaged_cache_still_holds(
        pristine: Path, tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    base = tmp_path / "case"
    shutil.copytree(pristine, base, symlinks=True)
    cache_pages_flipped(base / "index")
    registered_fake.embedded.clear()
    code, _out, err = _qa(base, "index", str(base / "docs"), "--rebuild")
    assert code == 0, err
    assert (base / "index" / "embeddings.sqlite.damaged").is_file()
    # Whatever rows survived were kept; the rest was embedded again, and the cache is whole.
    assert len(registered_fake.embedded) <= len(DOCS)
    db = sqlite3.connect(base / "index" / "embeddings.sqlite")
    assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    assert db.execute("SELECT COUNT(*) FROM embeddings WHERE model = 'fake-bow'").fetchone()[0] \
        >= len(DOCS)
    db.close()
