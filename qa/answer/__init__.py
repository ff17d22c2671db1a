"""Stage 3, answer: retrieval (dense + BM25, fused), dates, follow-ups, sentence choice, and the
`Answerer` that turns a question into a cited `Answer`.

May import `qa.index`, `qa.ingest`, `qa.config` and `qa.errors`; never `qa.web` or `qa.cli`.
"""
