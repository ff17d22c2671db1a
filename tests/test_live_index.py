"""`qa serve` and `qa index` as a user runs them, in separate processes (with the fake model):
the server says what it does, logs one line per request, and answers from documents indexed
beside it within seconds, every request during the swap answered."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write
from test_api import DOCS, free_port

LAUNCHER = Path(__file__).with_name("fake_qa.py")
ZOO_Q = "Where did the zebras arrive from?"
FERRY_Q = "Which river did the ferry cross?"


class Output:
    """The lines a process prints, read in a thread so a test can wait for one."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        """The first line matching `pattern`, among those read already or still to come (the
        model and the page load side by side, so their lines come in either order)."""
        seen = next((line for line in self.lines if re.search(pattern, line)), None)
        if seen is not None:
            return seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    docs = tmp_path / "docs"
    for name in ("zoo.txt", "tax.txt"):
        write(docs / name, DOCS[name])
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "index"), "QA_MODEL": "fake-bow",
           "QA_ABSTAIN_THRESHOLD": "0.1", "QA_RELOAD_CHECK_SECONDS": "1"}
    env.pop("QA_ADMIN_TOKEN", None)
    subprocess.run([sys.executable, str(LAUNCHER), "index", str(docs), "--quiet"], env=env,
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = Output(proc.stdout)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # up when it answers, whatever it printed
            try:
                if httpx.get(url + "/api/v1/health", timeout=5).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the server stopped"
            time.sleep(0.2)
        out.wait_for(r"^Ready to answer", timeout=60)  # the model and the entity recogniser
        yield {"url": url, "out": out, "env": env, "docs": docs, "port": port}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_says_what_it_does_and_logs_each_request(served: dict[str, Any]) -> None:
    # Defect 9: one line while serving: no counts, no addresses, no request log.
    out, port = served["out"], served["port"]
    base = f"http://127.0.0.1:{port}"
    out.wait_for(r"^Ready to answer", timeout=10)
    out.wait_for(r"^The chat page is up", timeout=90)
    assert out.lines[0].startswith("Loading the model (fake-bow) and the index at ")
    assert "Ready to answer: 2 documents, 2 passages" in "\n".join(out.lines)
    assert f"  Chat       {base}/" in out.lines
    assert any(re.fullmatch(rf"  Documents  {base}/documents#token=[\w-]{{20,}}  \(this link "
                            r"can add and delete documents\)", line) for line in out.lines)
    assert f"  Embed      {base}/embed" in out.lines
    assert f"  API docs   {base}/api/v1/docs" in out.lines
    assert any(re.match(r"The API is up \(\d+\.\d s\); the chat page follows in a few "
                        r"seconds, answers when the model is loaded\. Requests are logged below",
                        line) for line in out.lines)
    assert any(re.fullmatch(r"The chat page is up \(\d+\.\d s\)\.", line) for line in out.lines)
    with httpx.Client(base_url=served["url"], timeout=30) as http:
        http.post("/api/v1/ask", json={"question": ZOO_Q + " secret-word"}).raise_for_status()
        http.get("/api/v1/documents", params={"q": "private-search"}).raise_for_status()
    ask = out.wait_for(r"POST /api/v1/ask")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  POST /api/v1/ask  200  \d+ ms", ask)
    assert re.fullmatch(r".*  GET /api/v1/documents  200  \d+ ms",
                        out.wait_for(r"GET /api/v1/documents"))
    assert not any("secret-word" in line or "private-search" in line for line in out.lines)


def test_a_document_indexed_while_serving_is_answered_within_seconds(
        served: dict[str, Any]) -> None:
    # Defect 1: `qa index` beside a running server changed nothing until a restart.
    stop = threading.Event()
    answered: list[tuple[int, str]] = []

    def keep_asking() -> None:
        with httpx.Client(base_url=served["url"], timeout=30) as http:
            for _ in range(200):  # bounded; stops as soon as the swap has been checked
                if stop.is_set():
                    return
                response = http.post("/api/v1/ask", json={"question": ZOO_Q})
                title = response.json()["citations"][0]["title"] if response.is_success else ""
                answered.append((response.status_code, title))

    with ThreadPoolExecutor(max_workers=4) as pool:
        askers = [pool.submit(keep_asking) for _ in range(4)]
        time.sleep(0.5)
        write(served["docs"] / "ferry.txt", DOCS["ferry.txt"])
        subprocess.run([sys.executable, str(LAUNCHER), "index", str(served["docs"]), "--quiet"],
                       env=served["env"], check=True, capture_output=True, timeout=120)
        indexed = time.monotonic()
        seen = None
        with httpx.Client(base_url=served["url"], timeout=30) as http:
            while time.monotonic() - indexed < 10:
                data = http.post("/api/v1/ask", json={"question": FERRY_Q}).json()
                if not data["abstained"] and data["citations"][0]["title"] == "Ferry log":
                    seen = time.monotonic() - indexed
                    break
                time.sleep(0.2)
            health = http.get("/api/v1/health").json()
        time.sleep(0.5)  # a few more requests after the swap
        stop.set()
        for asker in askers:
            asker.result(timeout=60)
    assert seen is not None, "the new document was not answered within 10 s"
    print(f"the new document was answered {seen:.1f} s after `qa index` returned")
    assert health["documents"] == 3
    assert len(answered) >= 8
    assert set(answered) == {(200, "Zoo news")}, "every request during the swap answered"
    assert "now answering from index generation 2" in "\n".join(served["out"].lines) or \
        served["out"].wait_for(r"now answering from index generation 2", timeout=5)


@pytest.mark.browser
def test_the_chat_page_served_after_the_start_answers(served: dict[str, Any]) -> None:
    """`/` first says the chat is starting, then the Gradio chat takes over (its queue started
    by `Switchable`), and a question typed in it is answered."""
    from test_browser import CHROMIUM, chromium, new_page
    from test_chat_browser import ask, chat

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    served["out"].wait_for(r"^The chat page is up", timeout=90)
    with chromium() as browser:
        page = new_page(browser)
        try:
            chat(page, served["url"])
            reply = ask(page, ZOO_Q)
            assert "Kenya" in reply.inner_text()
        finally:
            page.context.close()
