"""Changing the index over HTTP: upload, delete and reindex, only with the admin token.

Each route needs `Authorization: Bearer <admin token>` (`qa.web.access` says who has it, and
refuses a client that fails `auth_failures_per_minute` times for the rest of the minute);
without a token configured they answer 403, saying how to turn them on. An upload is one
file, of a type the indexer reads, within `max_upload_bytes`; it is saved in `uploads_dir`
under a generated name (the client's file name gives a cleaned-up stem and the suffix, never a
folder) and indexed with `qa.index.builder.index_paths`, as `qa index` would. The chat and the
API then answer from the new index without a restart.

An upload is marked pending (`.NAME.pending` beside it) from the moment it is stored until it
is indexed, so one cut short by a killed server is never indexed later: the next start (or
reindex) deletes it, and `qa index` skips it with a line saying why.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import IngestError, QAError
from ..index.builder import IndexReport, index_paths
from ..index.embedding import Embedder
from ..ingest import PENDING_SUFFIX, file_doc_id, source_file
from .access import Access
from .http import ApiError, error_docs

#: What the upload endpoint accepts: the file types the indexer reads, less BEIR corpora.
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME_CHARS = 60

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


def index_router(settings: Settings, holder: AnswererHolder, access: Access) -> APIRouter:
    """Upload, delete and reindex, each needing `Authorization: Bearer <admin token>` as
    `access` rules (403 with changes off, 429 after too many failed attempts, 401)."""

    def require_token(request: Request, credentials: _Credentials) -> None:
        client = request.client.host if request.client else ""
        access.require(client, credentials.credentials if credentials else None)

    router = APIRouter(dependencies=[Depends(require_token)])
    changes = _Changes(settings, holder)

    @router.post("/documents", status_code=201, response_model=UploadOut,
                 responses=error_docs(400, 401, 403, 409, 413, 415, 422, 429, 503),
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
                 responses=error_docs(401, 403, 409, 429, 503),
                 summary="Re-read every indexed file and the uploads folder; drop vanished ones")
    def reindex() -> IndexReport:
        return changes.reindex()

    return router


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
        with self.holder.lease() as answerer:
            rows = answerer.retriever.store.catalog.documents()
        row = next((r for r in rows if r.doc_id == doc_id), None)
        if row is None:
            raise ApiError(404, "not_found", f"no document with id {doc_id!r} in the index")
        path = source_file(row.source).resolve()
        if not is_upload(row.source, self.settings):
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
        with self.holder.lease() as answerer:
            rows = answerer.retriever.store.catalog.documents()
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
            with self.holder.lease() as answerer:
                return answerer.retriever.embedder
        except QAError:
            return None


def is_upload(source: str, settings: Settings) -> bool:
    """Whether a document came from the uploads folder (only those can be deleted over HTTP:
    the others are the server's own files)."""
    return source_file(source).resolve().is_relative_to(settings.uploads_dir.resolve())


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
