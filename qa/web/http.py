"""How failures leave the server: one JSON shape, `{"error": code, "message": one line}`.

Named errors of the core map to a status and a stable code here, once, for the API and the
upload routes alike; nothing else decides a status. No traceback ever reaches a client: an
unexpected error is logged with its traceback and answered with a plain 500, on a connection
that stays usable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ..errors import (
    ConfigError,
    EmptyQuestionError,
    HistoryTooLongError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IngestError,
    InvalidFilterError,
    InvalidTextError,
    QAError,
    QuestionTooLongError,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_INTERNAL = "Something went wrong answering this; the server log has the details."
#: Seconds a client is told to wait when the index is being written.
BUSY_RETRY_AFTER = 5

#: How each named error reaches a client: HTTP status and a stable error code.
ERROR_STATUS: dict[type[QAError], tuple[int, str]] = {
    EmptyQuestionError: (422, "empty_question"),
    InvalidFilterError: (422, "invalid_request"),
    InvalidTextError: (422, "invalid_request"),
    QuestionTooLongError: (413, "question_too_long"),
    HistoryTooLongError: (413, "history_too_long"),
    IngestError: (422, "unreadable_document"),
    IndexMissingError: (503, "index_missing"),
    IndexBusyError: (409, "index_busy"),
    IndexCorruptError: (503, "index_unusable"),
    IndexMismatchError: (503, "index_unusable"),
    ConfigError: (503, "misconfigured"),
}


class ApiError(Exception):
    """A refusal with its HTTP status, error code and one-line message."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class ErrorOut(BaseModel):
    """Every failure's body."""

    error: str = Field(examples=["index_missing"])
    message: str = Field(examples=["no index at index/ yet; run `qa index` to build it"])


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON body every failure has: `{"error": code, "message": message}`."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` saying these statuses answer with an `ErrorOut`."""
    return {status: {"model": ErrorOut} for status in statuses}


def add_error_handlers(api: FastAPI) -> None:
    """Turn every exception raised by a route into the JSON error shape."""

    @api.exception_handler(QAError)
    def qa_error(_request: Request, err: QAError) -> JSONResponse:
        status, code = next((v for k, v in ERROR_STATUS.items() if isinstance(err, k)),
                            (400, "bad_request"))
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)} if status == 409 else None
        return error_response(status, code, str(err), headers)

    @api.exception_handler(ApiError)
    def api_error(_request: Request, err: ApiError) -> JSONResponse:
        return error_response(err.status, err.code, err.message, err.headers)

    @api.exception_handler(RequestValidationError)
    def invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        # Say which field is wrong and how, without echoing the input back.
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: "
                    f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors()[:3]]
        return error_response(422, "invalid_request", "; ".join(problems))

    @api.exception_handler(HTTPException)
    def http_error(_request: Request, err: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            err.status_code, f"http_{err.status_code}")
        return error_response(err.status_code, code, str(err.detail), err.headers)

    api.add_middleware(InternalErrors)


class InternalErrors:
    """Answers an unexpected exception with the JSON 500 and logs its traceback.

    Starlette's own last-resort handler answers and then re-raises, and the server, seeing
    an exception, drops the keep-alive connection without saying `Connection: close`, so the
    client's next request on it fails too. Here the exception ends with the answer. (Its
    handler also runs in a worker thread, where `log.exception` has no exception to show and
    logs "NoneType: None".)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("request failed: %s %s", scope.get("method"), scope.get("path"))
            if started:  # half a response went out: only closing the connection is honest
                raise
            await error_response(500, "internal", _INTERNAL)(scope, receive, send)
