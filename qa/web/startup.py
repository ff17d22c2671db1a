"""What `qa serve` says while it starts and runs, the model loaded beside the page, and the
app that serves the API before the chat page is built.

    Loading the model (sentence-transformers/all-MiniLM-L6-v2) and the index at index/ …
      Chat       http://127.0.0.1:7860/
      Documents  http://127.0.0.1:7860/documents#token=…  (this link can add and delete …)
      Embed      http://127.0.0.1:7860/embed
      API docs   http://127.0.0.1:7860/api/v1/docs
    The API is up (0.6 s); the chat page follows in a few seconds. Requests are logged …
    Ready to answer: 1 document, 2 passages (2.1 s after start).
    The chat page is up (4.8 s).
    2025-11-27 06:10:03  POST /api/v1/ask  200  41 ms

Three things take the time of a start, and they run side by side: the model and the index
load in one thread (a question asked before waits for them rather than failing), the chat page
is built in another (importing Gradio alone takes seconds), and meanwhile the server already
listens, with the API, the Documents view and the widget, and a `/` that says the chat is
starting. When the chat page is built, `Switchable` starts it and hands it every request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import QAError
from ..index.analysis import TextAnalyzer
from .access import session_token

log = logging.getLogger(__name__)


class Startup:
    """One run of `qa serve`: its settings (with a session token when one is made), the shared
    holder, and what it prints."""

    def __init__(self, settings: Settings, out: TextIO) -> None:
        self.began = time.perf_counter()
        self.out = out
        self.settings = session_token(settings)
        self.session = self.settings.admin_token != settings.admin_token
        log_to(out)
        self.say(f"Loading the model ({settings.model}) and the index at "
                 f"{settings.index_dir}/ …")
        self.holder = AnswererHolder(self.settings)
        TextAnalyzer.import_word_rarity()
        threading.Thread(target=self._load, name="qa-load", daemon=True).start()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def serving(self) -> None:
        """The addresses, once the app is built (the server starts listening next)."""
        base = f"http://{self.settings.host}:{self.settings.port}"
        documents = f"{base}/documents"
        if self.session:
            documents += (f"#token={self.settings.admin_token}  (this link can add and delete "
                          "documents)")
        for line in (f"  Chat       {base}/", f"  Documents  {documents}",
                     f"  Embed      {base}/embed", f"  API docs   {base}/api/v1/docs"):
            self.say(line)
        self.say(f"The API is up ({self.seconds():.1f} s); the chat page follows in a few "
                 "seconds, answers when the model is loaded. Requests are logged below (time, "
                 "route, status, duration). Ctrl+C stops the server.")

    def chat_up(self) -> None:
        self.say(f"The chat page is up ({self.seconds():.1f} s).")

    def seconds(self) -> float:
        return time.perf_counter() - self.began

    def _load(self) -> None:
        try:
            with self.holder.lease() as answerer:
                counts = answerer.retriever.store.manifest.counts
                answerer.retriever.store.analyzer.background_rarity("the")  # its word list
            # The entity recogniser ("who", "when" questions) loads here too, not on the first
            # such question.
            from ..index.entities import pipeline

            pipeline()
        except QAError as err:
            self.say(f"No index to answer from yet ({err}); the chat answers once it exists.")
            return
        except Exception:  # the server keeps running; each request will say what is wrong
            log.exception("loading the model failed")
            return
        documents, passages = counts["documents"], counts["passages"]
        self.say(f"Ready to answer: {documents:,} document{'s' * (documents != 1)}, "
                 f"{passages:,} passage{'s' * (passages != 1)} ({self.seconds():.1f} s after "
                 "start).")


def log_to(out: TextIO) -> None:
    """Send the `qa` loggers (request lines, index swaps, errors) to `out`, one line each."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("qa")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


#: An ASGI application: `await app(scope, receive, send)`.
App = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
                Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]


class Switchable:
    """An ASGI app that hands every request to the app it holds, which `switch` replaces
    (from any thread) once the new one has started.

    The server (uvicorn) runs the lifespan of this app only, once: so `Switchable` runs the
    lifespan of each app it holds itself, by the ASGI protocol, starting the new one before
    the first request reaches it and stopping all of them when the server stops.
    """

    def __init__(self, first: App) -> None:
        self.current = first
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stops: list[Callable[[], Awaitable[None]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "lifespan":
            await self.current(scope, receive, send)
            return
        await receive()  # lifespan.startup
        self._loop = asyncio.get_running_loop()
        try:
            await self._start(self.current)
        except Exception as err:
            await send({"type": "lifespan.startup.failed", "message": str(err)})
            return
        self._started.set()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        for stop in reversed(self._stops):
            await stop()
        await send({"type": "lifespan.shutdown.complete"})

    def switch(self, app: App, *, timeout: float = 120.0) -> None:
        """Start `app` on the server's event loop, then send it every new request. Called
        from another thread, once the server runs (it waits for that)."""
        if not self._started.wait(timeout) or self._loop is None:
            raise RuntimeError("the server did not start")
        asyncio.run_coroutine_threadsafe(self._start(app), self._loop).result(timeout)
        self.current = app

    async def _start(self, app: App) -> None:
        """Run `app`'s lifespan up to its startup, keeping the way to shut it down."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started: asyncio.Future[None] = loop.create_future()
        stopped: asyncio.Future[None] = loop.create_future()

        async def send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.complete":
                started.set_result(None)
            elif kind == "lifespan.startup.failed":
                started.set_exception(RuntimeError(message.get("message", "startup failed")))
            elif kind.startswith("lifespan.shutdown") and not stopped.done():
                stopped.set_result(None)

        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": {}}
        await inbox.put({"type": "lifespan.startup"})
        task: asyncio.Future[None] = asyncio.ensure_future(app(scope, inbox.get, send))
        task.add_done_callback(lambda _t: None if started.done() else started.set_exception(
            RuntimeError("the app ended its lifespan before starting")))
        await started

        async def stop() -> None:
            await inbox.put({"type": "lifespan.shutdown"})
            done, _ = await asyncio.wait({task, stopped}, timeout=10)
            if not done:
                task.cancel()

        self._stops.append(stop)
