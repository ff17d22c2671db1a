"""The REST API under `/api/v1`: ask, health, documents and, with a token, index changes.

A versioned contract for code and for the widget. Answers are the core's own `Answer` and
`Citation` dataclasses, so `/api/v1/openapi.json` describes exactly what is returned; every
failure is JSON `{"error": code, "message": one line}` (`qa.web.http`). The API shares the
chat's `AnswererHolder`, so one index and one model serve both, and each request leases the
index generation in use. A `source` in a response is the public one (`qa.web.sources`): a path
relative to the indexed folder, or empty — never the server's absolute path.

Example:
    >>> app = create_api(Settings(), AnswererHolder(Settings()))  # doctest: +SKIP
    $ curl -s localhost:7860/api/v1/ask -H 'Content-Type: application/json' \\
          -d '{"question": "Where will the missile shield go?"}'
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from ..answer.answerer import Answer
from ..answer.holder import AnswererHolder
from ..answer.question import BLANK_CHARS, require_history, require_question
from ..answer.retrieval import Filters
from ..config import Settings
from ..errors import QAError
from .access import Access
from .apidocs import docs_page
from .http import ApiError, add_error_handlers, error_docs
from .sources import names_for
from .uploads import index_router, is_upload

log = logging.getLogger(__name__)

API_VERSION = "v1"
#: Most passages one question may retrieve; documents per page by default and at most.
MAX_K = 50
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: FastAPI's OpenTelemetry hooks, all off: nothing about requests is recorded or exported.
NO_TELEMETRY: dict[str, Any] = {"tracing": False, "metrics": False, "logs": False,
                                "operation_spans": False, "auto_configure": False}


def _iso_date(value: object) -> object:
    """Only a `YYYY-MM-DD` string is a date here (pydantic would also take a number of
    seconds since 1970, or a date with a time)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("use a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _number(value: object) -> object:
    """A JSON number only: `"3"` and `true` are refused, not converted (1.0 is a whole number,
    as JSON Schema counts it)."""
    if isinstance(value, bool | str):
        raise ValueError("send a whole number, not text or true/false")
    return value


#: Types taken only as JSON gives them, never converted from another type.
StrictText = Annotated[str, Strict()]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictText


class AskRequest(BaseModel):
    """A question, with optional filters, earlier turns and the date it counts from."""

    model_config = ConfigDict(extra="forbid")
    question: StrictText = Field(
        description="The question (at most QA_MAX_QUESTION_CHARS characters)",
        examples=["Where does the US want to put its missile defence system?"])
    k: Annotated[int, Ge(1), Le(MAX_K), BeforeValidator(_number)] | None = Field(
        default=None, description="Passages to retrieve (default: the server's top_k)")
    filters: Filters | None = None
    history: list[Turn] = Field(
        default_factory=list,
        description="Earlier turns, oldest first (at most QA_MAX_HISTORY_TURNS turns and "
                    "QA_MAX_HISTORY_CHARS characters)")
    now: IsoDate | None = Field(default=None, description="The date relative dates in the "
                                "question (\"last week\") count from; today by default",
                                examples=["2008-03-20"])


class HealthOut(BaseModel):
    """Whether the index is loaded, with its model and counts."""

    status: Literal["ok", "unavailable"]
    index_loaded: bool
    model: str | None = None
    documents: int = 0
    passages: int = 0
    message: str | None = Field(default=None, description="Why the index is unavailable")


@dataclass(frozen=True)
class ListedDocument:
    """One indexed document as the list shows it."""

    doc_id: str
    title: str
    date: str | None
    source: str
    sha256: str
    passages: int
    uploaded: bool


class DocumentPage(BaseModel):
    """One page of the indexed documents (those whose title contains `q`), in index order."""

    total: int
    offset: int
    limit: int
    documents: list[ListedDocument]
    can_change: bool = Field(description="Whether this request's token may upload and delete")


def create_api(settings: Settings, holder: AnswererHolder) -> FastAPI:
    """The `/api/v1` app. Index-changing routes need the admin token (`qa.web.access`).

    Args:
        settings: limits, the admin token and the uploads folder.
        holder: gives the shared `Answerer`.
    """
    api = FastAPI(
        title="qa API", version=API_VERSION, docs_url=None, redoc_url=None,
        openapi_url="/openapi.json", telemetry=NO_TELEMETRY,  # type: ignore[arg-type]
        description="Answers quoted verbatim from the indexed documents, with numbered "
                    "citations. Errors are JSON: `{\"error\": code, \"message\": text}`.",
    )
    add_error_handlers(api)
    _add_ask(api, settings, holder)
    access = Access(settings)
    _add_status(api, settings, holder, access)
    api.include_router(index_router(settings, holder, access))

    _document_limits(api, settings)

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return HTMLResponse(docs_page(api.openapi(), base, API_VERSION, origin=origin), headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    return api


def _document_limits(api: FastAPI, settings: Settings) -> None:
    """Write this server's limits into its OpenAPI schema: a question has a non-space
    character and at most `max_question_chars`, a history at most `max_history_turns` turns,
    a filter date is a date. (The route and `Filters` enforce them, with the clearer errors
    `empty_question`, `question_too_long`, `history_too_long` and `invalid_request`.)"""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            models = generate()["components"]["schemas"]
            fields = models["AskRequest"]["properties"]
            fields["question"].update(minLength=1, maxLength=settings.max_question_chars,
                                      pattern=f"[^{BLANK_CHARS}]")
            fields["history"]["maxItems"] = settings.max_history_turns
            for name in ("date_from", "date_to"):
                text = models["Filters"]["properties"][name]["anyOf"][0]
                text.update(format="date", pattern=r"^\d{4}-\d{2}-\d{2}$")
            _link_index_changes(api.openapi_schema or {})
        return api.openapi_schema or {}

    api.openapi = openapi  # type: ignore[method-assign]


def _link_index_changes(schema: dict[str, Any]) -> None:
    """With the index-changing routes: an upload takes exactly the field `file`, and OpenAPI
    links say that the `doc_id` an upload or a document listing returns is what
    `DELETE /documents/{doc_id}` takes (clients, and stateful tests, can follow them)."""
    paths = schema["paths"]
    if "post" not in paths.get("/documents", {}):
        return
    schema["components"]["schemas"]["Body_upload_documents_post"]["additionalProperties"] = False
    delete = paths["/documents/{doc_id}"]["delete"]["operationId"]
    for status, method, where in (("201", "post", "$response.body#/doc_id"),
                                  ("200", "get", "$response.body#/documents/0/doc_id")):
        paths["/documents"][method]["responses"][status]["links"] = {"DeleteDocument": {
            "operationId": delete, "parameters": {"doc_id": where}}}


def _add_ask(api: FastAPI, settings: Settings, holder: AnswererHolder) -> None:
    @api.post("/ask", response_model=Answer, responses=error_docs(400, 413, 422, 503),
              summary="Answer a question from the documents")
    def ask(body: AskRequest) -> Answer:
        question = require_question(body.question, max_chars=settings.max_question_chars)
        if len(body.history) > settings.max_history_turns:
            # The schema states this limit (maxItems), so it is a request that doesn't match
            # the schema: 422 like any other; the lengths it can't state are 413 below.
            raise ApiError(422, "invalid_request",
                           f"history: the history has {len(body.history)} turns; the limit is "
                           f"{settings.max_history_turns} (QA_MAX_HISTORY_TURNS)")
        history = require_history(
            [t.model_dump() for t in body.history], max_turns=settings.max_history_turns,
            max_chars=settings.max_history_chars,
            max_question_chars=settings.max_question_chars)
        if settings.log_questions:
            log.info("question: %s", question)
        with holder.lease() as answerer:
            answer = answerer.ask(question, k=body.k, filters=body.filters, history=history,
                                  now=body.now)
            return names_for(answerer.retriever.store, settings).answer(answer)


def _add_status(api: FastAPI, settings: Settings, holder: AnswererHolder,
                access: Access) -> None:
    @api.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}},
             summary="Whether the index is loaded, its model and counts")
    def health() -> JSONResponse:
        try:
            with holder.lease() as answerer:
                manifest = answerer.retriever.store.manifest
        except QAError as err:
            out = HealthOut(status="unavailable", index_loaded=False, message=str(err))
            return JSONResponse(out.model_dump(), status_code=503)
        out = HealthOut(status="ok", index_loaded=True, model=manifest.model,
                        documents=manifest.counts["documents"],
                        passages=manifest.counts["passages"])
        return JSONResponse(out.model_dump())

    @api.get("/documents", response_model=DocumentPage, responses=error_docs(422, 429, 503),
             summary="The indexed documents, a page at a time, in index order",
             description="Sent with `Authorization: Bearer <admin token>`, `can_change` says "
                         "whether that token may upload and delete; a wrong token counts as a "
                         "failed attempt (429 after too many).")
    def documents(request: Request, offset: Annotated[int, Query(ge=0)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
                  q: Annotated[str, Query(max_length=200,
                                          description="Only titles containing this")] = ""
                  ) -> Any:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        client = request.client.host if request.client else ""
        can_change = access.may_change(client, token)
        with holder.lease() as answerer:
            store = answerer.retriever.store
            rows = store.catalog.documents()
            passages = Counter(store.catalog.passage_doc_ids())
            names = names_for(store, settings)
        needle = q.strip().casefold()
        rows = [r for r in rows if needle in r.title.casefold()] if needle else rows
        listed = [ListedDocument(r.doc_id, r.title, r.date, names.show(r.source), r.sha256,
                                 passages[r.doc_id], is_upload(r.source, settings))
                  for r in rows[offset:offset + limit]]
        return DocumentPage(total=len(rows), offset=offset, limit=limit, documents=listed,
                            can_change=can_change)
