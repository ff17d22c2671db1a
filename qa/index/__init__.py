"""Stage 2, index: chunking, embedding, text analysis, and the index folder (format, parts, store,
writer, builder).

May import `qa.ingest`, `qa.config` and `qa.errors`; never `qa.answer` or `qa.web`.
"""
