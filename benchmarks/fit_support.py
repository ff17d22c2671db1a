"""Fit the support model (when to say "not in the documents") on several sources at once.

    .venv/bin/python benchmarks/fit_support.py [--per-source N] [--write]

For each evaluation index (SQuAD 2.0 dev, WikiQA, scifact; built by `qa eval` into
eval-index/), its own answerable questions (WikiQA: dev only) are positives and the other
datasets' questions, asked of it, are negatives (their answers are not there); and on the
natural conversations' index (benchmarks/natural, dev part only), the self-contained turns the
articles answer are positives and those they don't are negatives; the same turns again on
indexes holding only their own article (a new user's first folder), with the other datasets'
questions asked of those as negatives too. Each (index, kind) source
is sampled twice, disjointly: one half fits a logistic regression over the signals of
qa/answer/support.py (each source weighing the same), the other half measures it. The
probability cut is then moved so that false abstention on the fitting half's answerable
questions is at most TARGET_FALSE; it is folded into the bias, so `abstain_threshold` stays 0.5.
`--write` saves qa/answer/models/support.json. realtimeqa_news and WikiQA test are never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from qa.answer.answerer import Answerer, load_answerer
from qa.answer.support import SUPPORT_FEATURES, SupportModel
from qa.config import Settings
from qa.evaluate import Query, load_dataset
from qa.evaluate.dataset import asked_on

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
MODEL = ROOT / "qa" / "answer" / "models" / "support.json"
TARGET_FALSE = 0.04
L2 = 1.0
NATURAL = ROOT / "benchmarks" / "natural" / "conversations.jsonl"
#: index folder under eval-index/ → the dataset whose answerable questions it holds.
INDEXES = {"squad2_cs224n_dev": DATA / "squad2_cs224n_dev", "wikiqa": DATA / "wikiqa",
           "scifact": DATA / "scifact"}


def answerable(directory: Path) -> list[Query]:
    """The dataset's answerable questions (WikiQA: of its dev split only; test is reported,
    never fitted on)."""
    dataset = load_dataset(directory, split="dev" if directory.name == "wikiqa" else None)
    if dataset.answers is None:
        return list(dataset.queries)
    return [q for q in dataset.queries if dataset.answers.get(q.qid)]


def _half(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2


def sample(queries: list[Query], n: int, part: int) -> list[Query]:
    """A deterministic sample of n queries from half `part` (0 or 1) of the list."""
    half = [q for q in queries if _half(q.qid) == part]
    half.sort(key=lambda q: hashlib.sha256(f"s{q.qid}".encode()).hexdigest())
    return half[:n]


def features(answerer: Answerer, queries: list[Query]) -> np.ndarray:
    """The support signals of each query, as `Answerer.ask` reads them (an overview request,
    which is never abstained on, has none and is left out)."""
    readings = [answerer.read(query.text, now=asked_on(query)) for query in queries]
    return np.array([r.signals for r in readings if r.signals is not None])


def natural_turns(part: int) -> tuple[list[Query], list[Query]]:
    """The dev part of the natural conversations (benchmarks/natural): self-contained answer
    turns and not-in-documents turns, split in two halves by conversation. Build their index
    first with `benchmarks/natural/eval_natural.py --sizes twenty --split dev`."""
    from qa.answer.followup import leans_on_context

    answered: list[Query] = []
    absent: list[Query] = []
    for line in NATURAL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] != "dev" or _half(row["id"]) != part:
            continue
        for number, turn in enumerate(row["turns"]):
            if turn.get("overview") or leans_on_context(turn["q"]):
                continue
            query = Query(f"{row['id']}-{number}", turn["q"])
            (absent if turn.get("not_in_documents") else answered).append(query)
    return answered, absent


def natural_single(part: int, others: dict[str, list[Query]],
                   per_source: int) -> list[tuple[str, np.ndarray, float]]:
    """The same turns asked of an index holding only their own article(s), as a new user's
    first folder is (eval_natural's `single` indexes, built on first use), and the other
    datasets' questions asked of those small indexes (each of one, chosen by its id)."""
    import sys

    from qa.answer.followup import leans_on_context

    sys.path.insert(0, str(ROOT / "benchmarks" / "natural"))
    from eval_natural import Indexes
    from natural_set import ABSENT, ANSWER, CORPUS, load_conversations

    indexes = Indexes(CORPUS, sys.stderr)
    answered: list[np.ndarray] = []
    absent: list[np.ndarray] = []
    conversations = [c for c in load_conversations()
                     if c.split == "dev" and _half(c.id) == part]
    for conversation in conversations:
        answerer = indexes.answerer("single", conversation.articles)
        for number, turn in enumerate(conversation.turns):
            if turn.kind not in (ANSWER, ABSENT) or leans_on_context(turn.q):
                continue
            found = features(answerer, [Query(f"{conversation.id}-{number}", turn.q)])
            (answered if turn.kind == ANSWER else absent).extend(found)
    blocks = [("natural answerable on natural-single", np.array(answered), 1.0),
              ("natural not in documents on natural-single", np.array(absent), 0.0)]
    for source, queries in others.items():
        rows: list[np.ndarray] = []
        for query in sample(queries, per_source // len(others), part):
            pick = int(hashlib.sha256(query.qid.encode()).hexdigest(), 16) % len(conversations)
            rows.extend(features(indexes.answerer("single", conversations[pick].articles),
                                 [query]))
        blocks.append((f"{source} on natural-single", np.array(rows), 0.0))
    for name, x, _ in blocks:
        print(f"  {name}: {len(x)} questions", flush=True)
    return blocks


def collect(per_source: int, part: int) -> list[tuple[str, np.ndarray, float]]:
    """(source name, features, label) blocks: each index with its own and the others'
    questions, and the natural conversations' turns on their own index."""
    ready = {name: path for name, path in INDEXES.items()
             if (ROOT / "eval-index" / name / "manifest.json").exists()}
    for name in sorted(set(INDEXES) - set(ready)):
        print(f"  (skipping {name}: eval-index/{name} is not built; run `qa eval` on it)")
    questions = {name: answerable(path) for name, path in INDEXES.items()}
    blocks = []
    natural = load_answerer(Settings.from_env(
        index_dir=ROOT / "eval-index" / "natural" / "twenty",
        embedding_cache=str(ROOT / "eval-index" / "embeddings.sqlite")))
    answered, absent = natural_turns(part)
    for name, queries, label in (("natural answerable", answered, 1.0),
                                 ("natural not in documents", absent, 0.0)):
        blocks.append((f"{name} on natural-twenty", features(natural, queries), label))
        print(f"  {name}: {len(queries)} turns", flush=True)
    blocks += natural_single(part, questions, per_source)
    for index in ready:
        answerer = load_answerer(Settings.from_env(
            index_dir=ROOT / "eval-index" / index,
            embedding_cache=str(ROOT / "eval-index" / "embeddings.sqlite")))
        for source, queries in questions.items():
            n = per_source if source == index else per_source // len(INDEXES)
            label = 1.0 if source == index else 0.0
            x = features(answerer, sample(queries, n, part))
            blocks.append((f"{source} on {index}", x, label))
            print(f"  {source} on {index}: {len(x)} questions", flush=True)
    return blocks


def fit(blocks: list[tuple[str, np.ndarray, float]]) -> tuple[np.ndarray, float]:
    x = np.vstack([b[1] for b in blocks])
    y = np.concatenate([np.full(len(b[1]), b[2]) for b in blocks])
    w = np.concatenate([np.full(len(b[1]), 1.0 / (len(blocks) * len(b[1]))) for b in blocks])
    w *= len(y)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(y), 1))])
    beta = np.zeros(z.shape[1])
    penalty = L2 * np.diag(np.r_[np.ones(len(beta) - 1), 0.0])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        step = np.linalg.solve((z * (w * p * (1 - p))[:, None]).T @ z + penalty,
                               z.T @ (w * (p - y)) + penalty @ beta)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    coef = beta[:-1] / scale
    return coef, float(beta[-1] - (coef * mean).sum())


def rates(model: SupportModel, blocks: list[tuple[str, np.ndarray, float]]) -> None:
    for name, x, label in blocks:
        abstained = np.mean([model.probability(row) < 0.5 for row in x])
        what = "false abstention" if label else "abstained (out of corpus)"
        print(f"    {name:<42} {what:<26} {abstained:.3f}")


CACHE = ROOT / "eval-index" / "fit-support.json"
Blocks = list[tuple[str, np.ndarray, float]]


def save_blocks(fitting: Blocks, measuring: Blocks) -> None:
    CACHE.write_text(json.dumps([[(n, x.tolist(), y) for n, x, y in part]
                                 for part in (fitting, measuring)]), encoding="utf-8")


def load_blocks() -> tuple[Blocks, Blocks]:
    parts = json.loads(CACHE.read_text(encoding="utf-8"))
    fitting, measuring = ([(n, np.array(x).reshape(-1, len(SUPPORT_FEATURES)), float(y))
                           for n, x, y in part] for part in parts)
    return fitting, measuring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=200)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--cached", action="store_true",
                        help=f"reuse the signals saved in {CACHE.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.cached:
        fitting, measuring = load_blocks()
    else:
        print("fitting half:")
        fitting = collect(args.per_source, 0)
        print("measuring half:")
        measuring = collect(args.per_source, 1)
        save_blocks(fitting, measuring)
    coef, bias = fit(fitting)
    model = SupportModel(SUPPORT_FEATURES, tuple(float(c) for c in coef), bias)
    positives = np.vstack([b[1] for b in fitting if b[2]])
    logits = np.sort([math.log(p / (1 - p)) for p in
                      (min(1 - 1e-9, max(1e-9, model.probability(r))) for r in positives)])
    cut = float(logits[int(TARGET_FALSE * len(logits))])
    model = SupportModel(SUPPORT_FEATURES, tuple(round(float(c), 4) for c in coef),
                         round(bias - min(cut, 0.0), 4))
    print("bundled model, measuring half:")
    rates(SupportModel.bundled(), measuring)
    print("fitted model, measuring half:")
    rates(model, measuring)
    print(json.dumps(dict(zip(SUPPORT_FEATURES, model.weights, strict=True))), "bias",
          model.bias)
    if args.write:
        MODEL.write_text(json.dumps({
            "features": list(SUPPORT_FEATURES), "weights": list(model.weights),
            "bias": model.bias,
            "fitted_on": f"{args.per_source} answerable questions per index of "
                         f"{', '.join(INDEXES)}, and half as many of each other dataset's",
            "command": "benchmarks/fit_support.py --write",
        }, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL}")


if __name__ == "__main__":
    main()
