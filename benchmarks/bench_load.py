"""Load on a real server: 50 concurrent clients asking unique questions, then the same while the
index is swapped under them. Prints p50/p95/max latency and errors; asserts nothing.

    .venv/bin/python benchmarks/bench_load.py [--clients 50] [--per-client 3] [--docs 200]

`qa serve` runs in its own process on 127.0.0.1 (the real bundled model, a throw-away index of
the first N scifact abstracts from ../shared/datasets when present, else the seeds). Each
client is a thread with its own keep-alive connection asking its own questions (scifact
claims, or made-up ones). Three rounds: cold caches, steady, and steady while a thread appends
a document to the corpus and calls `POST /api/v1/reindex` (admin token) every `--swap-every`
seconds, so generations are written and swapped in while the questions run. Everything is
bounded: a fixed number of requests, each with a timeout, and the whole run with `--deadline`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


@dataclass
class Round:
    """What one round measured."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    swaps: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def report(self) -> str:
        done = sorted(self.latencies)
        if not done:
            return f"{self.name}: no request succeeded; errors {len(self.errors)}"
        q = statistics.quantiles(done, n=100) if len(done) > 1 else [done[0]] * 99
        swaps = (f"; {len(self.swaps)} index swaps, each {statistics.median(self.swaps):.2f} s "
                 "(median, reindex + reload)" if self.swaps else "")
        kinds = sorted(set(self.errors))[:3]
        return (f"{self.name}: {len(done) + len(self.errors)} requests in {self.seconds:.1f} s "
                f"({len(done) / self.seconds:.1f}/s); latency p50 {q[49]:.2f} s, p95 {q[94]:.2f} "
                f"s, max {done[-1]:.2f} s; errors {len(self.errors)}"
                f"{' ' + str(kinds) if kinds else ''}{swaps}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=3)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--swap-every", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the run")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, questions = _corpus(Path(tmp), args.docs, args.clients * args.per_client * 3)
        token = secrets.token_urlsafe(24)
        env = dict(os.environ, QA_INDEX_DIR=str(Path(tmp) / "index"), QA_ADMIN_TOKEN=token,
                   QA_UPLOADS_DIR=str(Path(tmp) / "uploads"))
        qa = [sys.executable, "-m", "qa.cli"]
        subprocess.run([*qa, "index", str(corpus), "--quiet"], env=env, check=True)
        port = _free_port()
        server = subprocess.Popen([*qa, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, server)
            # Not counted: the first answers load the model's weights into the caches.
            _client(url, [f"Warm-up question {i}?" for i in range(3)], args.timeout,
                    time.monotonic() + args.timeout, Round("warm-up"))
            print(f"{args.clients} clients x {args.per_client} unique questions, corpus "
                  f"{corpus.name}, server pid {server.pid}", flush=True)
            # Questions alternate between the rounds, so each gets the same mix. The first
            # round fills the server's caches (sentence vectors of popular passages), so the
            # second is the steady state the third is compared with.
            for name, batch, swap in (("cold caches", questions[0::3], False),
                                      ("steady", questions[1::3], False),
                                      ("during index swaps", questions[2::3], True)):
                left = args.deadline - (time.monotonic() - began)
                result = _round(name, url, batch, args, token if swap else None, corpus, left)
                print(result.report(), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _corpus(tmp: Path, docs: int, count: int) -> tuple[Path, list[str]]:
    """The corpus file and `count` unique questions."""
    corpus = tmp / "docs" / "corpus.jsonl"
    corpus.parent.mkdir()
    if SCIFACT.exists():
        lines = (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:docs]
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        claims = [json.loads(q)["text"] for q in
                  (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    else:
        seed = (ROOT / "seeds").glob("*.txt")
        corpus.write_text("".join(json.dumps({"_id": p.stem, "text": p.read_text()}) + "\n"
                                  for p in seed), encoding="utf-8")
        claims = []
    made_up = [f"What did the study number {i} find about the missile talks?" for i in range(count)]
    questions = list(dict.fromkeys(claims + made_up))[:count]
    return corpus, questions


def _round(name: str, url: str, questions: list[str], args: argparse.Namespace,
           token: str | None, corpus: Path, seconds_left: float) -> Round:
    result = Round(name)
    stop = threading.Event()
    swapper = threading.Thread(target=_swap, args=(url, token, corpus, args.swap_every, stop,
                                                   result), daemon=True) if token else None
    chunks = [questions[i :: args.clients] for i in range(args.clients)]
    began = time.monotonic()
    if swapper:
        swapper.start()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        for future in [pool.submit(_client, url, chunk[: args.per_client], args.timeout,
                                   began + seconds_left, result) for chunk in chunks]:
            future.result()
    result.seconds = time.monotonic() - began
    stop.set()
    if swapper:
        swapper.join(timeout=args.timeout)
    return result


def _client(url: str, questions: list[str], timeout: float, deadline: float,
            result: Round) -> None:
    with httpx.Client(base_url=url, timeout=timeout) as http:
        for question in questions:
            if time.monotonic() > deadline:
                result.errors.append("deadline")
                continue
            began = time.monotonic()
            try:
                response = http.post("/api/v1/ask", json={"question": question[:2000]})
                ok = response.status_code == 200 and response.json()["question"]
                if ok:
                    result.latencies.append(time.monotonic() - began)
                else:
                    result.errors.append(f"HTTP {response.status_code}")
            except (httpx.HTTPError, ValueError, KeyError) as err:
                result.errors.append(type(err).__name__)


def _swap(url: str, token: str | None, corpus: Path, every: float, stop: threading.Event,
          result: Round) -> None:
    """Add a document and reindex, again and again, until told to stop."""
    number = 0
    with httpx.Client(base_url=url, timeout=300,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        while not stop.wait(every):
            number += 1
            with corpus.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"_id": f"swap-{number}", "title": f"Update {number}",
                                      "text": f"Bulletin {number}: the ferry left at dawn."}))
                out.write("\n")
            began = time.monotonic()
            response = http.post("/api/v1/reindex")
            if response.status_code == 200:
                result.swaps.append(time.monotonic() - began)
            else:
                result.errors.append(f"reindex HTTP {response.status_code}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped while starting")
        try:
            if httpx.get(url + "/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not start within 180 s")


if __name__ == "__main__":
    main()
