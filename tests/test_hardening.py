"""Fixes from an outside attack (issue 9), each with the test that reproduces it.

Nothing lost (`#` in names), nothing crashes (date phrases out of range, lone surrogates, a
500 that broke the connection), nothing unbounded (2 MB words, histories), nobody gets in
(Host header, Gradio's upload route, token rules, interrupted uploads), nothing unclear
(strict request types, one file per upload), and no stale file handles after a reload.
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeEmbedder, write
from fastapi.testclient import TestClient
from test_api import DOCS, api_client, build_index, fake_backend, free_port, serve_app

from qa.answer.holder import AnswererHolder
from qa.answer.question import recent_history
from qa.cli import main
from qa.config import Settings
from qa.errors import ConfigError, IndexMissingError
from qa.index.builder import index_paths
from qa.index.chunking import split_document
from qa.ingest import Document
from qa.web.access import session_token
from qa.web.chat import ChatBackend
from qa.web.server import allowed_hosts, create_app

TOKEN = "an-admin-token-of-32-characters!"
ZEBRA = "Where did the zebras arrive from?"


def _cli(tmp_path: Path, *args: str, model: str = "fake-bow") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    os.environ["QA_INDEX_DIR"], os.environ["QA_MODEL"] = str(tmp_path / "index"), model
    try:
        code = main(list(args), stdout=out, stderr=err)
    finally:
        del os.environ["QA_INDEX_DIR"], os.environ["QA_MODEL"]
    return code, out.getvalue(), err.getvalue()


# Data loss: "#" in file and folder names -----------------------------------------------------


def _hash_docs(folder: Path) -> None:
    write(folder / "C#" / "notes.txt", "C sharp notes\n\nGenerics arrived in C# 2.0.")
    write(folder / "issue#12.txt", "Issue twelve\n\nThe ferry was late on Tuesday.")
    write(folder / "plain.txt", DOCS["zoo.txt"])


def test_prune_keeps_files_with_a_hash_in_their_path(tmp_path: Path,
                                                     registered_fake: FakeEmbedder) -> None:
    _hash_docs(tmp_path / "docs")
    assert _cli(tmp_path, "index", str(tmp_path / "docs"), "--quiet")[0] == 0
    code, out, err = _cli(tmp_path, "index", str(tmp_path / "docs"), "--prune", "--quiet")
    assert code == 0 and "removed 0" in out and "3 documents" in out, (out, err)


def test_http_reindex_and_delete_keep_files_with_a_hash_in_their_path(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp_path / "up#loads")
    _hash_docs(tmp_path / "docs")
    index_paths([tmp_path / "docs"], settings, embedder=fake)
    holder, _ = fake_backend(settings, fake)
    client = api_client(settings, holder, headers={"Authorization": f"Bearer {TOKEN}"})
    report = client.post("/api/v1/reindex").json()
    assert (report["removed"], report["documents"]) == (0, 3), report
    uploaded = client.post("/api/v1/documents", files={
        "file": ("ferry.txt", DOCS["ferry.txt"].encode())}).json()
    response = client.delete(f"/api/v1/documents/{uploaded['doc_id']}")
    assert response.status_code == 200, response.text
    assert (response.json()["removed"], response.json()["documents"]) == (1, 3)


def test_an_index_folder_with_a_hash_in_its_path(tmp_path: Path, fake: FakeEmbedder) -> None:
    # The catalog opens its SQLite file by URI, where a bare "#" would start a fragment.
    settings = Settings(index_dir=tmp_path / "C#" / "idx?x=1", model=fake.name,
                        abstain_threshold=0.1)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    holder, _ = fake_backend(settings, fake)
    assert "Kenya" in holder.answerer().ask(ZEBRA).answer


# Crashes: dates out of range, lone surrogates ------------------------------------------------


@pytest.fixture
def admin(tmp_path: Path, fake: FakeEmbedder) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp_path / "uploads",
                        max_upload_bytes=2_000, max_question_chars=300)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    holder, _ = fake_backend(settings, fake)
    client = api_client(settings, holder)
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    yield client, settings
    holder.answerer().retriever.store.close()


@pytest.mark.parametrize(("question", "now"), [
    ("What happened 3000 years ago?", None),
    ("What changed in the last 5000 years?", None),
    ("Who won in the last 99999999999 days?", None),
    ("What happened " + "9" * 200 + " days ago?", None),
    ("What happened yesterday?", "0001-01-01"),
    ("What happened this week?", "0001-01-01"),
    ("What happens in the next days, two weeks ago?", "9999-12-31"),
])
def test_date_phrases_out_of_range_are_answered(admin: tuple[TestClient, Settings],
                                                question: str, now: str | None) -> None:
    client, _ = admin
    body: dict[str, Any] = {"question": question[:300]}
    if now:
        body["now"] = now
    response = client.post("/api/v1/ask", json=body)
    assert response.status_code == 200, response.text
    start, end = response.json()["date_range"]
    assert "0001-01-01" <= start <= end <= "9999-12-31"


def test_date_phrases_out_of_range_in_the_cli_and_the_chat(tmp_path: Path,
                                                           registered_fake: FakeEmbedder) -> None:
    write(tmp_path / "docs" / "zoo.txt", DOCS["zoo.txt"])
    assert _cli(tmp_path, "index", str(tmp_path / "docs"), "--quiet")[0] == 0
    code, _out, err = _cli(tmp_path, "ask", "--now", "0001-01-01", "What happened yesterday?")
    assert code == 0 and err == "", err
    code, _out, err = _cli(tmp_path, "ask", "What happened 3000 years ago?")
    assert code == 0 and err == "", err
    settings = Settings(index_dir=tmp_path / "index", model=registered_fake.name)
    reply = ChatBackend(AnswererHolder(settings)).reply("in the last 5000 years?")
    assert "Something went wrong" not in reply.text and "qa-error" not in reply.html


@pytest.mark.parametrize("body", [
    '{"question": "\\ud800 where are the zebras?"}',
    '{"question": "zebras?", "history": [{"role": "user", "content": "\\udfff"}]}',
    '{"question": "zebras?", "filters": {"source": "\\ud800"}}',
])
def test_a_lone_surrogate_is_a_clear_422(admin: tuple[TestClient, Settings], body: str) -> None:
    client, _ = admin
    response = client.post("/api/v1/ask", content=body.encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["message"]


def test_a_lone_surrogate_on_the_command_line_is_one_line(
        tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    write(tmp_path / "docs" / "zoo.txt", DOCS["zoo.txt"])
    assert _cli(tmp_path, "index", str(tmp_path / "docs"), "--quiet")[0] == 0
    # A byte that is not UTF-8 in argv reaches Python as a lone surrogate.
    code, out, err = _cli(tmp_path, "ask", "zebras \udcff?")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "surrogate" in err


class _Broken:
    """An answerer that fails unexpectedly when asked (and has no index to show)."""

    @property
    def retriever(self) -> Any:
        raise IndexMissingError("no index")

    def ask(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")


@pytest.fixture
def broken_site(tmp_path: Path) -> Iterator[str]:
    settings = Settings(index_dir=tmp_path / "index")
    holder = AnswererHolder(settings, loader=lambda _s: _Broken())  # type: ignore[arg-type,return-value]
    with serve_app(create_app(settings, holder), free_port()) as url:
        yield url


def test_after_a_500_the_connection_still_works(broken_site: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    host, port = broken_site.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(3):  # the same keep-alive connection, three times
            conn.request("POST", "/api/v1/ask", body=json.dumps({"question": "Zebras?"}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 500
            assert json.loads(response.read())["error"] == "internal"
            assert response.getheader("connection", "").lower() != "close"
        conn.request("GET", "/widget.js")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    failures = [r for r in caplog.records if r.name == "qa.web.http"]
    assert failures and all(r.exc_info and r.exc_info[0] is RuntimeError for r in failures)
    assert "NoneType: None" not in caplog.text


# Unbounded input -----------------------------------------------------------------------------


def test_a_two_megabyte_word_becomes_bounded_passages(fake: FakeEmbedder) -> None:
    word = "x" * 2_000_000
    doc = Document("d", "/d.txt", "Title", f"A short intro. {word} And an ending.")
    passages = split_document(doc, fake.count_tokens, max_tokens=256, model_max_tokens=256,
                              max_chars=Settings().max_passage_chars)
    assert max(len(p.text) for p in passages) <= Settings().max_passage_chars
    assert "".join(p.text for p in passages if "x" in p.text).count("x") == len(word)
    assert all(doc.text[p.start : p.end] == p.text for p in passages)


def test_a_two_megabyte_word_is_never_cited_whole(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.0)
    write(tmp_path / "docs" / "blob.txt", "Blob\n\nZebras came. " + "zebra" * 400_000)
    index_paths([tmp_path / "docs"], settings, embedder=fake)
    holder, _ = fake_backend(settings, fake)
    answer = holder.answerer().ask("zebras")
    cited = answer.citations + answer.related
    assert cited and max(len(c.passage) for c in cited) <= settings.max_passage_chars


def test_too_many_turns_are_refused_as_the_schema_says(admin: tuple[TestClient, Settings]) -> None:
    client, _ = admin
    history = [{"role": "user", "content": "Zebras?"}] * 21
    response = client.post("/api/v1/ask", json={"question": "And then?", "history": history})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"] == "invalid_request"
    assert "QA_MAX_HISTORY_TURNS" in response.json()["message"]


@pytest.mark.parametrize(("history", "says"), [
    ([{"role": "user", "content": "zebra " * 500}], "more than a question may have"),
    ([{"role": "user", "content": "zebra " * 110_000}], "QA_MAX_HISTORY_CHARS"),
    ([{"role": "assistant", "content": "hay " * 6000}], "QA_MAX_HISTORY_CHARS"),
])
def test_histories_over_the_limits_are_413(admin: tuple[TestClient, Settings],
                                           history: list[dict[str, str]], says: str) -> None:
    client, _ = admin
    response = client.post("/api/v1/ask", json={"question": "And then?", "history": history})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"] == "history_too_long" and says in response.json()["message"]


def test_the_chat_keeps_the_latest_turns_that_fit() -> None:
    turns = [{"role": "user", "content": "zebra " * 1000}] + [
        {"role": "assistant", "content": f"Answer {i}."} for i in range(30)]
    kept = recent_history(turns, max_turns=20, max_chars=20_000, max_question_chars=2000)
    assert kept == turns[-20:]
    kept = recent_history([{"role": "user", "content": "\ud800?"}], max_turns=5,
                          max_chars=100, max_question_chars=100)
    assert kept == [{"role": "user", "content": "\ufffd?"}]


def test_the_chat_sends_only_the_latest_turns_that_fit(tmp_path: Path, fake: FakeEmbedder,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The browser keeps the conversation (local storage), so what the chat gets is the
    # visitor's to choose: a long one, a turn too long for a question, a lone surrogate.
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        max_question_chars=300)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    sent: list[list[dict[str, str]]] = []
    backend = ChatBackend(fake_backend(settings, fake)[0])
    answerer = backend.holder.answerer()
    ask = answerer.ask

    def spy(question: str, **kwargs: Any) -> Any:
        sent.append(kwargs["history"])
        return ask(question, **kwargs)

    monkeypatch.setattr(answerer, "ask", spy)
    turns = [{"role": "user", "content": "zebra " * 1000}]
    turns += [{"role": "assistant", "content": f"Zebras arrived, part {i}. " * 20}
              for i in range(60)]
    turns += [{"role": "user", "content": "\ud800 zebras?"}]
    reply = backend.reply(ZEBRA, turns)
    assert "Kenya" in reply.text, reply.text
    history = sent[0]
    assert 1 < len(history) <= settings.max_history_turns
    assert sum(len(t["content"]) for t in history) <= settings.max_history_chars
    assert history[:-1] == turns[-len(history):-1]
    assert history[-1] == {"role": "user", "content": "\ufffd zebras?"}


def test_the_echoed_query_stays_bounded(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    history = [{"role": "user", "content": ("Zebras hay Kenya plane " * 50)[:300]},
               {"role": "assistant", "content": "Zebras arrived from Kenya. [1]"}] * 10
    response = client.post("/api/v1/ask", json={"question": "And then?", "history": history})
    assert response.status_code == 200, response.text
    assert len(response.json()["query_used"]) <= settings.max_question_chars * 4


# Who gets in ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("hardening")
    fake = FakeEmbedder()
    settings = Settings(index_dir=tmp / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp / "uploads")
    build_index(tmp / "docs", settings, fake)
    holder, _ = fake_backend(settings, fake)
    with serve_app(create_app(settings, holder), free_port()) as url:
        yield {"url": url, "settings": settings}
    holder.answerer().retriever.store.close()


def test_a_foreign_host_header_is_refused_everywhere(site: dict[str, Any]) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as client:
        for host in ("rebind.attacker.example", "127.0.0.1.attacker.example", "localhost.:1"):
            for path in ("/api/v1/documents", "/api/v1/health", "/", "/gradio_api/info",
                         "/widget.js", "/config", "/documents", "/ui/documents.js"):
                response = client.get(path, headers={"Host": host})
                assert response.status_code == 400, (host, path)
                assert "doc_id" not in response.text and "/docs/" not in response.text
        for host in ("127.0.0.1", "localhost", f"127.0.0.1:{free_port()}"):
            assert client.get("/api/v1/documents", headers={"Host": host}).status_code == 200


def test_allowed_hosts_come_from_the_bind_address_and_the_setting() -> None:
    assert allowed_hosts(Settings()) == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts(Settings(host="10.0.0.5", allowed_hosts="qa.lan, *.example.org")) == [
        "10.0.0.5", "qa.lan", "*.example.org"]
    everywhere = allowed_hosts(Settings(host="0.0.0.0"))
    assert "localhost" in everywhere and len(everywhere) > 3
    assert Settings.from_env({"QA_ALLOWED_HOSTS": "qa.lan"}).allowed_hosts == "qa.lan"
    for bad in ("*", "a.org:8080", "http://a.org", "*.", "a b", "evil.org/path"):
        with pytest.raises(ConfigError, match="QA_ALLOWED_HOSTS"):
            allowed_hosts(Settings(allowed_hosts=bad))


def test_gradio_upload_route_is_closed_and_writes_nothing(site: dict[str, Any]) -> None:
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    before = set(folder.rglob("*")) if folder.exists() else set()
    with httpx.Client(base_url=site["url"], timeout=30) as client:
        for path in ("/gradio_api/upload", "/gradio_api/upload/", "/gradio_api//upload",
                     "/gradio_api/upload?upload_id=x"):
            response = client.post(path, files={"files": ("x.txt", b"A" * 100_000)},
                                   headers={"Origin": "https://evil.example"})
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"
        assert client.get("/gradio_api/upload_progress?upload_id=x").status_code == 404
    after = set(folder.rglob("*")) if folder.exists() else set()
    assert after == before


def test_an_admin_token_must_be_long_enough(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path, admin_token="short-token")
    with pytest.raises(ConfigError, match="at least 16"):
        create_app(settings)
    create_app(settings.with_overrides(admin_token="x" * 16))  # long enough


def test_qa_serve_refuses_a_short_token_in_one_line(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_ADMIN_TOKEN", "t")
    monkeypatch.setattr("uvicorn.run", lambda *_a, **_k: None)  # never serve for real
    out, err = io.StringIO(), io.StringIO()
    code = main(["serve", "--index", str(tmp_path), "--port", str(free_port())],
                stdout=out, stderr=err)
    assert code == 1 and len(err.getvalue().splitlines()) == 1
    assert "QA_ADMIN_TOKEN has 1 characters; it needs at least 16" in err.getvalue()
    assert out.getvalue() == ""  # refused before anything starts loading


def test_the_token_qa_serve_makes_for_a_run_meets_the_minimum(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without QA_ADMIN_TOKEN on 127.0.0.1, `qa serve` makes a token for the run and prints it
    # in the Documents link: it must pass the same rule as a configured one.
    made = session_token(Settings(index_dir=tmp_path, min_admin_token_chars=40))
    assert len(made.admin_token) >= 40
    assert session_token(Settings(host="0.0.0.0")).admin_token == ""  # changes off there
    apps: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **_k: apps.append(app))
    monkeypatch.delenv("QA_ADMIN_TOKEN", raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["serve", "--index", str(tmp_path), "--port", str(free_port())],
                stdout=out, stderr=err)
    assert code == 0 and len(apps) == 1, err.getvalue()
    link = re.search(r"/documents#token=(\S+)", out.getvalue())
    assert link and len(link.group(1)) >= Settings().min_admin_token_chars, out.getvalue()


def test_the_document_list_is_no_oracle_for_guessing_the_token(tmp_path: Path,
                                                                fake: FakeEmbedder) -> None:
    # The list says whether the token sent may change the index (the Documents page asks it
    # that way), so a wrong token there is a failed attempt like one on the change routes.
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, admin_token=TOKEN,
                        uploads_dir=tmp_path / "uploads", auth_failures_per_minute=3)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    client = api_client(settings, fake_backend(settings, fake)[0])
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/v1/documents", headers=right).json()["can_change"] is True
    for _ in range(settings.auth_failures_per_minute):
        response = client.get("/api/v1/documents", headers={"Authorization": "Bearer guess"})
        assert response.status_code == 200 and response.json()["can_change"] is False
    for method, path in (("GET", "/api/v1/documents"), ("POST", "/api/v1/reindex")):
        response = client.request(method, path, headers=right)
        assert response.status_code == 429 and response.json()["error"] == "too_many_attempts"
    listed = client.get("/api/v1/documents")  # reading needs no token, and is not limited
    assert listed.status_code == 200 and listed.json()["total"] == 1


def test_failed_token_attempts_are_rate_limited(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, admin_token=TOKEN,
                        uploads_dir=tmp_path / "uploads", auth_failures_per_minute=5)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    client = api_client(settings, fake_backend(settings, fake)[0])
    for _ in range(settings.auth_failures_per_minute):
        response = client.post("/api/v1/reindex", headers={"Authorization": "Bearer guess"})
        assert response.status_code == 401
    for headers in ({"Authorization": "Bearer guess"}, {"Authorization": f"Bearer {TOKEN}"}):
        response = client.post("/api/v1/reindex", headers=headers)
        assert response.status_code == 429 and response.json()["error"] == "too_many_attempts"
        assert 1 <= int(response.headers["retry-after"]) <= 60


def test_an_interrupted_upload_is_never_indexed(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp_path / "uploads")
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    # What a server killed mid-upload leaves: a stored file still marked pending, and a part.
    write(settings.uploads_dir / "ferry-1a2b3c4d.txt", DOCS["ferry.txt"])
    write(settings.uploads_dir / ".ferry-1a2b3c4d.txt.pending", "")
    write(settings.uploads_dir / ".tax-0a0a0a0a.txt.part", "Tax forms are")
    skipped = index_paths([settings.uploads_dir], settings, embedder=fake).skipped
    assert [s.reason for s in skipped] == ["an upload that was interrupted before it was indexed"]
    holder, _ = fake_backend(settings, fake)
    client = api_client(settings, holder, headers={"Authorization": f"Bearer {TOKEN}"})
    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == []  # cleaned at start
    report = client.post("/api/v1/reindex").json()
    assert report["documents"] == 1 and report["added"] == 0
    data = client.post("/api/v1/ask", json={"question": "Which river did the ferry cross?"})
    assert data.json()["abstained"]


def test_an_oversized_streamed_upload_leaves_no_file(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin

    def body() -> Iterator[bytes]:
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
               b"Content-Type: text/plain\r\n\r\n")
        for _ in range(10):
            yield b"word " * 1000
        yield b"\r\n--b--\r\n"

    response = client.post("/api/v1/documents", content=body(),
                           headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert not settings.uploads_dir.exists() or list(settings.uploads_dir.iterdir()) == []


# Unclear: strict request types, one file per upload, dates ------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"question": "Zebras?", "k": "3"}, "k"),
    ({"question": "Zebras?", "k": True}, "k"),
    ({"question": "Zebras?", "k": 2.5}, "k"),
    ({"question": 42}, "question"),
    ({"question": "Zebras?", "history": [{"role": "user", "content": 5}]}, "history.0.content"),
    ({"question": "Zebras?", "history": [{"role": "user", "content": "a", "x": 1}]},
     "history.0.x"),
    ({"question": "Zebras?", "now": 0}, "now"),
    ({"question": "Zebras?", "now": "2008-13-45"}, "now"),
    ({"question": "Zebras?", "now": "2008-03-20T10:00:00"}, "now"),
    ({"question": "Zebras?", "filters": {"date_from": "2008-13-45"}}, "filters"),
    ({"question": "Zebras?", "filters": {"source": 7}}, "filters.source"),
])
def test_request_fields_are_taken_only_as_their_type(admin: tuple[TestClient, Settings],
                                                     body: dict[str, Any], field: str) -> None:
    client, _ = admin
    response = client.post("/api/v1/ask", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(f"{field}:"), response.json()


def test_a_date_filter_that_is_not_a_date_is_refused_everywhere(
        tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    write(tmp_path / "docs" / "zoo.txt", DOCS["zoo.txt"])
    assert _cli(tmp_path, "index", str(tmp_path / "docs"), "--quiet")[0] == 0
    code, _out, err = _cli(tmp_path, "ask", "--since", "2008-13-45", ZEBRA)
    assert code == 1 and "not a date" in err and len(err.splitlines()) == 1
    settings = Settings(index_dir=tmp_path / "index", model=registered_fake.name)
    reply = ChatBackend(AnswererHolder(settings)).reply(ZEBRA, [], "", "2008-13-45", "")
    assert "is not a date" in reply.text


def test_one_file_per_upload(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    for files in ([("file", ("a.txt", b"Alpha text.")), ("file", ("b.txt", b"Beta text."))],
                  [("file", ("a.txt", b"Alpha text.")), ("other", ("b.txt", b"Beta text."))]):
        response = client.post("/api/v1/documents", files=files)
        assert response.status_code == 422 and "exactly one file" in response.json()["message"]
    response = client.post("/api/v1/documents", files={"file": ("a.txt", b"Alpha text.")},
                           data={"note": "x"})
    assert response.status_code == 422
    assert not settings.uploads_dir.exists() or list(settings.uploads_dir.iterdir()) == []


def test_symlinks_out_of_the_folder_are_followed_only_when_allowed(
        tmp_path: Path, fake: FakeEmbedder) -> None:
    write(tmp_path / "outside" / "secret.txt", "Secret\n\nThe code is 42.")
    (tmp_path / "docs").mkdir()
    os.symlink(tmp_path / "outside" / "secret.txt", tmp_path / "docs" / "link.txt")
    settings = Settings(index_dir=tmp_path / "index", model=fake.name)
    report = index_paths([tmp_path / "docs"], settings, embedder=fake)
    assert report.documents == 0 and "outside the folder" in report.skipped[0].reason
    allowed = settings.with_overrides(follow_symlinks_outside="1")
    assert index_paths([tmp_path / "docs"], allowed, embedder=fake).documents == 1


# Stale handles after a reload ----------------------------------------------------------------


def _deleted_files_open() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            count += os.readlink(f"/proc/self/fd/{fd}").endswith(" (deleted)")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_reloads_leave_no_handles_on_old_generations(tmp_path: Path, fake: FakeEmbedder) -> None:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    holder, _ = fake_backend(settings, fake)
    holder.answerer().ask(ZEBRA)
    before = _deleted_files_open()
    gc.disable()  # the garbage collector must not be what closes them
    try:
        with contextlib.ExitStack() as request:  # a request in flight holds its lease
            in_flight = request.enter_context(holder.lease())
            for i in range(12):
                write(tmp_path / "docs" / "zoo.txt", DOCS["zoo.txt"] + f" Visit {i}.")
                index_paths([tmp_path / "docs"], settings, embedder=fake)
                holder.reload()
                with holder.lease() as answerer:
                    answerer.ask(ZEBRA)
            # A request that began before the reloads still reads its own generation, whose
            # segment files the merges since have deleted...
            assert "Kenya" in in_flight.ask(ZEBRA).answer
            assert _deleted_files_open() > before
        del in_flight  # ...and its files close as soon as it is done.
        assert _deleted_files_open() == before
    finally:
        gc.enable()


def test_today_is_the_default_now() -> None:
    # Guard for the date clipping: an ordinary "now" still gives ordinary ranges.
    from qa.answer.dates import parse_date_range

    found = parse_date_range("What happened yesterday?", date(2024, 3, 20))
    assert found is not None and (found.start, found.end) == ("2024-03-19", "2024-03-20")
