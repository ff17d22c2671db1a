"""Score the answerer on the natural conversations, at three collection sizes.

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python benchmarks/natural/eval_natural.py \
        [--sizes single,twenty] [--full] [--no-history] [--split dev|test|fresh] \
        [--verbose] [--json] [--details PATH]

Each conversation of benchmarks/natural/conversations.jsonl is asked turn by turn through
`Answerer.ask(question, history=…, now=…)`: the history holds the earlier user questions and
the system's own answer texts, as the chat sends them, and `now` is the conversation's date
(today when it has none; check_conversations.py makes sure no question then names a relative
time). Collection sizes:

- `single`: each conversation asked of an index holding only its own article(s);
- `twenty`: one index of the seed and the 19 news articles of articles.txt;
- `full` (with `--full`): the seed and the whole RealTime QA corpus, 2,273 documents; its first
  build embeds about 16,000 passages (ten minutes or so on an idle machine, over an hour on a
  busy one); later runs find them in the cache.

A turn is right when
- (answer turn) the answer is not an abstention and its quoted text (`Answer.answer`) contains
  one of the turn's answer strings (case-insensitive, Unicode-normalised);
- (not-in-documents turn) the answerer abstained;
- (overview turn) it did not abstain and at least half of the key phrases appear.

Splits: dev (tuned on), test (never tuned on) and fresh (written later, blind, as a second
check; see natural_set.py). Printed per size, history mode and split: turns right, accuracy
on answerable turns (answer and overview turns), false abstention on them, abstention on
not-in-documents turns, and the share of answers whose first citation is from the
conversation's own article(s) (at the larger sizes, the rest quoted another article).
`--no-history` adds a second pass asking every turn alone. `--verbose` lists the wrong turns;
`--details` writes every turn's outcome as JSON lines; `--json` prints the summary as JSON.

Indexes are written under eval-index/natural/ (never index/), from small JSONL subsets of the
shared corpus written there at run time; all share the embedding cache
eval-index/embeddings.sqlite, so later runs embed nothing. The figures are deterministic for a
given code version.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from natural_set import (
    ABSENT,
    ANSWER,
    ARTICLE_IDS,
    CONVERSATIONS,
    CORPUS,
    OVERVIEW,
    ROOT,
    SEED,
    SEED_ID,
    SPLITS,
    Conversation,
    Turn,
    load_articles,
    load_conversations,
    read_article_ids,
)

from qa.answer.answerer import Answer, Answerer, load_answerer
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMismatchError
from qa.index.builder import IndexReport, index_paths
from qa.index.embedding import Embedder, load_embedder

EVAL_DIR = ROOT / "eval-index" / "natural"
EMBEDDING_CACHE = ROOT / "eval-index" / "embeddings.sqlite"
SIZES = ("single", "twenty", "full")
MODES = ("history", "alone")


@dataclass(frozen=True)
class Outcome:
    """One turn asked one way, and whether the reply was right."""

    conversation: str
    split: str
    size: str
    mode: str
    turn: int
    kind: str
    question: str
    right: bool
    abstained: bool
    answer: str
    query_used: str
    support: float
    #: The short answer led with (None without one), and whether it holds or lies inside a
    #: gold answer string.
    short: str | None = None
    short_right: bool = False
    #: Whether the first citation is from one of the conversation's own articles (None when
    #: nothing was cited): at the larger sizes, a miss with False here is a retrieval miss.
    on_article: bool | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="single,twenty",
                        help="comma-separated collection sizes among single,twenty,full")
    parser.add_argument("--full", action="store_true", help="add the full corpus size")
    parser.add_argument("--no-history", action="store_true",
                        help="also ask every turn alone, without the conversation so far")
    parser.add_argument("--split", choices=SPLITS, help="only this split's conversations")
    parser.add_argument("--conversations", type=Path, default=CONVERSATIONS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list the wrong turns")
    parser.add_argument("--details", type=Path, help="write every turn's outcome (JSON lines)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    if args.full and "full" not in sizes:
        sizes.append("full")
    unknown = set(sizes) - set(SIZES)
    if unknown:
        sys.exit(f"error: unknown size(s) {', '.join(sorted(unknown))}; known: {', '.join(SIZES)}")
    log = sys.stderr if args.json else sys.stdout
    conversations = load_conversations(args.conversations)
    if args.split:
        conversations = [c for c in conversations if c.split == args.split]
    if not args.corpus.exists():
        sys.exit(f"error: the RealTime QA corpus is not at {args.corpus} (see --corpus)")
    modes = ["history", "alone"] if args.no_history else ["history"]

    indexes = Indexes(args.corpus, log)
    outcomes: list[Outcome] = []
    for size in sizes:
        began = time.perf_counter()
        for conversation in conversations:
            answerer = indexes.answerer(size, conversation.articles)
            for mode in modes:
                outcomes += ask_conversation(answerer, conversation, size, mode)
        print(f"{size}: asked in {time.perf_counter() - began:.0f} s", file=log)

    rows = summarise(outcomes, sizes, modes)
    if args.details:
        args.details.parent.mkdir(parents=True, exist_ok=True)
        args.details.write_text("".join(json.dumps(asdict(o), ensure_ascii=False) + "\n"
                                        for o in outcomes), encoding="utf-8")
    if args.json:
        print(json.dumps({"rows": rows}, ensure_ascii=False))
        return
    if args.verbose:
        print_wrong(outcomes)
    print_table(rows)


class Indexes:
    """The evaluation indexes, built (or brought up to date) on first use, and an answerer
    for each, kept while the run lasts."""

    def __init__(self, corpus: Path, log: Any) -> None:
        self.corpus = corpus
        self.log = log
        self.news_ids = read_article_ids(ARTICLE_IDS)
        self.rows = load_articles(self.news_ids, corpus)
        self.answerers: dict[str, Answerer] = {}
        self._embedder: Embedder | None = None

    def answerer(self, size: str, articles: Sequence[str]) -> Answerer:
        """The answerer for a conversation about `articles` at collection size `size`."""
        if size == "single":
            name = "single-" + "+".join(sorted(a.removeprefix("rtqa-") for a in articles))
            wanted = articles
        else:
            name, wanted = size, [SEED_ID, *self.news_ids]
        if name not in self.answerers:
            paths = [self.corpus, SEED] if size == "full" else self._subset(name, wanted)
            self.answerers[name] = self._build(name, paths)
        return self.answerers[name]

    def _subset(self, name: str, articles: Iterable[str]) -> list[Path]:
        """The seed file (if wanted) and a JSONL of the wanted news articles' corpus rows."""
        paths = [SEED] if SEED_ID in articles else []
        news = [a for a in articles if a != SEED_ID]
        if news:
            path = EVAL_DIR / "corpora" / f"{name}.jsonl"
            text = "".join(json.dumps(self.rows[a], ensure_ascii=False) + "\n" for a in news)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths

    def _build(self, name: str, paths: list[Path]) -> Answerer:
        settings = Settings.from_env(index_dir=EVAL_DIR / name,
                                     embedding_cache=str(EMBEDDING_CACHE))
        try:
            report = self._index(paths, settings, rebuild=False)
        except (IndexMismatchError, IndexCorruptError) as error:
            # An evaluation index is ours to rebuild; the embedding cache makes it cheap.
            print(f"rebuilding {name}: {error}", file=self.log)
            report = self._index(paths, settings, rebuild=True)
        if report.written:
            print(f"index {name}: {report.documents} documents, {report.passages} passages, "
                  f"{report.embedded} embedded, {report.seconds:.1f} s", file=self.log)
        answerer = load_answerer(settings)
        strays = _strays(answerer, paths)
        if strays:
            # Indexing adds and updates but only prunes files that vanished: a copy of the
            # seed indexed from another checkout would stay and be quoted twice.
            print(f"rebuilding {name}: it holds {strays[0]} (+{len(strays) - 1} more) that "
                  "this run did not ask for", file=self.log)
            self._index(paths, settings, rebuild=True)
            answerer = load_answerer(settings)
        return answerer

    def _index(self, paths: list[Path], settings: Settings, *, rebuild: bool) -> IndexReport:
        return index_paths(paths, settings, rebuild=rebuild, embedder=self.embedder(settings),
                           progress=self._progress)

    def embedder(self, settings: Settings) -> Embedder:
        """One embedding model for every build (loaded lazily, only if a build embeds)."""
        if self._embedder is None:
            self._embedder = load_embedder(settings.model, batch_size=settings.embed_batch_size)
        return self._embedder

    def _progress(self, stage: str, total: int) -> Callable[[int], None]:
        if stage != "embedding" or total < 200:
            return lambda _n: None
        print(f"embedding {total} passages missing from the cache…", file=self.log, flush=True)
        done = [0]

        def tick(n: int) -> None:
            before, done[0] = done[0], done[0] + n
            if before // 500 != done[0] // 500:
                print(f"  {done[0]}/{total}", file=self.log, flush=True)

        return tick


def _strays(answerer: Answerer, paths: list[Path]) -> list[str]:
    """Sources of the index's live documents that are none of `paths` (nor inside them)."""
    roots = [str(p.resolve()) for p in paths]
    return [row.source for row in answerer.retriever.store.catalog.documents()
            if not any(row.source == r or row.source.startswith((r + "/", r + "#"))
                      for r in roots)]


def ask_conversation(answerer: Answerer, conversation: Conversation, size: str,
                     mode: str) -> list[Outcome]:
    """Every turn of `conversation` asked in order, with the conversation so far (mode
    "history") or alone (mode "alone"), and scored."""
    history: list[dict[str, str]] = []
    out = []
    for number, turn in enumerate(conversation.turns, 1):
        answer = answerer.ask(turn.q, history=history if mode == "history" else (),
                              now=conversation.now)
        short = answer.short_answer.text if answer.short_answer else None
        out.append(Outcome(conversation.id, conversation.split, size, mode, number, turn.kind,
                           turn.q, is_right(turn, answer), answer.abstained, answer.answer,
                           answer.query_used, answer.support, short,
                           short is not None and short_holds(short, turn.answers),
                           _on_article(answer, conversation.articles)))
        history += [{"role": "user", "content": turn.q},
                    {"role": "assistant", "content": answer.answer}]
    return out


def _on_article(answer: Answer, articles: Sequence[str]) -> bool | None:
    """Whether `answer`'s first citation comes from one of `articles` (the seed by its file,
    a news article by the `#id` its JSONL source ends with)."""
    if not answer.citations:
        return None
    source = answer.citations[0].source
    return any(source == str(SEED.resolve()) if a == SEED_ID else source.endswith("#" + a)
               for a in articles)


def is_right(turn: Turn, answer: Answer) -> bool:
    """Whether `answer` is a right reply to `turn` (see the module docstring)."""
    if turn.kind == ABSENT:
        return answer.abstained
    if answer.abstained:
        return False
    text = _fold(answer.answer)
    found = sum(_fold(a) in text for a in turn.answers)
    if turn.kind == OVERVIEW:
        return 2 * found >= len(turn.answers)
    return found > 0


def short_holds(short: str, answers: Sequence[str]) -> bool:
    """Whether a short answer holds a gold answer string, or lies inside one ("Hawaii" of
    "Hawaii Telescope"; "Sunak" of "Rishi Sunak")."""
    ours = _fold(short)
    return any(_fold(a) in ours or ours in _fold(a) for a in answers)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def summarise(outcomes: list[Outcome], sizes: Sequence[str],
              modes: Sequence[str]) -> list[dict[str, Any]]:
    """One row per size, history mode and split (dev, test, all) with the figures."""
    rows = []
    for size in sizes:
        for mode in modes:
            for split in (*SPLITS, "all"):
                part = [o for o in outcomes if o.size == size and o.mode == mode
                        and split in ("all", o.split)]
                if part:
                    rows.append({"size": size, "history": mode == "history", "split": split,
                                 **figures(part)})
    return rows


def figures(part: list[Outcome]) -> dict[str, Any]:
    """Turn accuracy, answerable accuracy and false abstention, and abstention where the
    documents don't hold the answer."""
    answerable = [o for o in part if o.kind in (ANSWER, OVERVIEW)]
    absent = [o for o in part if o.kind == ABSENT]
    overview = [o for o in part if o.kind == OVERVIEW]
    short = [o for o in part if o.kind == ANSWER and o.short is not None]
    cited = [o for o in part if o.kind == ANSWER and o.on_article is not None]

    def share(hits: int, n: int) -> float | None:
        return round(hits / n, 3) if n else None

    return {
        "turns": len(part),
        "right": sum(o.right for o in part),
        "accuracy": share(sum(o.right for o in part), len(part)),
        "answerable": len(answerable),
        "answerable_accuracy": share(sum(o.right for o in answerable), len(answerable)),
        "false_abstention": share(sum(o.abstained for o in answerable), len(answerable)),
        "not_in_documents": len(absent),
        "abstention_not_in_documents": share(sum(o.abstained for o in absent), len(absent)),
        "overview": len(overview),
        "overview_accuracy": share(sum(o.right for o in overview), len(overview)),
        "short_answers": len(short),
        "short_answer_accuracy": share(sum(o.short_right for o in short), len(short)),
        "answered": len(cited),
        "own_article": share(sum(bool(o.on_article) for o in cited), len(cited)),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    def cell(value: float | None) -> str:
        return "    -" if value is None else f"{value:5.3f}"

    print(f"\n{'size':7} {'history':8} {'split':5} {'right':>9} {'acc':>6} "
          f"{'ans.acc':>8} {'false.abst':>11} {'nid.abst':>9} {'overview':>9} {'short':>6} "
          f"{'own':>6}")
    for r in rows:
        print(f"{r['size']:7} {'with' if r['history'] else 'without':8} {r['split']:5} "
              f"{r['right']:4d}/{r['turns']:<4d} {cell(r['accuracy']):>6} "
              f"{cell(r['answerable_accuracy']):>8} {cell(r['false_abstention']):>11} "
              f"{cell(r['abstention_not_in_documents']):>9} {cell(r['overview_accuracy']):>9} "
              f"{cell(r['short_answer_accuracy']):>6} {cell(r['own_article']):>6}")
    print("\nright: turns right / turns; ans.acc: right among answerable turns (answer and "
          "overview); false.abst: abstained among answerable turns; nid.abst: abstained among "
          "not-in-documents turns; overview: right among overview turns; short: short answers "
          "(the phrase an answer leads with) that hold or lie inside a gold answer, among the "
          "answerable turns given one; own: answers to answer turns whose first citation is "
          "from the conversation's own article(s) (below 1 at the larger sizes: another "
          "article was quoted).")


def print_wrong(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.right:
            continue
        got = "abstained" if o.abstained else o.answer.replace("\n", " ")[:160]
        print(f"{o.conversation}#{o.turn} [{o.size}/{o.mode}] {o.kind}: {o.question!r}\n"
              f"    searched {o.query_used!r} (support {o.support:.2f})\n    got: {got}")


if __name__ == "__main__":
    main()
