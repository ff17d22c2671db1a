"""Stage 1, ingest: files → `Document`s, one reader per format (text, HTML, PDF, BEIR JSONL).

May import `qa.config` and `qa.errors` only; nothing here knows about indexes or answers.
"""

from .document import (
    Document,
    Skipped,
    clean_text,
    file_doc_id,
    parse_date,
    printable_path,
    source_file,
)
from .files import (
    SUPPORTED_SUFFIXES,
    ReadLimits,
    iter_files,
    load,
    read_all,
    read_file,
)
from .walk import PENDING_SUFFIX

__all__ = [
    "PENDING_SUFFIX", "SUPPORTED_SUFFIXES", "Document", "ReadLimits", "Skipped", "clean_text",
    "file_doc_id", "iter_files", "load", "parse_date", "printable_path", "read_all",
    "read_file", "source_file",
]
