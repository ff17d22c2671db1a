"""The natural conversational test set: reading it, its articles, and the wording rule.

Shared by check_conversations.py (validates the set) and eval_natural.py (scores the system).
Each line of conversations.jsonl is one conversation::

    {"id": "c01", "split": "dev" | "test" | "fresh", "articles": ["seed" | "rtqa-…", …],
     "now": "YYYY-MM-DD" (optional: the date relative dates such as "last week" count from),
     "turns": [{"q": …, "answers": [short strings], "evidence": "the answering sentence"}
               | {"q": …, "not_in_documents": true}
               | {"q": …, "overview": true, "answers": [key phrases of any good overview]}]}

"seed" is the seed article seeds/000_cf4a24119513014b.txt; other ids are rows of the RealTime
QA news corpus (`../shared/datasets/realtimeqa_news/corpus.jsonl`, never copied into the
repository). articles.txt lists the 19 news articles the set is about, one id a line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONVERSATIONS = HERE / "conversations.jsonl"
ARTICLE_IDS = HERE / "articles.txt"
SEED = ROOT / "seeds" / "000_cf4a24119513014b.txt"
SEED_ID = "seed"
CORPUS = ROOT.parent / "shared" / "datasets" / "realtimeqa_news" / "corpus.jsonl"

#: dev is tuned on, test never; fresh was written blind (by writers who never saw the
#: system, its answers or the other questions), as a check of how dev's gains carry to
#: questions nobody tuned on: ids fa/fb (batch 1, session 5; its misses were read at that
#: session's end), fc/fd (batch 2, session 5), fe/ff (batch 3, session 6) and fg/fh (batch 4,
#: session 7, written at its end and measured once, against the code of its start and its
#: end), only measured.
SPLITS = ("dev", "test", "fresh")
#: Turn kinds: a fact the answer must quote, a question no document answers, an overview.
ANSWER, ABSENT, OVERVIEW = "answer", "not_in_documents", "overview"
_KEYS = {
    ANSWER: {"q", "answers", "evidence"},
    ABSENT: {"q", "not_in_documents"},
    OVERVIEW: {"q", "overview", "answers"},
}
_CONVERSATION_KEYS = {"id", "split", "articles", "turns"}
_OPTIONAL_KEYS = {"now"}

# Apostrophes join a word ("Russia's" is one word, "russias"); anything else that is not a
# letter or digit separates words, so "62-37" and "A-frame" are two words each.
_APOSTROPHES = re.compile(r"['’‘´`]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Turn:
    """One user turn and what a right reply must show."""

    q: str
    kind: str
    answers: tuple[str, ...] = ()
    evidence: str = ""


@dataclass(frozen=True)
class Conversation:
    """User turns asked in order of an index holding (at least) `articles`."""

    id: str
    split: str
    articles: tuple[str, ...]
    now: date | None
    turns: tuple[Turn, ...]


def load_conversations(path: Path = CONVERSATIONS) -> list[Conversation]:
    """Every conversation of `path`, checked for shape.

    Raises:
        ValueError: a line is not a well-formed conversation; the message names the line.
    """
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(_conversation(json.loads(line)))
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"{path.name}:{number}: {err}") from err
    return out


def _conversation(row: dict) -> Conversation:  # type: ignore[type-arg]
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    keys = set(row)
    if not keys >= _CONVERSATION_KEYS or keys - _CONVERSATION_KEYS - _OPTIONAL_KEYS:
        raise ValueError(f"keys must be {sorted(_CONVERSATION_KEYS)} (+ now), got {sorted(keys)}")
    if row["split"] not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {row['split']!r}")
    articles = row["articles"]
    if not (isinstance(articles, list) and articles and all(isinstance(a, str) for a in articles)):
        raise ValueError("articles must be a non-empty list of ids")
    now = date.fromisoformat(row["now"]) if "now" in row else None
    turns = row["turns"]
    if not isinstance(turns, list):
        raise ValueError("turns must be a list")
    return Conversation(str(row["id"]), row["split"], tuple(articles), now,
                        tuple(_turn(t, i) for i, t in enumerate(turns, 1)))


def _turn(row: dict, number: int) -> Turn:  # type: ignore[type-arg]
    if not isinstance(row, dict) or not isinstance(row.get("q"), str) or not row["q"].strip():
        raise ValueError(f"turn {number}: needs a non-empty question q")
    kind = ABSENT if row.get("not_in_documents") else OVERVIEW if row.get("overview") else ANSWER
    if set(row) != _KEYS[kind]:
        raise ValueError(f"turn {number}: a {kind} turn has keys {sorted(_KEYS[kind])}, "
                         f"got {sorted(row)}")
    if kind == ABSENT:
        if row["not_in_documents"] is not True:
            raise ValueError(f"turn {number}: not_in_documents must be true")
        return Turn(row["q"], kind)
    if kind == OVERVIEW and row["overview"] is not True:
        raise ValueError(f"turn {number}: overview must be true")
    answers = row["answers"]
    if not (isinstance(answers, list) and answers
            and all(isinstance(a, str) and a.strip() for a in answers)):
        raise ValueError(f"turn {number}: answers must be a non-empty list of strings")
    evidence = row.get("evidence", "")
    if kind == ANSWER and not (isinstance(evidence, str) and evidence.strip()):
        raise ValueError(f"turn {number}: evidence must be the answering sentence")
    return Turn(row["q"], kind, tuple(answers), evidence)


def read_article_ids(path: Path = ARTICLE_IDS) -> list[str]:
    """The news article ids of articles.txt, in order (blank lines and # comments skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


def load_articles(ids: list[str], corpus: Path = CORPUS) -> dict[str, dict]:  # type: ignore[type-arg]
    """The corpus rows (`_id`, `title`, `text`, `metadata`) of `ids`, read in one pass.

    Raises:
        FileNotFoundError: the shared corpus is not there.
        KeyError: an id is not in the corpus.
    """
    wanted = set(ids)
    found: dict[str, dict] = {}  # type: ignore[type-arg]
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("_id") in wanted:
                found[row["_id"]] = row
    missing = sorted(wanted - set(found))
    if missing:
        raise KeyError(f"not in {corpus}: {', '.join(missing)}")
    return found


def article_texts(conversations: list[Conversation], corpus: Path = CORPUS) -> dict[str, str]:
    """The text of every article the conversations name: the seed file's, and the corpus
    rows' `text` (the title is left out: it is metadata, not a sentence to quote)."""
    ids = sorted({a for c in conversations for a in c.articles if a != SEED_ID})
    texts = {i: str(row["text"]) for i, row in load_articles(ids, corpus).items()}
    texts[SEED_ID] = SEED.read_text(encoding="utf-8")
    return texts


def words(text: str) -> list[str]:
    """Lower-cased words, punctuation ignored: "Russia's 'great powers'" → russias great powers."""
    return _WORD.findall(_APOSTROPHES.sub("", text.lower()))


def shared_runs(question: str, evidence: str, length: int = 3) -> list[str]:
    """The runs of `length` consecutive words that `question` copies from `evidence`."""
    def grams(ws: list[str]) -> list[tuple[str, ...]]:
        return [tuple(ws[i : i + length]) for i in range(len(ws) - length + 1)]

    theirs = set(grams(words(evidence)))
    return list(dict.fromkeys(" ".join(g) for g in grams(words(question)) if g in theirs))
