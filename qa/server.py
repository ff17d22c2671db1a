"""One HTTP server: a FastAPI app with the Gradio chat mounted at `/`.

It binds 127.0.0.1 unless told otherwise, and turns off everything that would call out or
expose more than the chat: analytics, share links, monitoring, run history, MCP.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .config import Settings

if TYPE_CHECKING:
    from .ui import ChatBackend


def create_app(settings: Settings, backend: ChatBackend | None = None) -> Any:
    """The ASGI app (FastAPI) serving the chat; `backend` defaults to one loading the index
    and model named by `settings` (tests pass one with a fake embedder)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr
    from fastapi import FastAPI

    from .ui import build_ui

    app = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url=None)
    blocks = build_ui(settings, backend)
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
    )


def serve(settings: Settings) -> None:
    """Run the server until interrupted."""
    import uvicorn

    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
