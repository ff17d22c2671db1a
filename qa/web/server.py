"""One HTTP server: the Gradio chat at `/`, the REST API at `/api/v1`, the widget at `/widget.js`,
the Documents view at `/documents`.

It binds 127.0.0.1 unless told otherwise, and turns off everything that would call out or
expose more than asked: analytics, share links, monitoring, run history, MCP, and Gradio's own
file upload route (the chat takes no files; documents are uploaded through the API, with the
admin token). Browsers from other sites get CORS headers only when their origin is configured
(none by default), pages may frame the chat only from the configured ancestors ('self' by
default), request bodies are capped, and only requests naming this server in their `Host`
header are answered: a page on another site whose name an attacker points at 127.0.0.1 (DNS
rebinding) gets 400, not the documents.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING, Any, TextIO

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import ConfigError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
#: Bytes a multipart upload may carry beyond the file itself (boundaries, part headers).
_MULTIPART_OVERHEAD = 64 * 1024
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_CSP_SOURCE = re.compile(r"^('self'|'none'|[A-Za-z][A-Za-z0-9+.\-]*:(//[^\s;,'\"]+)?|"
                         r"[^\s;,'\":]+(:\d+)?)$")
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_])?$|^\[[0-9A-Fa-f:.]+\]$")
#: Names that reach this machine only from itself.
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: Addresses that mean "every interface".
_ANY_ADDRESS = ("0.0.0.0", "::", "")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Gradio's own routes that take files; the chat has no file input, so they are turned off.
GRADIO_UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/gradio_api/upload_progress"})
_EMBED_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
              "img-src 'self'; base-uri 'none'; form-action 'none'")


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list (blank items dropped).

    Example:
        >>> split_list(" https://a.org, ,https://b.org ")
        ['https://a.org', 'https://b.org']
    """
    return [item.strip() for item in value.split(",") if item.strip()]


def cors_origins(settings: Settings) -> list[str]:
    """The origins allowed to call the server from a browser.

    Raises:
        ConfigError: an item is not an origin like `https://example.org:8443` (`*` included:
            trusting every site is not offered).
    """
    origins = [o.rstrip("/") for o in split_list(settings.cors_origins)]
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"QA_CORS_ORIGINS: {origin!r} is not an origin like "
                              "https://example.org or http://127.0.0.1:8000")
    return origins


def frame_ancestors(settings: Settings) -> str:
    """The `frame-ancestors` directive for the configured sources.

    Raises:
        ConfigError: an item is not a CSP source such as 'self', 'none' or https://example.org.
    """
    sources = split_list(settings.frame_ancestors) or ["'none'"]
    for source in sources:
        if not _CSP_SOURCE.match(source):
            raise ConfigError(f"QA_FRAME_ANCESTORS: {source!r} is not a CSP source such as "
                              "'self', 'none' or https://example.org")
    return "frame-ancestors " + " ".join(sources)


def allowed_hosts(settings: Settings) -> list[str]:
    """The `Host` header values the server answers: its bind address, the loopback names
    when it binds loopback or every interface, this machine's names and addresses when it
    binds every interface, and `allowed_hosts`.

    Raises:
        ConfigError: an item of QA_ALLOWED_HOSTS is not a host name, an IP address or a
            `*.example.org` pattern (`*` alone, trusting every name, is not offered).

    Example:
        >>> allowed_hosts(Settings(allowed_hosts="qa.example.org"))
        ['127.0.0.1', 'localhost', '[::1]', 'qa.example.org']
    """
    extra = split_list(settings.allowed_hosts)
    for host in extra:
        if not _HOST.match(host):
            raise ConfigError(f"QA_ALLOWED_HOSTS: {host!r} is not a host name such as "
                              "qa.example.org, *.example.org, 192.168.1.5 or [::1]")
    bind = settings.host.strip()
    hosts = [f"[{bind}]" if ":" in bind else bind] if bind not in _ANY_ADDRESS else []
    if bind in _ANY_ADDRESS or bind in _LOOPBACK or bind.startswith("127.") or bind == "::1":
        hosts += _LOOPBACK
    if bind in _ANY_ADDRESS:
        hosts += _own_names()
    return list(dict.fromkeys(h.lower() for h in hosts + extra))


def _own_names() -> list[str]:
    """This machine's host names and the addresses they resolve to (best effort)."""
    names = [socket.gethostname(), socket.getfqdn()]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        names.append(f"[{address}]" if ":" in address else address)
    return [n for n in names if n and _HOST.match(n)]


def create_app(settings: Settings, holder: AnswererHolder | None = None, *,
               chat: bool = True, api: Any = None) -> Any:
    """The ASGI app (FastAPI) serving the chat, the API and the widget. `holder` defaults to
    one loading the index and model named by `settings` (tests pass one with a fake embedder);
    the chat and the API share it.

    Args:
        chat: with the Gradio chat at `/`; without it (no Gradio imported: what `qa serve`
            answers with while the chat is being built), `/` says the chat is starting.
        api: the `/api/v1` app to mount (`create_api`), so that two apps can share one.

    Raises:
        ConfigError: a CORS origin, frame ancestor, allowed host or the admin token is
            malformed.
    """
    from fastapi import FastAPI
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from .api import NO_TELEMETRY, create_api
    from .http import InternalErrors
    from .pages import add_pages
    from .requestlog import RequestLog

    origins = cors_origins(settings)
    ancestors = frame_ancestors(settings)
    hosts = allowed_hosts(settings)
    holder = holder or AnswererHolder(settings)
    app = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url=None,
                  telemetry=NO_TELEMETRY)  # type: ignore[arg-type]
    # Outermost last: security headers on every response, then the Host check, then the
    # closed upload route, then CORS (so a 413 is readable by an allowed page), then the size
    # cap. With a CORSMiddleware on the parent app, Gradio adds no CORS handling of its own;
    # its own would echo any Origin whenever the Host header is not localhost.
    app.add_middleware(InternalErrors)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes,
                       upload_limit=settings.max_upload_bytes + _MULTIPART_OVERHEAD)
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                       allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Content-Type", "Authorization"], max_age=600)
    app.add_middleware(ClosedPaths, paths=GRADIO_UPLOAD_PATHS,
                       message="the chat takes no files; upload documents with "
                               "POST /api/v1/documents and the admin token")
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)
    app.add_middleware(SecurityHeaders, csp=ancestors)
    app.add_middleware(RequestLog)
    app.mount("/api/v1", api if api is not None else create_api(settings, holder))
    _add_widget_routes(app)
    add_pages(app, settings, holder)
    if not chat:
        app.add_route("/", _starting, methods=["GET"], include_in_schema=False)
        return app
    return _mount_chat(app, settings, holder)


def _mount_chat(app: Any, settings: Settings, holder: AnswererHolder) -> Any:
    """Put the Gradio chat at `/` of `app` (importing Gradio: seconds)."""
    import gradio as gr

    from .chat import ChatBackend
    from .pages import CHAT_HEAD, chat_css
    from .ui import build_ui, theme

    blocks = build_ui(ChatBackend(holder))
    # Gradio's temporary files (none are expected with uploads off) are deleted hourly.
    blocks.delete_cache = (settings.gradio_cache_seconds, settings.gradio_cache_seconds)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=[],
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
        pwa=False,
        show_error=False,
        max_file_size=settings.max_request_bytes,
        css=chat_css(),
        head=CHAT_HEAD,
        theme=theme(),
    )


#: What `/` shows in the seconds before the chat page is built (it reloads itself).
_STARTING_PAGE = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                  '<meta http-equiv="refresh" content="1"><title>qa: starting</title></head>'
                  "<body><p>The chat is starting; this page reloads by itself. The API at "
                  '<a href="api/v1/docs">api/v1</a> already answers.</p></body></html>')


def _starting(_request: Any) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(_STARTING_PAGE, status_code=503, headers={
        "Retry-After": "1", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'"})


def serve(settings: Settings, out: TextIO | None = None) -> None:
    """Run the server until interrupted; `qa.web.startup` says what it does meanwhile.

    The API answers within a second or so of the start (questions wait for the model, which
    loads in a thread); the chat page, whose library takes seconds to import, is built in
    another thread and takes over `/` when ready (`qa.web.startup.Switchable`).
    """
    import uvicorn

    from .api import create_api
    from .startup import Startup, Switchable

    startup = Startup(settings, out or sys.stdout)
    api = create_api(startup.settings, startup.holder)
    app = Switchable(create_app(startup.settings, startup.holder, chat=False, api=api))

    def build_chat() -> None:
        try:
            app.switch(create_app(startup.settings, startup.holder, api=api))
        except Exception:  # the API goes on answering; the page says the chat is starting
            log.exception("building the chat page failed")
            return
        startup.chat_up()

    threading.Thread(target=build_chat, name="qa-chat", daemon=True).start()
    startup.serving()
    uvicorn.run(app, host=startup.settings.host, port=startup.settings.port,
                log_level="warning")


def _add_widget_routes(app: Any) -> None:
    """`/widget.js`, and `/embed`: a page with the snippets and a live widget."""
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response

    static = files("qa.web") / "static"
    widget = (static / "widget.js").read_text(encoding="utf-8")
    css = (static / "embed.css").read_text(encoding="utf-8")
    page = (static / "embed.html").read_text(encoding="utf-8")

    def widget_js(_request: Request) -> Response:
        return Response(widget, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    def embed_css(_request: Request) -> Response:
        return Response(css, media_type="text/css; charset=utf-8")

    def embed(request: Request) -> HTMLResponse:
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(page.replace("{{BASE}}", escape(base)),
                            headers={"Content-Security-Policy": _EMBED_CSP})

    # Plain Starlette routes: nothing to validate, and FastAPI need not read the signatures.
    app.add_route("/widget.js", widget_js, methods=["GET"], include_in_schema=False)
    app.add_route("/embed.css", embed_css, methods=["GET"], include_in_schema=False)
    app.add_route("/embed", embed, methods=["GET"], include_in_schema=False)


class SecurityHeaders:
    """Adds `Content-Security-Policy: frame-ancestors …` and `X-Content-Type-Options: nosniff`
    to every response. The CSP header is added beside any the route set; browsers enforce
    each."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self.csp = csp.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", self.csp))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ClosedPaths:
    """Answers 404 (in the API's JSON shape) for these paths, and for any path holding a
    control character (which no route has, and which Starlette's mounts can't match), before
    anything reads the request body. Repeated and trailing slashes don't get around it."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str], message: str) -> None:
        self.app = app
        self.paths = paths
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from .http import error_response

        if scope["type"] in ("http", "websocket"):
            path = re.sub(r"/{2,}", "/", str(scope.get("path", ""))).rstrip("/")
            control = _CONTROL.search(path)
            if path in self.paths or control:
                message = "no such path (it holds a control character)" if control \
                    else self.message
                if scope["type"] == "http":
                    await error_response(404, "not_found", message)(scope, receive, send)
                else:
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, by Content-Length up front or by
    counting a streamed body; `POST /api/v1/documents` (uploads) gets `upload_limit`."""

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.datastructures import Headers
        from starlette.exceptions import HTTPException

        from .http import error_response

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"] == "/api/v1/documents"
        limit = self.upload_limit if upload else self.limit
        message = (f"the request is over the server's limit of {limit} bytes "
                   f"({'QA_MAX_UPLOAD_BYTES' if upload else 'QA_MAX_REQUEST_BYTES'})")
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, "too_large", message)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            incoming = await receive()
            seen += len(incoming.get("body", b""))
            if seen > limit:  # raised where the app reads the body, so it answers 413
                raise HTTPException(413, message)
            return incoming

        await self.app(scope, counted, send)
