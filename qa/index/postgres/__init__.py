"""The index in PostgreSQL: documents, passages, pgvector vectors and BM25 over tsvector.

The same three parts as the index folder (`qa.index.parts`), on a database several `qa serve`
processes can share:

- `database`: connections (one pool per process), the URL as messages show it;
- `schema`: the tables, their version, and the row recording model, dimension and settings;
- `catalog`, `dense`, `lexical`: the three parts, read live, so a server sees every commit;
- `store`: the `IndexStore` over them; `target`: where `qa index` writes, one transaction
  per run under an advisory lock.

Only this package imports psycopg and pgvector (an import-linter contract says so); install
them with `pip install 'qa-docs[postgres]'`.
"""
