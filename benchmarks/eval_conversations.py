"""Follow-up questions: how often a conversation's last turn cites the right document first.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_conversations.py [--verbose] [--json]

Reads the hand-written conversations of benchmarks/conversations.jsonl (two or three user
turns each; the last leans on the earlier ones: "When did they conquer England?", "And
Russia?") and a mixed index at eval-index/conversations of SQuAD 2.0 dev paragraphs, SciFact
abstracts and seeds/ (built on first use, reused after; the shared embedding cache at
eval-index/embeddings.sqlite already holds both corpora). The earlier turns are asked in
order, each with the conversation so far, and each answer joins the history; the last turn is
asked twice, with that history and without any. Prints how often the last turn's first
citation is the expected document each way; `--verbose` adds one line per conversation with
the query searched, `--json` prints one JSON object instead. An `expected_doc` of "seed" means
the seed article. No dataset's queries.jsonl is read. It changes nothing outside its index.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.answer.answerer import Answer, Answerer, load_answerer
from qa.config import Settings
from qa.index.builder import index_paths
from qa.ingest import file_doc_id

ROOT = Path(__file__).resolve().parent.parent

DATASETS = ROOT.parent / "shared" / "datasets"
CORPORA = (
    DATASETS / "squad2_cs224n_dev" / "corpus.jsonl",
    DATASETS / "scifact" / "corpus.jsonl",
    ROOT / "seeds",
)
SEED = ROOT / "seeds" / "000_cf4a24119513014b.txt"
CONVERSATIONS = ROOT / "benchmarks" / "conversations.jsonl"
INDEX_DIR = ROOT / "eval-index" / "conversations"
EMBEDDING_CACHE = ROOT / "eval-index" / "embeddings.sqlite"
#: More texts to embed than this means the shared cache is not being hit: stop rather than
#: spend many minutes embedding both corpora again.
MAX_FRESH_EMBEDDINGS = 500


class CacheMissError(RuntimeError):
    """Indexing would embed far more texts than the cache should leave to embed."""


@dataclass(frozen=True)
class Conversation:
    """User turns in order; the last one's answer should cite `expected_doc` first."""

    id: str
    turns: tuple[str, ...]
    expected_doc: str


@dataclass(frozen=True)
class Outcome:
    """The last turn asked one way: the query searched and the documents cited."""

    query_used: str
    first_doc: str | None
    cited: tuple[str, ...]
    hit: bool
    cited_anywhere: bool
    abstained: bool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=Path, default=CONVERSATIONS)
    parser.add_argument("--verbose", action="store_true", help="one line per conversation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    log = sys.stderr if args.json else sys.stdout
    conversations = load_conversations(args.conversations)
    settings = Settings(index_dir=INDEX_DIR, embedding_cache=str(EMBEDDING_CACHE))
    try:
        report = index_paths(CORPORA, settings, progress=_refuse_large_embedding)
    except CacheMissError as err:
        sys.exit(f"error: {err}")
    print(f"index {INDEX_DIR.relative_to(ROOT)}: {report.documents} documents, "
          f"{report.passages} passages, {report.embedded} embedded, "
          f"{'written' if report.written else 'reused'} in {report.seconds:.1f} s", file=log)
    answerer = load_answerer(settings)
    rows = [run(answerer, c) for c in conversations]
    summary = summarise(rows)
    if args.json:
        print(json.dumps({**summary, "conversations": [
            {"id": c.id, "turns": list(c.turns), "expected_doc": c.expected_doc,
             "with_history": asdict(w), "without_history": asdict(wo)}
            for c, w, wo in rows]}, ensure_ascii=False))
        return
    if args.verbose:
        for c, with_history, without in rows:
            print(f"\n{c.id}  expected {c.expected_doc}")
            for label, outcome in (("with history", with_history), ("no history  ", without)):
                mark = "hit " if outcome.hit else "miss"
                print(f"  {label} {mark} first={outcome.first_doc}  query: "
                      f"{outcome.query_used!r}")
        print()
    n = summary["n"]
    print(f"{n} conversations; last turn's first citation is the expected document:")
    for key, label in (("with_history", "with history"), ("without_history", "without history")):
        s = summary[key]
        print(f"  {label:16} {s['first_citation_hits']:3d}/{n} = {s['first_citation']:.3f}"
              f"   (cited anywhere {s['cited_anywhere']:.3f}, abstained {s['abstained']})")
    print(f"  rewritten queries (follow-up detected): {summary['rewritten']}/{n}")


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of `path`, with "seed" resolved to the seed article's document id."""
    seed_id = file_doc_id(SEED)
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        turns = tuple(row["turns"])
        if len(turns) < 2:
            raise ValueError(f"{path}:{number}: a conversation needs at least two turns")
        expected = seed_id if row["expected_doc"] == "seed" else str(row["expected_doc"])
        out.append(Conversation(str(row["id"]), turns, expected))
    return out


def run(answerer: Answerer, conversation: Conversation) -> tuple[Conversation, Outcome, Outcome]:
    """Ask the earlier turns with the growing history, then the last turn with and without."""
    history: list[dict[str, str]] = []
    for turn in conversation.turns[:-1]:
        answer = answerer.ask(turn, history=history)
        history += [{"role": "user", "content": turn},
                    {"role": "assistant", "content": answer.answer}]
    last = conversation.turns[-1]
    return (conversation,
            _outcome(answerer.ask(last, history=history), conversation.expected_doc),
            _outcome(answerer.ask(last), conversation.expected_doc))


def summarise(rows: list[tuple[Conversation, Outcome, Outcome]]) -> dict[str, Any]:
    """Hit rates over all conversations, with history and without."""
    n = len(rows)
    summary: dict[str, Any] = {"n": n}
    for key, outcomes in (("with_history", [r[1] for r in rows]),
                          ("without_history", [r[2] for r in rows])):
        hits = sum(o.hit for o in outcomes)
        summary[key] = {
            "first_citation_hits": hits,
            "first_citation": hits / n if n else 0.0,
            "cited_anywhere": sum(o.cited_anywhere for o in outcomes) / n if n else 0.0,
            "abstained": sum(o.abstained for o in outcomes),
        }
    summary["rewritten"] = sum(r[1].query_used != r[0].turns[-1].strip() for r in rows)
    return summary


def _outcome(answer: Answer, expected: str) -> Outcome:
    cited = tuple(c.doc_id for c in answer.citations)
    first = cited[0] if cited else None
    return Outcome(answer.query_used, first, cited, first == expected, expected in cited,
                   answer.abstained)


def _refuse_large_embedding(stage: str, total: int) -> Callable[[int], None]:
    if stage == "embedding" and total > MAX_FRESH_EMBEDDINGS:
        raise CacheMissError(
            f"indexing would embed {total} texts, so {EMBEDDING_CACHE} does not hold these "
            f"corpora's embeddings (expected a handful); nothing was written")
    if stage == "embedding":
        print(f"embedding {total} texts missing from the cache", file=sys.stderr)
    return lambda _n: None


if __name__ == "__main__":
    main()
