"""How long `qa serve` and `qa ask` take from a cold process, once installed and indexed.

Starts `qa serve` on the seed article's index (built first if missing, with the real model) on
a free 127.0.0.1 port, and times, from the start of the process: /api/v1/health answering, the
"Ready to answer" line it prints (model and index loaded), the first answer to a question, and
the chat page (served once Gradio is built). Then times a cold `qa ask` (a new process
answering one question, start to exit). Repeats a few times, alternating the two, and prints
each run, the medians and the load average (figures taken at a load above the core count are
inflated). Run from the repository root:

    .venv/bin/python benchmarks/bench_serve.py [--runs 3] [--index DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).with_name("qa"))
QUESTION = b'{"question": "Where does the US want to put its missile defence system?"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, data: bytes | None = None) -> bool:
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def one_run(index: Path, env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    proc = subprocess.Popen([QA, "serve", "--index", str(index), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    times: dict[str, float] = {}

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Ready to answer"):
                times["ready to answer (printed)"] = time.monotonic() - began

    threading.Thread(target=watch, daemon=True).start()
    try:
        while time.monotonic() - began < 180:
            if get(base + "/api/v1/health"):
                times["health answers"] = time.monotonic() - began
                break
            time.sleep(0.05)
        if get(base + "/api/v1/ask", QUESTION):
            times["first answer"] = time.monotonic() - began
        while time.monotonic() - began < 180:  # `/` says "starting" (503) until it is built
            if get(base + "/"):
                times["chat page up"] = time.monotonic() - began
                break
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return times


def cold_ask(index: Path, env: dict[str, str]) -> dict[str, float]:
    """A new `qa ask` process answering one question, from start to exit."""
    began = time.monotonic()
    subprocess.run([QA, "ask", "--index", str(index),
                    "Where does the US want to put its missile defence system?"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return {"cold qa ask": time.monotonic() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    if not (args.index / "manifest.json").exists():
        subprocess.run([QA, "index", str(ROOT / "seeds"), "--index", str(args.index),
                        "--quiet"], check=True, env=env)
    print(f"load average before: {load()}")
    runs = [one_run(args.index, env) | cold_ask(args.index, env) for _ in range(args.runs)]
    for i, times in enumerate(runs, 1):
        print(f"run {i}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    for key in ("health answers", "ready to answer (printed)", "first answer", "chat page up",
                "cold qa ask"):
        values = [r[key] for r in runs if key in r]
        if values:
            print(f"median {key}: {statistics.median(values):.2f} s over {len(values)} runs")
    print(f"load average after: {load()} ({os.cpu_count()} cores)")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
