"""The HTTP side: the REST API's contract and errors, CORS and security headers, index changes
behind a token, gradio_client, and concurrent requests, against the real app.

The app is served by uvicorn on a free 127.0.0.1 port over a tiny index built with the fake
embedder; `serve_app` is shared with the browser tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeEmbedder, write
from fastapi.testclient import TestClient

from qa.answer.answerer import Answer, Answerer, Citation
from qa.answer.holder import AnswererHolder
from qa.answer.retrieval import Retriever
from qa.config import Settings
from qa.errors import ConfigError
from qa.index.builder import index_paths
from qa.index.store import IndexStore
from qa.web.api import MAX_PAGE_SIZE, create_api
from qa.web.chat import ChatBackend
from qa.web.server import cors_origins, create_app, frame_ancestors, split_list
from qa.web.sources import names_for

ROOT = Path(__file__).resolve().parent.parent
WIDGET_JS = ROOT / "qa" / "web" / "static" / "widget.js"
ALLOWED = "http://allowed.example:8080"
TOKEN = "s3cret-token-0123456789"
EVIL = "https://evil.example"
#: (question, title of the document that answers it)
QUESTIONS = [
    ("Where did the zebras arrive from?", "Zoo news"),
    ("When are the tax forms due?", "Tax rules"),
    ("What do the giraffes eat in Tanzania?", "Giraffe notes"),
    ("Which river did the ferry cross?", "Ferry log"),
]
DOCS = {
    "zoo.txt": "May 1, 2020\n\nZoo news\n\nZebras arrived from Kenya by plane. They eat hay and "
               "carrots.",
    "tax.txt": "Tax rules\n\nTax forms are due in April every year.",
    "giraffe.md": "# Giraffe notes\n\nGiraffes in Tanzania eat acacia leaves all day.",
    "ferry.txt": "Ferry log\n\nThe ferry crossed the Danube river at dawn.",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_app(app: Any, port: int) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on 127.0.0.1:`port`; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fake_backend(settings: Settings, fake: FakeEmbedder) -> tuple[AnswererHolder, list[int]]:
    """An AnswererHolder over the fake-embedder index at `settings.index_dir`, and a list that
    grows by one each time it loads the index."""
    loads: list[int] = []

    def loader(s: Settings) -> Answerer:
        loads.append(1)
        return Answerer(Retriever(IndexStore.load(s.index_dir, model=fake.name), fake, s), s)

    return AnswererHolder(settings, loader=loader), loads


def api_client(settings: Settings, backend: AnswererHolder, **kwargs: Any) -> TestClient:
    """The API alone (no chat, no middleware), mounted where the server mounts it."""
    from fastapi import FastAPI

    app = FastAPI()
    app.mount("/api/v1", create_api(settings, backend))
    return TestClient(app, base_url="http://127.0.0.1", **kwargs)


def build_index(folder: Path, settings: Settings, fake: FakeEmbedder,
                docs: dict[str, str] = DOCS) -> None:
    for name, text in docs.items():
        write(folder / name, text)
    index_paths([folder], settings, embedder=fake)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The whole app (chat, API, widget) over the small index, served on a free port."""
    tmp = tmp_path_factory.mktemp("api")
    fake = FakeEmbedder()
    settings = Settings(index_dir=tmp / "index", model=fake.name, abstain_threshold=0.1,
                        cors_origins=ALLOWED, max_question_chars=300, max_request_bytes=20_000,
                        allowed_hosts="qa.example.org")
    build_index(tmp / "docs", settings, fake)
    backend, loads = fake_backend(settings, fake)
    with serve_app(create_app(settings, backend), free_port()) as url:
        yield {"url": url, "backend": backend, "loads": loads, "settings": settings}
    backend.answerer().retriever.store.close()


@pytest.fixture
def http(site: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site["url"], timeout=30) as client:
        yield client


# Settings -----------------------------------------------------------------------------------


def test_list_settings_parse_and_refuse_what_cannot_work() -> None:
    assert split_list(" https://a.org, ,http://b.org:8080 ") == ["https://a.org",
                                                                 "http://b.org:8080"]
    assert cors_origins(Settings()) == []
    assert cors_origins(Settings(cors_origins="https://a.org/, http://127.0.0.1:9000")) == [
        "https://a.org", "http://127.0.0.1:9000"]
    for bad in ("*", "example.org", "https://a.org/path", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="QA_CORS_ORIGINS"):
            cors_origins(Settings(cors_origins=bad))
    assert frame_ancestors(Settings()) == "frame-ancestors 'self'"
    assert frame_ancestors(Settings(frame_ancestors="'self', https://*.example.org")) == (
        "frame-ancestors 'self' https://*.example.org")
    for bad in ("'self'; script-src *", "https://a.org\r\nX-Evil: 1", "'unsafe-inline'"):
        with pytest.raises(ConfigError, match="QA_FRAME_ANCESTORS"):
            frame_ancestors(Settings(frame_ancestors=bad))


def test_serving_settings_come_from_qa_variables() -> None:
    settings = Settings.from_env({
        "QA_CORS_ORIGINS": "https://a.org", "QA_FRAME_ANCESTORS": "'none'",
        "QA_MAX_QUESTION_CHARS": "100", "QA_MAX_REQUEST_BYTES": "5000",
        "QA_ADMIN_TOKEN": "t0k3n", "QA_UPLOADS_DIR": "/tmp/up", "QA_MAX_UPLOAD_BYTES": "99",
    })
    assert (settings.cors_origins, settings.frame_ancestors, settings.max_question_chars,
            settings.max_request_bytes, settings.admin_token, settings.uploads_dir,
            settings.max_upload_bytes) == ("https://a.org", "'none'", 100, 5000, "t0k3n",
                                           Path("/tmp/up"), 99)
    defaults = Settings()
    assert (defaults.host, defaults.cors_origins, defaults.admin_token) == ("127.0.0.1", "", "")


# The answer contract ------------------------------------------------------------------------


def test_the_schema_is_generated_from_answer_and_citation() -> None:
    # One source of truth: the API's answer schema is the core's dataclasses, so a field added
    # to Answer or Citation appears in the OpenAPI schema without touching the API.
    holder = AnswererHolder(Settings())
    models = create_api(Settings(), holder).openapi()["components"]["schemas"]
    assert set(models["Answer"]["properties"]) == {f.name for f in dataclasses.fields(Answer)}
    assert set(models["Citation"]["properties"]) == {f.name for f in dataclasses.fields(Citation)}


def test_ask_returns_the_answer_as_json(site: dict[str, Any], http: httpx.Client) -> None:
    question = QUESTIONS[0][0]
    response = http.post("/api/v1/ask", json={"question": question, "k": 3})
    assert response.status_code == 200, response.text
    data = response.json()
    answerer = site["backend"].answerer()
    public = names_for(answerer.retriever.store, site["settings"]).answer(answerer.ask(question,
                                                                                     k=3))
    expected = json.loads(json.dumps(public.to_dict()))
    del data["timings"], expected["timings"]
    assert data == expected
    assert data["abstained"] is False and data["answer"].endswith("[1]")
    (c,) = data["citations"]
    assert c["title"] == "Zoo news" and c["date"] == "2020-05-01"
    quoted = c["passage"][c["highlight_start"] - c["passage_start"]:
                          c["highlight_end"] - c["passage_start"]]
    assert quoted == "Zebras arrived from Kenya by plane."
    assert set(c["scores"]) >= {"dense", "bm25", "fused"}
    assert c["source"] == "zoo.txt", "relative to the indexed folder, never absolute"


def test_filters_and_history_are_accepted(http: httpx.Client) -> None:
    body = {"question": "Zebras from Kenya", "filters": {"source": "tax.txt"},
            "history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    data = http.post("/api/v1/ask", json=body).json()
    assert {c["title"] for c in data["citations"] + data["related"]} <= {"Tax rules"}
    data = http.post("/api/v1/ask", json={"question": "Zebras from Kenya",
                                          "filters": {"date_from": "2021-01-01"}}).json()
    assert data["citations"] == [] and data["related"] == []


def test_the_chat_and_the_api_share_one_answerer(site: dict[str, Any],
                                                 http: httpx.Client) -> None:
    http.post("/api/v1/ask", json={"question": QUESTIONS[1][0]}).raise_for_status()
    ChatBackend(site["backend"]).reply(QUESTIONS[1][0])
    http.get("/api/v1/health").raise_for_status()
    assert len(site["loads"]) == 1


def test_health_and_paged_documents(http: httpx.Client) -> None:
    assert http.get("/api/v1/health").json() == {
        "status": "ok", "index_loaded": True, "model": "fake-bow", "documents": 4,
        "passages": 4, "message": None}
    first = http.get("/api/v1/documents", params={"limit": 3}).json()
    rest = http.get("/api/v1/documents", params={"offset": 3, "limit": 3}).json()
    assert (first["total"], len(first["documents"]), len(rest["documents"])) == (4, 3, 1)
    titles = [d["title"] for d in first["documents"] + rest["documents"]]
    assert sorted(titles) == sorted(title for _, title in QUESTIONS)
    assert set(first["documents"][0]) == {"doc_id", "title", "date", "source", "sha256",
                                          "passages", "uploaded"}
    assert first["can_change"] is False
    rows = first["documents"] + rest["documents"]
    assert sorted(d["source"] for d in rows) == sorted(DOCS)
    assert all(d["passages"] == 1 and d["uploaded"] is False for d in rows)
    found = http.get("/api/v1/documents", params={"q": "TAX"}).json()
    assert found["total"] == 1 and found["documents"][0]["title"] == "Tax rules"
    for bad in ({"limit": 0}, {"limit": MAX_PAGE_SIZE + 1}, {"offset": -1}):
        response = http.get("/api/v1/documents", params=bad)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request"


def test_openapi_schema_and_docs_page_describe_the_api(http: httpx.Client) -> None:
    schema = http.get("/api/v1/openapi.json").json()
    # Changing the index is documented even where it is off, so a caller learns how.
    assert set(schema["paths"]) == {"/ask", "/health", "/documents", "/documents/{doc_id}",
                                    "/reindex"}
    assert schema["info"]["version"] == "v1"
    models = schema["components"]["schemas"]
    assert models["AskRequest"]["required"] == ["question"]
    assert "highlight_start" in models["Citation"]["properties"]
    assert models["Answer"]["properties"]["citations"]["items"]["$ref"].endswith("Citation")
    ask = schema["paths"]["/ask"]["post"]
    assert {"200", "413", "422", "503"} <= set(ask["responses"])
    assert ask["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorOut")
    docs = http.get("/api/v1/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    text = re.sub(r"<[^>]+>", "", docs.text)
    for operation in ("POST /api/v1/ask", "GET /api/v1/documents", "POST /api/v1/documents",
                      "DELETE /api/v1/documents/{doc_id}", "POST /api/v1/reindex"):
        assert operation in text, operation
    # Defect 9: raw backticks and raw JSON schemas. Code is shown as code, types as tables.
    prose = re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", "", docs.text))
    assert "`" not in prose and '"properties"' not in text and '"$ref"' not in text
    assert "<code>{&quot;error&quot;: code, &quot;message&quot;: text}</code>" in docs.text
    assert '<a href="#type-Citation">Citation</a>' in docs.text
    assert "<td><code>highlight_start</code></td><td>integer</td>" in docs.text
    assert "Unauthorized: no or wrong admin token" in text


# Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "code", "says"), [
    ({"question": "   "}, 422, "empty_question", "the question is empty"),
    ({}, 422, "invalid_request", "question: Field required"),
    ({"question": "x", "k": 0}, 422, "invalid_request", "k: Input should be greater"),
    ({"question": "x", "colour": "red"}, 422, "invalid_request", "colour: Extra inputs"),
    ({"question": "x", "filters": {"date_from": "last week"}}, 422, "invalid_request",
     "filters: date_from 'last week' is not a date"),
    ({"question": "x", "filters": {"date_to": "2008-13-45"}}, 422, "invalid_request",
     "filters: date_to '2008-13-45' is not a date"),
    ({"question": "x", "history": [{"role": "system", "content": "x"}]}, 422,
     "invalid_request", "history.0.role"),
    ({"question": "why " * 100}, 413, "question_too_long", "the limit is 300"),
])
def test_bad_questions_get_json_errors(http: httpx.Client, body: dict[str, Any], status: int,
                                       code: str, says: str) -> None:
    response = http.post("/api/v1/ask", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["error"] == code and says in data["message"], data
    assert set(data) == {"error", "message"}


def test_oversized_bodies_get_413_declared_or_streamed(http: httpx.Client) -> None:
    big = b'{"question": "' + b"x" * 30_000 + b'"}'
    response = http.post("/api/v1/ask", content=big,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "QA_MAX_REQUEST_BYTES" in response.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server has to count
        for _ in range(30):
            yield b" " * 1000

    response = http.post("/api/v1/ask", content=chunks(),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_unknown_paths_and_methods_are_json(http: httpx.Client) -> None:
    assert http.get("/api/v1/nothing").json()["error"] == "not_found"
    assert http.get("/api/v1/ask").json()["error"] == "method_not_allowed"


def test_a_missing_index_is_503_naming_the_command(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "nowhere")
    client = api_client(settings, AnswererHolder(settings))
    for response in (client.post("/api/v1/ask", json={"question": "Anything?"}),
                     client.get("/api/v1/documents")):
        assert response.status_code == 503
        assert response.json()["error"] == "index_missing"
        assert "run `qa index`" in response.json()["message"]
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.json()["index_loaded"] is False and "qa index" in health.json()["message"]


def test_unexpected_errors_never_leak_details(tmp_path: Path) -> None:
    def broken(_s: Settings) -> Answerer:
        raise RuntimeError("secret internal detail at /srv/private")

    settings = Settings(index_dir=tmp_path)
    client = api_client(settings, AnswererHolder(settings, loader=broken),
                        raise_server_exceptions=False)
    response = client.post("/api/v1/ask", json={"question": "Anything?"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "message": (
        "Something went wrong answering this; the server log has the details.")}


# CORS and headers ---------------------------------------------------------------------------


def _cors(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_an_origin_not_allowed_gets_no_cors_headers(http: httpx.Client) -> None:
    # Gradio's own CORS handling would echo any Origin when the Host is not localhost.
    for host in ("127.0.0.1", "qa.example.org"):
        headers = {"Origin": EVIL, "Host": host}
        for path in ("/", "/config", "/gradio_api/info", "/api/v1/health", "/widget.js"):
            assert _cors(http.get(path, headers=headers)) == {}, path
        response = http.post("/api/v1/ask", json={"question": QUESTIONS[0][0]}, headers=headers)
        assert response.status_code == 200 and _cors(response) == {}
        preflight = http.options("/api/v1/ask", headers={
            **headers, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert "access-control-allow-origin" not in preflight.headers
        gradio_preflight = http.options("/gradio_api/queue/join", headers={
            **headers, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in gradio_preflight.headers


def test_the_allowed_origin_may_call_the_api(http: httpx.Client) -> None:
    preflight = http.options("/api/v1/ask", headers={
        "Origin": ALLOWED, "Host": "qa.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in preflight.headers
    response = http.post("/api/v1/ask", json={"question": QUESTIONS[3][0]},
                         headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.json()["citations"][0]["title"] == "Ferry log"


def test_security_headers_everywhere(http: httpx.Client) -> None:
    for path in ("/", "/api/v1/health", "/widget.js", "/embed", "/api/v1/nothing"):
        response = http.get(path)
        assert "frame-ancestors 'self'" in response.headers.get_list("content-security-policy")
        assert response.headers["x-content-type-options"] == "nosniff"
    widget = http.get("/widget.js")
    assert widget.headers["content-type"].startswith("text/javascript")
    embed = http.get("/embed")
    assert any("script-src 'self'" in csp
               for csp in embed.headers.get_list("content-security-policy"))


def test_embed_page_shows_the_snippets(site: dict[str, Any], http: httpx.Client) -> None:
    page = http.get("/embed").text
    assert f'&lt;script src="{site["url"]}/widget.js" defer&gt;&lt;/script&gt;' in page
    assert f'&lt;iframe src="{site["url"]}/"' in page
    assert f'<script src="{site["url"]}/widget.js" defer></script>' in page
    assert "<qa-chat" in page
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith(site["url"] + "/") for link in links), links


def test_widget_script_inserts_no_html_and_loads_nothing_else() -> None:
    source = WIDGET_JS.read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("/*", "*", "//")))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "srcdoc", "http://", "https://", "import(", "<script"):
        assert sink not in code, sink


# gradio_client and concurrency --------------------------------------------------------------


def test_gradio_client_gets_clean_text_and_a_structured_answer(site: dict[str, Any]) -> None:
    # Defect 5: gradio_client's /ask returned the chat's escaped Markdown.
    from gradio_client import Client

    client = Client(site["url"] + "/", verbose=False)
    try:
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        text = client.predict(QUESTIONS[2][0], api_name="/ask")
        data = client.predict(QUESTIONS[2][0], "", "", "", api_name="/answer")
        filtered = client.predict(QUESTIONS[0][0], "", "2020", "2020", api_name="/ask")
    finally:
        client.close()
    assert set(endpoints) == {"/ask", "/answer"}
    assert text == ("Giraffes in Tanzania eat acacia leaves all day. [1]\n\n"
                    "[1] Giraffe notes (no date), giraffe.md")
    assert data["answer"] == "Giraffes in Tanzania eat acacia leaves all day. [1]"
    assert data["citations"][0]["source"] == "giraffe.md" and data["abstained"] is False
    assert filtered.startswith("Zebras arrived from Kenya by plane. [1]")


def test_concurrent_requests_each_get_their_own_answer(http: httpx.Client) -> None:
    jobs = QUESTIONS * 6

    def ask(question: str) -> str:
        data = http.post("/api/v1/ask", json={"question": question}).json()
        return str(data["citations"][0]["title"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        titles = list(pool.map(ask, [q for q, _ in jobs]))
    assert titles == [title for _, title in jobs]


# Changing the index over HTTP ---------------------------------------------------------------


def test_index_changes_are_off_without_a_token_and_say_how_to_turn_them_on(
        http: httpx.Client) -> None:
    # Defect 9: without the admin token the routes were absent and a POST got a bare 405.
    files = {"file": ("notes.txt", b"Zebra facts.")}
    for response in (http.post("/api/v1/documents", files=files),
                     http.post("/api/v1/reindex"), http.delete("/api/v1/documents/abc"),
                     http.post("/api/v1/reindex", headers={"Authorization": "Bearer guess"})):
        assert response.status_code == 403
        assert response.json()["error"] == "changes_off"
        assert "QA_ADMIN_TOKEN" in response.json()["message"]


@pytest.fixture
def admin(tmp_path: Path, fake: FakeEmbedder) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp_path / "uploads",
                        max_upload_bytes=2_000)
    build_index(tmp_path / "docs", settings, fake, {"zoo.txt": DOCS["zoo.txt"]})
    backend, _ = fake_backend(settings, fake)
    client = api_client(settings, backend)
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    yield client, settings
    backend.answerer().retriever.store.close()


def _ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_index_changes_need_the_token(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    files = {"file": ("notes.txt", b"Zebra facts.")}
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"},
                    {"Authorization": f"Basic {TOKEN}"}):
        for response in (client.post("/api/v1/documents", files=files, headers=headers),
                         client.post("/api/v1/reindex", headers=headers),
                         client.delete("/api/v1/documents/x", headers=headers)):
            assert response.status_code == 401
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
    assert not settings.uploads_dir.exists()


def test_upload_stores_under_a_generated_name_and_indexes_it(
        admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    assert _ask(client, "Where do the giraffes live?")["abstained"]
    for name in ("../../../etc/giraffes.md", "C:\\Windows\\giraffes.md", "/abs/giraffes.md"):
        response = client.post("/api/v1/documents", files={
            "file": (name, b"# Giraffe notes\n\nGiraffes live in Tanzania.")})
        assert response.status_code == 201, response.text
        stored = response.json()["stored_as"]
        assert stored.startswith("giraffes-") and stored.endswith(".md") and "/" not in stored
    files = sorted(p.name for p in settings.uploads_dir.iterdir())
    assert len(files) == 3 and all(f.startswith("giraffes-") for f in files)
    assert response.json()["index"]["documents"] == 4
    data = _ask(client, "Where do the giraffes live?")
    assert data["citations"][0]["title"] == "Giraffe notes"
    assert re.fullmatch(r"uploads/giraffes-[0-9a-f]{8}\.md", data["citations"][0]["source"])
    listed = client.get("/api/v1/documents").json()
    assert listed["can_change"] is True
    assert sorted(d["uploaded"] for d in listed["documents"]) == [False, True, True, True]


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("tool.exe", b"MZ", 415, "unsupported_type"),
    ("README", b"text", 415, "unsupported_type"),
    ("big.txt", b"word " * 500, 413, "too_large"),
    ("empty.txt", b"   \n", 422, "unreadable_document"),
])
def test_bad_uploads_are_refused_and_leave_nothing(
        admin: tuple[TestClient, Settings], name: str, content: bytes, status: int,
        code: str) -> None:
    client, settings = admin
    response = client.post("/api/v1/documents", files={"file": (name, content)})
    assert response.status_code == status
    assert response.json()["error"] == code
    assert not any(settings.uploads_dir.glob("*")) if settings.uploads_dir.exists() else True
    assert client.get("/api/v1/health").json()["documents"] == 1


def test_delete_removes_only_uploaded_documents(admin: tuple[TestClient, Settings]) -> None:
    client, settings = admin
    uploaded = client.post("/api/v1/documents", files={
        "file": ("ferry.txt", DOCS["ferry.txt"].encode())}).json()
    zoo = next(d for d in client.get("/api/v1/documents").json()["documents"]
               if d["title"] == "Zoo news")
    response = client.delete(f"/api/v1/documents/{zoo['doc_id']}")
    assert response.status_code == 403 and "qa index --prune" in response.json()["message"]
    assert client.delete("/api/v1/documents/0123456789abcdef").status_code == 404
    response = client.delete(f"/api/v1/documents/{uploaded['doc_id']}")
    assert response.status_code == 200 and response.json()["removed"] == 1
    assert list(settings.uploads_dir.iterdir()) == []
    assert _ask(client, "Which river did the ferry cross?")["abstained"]
    assert _ask(client, QUESTIONS[0][0])["citations"][0]["title"] == "Zoo news"


def test_reindex_picks_up_changed_files(admin: tuple[TestClient, Settings],
                                        tmp_path: Path) -> None:
    client, _ = admin
    write(tmp_path / "docs" / "zoo.txt", "Zoo news\n\nZebras arrived from Peru by boat.")
    assert "Kenya" in _ask(client, "Where did the zebras arrive from?")["answer"]
    response = client.post("/api/v1/reindex")
    assert response.status_code == 200 and response.json()["changed"] == 1
    assert "Peru" in _ask(client, "Where did the zebras arrive from?")["answer"]


def test_the_first_upload_creates_the_index(tmp_path: Path, registered_fake: FakeEmbedder) -> None:
    fake = registered_fake
    settings = Settings(index_dir=tmp_path / "index", model=fake.name, abstain_threshold=0.1,
                        admin_token=TOKEN, uploads_dir=tmp_path / "uploads")
    backend, _ = fake_backend(settings, fake)
    # With no index yet there is no loaded model to share, so the indexer loads the
    # configured one: the fake, registered under its name.
    client = api_client(settings, backend, headers={"Authorization": f"Bearer {TOKEN}"})
    assert client.post("/api/v1/ask", json={"question": "Ferry?"}).status_code == 503
    response = client.post("/api/v1/documents",
                           files={"file": ("ferry.txt", DOCS["ferry.txt"].encode())})
    assert response.status_code == 201 and response.json()["index"]["documents"] == 1
    assert _ask(client, QUESTIONS[3][0])["citations"][0]["title"] == "Ferry log"
    backend.answerer().retriever.store.close()
