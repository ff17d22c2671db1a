"""Changing the index over HTTP: upload, delete and reindex, only with the admin token.

These routes exist only when `QA_ADMIN_TOKEN` is set, and each needs `Authorization: Bearer
<token>` (compared in constant time). An upload must be one of the file types the indexer
reads and fit `max_upload_bytes`; it is saved in `uploads_dir` under a generated name (the
client's file name gives a cleaned-up stem and the suffix, never a folder) and indexed with
`qa.indexer.index_paths`, as `qa index` would. The chat and the API then answer from the new
index without a restart.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from .api import AnswererSource, ApiError, error_docs
from .config import Settings
from .embedding import Embedder
from .errors import IngestError, QAError
from .indexer import IndexReport, index_paths
from .ingest import file_doc_id

#: What the upload endpoint accepts: the file types the indexer reads, less BEIR corpora.
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_NAME_CHARS = 60

# Module-level, because FastAPI resolves annotations in the module's namespace.
_Credentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="The server's QA_ADMIN_TOKEN")),
]


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


def add_index_routes(api: FastAPI, settings: Settings, backend: AnswererSource) -> None:
    """Upload, delete and reindex, each needing `Authorization: Bearer <admin token>`."""
    lock = threading.Lock()  # one index change at a time; the indexer's file lock refuses two

    def require_token(credentials: _Credentials) -> None:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
            raise ApiError(401, "unauthorized",
                           "changing the index needs the admin token: send "
                           "`Authorization: Bearer <QA_ADMIN_TOKEN>`",
                           headers={"WWW-Authenticate": "Bearer"})

    guarded = [Depends(require_token)]

    @api.post("/documents", status_code=201, response_model=UploadOut, dependencies=guarded,
              responses=error_docs(401, 413, 415, 422, 503), summary="Upload and index a document")
    def upload(file: UploadFile) -> dict[str, Any]:
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
                responses=error_docs(401, 403, 404, 503), summary="Delete an uploaded document")
    def delete(doc_id: str) -> dict[str, Any]:
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
              responses=error_docs(401, 503),
              summary="Re-read every indexed file and the uploads folder; drop vanished ones")
    def reindex() -> dict[str, Any]:
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


def _embedder(backend: AnswererSource) -> Embedder | None:
    """The loaded model, so indexing does not load a second one (None: the index is not
    loaded yet, and the indexer loads the configured model if it needs one)."""
    try:
        return backend.answerer().retriever.embedder
    except QAError:
        return None


def _reload(backend: AnswererSource) -> None:
    """Point the shared backend at the index just written. A request already running keeps
    the answerer it started with, so it never mixes two generations."""
    backend.reload()


def _change(report: IndexReport) -> dict[str, Any]:
    return {
        "added": report.added, "changed": report.changed, "unchanged": report.unchanged,
        "removed": report.removed, "documents": report.documents, "passages": report.passages,
        "embedded": report.embedded, "written": report.written, "seconds": report.seconds,
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
    }
