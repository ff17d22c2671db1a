"""Changing the index over HTTP: upload, delete and reindex, only with the admin token.

These routes exist only when `QA_ADMIN_TOKEN` is set (at least `min_admin_token_chars` long),
and each needs `Authorization: Bearer <token>` (compared in constant time); a client that
fails `auth_failures_per_minute` times is refused for the rest of the minute. An upload is
one file, of a type the indexer reads, within `max_upload_bytes`; it is saved in
`uploads_dir` under a generated name (the client's file name gives a cleaned-up stem and the
suffix, never a folder) and indexed with `qa.index.builder.index_paths`, as `qa index` would.
The chat and the API then answer from the new index without a restart.

An upload is marked pending (`.NAME.pending` beside it) from the moment it is stored until it
is indexed, so one cut short by a killed server is never indexed later: the next start (or
reindex) deletes it, and `qa index` skips it with a line saying why.
"""

from __future__ import annotations

import hmac
import math
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import ConfigError, IngestError, QAError
from ..index.builder import IndexReport, index_paths
from ..index.embedding import Embedder
from ..ingest import PENDING_SUFFIX, file_doc_id, source_file
from .http import ApiError, error_docs

#: What the upload endpoint accepts: the file types the indexer reads, less BEIR corpora.
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME_CHARS = 60
#: The window failed attempts are counted in.
_AUTH_WINDOW_SECONDS = 60.0

# Module-level, because FastAPI resolves annotations in the module's namespace.
_Credentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="The server's QA_ADMIN_TOKEN")),
]


class UploadOut(BaseModel):
    """Where an upload was stored, its document id, and what indexing it did."""

    stored_as: str = Field(description="The file name given to the upload on the server")
    doc_id: str
    index: IndexReport


def index_router(settings: Settings, holder: AnswererHolder) -> APIRouter:
    """Upload, delete and reindex, each needing `Authorization: Bearer <admin token>`.

    Raises:
        ConfigError: the admin token is shorter than `min_admin_token_chars`.
    """
    if len(settings.admin_token) < settings.min_admin_token_chars:
        raise ConfigError(
            f"QA_ADMIN_TOKEN has {len(settings.admin_token)} characters; it needs at least "
            f"{settings.min_admin_token_chars}. Make one with: python -c \"import secrets; "
            "print(secrets.token_urlsafe(32))\"")
    guard = _AuthGuard(settings.auth_failures_per_minute)

    def require_token(request: Request, credentials: _Credentials) -> None:
        client = request.client.host if request.client else ""
        guard.check(client)
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
            guard.failed(client)
            raise ApiError(401, "unauthorized",
                           "changing the index needs the admin token: send "
                           "`Authorization: Bearer <QA_ADMIN_TOKEN>`",
                           headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(dependencies=[Depends(require_token)])
    changes = _Changes(settings, holder)

    @router.post("/documents", status_code=201, response_model=UploadOut,
                 responses=error_docs(400, 401, 409, 413, 415, 422, 429, 503),
                 summary="Upload and index a document (one file per request)")
    async def upload(request: Request, file: UploadFile) -> UploadOut:
        form = await request.form()  # already read by FastAPI: this is its cached copy
        if len(form.multi_items()) != 1:
            raise ApiError(422, "invalid_request", "send exactly one file, as the form field "
                           "`file`, per upload request")
        target, report = await run_in_threadpool(changes.add, file)
        return UploadOut(stored_as=target.name, doc_id=file_doc_id(target), index=report)

    @router.delete("/documents/{doc_id}", response_model=IndexReport,
                   responses=error_docs(401, 403, 404, 409, 422, 429, 503),
                   summary="Delete an uploaded document")
    def delete(doc_id: str) -> IndexReport:
        return changes.delete(doc_id)

    @router.post("/reindex", response_model=IndexReport,
                 responses=error_docs(401, 409, 429, 503),
                 summary="Re-read every indexed file and the uploads folder; drop vanished ones")
    def reindex() -> IndexReport:
        return changes.reindex()

    return router


class _AuthGuard:
    """Counts failed token checks per client address; past the limit within a minute, the
    client is refused (429) until its oldest failure is a minute old. Guessing a token of
    `min_admin_token_chars` random characters at this rate is hopeless."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.per_minute:
                return
            wait = max(1, math.ceil(recent[0] + _AUTH_WINDOW_SECONDS - time.monotonic()))
        raise ApiError(429, "too_many_attempts", f"too many failed attempts with the admin "
                       f"token; try again in {wait} s", headers={"Retry-After": str(wait)})

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        while failures and failures[0] < time.monotonic() - _AUTH_WINDOW_SECONDS:
            failures.popleft()
        if not failures:
            del self._failures[client]  # forget quiet clients: the table stays small
            return self._failures[client]
        return failures


class _Changes:
    """Index changes over HTTP, one at a time (the indexer's file lock also refuses a
    concurrent `qa index`), each followed by a reload of the shared answerer."""

    def __init__(self, settings: Settings, holder: AnswererHolder) -> None:
        self.settings = settings
        self.holder = holder
        self.lock = threading.Lock()
        with self.lock:
            discard_unfinished(settings.uploads_dir)

    def add(self, file: UploadFile) -> tuple[Path, IndexReport]:
        """Store the upload and index it; it stays marked pending until it is indexed."""
        with self.lock:
            target = _store_upload(file, self.settings)
            marker = _marker(target)
            try:
                report = index_paths([target], self.settings, embedder=self._embedder())
                if report.skipped:
                    raise IngestError(f"{file.filename or target.name}: "
                                      f"{report.skipped[0].reason}")
            except BaseException:
                target.unlink(missing_ok=True)
                marker.unlink(missing_ok=True)
                raise
            marker.unlink()
            self.holder.reload()
        return target, report

    def delete(self, doc_id: str) -> IndexReport:
        rows = self.holder.answerer().retriever.store.catalog.documents()
        row = next((r for r in rows if r.doc_id == doc_id), None)
        if row is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id!r} in the index")
        path = source_file(row.source).resolve()
        if not path.is_relative_to(self.settings.uploads_dir.resolve()):
            raise ApiError(403, "not_uploaded",
                           "only documents uploaded over HTTP can be deleted here; delete the "
                           "file itself and run `qa index --prune`")
        with self.lock:
            path.unlink(missing_ok=True)
            # Pruning drops every document whose file is gone: this one, and any other.
            report = index_paths([], self.settings, prune=True, embedder=self._embedder())
            self.holder.reload()
        return report

    def reindex(self) -> IndexReport:
        rows = self.holder.answerer().retriever.store.catalog.documents()
        paths = {source_file(r.source) for r in rows}
        paths = {p for p in paths if p.exists()}
        if self.settings.uploads_dir.is_dir():
            paths.add(self.settings.uploads_dir)
        with self.lock:
            discard_unfinished(self.settings.uploads_dir)
            report = index_paths(sorted(paths), self.settings, prune=True,
                                 embedder=self._embedder())
            self.holder.reload()
        return report

    def _embedder(self) -> Embedder | None:
        """The loaded model, so indexing does not load a second one (None: the index is not
        loaded yet, and the indexer loads the configured model if it needs one)."""
        try:
            return self.holder.answerer().retriever.embedder
        except QAError:
            return None


def _store_upload(file: UploadFile, settings: Settings) -> Path:
    """Save an upload under a generated name in the uploads folder, marked pending. The
    client's file name gives only the suffix and a cleaned-up stem: never a folder, never `..`.

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
            out.flush()
            os.fsync(out.fileno())
        _marker(target).touch()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _marker(target: Path) -> Path:
    return target.with_name(f".{target.name}{PENDING_SUFFIX}")


def discard_unfinished(uploads_dir: Path) -> None:
    """Delete what interrupted uploads left: partial files, and stored files never indexed
    (marked pending). Their uploads were never acknowledged."""
    if not uploads_dir.is_dir():
        return
    for path in uploads_dir.iterdir():
        if path.name.startswith(".") and path.name.endswith(".part"):
            path.unlink(missing_ok=True)
        elif path.name.startswith(".") and path.name.endswith(PENDING_SUFFIX):
            (uploads_dir / path.name[1 : -len(PENDING_SUFFIX)]).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
