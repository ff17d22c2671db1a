"""The REST API under `/api/v1`: ask, health, documents and, with a token, index changes.

A versioned contract for code and for the widget. Requests and answers are pydantic models,
so `/api/v1/openapi.json` describes them; every failure is JSON `{"error": code, "message":
one line}` with a fitting status; no traceback ever leaves the server. The API shares the
chat's answerer, so one index and one model serve both.

Example:
    >>> app = create_api(Settings(), ChatBackend(Settings()))   # mounted at /api/v1
    $ curl -s localhost:7860/api/v1/ask -H 'Content-Type: application/json' \\
          -d '{"question": "Where will the missile shield go?"}'
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, FastAPI, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
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
#: What the upload endpoint accepts: the file types the indexer reads, less BEIR corpora.
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME_CHARS = 60
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
    source: str | None = Field(None, description="Documents whose path contains this, or doc_id")
    date_from: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2008-01-01"])
    date_to: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2008-12-31"])


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question (at most QA_MAX_QUESTION_CHARS characters)",
                          examples=["Where does the US want to put its missile defence system?"])
    k: int | None = Field(None, ge=1, le=MAX_K, description="Passages to retrieve (default 5)")
    filters: FiltersIn | None = None
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first")


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


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    index_loaded: bool
    model: str | None = None
    documents: int = 0
    passages: int = 0
    message: str | None = Field(None, description="Why the index is unavailable")


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


class SkippedOut(BaseModel):
    source: str
    reason: str


class IndexChange(BaseModel):
    """What an index change did, as `qa index` reports it."""

    added: int
    changed: int
    unchanged: int
    removed: int
    documents: int
    passages: int
    embedded: int
    written: bool
    skipped: list[SkippedOut]
    seconds: float


class UploadOut(BaseModel):
    stored_as: str = Field(description="The file name given to the upload on the server")
    doc_id: str
    index: IndexChange


class ErrorOut(BaseModel):
    error: str = Field(examples=["index_missing"])
    message: str = Field(examples=["no index at index/ yet; run `qa index` to build it"])


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON body every failure has: `{"error": code, "message": message}`."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut} for status in statuses}


def create_api(settings: Settings, backend: AnswererSource) -> FastAPI:
    """The `/api/v1` app. Index-changing routes exist only when `settings.admin_token` is set.

    Args:
        settings: limits, the admin token and the uploads folder.
        backend: gives the shared `Answerer` (the chat's `ChatBackend`).
    """
    api = FastAPI(
        title="qa API", version=API_VERSION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json",
        description="Answers quoted verbatim from the indexed documents, with numbered "
                    "citations. Errors are JSON: `{\"error\": code, \"message\": text}`.",
    )
    _add_error_handlers(api)

    @api.post("/ask", response_model=AnswerOut, responses=_errors(413, 422, 503),
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
                                        history=[t.model_dump() for t in body.history])
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

    @api.get("/documents", response_model=DocumentPage, responses=_errors(503),
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
        _add_index_routes(api, settings, backend)
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


def _add_index_routes(api: FastAPI, settings: Settings, backend: AnswererSource) -> None:
    """Upload, delete and reindex, each needing `Authorization: Bearer <admin token>`."""
    lock = threading.Lock()  # one index change at a time; the indexer's file lock refuses two
    bearer = HTTPBearer(auto_error=False, description="The server's QA_ADMIN_TOKEN")

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
            raise ApiError(401, "unauthorized",
                           "changing the index needs the admin token: send "
                           "`Authorization: Bearer <QA_ADMIN_TOKEN>`",
                           headers={"WWW-Authenticate": "Bearer"})

    guarded = [Depends(require_token)]

    @api.post("/documents", status_code=201, response_model=UploadOut, dependencies=guarded,
              responses=_errors(401, 413, 415, 422, 503), summary="Upload and index a document")
    def upload(file: UploadFile) -> dict[str, Any]:
        from .indexer import index_paths
        from .ingest import file_doc_id

        target = _store_upload(file, settings)
        with lock:
            try:
                report = index_paths([target], settings, embedder=_embedder(backend))
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            if report.skipped:
                target.unlink(missing_ok=True)
                raise IngestError(f"{file.filename}: {report.skipped[0].reason}")
            _reload(backend)
        return {"stored_as": target.name, "doc_id": file_doc_id(target),
                "index": _change(report)}

    @api.delete("/documents/{doc_id}", response_model=IndexChange, dependencies=guarded,
                responses=_errors(401, 403, 404, 503), summary="Delete an uploaded document")
    def delete(doc_id: str) -> dict[str, Any]:
        from .indexer import index_paths

        row = next((r for r in backend.answerer().retriever.store.document_rows()
                    if r[0] == doc_id), None)
        if row is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id!r} in the index")
        path = Path(row[1].split("#")[0]).resolve()
        if not path.is_relative_to(settings.uploads_dir.resolve()):
            raise ApiError(403, "not_uploaded",
                           "only documents uploaded over HTTP can be deleted here; delete the "
                           "file itself and run `qa index --prune`")
        with lock:
            path.unlink(missing_ok=True)
            # Pruning drops every document whose file is gone: this one, and any other.
            report = index_paths([], settings, prune=True, embedder=_embedder(backend))
            _reload(backend)
        return _change(report)

    @api.post("/reindex", response_model=IndexChange, dependencies=guarded,
              responses=_errors(401, 503),
              summary="Re-read every indexed file and the uploads folder; drop vanished ones")
    def reindex() -> dict[str, Any]:
        from .indexer import index_paths

        rows = backend.answerer().retriever.store.document_rows()
        paths = {Path(r[1].split("#")[0]) for r in rows}
        paths = {p for p in paths if p.exists()}
        if settings.uploads_dir.is_dir():
            paths.add(settings.uploads_dir)
        with lock:
            report = index_paths(sorted(paths), settings, prune=True, embedder=_embedder(backend))
            _reload(backend)
        return _change(report)


def _store_upload(file: UploadFile, settings: Settings) -> Path:
    """Save an upload under a generated name in the uploads folder. The client's file name
    gives only the suffix and a cleaned-up stem: never a folder, never `..`.

    Raises:
        ApiError: 415 for a type the indexer does not read, 413 over `max_upload_bytes`.
    """
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext.lower()}" if dot else ""
    if suffix not in UPLOAD_SUFFIXES:
        raise ApiError(415, "unsupported_type", f"{suffix or 'a file without a suffix'} can't be "
                       f"indexed; upload one of {', '.join(UPLOAD_SUFFIXES)}")
    clean = _NAME_CHARS.sub("-", stem).strip("-_")[:_MAX_NAME_CHARS] or "upload"
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    target = settings.uploads_dir / f"{clean}-{secrets.token_hex(4)}{suffix}"
    partial = settings.uploads_dir / f".{target.name}.part"  # hidden: the indexer skips it
    try:
        size = 0
        with partial.open("xb") as out:
            while chunk := file.file.read(1 << 16):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise ApiError(413, "too_large", f"the file is over the upload limit of "
                                   f"{settings.max_upload_bytes} bytes (QA_MAX_UPLOAD_BYTES)")
                out.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _embedder(backend: AnswererSource) -> Any:
    """The loaded model, so indexing does not load a second one (None: the index is not
    loaded yet, and the indexer loads the configured model if it needs one)."""
    try:
        return backend.answerer().retriever.embedder
    except QAError:
        return None


def _reload(backend: AnswererSource) -> None:
    """Point the shared answerer at the index just written. A request already running keeps
    the retriever it started with, so it never mixes two generations."""
    from .retrieval import Retriever
    from .store import IndexStore

    answerer = backend.answerer()
    embedder = answerer.retriever.embedder
    store = IndexStore.load(answerer.settings.index_dir, model=embedder.name)
    answerer.retriever = Retriever(store, embedder, answerer.settings)


def _change(report: Any) -> dict[str, Any]:
    return {
        "added": report.added, "changed": report.changed, "unchanged": report.unchanged,
        "removed": report.removed, "documents": report.documents, "passages": report.passages,
        "embedded": report.embedded, "written": report.written, "seconds": report.seconds,
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
    }


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
