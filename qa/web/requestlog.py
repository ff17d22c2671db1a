"""One log line per HTTP request: when, which route, the status, how long it took.

    2025-11-27 06:10:03  POST /api/v1/ask  200  41 ms

The path is logged without its query string, and no body: what visitors ask stays out of the
log unless `settings.log_questions` is on (then the chat and the API log each question
themselves). `qa serve` prints these lines to the terminal; a library user gets them through
the `qa.requests` logger.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qa.requests")


class RequestLog:
    """ASGI middleware writing one line per request to the `qa.requests` logger."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            log.info("%s  %s %s  %d  %.0f ms", time.strftime("%Y-%m-%d %H:%M:%S"),
                     scope.get("method", "-"), scope.get("path", "-"), status,
                     1000 * (time.perf_counter() - began))
