"""Changing the index over HTTP: upload, delete and reindex, only with the admin token.

Each route needs `Authorization: Bearer <admin token>` (`qa.web.access` says who has it);
without a token configured they answer 403, saying how to turn them on. An upload must be one
of the file types the indexer reads and fit `max_upload_bytes`; it is saved in `uploads_dir`
under a generated name (the client's file name gives a cleaned-up stem and the suffix, never a
folder) and indexed with `qa.index.builder.index_paths`, as `qa index` would. The chat and the
API then answer from the new index without a restart.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from ..answer.holder import AnswererHolder
from ..config import Settings
from ..errors import IngestError, QAError
from ..index.builder import IndexReport, index_paths
from ..index.embedding import Embedder
from ..ingest import file_doc_id, source_file
from .access import require_change
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


def index_router(settings: Settings, holder: AnswererHolder) -> APIRouter:
    """Upload, delete and reindex, each needing `Authorization: Bearer <admin token>`."""

    def require_token(credentials: _Credentials) -> None:
        require_change(settings, credentials.credentials if credentials else None)

    router = APIRouter(dependencies=[Depends(require_token)])
    changes = _Changes(settings, holder)

    @router.post("/documents", status_code=201, response_model=UploadOut,
                 responses=error_docs(401, 403, 409, 413, 415, 422, 503),
                 summary="Upload and index a document")
    def upload(file: UploadFile) -> UploadOut:
        target = _store_upload(file, settings)
        report = changes.add(target, file.filename or target.name)
        return UploadOut(stored_as=target.name, doc_id=file_doc_id(target), index=report)

    @router.delete("/documents/{doc_id}", response_model=IndexReport,
                   responses=error_docs(401, 403, 404, 409, 503),
                   summary="Delete an uploaded document")
    def delete(doc_id: str) -> IndexReport:
        return changes.delete(doc_id)

    @router.post("/reindex", response_model=IndexReport, responses=error_docs(401, 403, 409, 503),
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

    def add(self, target: Path, name: str) -> IndexReport:
        with self.lock:
            try:
                report = index_paths([target], self.settings, embedder=self._embedder())
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            if report.skipped:
                target.unlink(missing_ok=True)
                raise IngestError(f"{name}: {report.skipped[0].reason}")
            self.holder.reload()
        return report

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
