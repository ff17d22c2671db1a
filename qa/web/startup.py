"""What `qa serve` says while it starts and runs, and the model loaded beside the page.

    Loading the model (sentence-transformers/all-MiniLM-L6-v2) and the index at index/ …
      Chat       http://127.0.0.1:7860/
      Documents  http://127.0.0.1:7860/documents#token=…  (this link can add and delete …)
      Embed      http://127.0.0.1:7860/embed
      API docs   http://127.0.0.1:7860/api/v1/docs
    The chat page is up (6.1 s); answers start when the model is loaded.
    Ready to answer: 1 document, 2 passages (9.8 s after start).
    2025-11-27 06:10:03  POST /api/v1/ask  200  41 ms

Importing the model's libraries is most of a start; the page's are the rest. So the model and
the index load in a thread while the chat page is built and served: the page is up sooner, and
a question asked before the model is ready waits for it rather than failing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TextIO

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import QAError
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
        self.say(f"The chat page is up ({self.seconds():.1f} s); answers start when the model is "
                 "loaded. Requests are logged below (time, route, status, duration). Ctrl+C "
                 "stops the server.")

    def seconds(self) -> float:
        return time.perf_counter() - self.began

    def _load(self) -> None:
        try:
            with self.holder.lease() as answerer:
                counts = answerer.retriever.store.manifest.counts
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
