"""`qa serve` answers the API before the chat page is built: the app it starts with, and the
switch to the full app (whose lifespan `Switchable` runs itself)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from conftest import FakeEmbedder, write
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from qa.config import Settings
from qa.web.startup import Switchable


def app_saying(text: str, events: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        events.append(f"{text} started")
        yield
        events.append(f"{text} stopped")

    async def page(_request: Any) -> PlainTextResponse:
        return PlainTextResponse(text)

    return Starlette(routes=[Route("/", page)], lifespan=lifespan)


def test_switch_starts_the_new_app_then_sends_it_every_request() -> None:
    events: list[str] = []

    async def scenario() -> None:
        app = Switchable(app_saying("first", events))
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: list[str] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        server = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                           inbox.get, send))
        await inbox.put({"type": "lifespan.startup"})
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        while "lifespan.startup.complete" not in sent:
            await asyncio.sleep(0.01)
        assert (await client.get("/")).text == "first"
        # From another thread, as `qa serve`'s chat builder does.
        await asyncio.get_running_loop().run_in_executor(
            None, app.switch, app_saying("second", events))
        assert events == ["first started", "second started"]
        assert (await client.get("/")).text == "second"
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(server, 10)
        assert sent[-1] == "lifespan.shutdown.complete"
        await client.aclose()

    asyncio.run(scenario())
    assert events == ["first started", "second started", "second stopped", "first stopped"]


def test_the_app_without_the_chat_answers_the_api_and_says_the_chat_is_starting(
        registered_fake: FakeEmbedder, tmp_path: Any) -> None:
    from qa.index.builder import index_paths
    from qa.web.server import create_app

    settings = Settings(index_dir=tmp_path / "index", model=registered_fake.name)
    index_paths([write(tmp_path / "zoo.txt", "Zoo news\n\nZebras arrived from Kenya.")],
                settings)
    app = create_app(settings, chat=False)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1") as client:
            health = await client.get("/api/v1/health")
            assert health.status_code == 200, health.text
            answer = await client.post("/api/v1/ask", json={"question": "Where are zebras from?"})
            assert answer.status_code == 200 and "Kenya" in answer.text
            page = await client.get("/")
            assert page.status_code == 503 and page.headers["retry-after"] == "1"
            assert "The chat is starting" in page.text
            assert '<meta http-equiv="refresh"' in page.text

    asyncio.run(scenario())
