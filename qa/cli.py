"""The `qa` command: index, ask, serve, eval. Failures exit non-zero with one clear line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from .config import CACHE_NAME, DEFAULT_PRECISION, OFFLINE_ENV, PRECISIONS, Settings
from .errors import IndexCorruptError, IndexMismatchError, QAError

EPILOG = """examples:
  qa index                          index seeds/ into index/
  qa index ~/my-articles            add a folder (new and changed files only)
  qa index ~/my-articles --prune    also drop documents whose files are gone
  qa index --optimize               merge the index's segments into one
  qa verify                         check every byte of the index against its checksums
  qa ask "Where does the US want to put its missile defence system?"
  qa ask --json - < questions.txt   one question per line, one JSON object per answer
  qa serve                          the chat at http://127.0.0.1:7860
  qa eval ../shared/datasets/scifact
  qa index --rebuild --precision int8   embed with int8 weights (faster, slightly different)
  qa index --store postgresql://qa@db/qa docs/   index into PostgreSQL (pgvector) instead
  qa index --ray docs/              embed on a Ray cluster started on this machine

environment: QA_INDEX_DIR, QA_MODEL, QA_TOP_K, QA_HOST, QA_PORT, QA_ABSTAIN_THRESHOLD,
  QA_CORS_ORIGINS, QA_FRAME_ANCESTORS, QA_ALLOWED_HOSTS, QA_MAX_QUESTION_CHARS,
  QA_MAX_REQUEST_BYTES, QA_MAX_HISTORY_TURNS, QA_MAX_HISTORY_CHARS, QA_MAX_FILE_BYTES,
  QA_MAX_DOCUMENT_CHARS, QA_FOLLOW_SYMLINKS,
  QA_ADMIN_TOKEN (upload/delete/reindex over HTTP, 16+ characters; on 127.0.0.1 `qa serve`
  makes one per run), QA_UPLOADS_DIR, QA_MAX_UPLOAD_BYTES, QA_AUTH_FAILURES_PER_MINUTE,
  QA_EMBEDDING_CACHE, QA_RELOAD_CHECK_SECONDS, QA_SHOW_PATHS (relative|none), QA_SOURCE_ROOT,
  QA_LOG_QUESTIONS,
  QA_STORE (a postgresql:// URL), QA_PG_SCHEMA, QA_RAY (a Ray address, or "local"),
  QA_PRECISION (fp32|int8), QA_THREADS (per query or batch; 0: one per core),
  QA_MODEL_CACHE (where the exported model is kept; default ~/.cache/qa-docs/onnx)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Ask questions of a folder of documents; answers cite them.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (default: seeds/)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help=".txt .md .html .pdf files, BEIR .jsonl corpora, or folders of them")
    _index_option(p)
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    p.add_argument("--rebuild", action="store_true", help="start the index over")
    p.add_argument("--optimize", action="store_true",
                   help="then merge the index's segments into one (searches visit fewer)")
    p.add_argument("--model", help="sentence-transformers model name or path")
    _precision_option(p)
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="embed on Ray: a cluster started on this machine, or the running "
                        "cluster at ADDRESS (needs qa-docs[ray])")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("ask", help="answer a question from the index",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("question", help="the question, or - to read one question per line from stdin")
    _index_option(p)
    p.add_argument("-k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per answer")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help='JSON list of earlier turns: [{"role": "user"|"assistant", "content": …}]')
    p.add_argument("--source", help="only documents whose path contains this text")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only documents dated on or after")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only documents dated on or before")
    p.add_argument("--now", metavar="YYYY-MM-DD", type=_iso_date,
                   help='the date "last week" or "this year" count from (default: today)')

    p = sub.add_parser("serve", help="serve the chat (and its API) over HTTP")
    _index_option(p)
    p.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="a web origin (https://host[:port]) whose pages may call the API; "
                        "repeat for more (default: none)")
    p.add_argument("--frame-ancestors", metavar="SOURCES",
                   help="CSP frame-ancestors: who may show the chat in a frame (default 'self')")

    p = sub.add_parser("verify", help="check every file of the index against its checksums")
    _index_option(p)

    p = sub.add_parser("eval", help="measure retrieval on a BEIR-layout dataset")
    p.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    _index_option(p, help_text="index folder for the dataset (default: eval-index/NAME)")
    _precision_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out-of-corpus", type=Path, metavar="QUERIES_JSONL",
                   help="another dataset's queries.jsonl: report how often they are abstained on")
    p.add_argument("--no-dates", action="store_true",
                   help="ignore dates in questions (to measure what date awareness adds)")
    p.add_argument("--retrieval-only", action="store_true",
                   help="only the retrieval figures (no answers, no abstention)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="a fixed sample of N queries (and N out-of-corpus ones), for a quick look")
    p.add_argument("--split", metavar="NAME",
                   help="only the queries whose metadata.split is NAME (e.g. dev or test)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("prepare", help="export the bundled model to ONNX now (else: first use)")
    _precision_option(p)
    return parser


def _precision_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the model's weights: fp32, or per-channel int8 (faster, slightly "
                        "different vectors); default: the index's own, else "
                        f"{DEFAULT_PRECISION} (or $QA_PRECISION)")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _index_option(p: argparse.ArgumentParser, help_text: str | None = None) -> None:
    p.add_argument("--index", type=Path, metavar="DIR",
                   help=help_text or "index folder (default: index/, or $QA_INDEX_DIR)")
    p.add_argument("--store", metavar="URL",
                   help="a PostgreSQL store (postgresql://user@host/db) instead of the index "
                        "folder (default: $QA_STORE; needs qa-docs[postgres])")


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 usage)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    args = build_parser().parse_args(argv)
    commands: dict[str, Callable[..., int]] = {
        "index": _index, "ask": _ask, "serve": _serve, "eval": _eval, "verify": _verify,
        "prepare": _prepare,
    }
    try:
        settings = Settings.from_env(
            index_dir=getattr(args, "index", None), model=getattr(args, "model", None),
            store=getattr(args, "store", None), ray=getattr(args, "ray", None),
            precision=getattr(args, "precision", None))
        return commands[args.command](args, settings, stdin or sys.stdin, out, err)
    except QAError as error:
        print(f"qa {args.command}: {error}", file=err)
        return 1
    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # The reader went away (`qa ask … | head`): stop quietly, as other tools do. Python
        # would still complain flushing the closed stdout at exit, so point it at /dev/null.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _progress_factory(err: TextIO, quiet: bool) -> Callable[[str, int], Callable[[int], None]]:
    def factory(stage: str, total: int) -> Callable[[int], None]:
        if quiet or total == 0:
            return lambda _n: None
        from tqdm import tqdm

        units = {"embedding": "text", "sentences": "sentence", "titled sentences": "sentence"}
        bar = tqdm(total=total, desc=stage, unit=units.get(stage, "file"),
                   file=err, leave=True, dynamic_ncols=True)

        def tick(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return tick

    return factory


def _index(args: argparse.Namespace, settings: Settings, _in: TextIO, out: TextIO,
           err: TextIO) -> int:
    from .index.backend import describe_store
    from .index.builder import index_paths

    paths = args.paths or [Path("seeds")]
    report = index_paths(paths, settings, prune=args.prune, rebuild=args.rebuild,
                         optimize=args.optimize, progress=_progress_factory(err, args.quiet))
    for skipped in report.skipped:
        print(f"skipped {skipped.source}: {skipped.reason}", file=err)
    state = "updated" if report.written else "already up to date"
    print(
        f"{describe_store(settings)} {state}: {report.documents} documents, "
        f"{report.passages} passages "
        f"(added {report.added}, changed {report.changed}, removed {report.removed}, "
        f"unchanged {report.unchanged}, skipped {len(report.skipped)}; "
        f"embedded {report.embedded} texts in {report.seconds:.1f} s)",
        file=out,
    )
    if args.optimize:
        merged = (f"{report.merged} segments merged into one" if report.merged
                  else "already one segment")
        print(f"{describe_store(settings)} optimized: {merged}", file=out)
    return 0


def _verify(args: argparse.Namespace, settings: Settings, _in: TextIO, out: TextIO,
            err: TextIO) -> int:
    from .index.backend import uses_postgres
    from .index.verify import verify_index

    if uses_postgres(settings):
        raise QAError("qa verify checks the index folder; a PostgreSQL store is checked by "
                      "PostgreSQL itself")
    where = f"{settings.index_dir}/"
    report = verify_index(settings.index_dir)
    if not report.ok:
        for problem in report.problems:
            print(f"qa verify: {problem}", file=err)
        print(f"qa verify: {where} has {len(report.problems)} problem"
              f"{'s' if len(report.problems) > 1 else ''}; run `qa index --rebuild` to build "
              "it again", file=err)
        return 1
    print(f"{where} verified: {report.files} files ({report.bytes / 1e6:.1f} MB) match their "
          f"checksums; the catalog passes SQLite's integrity check and its "
          f"{report.documents} documents match their hashes; {report.passages} passages in "
          f"{report.segments} segment{'' if report.segments == 1 else 's'} agree with it",
          file=out)
    return 0


def _prepare(_args: argparse.Namespace, settings: Settings, _in: TextIO, out: TextIO,
             _err: TextIO) -> int:
    from .index.embedding import settings_embedder

    model = settings_embedder(settings)
    print(f"{model.name} is ready at {model.precision} precision "
          f"({type(model).__name__}).", file=out)
    return 0


def _ask(args: argparse.Namespace, settings: Settings, stdin: TextIO, out: TextIO,
         _err: TextIO) -> int:
    from .answer.answerer import load_answerer
    from .answer.retrieval import Filters

    history = _read_history(args.history, settings) if args.history else []
    questions = [q for q in stdin.read().splitlines() if q.strip()] if args.question == "-" \
        else [args.question]
    if not questions:
        raise QAError("no question given on standard input")
    filters = Filters(source=args.source, date_from=args.since, date_to=args.until)
    answerer = load_answerer(settings)
    for question in questions:
        answer = answerer.ask(question, k=args.k, filters=filters, history=history,
                              now=args.now)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), file=out)
        else:
            print(_format_answer(answer), file=out)
    return 0


def _read_history(path: Path, settings: Settings) -> list[dict[str, str]]:
    from .answer.question import require_history

    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise QAError(f"cannot read history {path}: {error}") from None
    ok = isinstance(turns, list) and all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str) for t in turns
    )
    if not ok:
        raise QAError(f'{path}: history must be a JSON list of {{"role": "user"|"assistant", '
                      '"content": "..."}} objects')
    return require_history(turns, max_turns=settings.max_history_turns,
                           max_chars=settings.max_history_chars,
                           max_question_chars=settings.max_question_chars)


def _format_answer(answer: Any) -> str:
    lines = [answer.answer]
    if answer.query_used != answer.question:
        lines.append(f"(searched for: {answer.query_used})")
    for c in answer.citations:
        where = c.source + (f", page {c.page}" if c.page else "")
        lines.append(f"[{c.n}] {c.title} ({c.date or 'no date'}) {where}")
    if answer.related:
        lines.append("Possibly related:")
        # One line a document: two of its passages would print the same line twice.
        lines += list(dict.fromkeys(f"  - {c.title} ({c.date or 'no date'}) {c.source}"
                                    for c in answer.related))
    return "\n".join(lines) + "\n"


def _serve(args: argparse.Namespace, settings: Settings, _in: TextIO, out: TextIO,
           _err: TextIO) -> int:
    origins = ",".join(args.cors_origin) if args.cors_origin else None
    settings = settings.with_overrides(host=args.host, port=args.port, cors_origins=origins,
                                       frame_ancestors=args.frame_ancestors)
    from .web.server import serve

    serve(settings, out)
    return 0


def _eval(args: argparse.Namespace, settings: Settings, _in: TextIO, out: TextIO,
          err: TextIO) -> int:
    from .answer.answerer import load_answerer
    from .evaluate import (
        default_eval_index,
        default_eval_schema,
        format_table,
        load_dataset,
        read_queries,
        run_eval,
        sample_queries,
    )
    from .index.backend import uses_postgres
    from .index.builder import index_paths

    dataset = load_dataset(args.dataset, split=args.split, limit=args.limit)
    index_dir = args.index or default_eval_index(args.dataset, settings)
    if index_dir.resolve() == Path("index").resolve():
        raise QAError("qa eval never writes index/; give another --index folder")
    # Evaluation indexes share one embedding cache, so a mixed or rebuilt index re-embeds nothing.
    settings = settings.with_overrides(
        index_dir=index_dir,
        embedding_cache=settings.embedding_cache or str(index_dir.parent / CACHE_NAME),
    )
    if uses_postgres(settings):
        # Never the collection's own tables: a schema of the dataset's own in that database.
        settings = settings.with_overrides(pg_schema=default_eval_schema(args.dataset, settings))
    progress = _progress_factory(err, args.quiet)
    try:
        report = index_paths([dataset.corpus], settings, progress=progress)
    except (IndexMismatchError, IndexCorruptError) as error:
        # An evaluation index is ours to rebuild (the embedding cache makes it cheap).
        print(f"rebuilding {index_dir}/: {error}", file=err)
        report = index_paths([dataset.corpus], settings, progress=progress, rebuild=True)
    for skipped in report.skipped:
        print(f"skipped {skipped.source}: {skipped.reason}", file=err)
    if args.no_dates:
        settings = settings.with_overrides(date_weight=0.0)
    others = read_queries(args.out_of_corpus) if args.out_of_corpus else []
    if args.limit:
        others = sample_queries(others, args.limit)
    result = run_eval(load_answerer(settings), dataset, out_of_corpus=others,
                      answers=not args.retrieval_only)
    print(json.dumps(result) if args.json else format_table(result), file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
