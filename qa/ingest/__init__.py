"""Stage 1, ingest: files → `Document`s, one reader per format (text, HTML, PDF, BEIR JSONL).

May import `qa.config` and `qa.errors` only; nothing here knows about indexes or answers.
"""

from .document import Document, Skipped, file_doc_id, parse_date, source_file
from .files import SUPPORTED_SUFFIXES, iter_files, load, read_file

__all__ = [
    "SUPPORTED_SUFFIXES", "Document", "Skipped", "file_doc_id", "iter_files", "load",
    "parse_date", "read_file", "source_file",
]
