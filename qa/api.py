"""The REST API under `/api/v1`: ask, health, documents and, with a token, index changes.

A versioned contract for code and for the widget. Requests and answers are pydantic models,
so `/api/v1/openapi.json` describes them; every failure is JSON `{"error": code, "message":
one line}` with a fitting status; no traceback ever leaves the server. The API shares the
chat's answerer, so one index and one model serve both.

Example:
    >>> app = create_api(Settings(), ChatBackend(Settings()))  # doctest: +SKIP
    $ curl -s localhost:7860/api/v1/ask -H 'Content-Type: application/json' \\
          -d '{"question": "Where will the missile shield go?"}'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .answer import Answerer
from .config import Settings
from .errors import (
    ConfigError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IngestError,
    QAError,
)
from .retrieval import Filters

log = logging.getLogger(__name__)

API_VERSION = "v1"
#: Most passages one question may retrieve; documents per page by default and at most.
MAX_K = 50
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
#: FastAPI's OpenTelemetry hooks, all off: nothing about requests is recorded or exported.
NO_TELEMETRY: dict[str, Any] = {"tracing": False, "metrics": False, "logs": False,
                                "operation_spans": False, "auto_configure": False}
_INTERNAL = "Something went wrong answering this; the server log has the details."

#: How each named error reaches a client: HTTP status and a stable error code.
ERROR_STATUS: dict[type[QAError], tuple[int, str]] = {
    EmptyQuestionError: (422, "empty_question"),
    IngestError: (422, "unreadable_document"),
    IndexMissingError: (503, "index_missing"),
    IndexCorruptError: (503, "index_unusable"),
    IndexMismatchError: (503, "index_unusable"),
    ConfigError: (503, "misconfigured"),
}


class AnswererSource(Protocol):
    """What the API needs from the chat's backend: the shared answerer, loaded on first use."""

    def answerer(self) -> Answerer: ...

    def reload(self) -> None:
        """Use the index as it is now on disk (after an upload, delete or reindex)."""
        ...


class ApiError(Exception):
    """A refusal with its HTTP status, error code and one-line message."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


# Request and response models: the public shape of v1. Answer models mirror `Answer` and
# `Citation` (a test keeps them in step) and pass through fields added later.


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(default=None,
                               description="Documents whose path contains this, or a doc_id")
    date_from: str | None = Field(default=None, pattern=_ISO_DATE, examples=["2008-01-01"])
    date_to: str | None = Field(default=None, pattern=_ISO_DATE, examples=["2008-12-31"])


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question (at most QA_MAX_QUESTION_CHARS characters)",
                          examples=["Where does the US want to put its missile defence system?"])
    k: int | None = Field(default=None, ge=1, le=MAX_K,
                          description="Passages to retrieve (default: the server's top_k)")
    filters: FiltersIn | None = None
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first")
    now: date | None = Field(default=None, description="The date relative dates in the question "
                             "(\"last week\") count from; today by default",
                             examples=["2008-03-20"])


class CitationOut(BaseModel):
    """Where a quoted sentence comes from. Offsets count characters (code points) of the
    document text; `passage[highlight_start - passage_start : highlight_end - passage_start]`
    is the quoted sentence."""

    model_config = ConfigDict(extra="allow")
    n: int
    doc_id: str
    title: str
    date: str | None
    source: str
    passage: str
    passage_start: int
    passage_end: int
    highlight_start: int
    highlight_end: int
    page: int | None
    scores: dict[str, float | int | None]


class AnswerOut(BaseModel):
    """Quoted sentences with [n] markers; citation n backs marker [n]. When `abstained`, there
    are no citations and `related` may hold the closest passages (not an answer)."""

    model_config = ConfigDict(extra="allow")
    question: str
    answer: str
    abstained: bool
    citations: list[CitationOut]
    query_used: str
    related: list[CitationOut] = []
    timings: dict[str, float] = {}
    date_range: tuple[str, str] | None = Field(
        default=None, description="The (start, end) ISO dates the question was read as asking "
                                  "about, if it names a time")
    support: float = Field(default=0.0, description="How well the passages back an answer, in "
                           "[0, 1]; below the server's abstain_threshold it abstains")


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    index_loaded: bool
    model: str | None = None
    documents: int = 0
    passages: int = 0
    message: str | None = Field(default=None, description="Why the index is unavailable")


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    date: str | None
    source: str


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentOut]


class ErrorOut(BaseModel):
    error: str = Field(examples=["index_missing"])
    message: str = Field(examples=["no index at index/ yet; run `qa index` to build it"])


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON body every failure has: `{"error": code, "message": message}`."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` saying these statuses answer with an `ErrorOut`."""
    return {status: {"model": ErrorOut} for status in statuses}


def create_api(settings: Settings, backend: AnswererSource) -> FastAPI:
    """The `/api/v1` app. Index-changing routes exist only when `settings.admin_token` is set.

    Args:
        settings: limits, the admin token and the uploads folder.
        backend: gives the shared `Answerer` (the chat's `ChatBackend`).
    """
    api = FastAPI(
        title="qa API", version=API_VERSION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json", telemetry=NO_TELEMETRY,  # type: ignore[arg-type]
        description="Answers quoted verbatim from the indexed documents, with numbered "
                    "citations. Errors are JSON: `{\"error\": code, \"message\": text}`.",
    )
    _add_error_handlers(api)

    @api.post("/ask", response_model=AnswerOut, responses=error_docs(413, 422, 503),
              summary="Answer a question from the documents")
    def ask(body: AskRequest) -> dict[str, Any]:
        if len(body.question) > settings.max_question_chars:
            raise ApiError(413, "question_too_long",
                           f"the question has {len(body.question)} characters; the limit is "
                           f"{settings.max_question_chars}")
        if not body.question.strip():
            raise EmptyQuestionError("the question is empty; type a question")
        filters = Filters(**body.filters.model_dump()) if body.filters else None
        answer = backend.answerer().ask(body.question, k=body.k, filters=filters,
                                        history=[t.model_dump() for t in body.history],
                                        now=body.now)
        return answer.to_dict()

    @api.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}},
             summary="Whether the index is loaded, its model and counts")
    def health() -> JSONResponse:
        try:
            manifest = backend.answerer().retriever.store.manifest
        except QAError as err:
            out = HealthOut(status="unavailable", index_loaded=False, message=str(err))
            return JSONResponse(out.model_dump(), status_code=503)
        out = HealthOut(status="ok", index_loaded=True, model=manifest.model,
                        documents=manifest.counts["documents"],
                        passages=manifest.counts["passages"])
        return JSONResponse(out.model_dump())

    @api.get("/documents", response_model=DocumentPage, responses=error_docs(503),
             summary="The indexed documents, a page at a time, in index order")
    def documents(offset: Annotated[int, Query(ge=0)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE) -> Any:
        rows = backend.answerer().retriever.store.document_rows()
        page = [DocumentOut(doc_id=r[0], source=r[1], title=r[2], date=r[3])
                for r in rows[offset:offset + limit]]
        return DocumentPage(total=len(rows), offset=offset, limit=limit, documents=page)

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        return HTMLResponse(_docs_page(api.openapi(), base), headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    if settings.admin_token:
        # Imported here: without a token, the code that changes the index is not even loaded.
        from .uploads import add_index_routes

        add_index_routes(api, settings, backend)
    return api


def _add_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(QAError)
    def qa_error(_request: Request, err: QAError) -> JSONResponse:
        status, code = next((v for k, v in ERROR_STATUS.items() if isinstance(err, k)),
                            (400, "bad_request"))
        return error_response(status, code, str(err))

    @api.exception_handler(ApiError)
    def api_error(_request: Request, err: ApiError) -> JSONResponse:
        return error_response(err.status, err.code, err.message, err.headers)

    @api.exception_handler(RequestValidationError)
    def invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        # Say which field is wrong and how, without echoing the input back.
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
                    for e in err.errors()[:3]]
        return error_response(422, "invalid_request", "; ".join(problems))

    @api.exception_handler(HTTPException)
    def http_error(_request: Request, err: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            err.status_code, f"http_{err.status_code}")
        return error_response(err.status_code, code, str(err.detail), err.headers)

    @api.exception_handler(Exception)
    def internal(_request: Request, _err: Exception) -> JSONResponse:
        log.exception("API request failed")
        return error_response(500, "internal", _INTERNAL)


def _docs_page(schema: dict[str, Any], base: str) -> str:
    """A self-contained reference page for the API (Swagger UI would load from a CDN)."""
    from html import escape
    from json import dumps

    parts = [f"<h1>{escape(schema['info']['title'])} {escape(API_VERSION)}</h1>",
             f"<p>{escape(schema['info'].get('description', ''))}</p>",
             f'<p>Schema: <a href="{escape(base)}/openapi.json">{escape(base)}/openapi.json'
             "</a></p>"]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            parts.append(f"<h2>{escape(method.upper())} {escape(base + path)}</h2>"
                         f"<p>{escape(op.get('summary', ''))}</p>")
            params = [p["name"] + ("" if p.get("required") else "?")
                      for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {})
            if params:
                parts.append(f"<p>Parameters: {escape(', '.join(params))}</p>")
            if body:
                ref = next(iter(body.values()))["schema"].get("$ref", "").rsplit("/", 1)[-1]
                parts.append(f"<p>Body: {escape(next(iter(body)))} {escape(ref)}</p>")
            parts.append(f"<p>Responses: {escape(', '.join(op.get('responses', {})))}</p>")
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        parts.append(f"<h3>{escape(name)}</h3><pre>{escape(dumps(model, indent=2))}</pre>")
    style = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
             "padding:0 1rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>qa API</title>"
            f"<style>{style}</style><body>{''.join(parts)}</body></html>")
