"""Fit the answer-sentence model: a logistic regression over the features of qa/answer/sentences.py.

    .venv/bin/python benchmarks/fit_sentences.py [--write]

Training rows come from three sources:

- WikiQA dev (`../shared/datasets/wikiqa`, split dev; eval-index/wikiqa): every sentence of the
  paragraph each question was paired with, for the questions whose paragraph has a right and a
  wrong sentence; right = it overlaps a labelled answering sentence. Real search-engine
  questions, worded the way people ask. (`--wikiqa-train` uses train/ as well, once
  eval-index/wikiqa-train is built.)
- SQuAD 2.0 dev (eval-index/squad2_cs224n_dev), a sample of one half of the answerable
  questions: the sentences of the top passages the answerer retrieves; right = it holds a
  gold answer. It counts three times, WikiQA and the conversations once each
  (`--wikiqa-weight`, `--conversation-weight`).
- The natural conversations' dev part (benchmarks/natural, `--conversations`), asked turn by
  turn with the conversation so far, each of its own article(s) (eval_natural's `single`
  indexes): the sentences the answerer scores for each answer turn; right = it holds one of
  the turn's answer strings or is its evidence sentence. News worded the way people talk,
  follow-ups included. Their test part is never read.

The fit is a conditional logit: per question, a softmax over its candidate sentences, so the
weights are those that put a right sentence first.

It prints, for the bundled model, plain cosine and the fitted one: WikiQA dev MAP/MRR (sentence
ranking in the paired paragraph; fitted on, so optimistic) and the first-sentence hit on the
SQuAD questions not fitted on. WikiQA test and realtimeqa_news are never read: `qa eval
../shared/datasets/wikiqa --split test` reports the test figures.

Two models are fitted. The general one (every feature but `titled`; news and every document
not titled by its subject) on the sources above; `--write` saves it to
qa/answer/models/sentences.json. The subject model (all features; the sentences of documents
titled by their subject, which WikiQA's and SQuAD's all are) on the same sources plus WikiQA
train, its WikiQA dev figure printed first from a fit without WikiQA dev (held out); `--write`
or `--write-subject` (that one alone) saves it to qa/answer/models/sentences-subject.json.
Build the indexes first with `qa eval` on each dataset (and `qa index
../shared/datasets/wikiqa/train/corpus.jsonl --index eval-index/wikiqa-train`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.answer.answerer import Answerer, load_answerer
from qa.answer.sentences import FEATURES, SentenceModel
from qa.config import Settings
from qa.evaluate import contains_answer, load_dataset
from qa.evaluate.dataset import asked_on
from qa.evaluate.sentences import average_precision, gold_spans, overlaps

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
MODEL = ROOT / "qa" / "answer" / "models" / "sentences.json"
SUBJECT_MODEL = ROOT / "qa" / "answer" / "models" / "sentences-subject.json"
L2 = 1.0
#: The general model's features (news and every document not titled by its subject) and the
#: subject model's (all, `titled` included).
GENERAL = tuple(f for f in FEATURES if f != "titled")

Group = tuple[np.ndarray, np.ndarray]  # (features, labels) of one question's candidates


def answerer_for(index: str) -> Answerer:
    settings = Settings.from_env(index_dir=ROOT / "eval-index" / index,
                                 embedding_cache=str(ROOT / "eval-index" / "embeddings.sqlite"))
    return load_answerer(settings)


def paragraph_groups(answerer: Answerer, directory: Path, split: str | None) -> list[Group]:
    """WikiQA: each question's paired paragraph, every sentence labelled."""
    dataset = load_dataset(directory, split=split)
    gold, paired = dataset.answer_sentences or {}, dataset.paired_docs or {}
    catalog = answerer.retriever.store.catalog
    groups = []
    for query in dataset.all_queries:
        if not gold.get(query.qid) or query.qid not in paired:
            continue
        spans = gold_spans(catalog.document(paired[query.qid]).text, gold[query.qid])
        ranked = answerer.rank_document_sentences(query.text, paired[query.qid])
        labels = np.array([overlaps((s.start, s.end), spans) for s in ranked], dtype=float)
        if 0 < labels.sum() < len(labels):
            groups.append((np.array([s.features for s in ranked]), labels))
    return groups


def retrieved_groups(answerer: Answerer, directory: Path, half: int, limit: int) -> list[Group]:
    """SQuAD: the sentences of the passages retrieved for (up to `limit`) questions of one
    half."""
    dataset = load_dataset(directory)
    groups = []
    chosen = [q for q in dataset.queries
              if (dataset.answers or {}).get(q.qid) and _half(q.qid) == half]
    chosen.sort(key=lambda q: hashlib.sha256(f"s{q.qid}".encode()).hexdigest())
    for query in chosen[:limit]:
        answers = (dataset.answers or {})[query.qid]
        scored = answerer.read(query.text, now=asked_on(query)).scored
        labels = np.array([contains_answer(s.text, answers) for s in scored], dtype=float)
        if len(scored):
            groups.append((np.array([s.features for s in scored]), labels))
    return groups


def conversation_groups(split: str = "dev", size: str = "single") -> dict[int, list[Group]]:
    """The natural conversations of one split, asked turn by turn (with history) of an index
    of `size` (eval_natural's: their own articles', the 20 articles', or the whole news
    corpus): each answer turn's scored sentences, labelled; by half of the conversations
    (`_half` of its id), so one half can be measured while fitting the other."""
    import sys
    import unicodedata

    sys.path.insert(0, str(ROOT / "benchmarks" / "natural"))
    from eval_natural import Indexes
    from natural_set import ANSWER, CORPUS, load_conversations

    def fold(text: str) -> str:
        return unicodedata.normalize("NFC", text).casefold()

    indexes = Indexes(CORPUS, sys.stderr)
    groups: dict[int, list[Group]] = {0: [], 1: []}
    for conversation in load_conversations():
        if conversation.split != split:
            continue
        answerer = indexes.answerer(size, conversation.articles)
        history: list[dict[str, str]] = []
        for turn in conversation.turns:
            reading = answerer.read(turn.q, history=history, now=conversation.now)
            if turn.kind == ANSWER:
                scored = reading.scored
                evidence = fold(turn.evidence or "")
                labels = np.array([any(fold(a) in fold(s.text) for a in turn.answers)
                                   or (bool(evidence) and fold(s.text) in evidence)
                                   for s in scored], dtype=float)
                if len(scored):
                    groups[_half(conversation.id)].append(
                        (np.array([s.features for s in scored]), labels))
            answer = answerer.answer(reading)
            history += [{"role": "user", "content": turn.q},
                        {"role": "assistant", "content": answer.answer}]
    return groups


def _half(qid: str) -> int:
    return int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2


def fit(sources: Sequence[list[Group]]) -> tuple[np.ndarray, float]:
    """A conditional logit (softmax over each question's candidates): the weights that make
    the right sentences most likely to come first, L2-regularised. Each source weighs the
    same in total, and within a source each question the same. Only the ranking is fitted, so
    the bias is 0."""
    from scipy.optimize import minimize

    groups = [(x, y, 1.0 / (len(source) * len(sources)))
              for source in sources for x, y in source if y.any() and len(y) > 1]
    stacked = np.vstack([x for x, _, _ in groups])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    scaled = [((x - mean) / scale, y, w) for x, y, w in groups]

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * L2 * beta @ beta / len(groups), L2 * beta / len(groups)
        for z, y, w in scaled:
            s = z @ beta
            s -= s.max()
            p = np.exp(s) / np.exp(s).sum()
            right = y / y.sum()
            total -= w * float(right @ np.log(p + 1e-12))
            grad -= w * (right - p) @ z
        return total, grad

    beta = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return beta / scale, 0.0


def map_mrr(model: SentenceModel, groups: list[Group]) -> tuple[float, float]:
    aps, rrs = [], []
    for x, y in groups:
        order = np.argsort(-model.score(x), kind="stable")
        labels = [bool(v) for v in y[order]]
        aps.append(average_precision(labels))
        rrs.append(1.0 / (labels.index(True) + 1))
    return float(np.mean(aps)), float(np.mean(rrs))


def first_hit(model: SentenceModel, groups: list[Group]) -> float:
    return float(np.mean([y[int(np.argmax(model.score(x)))] for x, y in groups]))


def report(name: str, model: SentenceModel, wikiqa_dev: list[Group],
           squad_test: list[Group], conversations: list[Group]) -> None:
    mean_ap, mrr = map_mrr(model, wikiqa_dev)
    print(f"{name:>8}: WikiQA dev MAP {mean_ap:.4f} MRR {mrr:.4f} ({len(wikiqa_dev)} questions)"
          f" · SQuAD held-out first sentence {first_hit(model, squad_test):.4f}"
          f" ({len(squad_test)} questions)"
          + (f" · conversations first sentence {first_hit(model, conversations):.4f}"
             f" ({len(conversations)} turns)" if conversations else ""))


def model_of(coef: np.ndarray, bias: float, features: Sequence[str] = GENERAL) -> SentenceModel:
    """The model of those `features` (their columns of FEATURES) from fitted coefficients."""
    return SentenceModel(tuple(features),
                         tuple(round(float(coef[FEATURES.index(f)]), 4) for f in features),
                         round(bias, 4))


def only(groups: list[Group], features: Sequence[str]) -> list[Group]:
    """The groups with every column but `features`' zeroed (their weights then fit to 0)."""
    drop = [i for i, name in enumerate(FEATURES) if name not in features]
    out = []
    for x, y in groups:
        z = x.copy()
        z[:, drop] = 0.0
        out.append((z, y))
    return out


def write_model(path: Path, model: SentenceModel, fitted_on: str, command: str) -> None:
    path.write_text(json.dumps({
        "features": list(model.features), "weights": list(model.weights), "bias": model.bias,
        "fitted_on": fitted_on, "command": command}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


CACHE = ROOT / "eval-index" / "fit-sentences.npz"


def save_groups(named: dict[str, list[Group]]) -> None:
    arrays = {}
    for name, groups in named.items():
        for i, (x, y) in enumerate(groups):
            arrays[f"{name}/{i}/x"], arrays[f"{name}/{i}/y"] = x, y
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(CACHE, **arrays)


def load_groups() -> dict[str, list[Group]]:
    data = np.load(CACHE)
    named: dict[str, dict[int, Group]] = {}
    for key in data.files:
        name, index, part = key.rsplit("/", 2)
        if part == "x":
            named.setdefault(name, {})[int(index)] = (data[key], data[f"{name}/{index}/y"])
    return {name: [groups[i] for i in sorted(groups)] for name, groups in named.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="save both fitted models")
    parser.add_argument("--write-subject", action="store_true",
                        help="save the subject model only (sentences-subject.json)")
    parser.add_argument("--wikiqa-train", action="store_true", help="also fit on WikiQA train")
    parser.add_argument("--squad", type=int, default=500, help="SQuAD questions per half")
    parser.add_argument("--wikiqa-weight", type=int, default=1,
                        help="how many times WikiQA counts (SQuAD counts 3 times)")
    parser.add_argument("--conversation-weight", type=int, default=1,
                        help="how many times the conversations' dev part counts (0: not used)")
    parser.add_argument("--conversation-sizes", default="single",
                        help="comma-separated collection sizes the conversations are asked at "
                             "(single, twenty, full)")
    parser.add_argument("--without", default="",
                        help="comma-separated features to leave out (an ablation)")
    parser.add_argument("--cached", action="store_true",
                        help=f"reuse the features saved in {CACHE.relative_to(ROOT)}")
    args = parser.parse_args()
    bundled = SentenceModel.bundled()
    if args.cached:
        named = load_groups()
    else:
        squad = answerer_for("squad2_cs224n_dev")
        named = {
            "wikiqa_dev": paragraph_groups(answerer_for("wikiqa"), DATA / "wikiqa", "dev"),
            "squad_fit": retrieved_groups(squad, DATA / "squad2_cs224n_dev", 0, args.squad),
            "squad_test": retrieved_groups(squad, DATA / "squad2_cs224n_dev", 1, args.squad),
        }
        for size in args.conversation_sizes.split(","):
            conversations = conversation_groups("dev", size)
            suffix = "" if size == "single" else f"_{size}"
            named[f"conversations{suffix}_0"] = conversations[0]
            named[f"conversations{suffix}_1"] = conversations[1]
        named["wikiqa_train"] = paragraph_groups(
            answerer_for("wikiqa-train"), DATA / "wikiqa" / "train", None)
        save_groups(named)
    if args.without:  # an ablation: those features' columns zeroed, so their weights are 0
        drop = [FEATURES.index(name) for name in args.without.split(",")]
        for groups in named.values():
            for x, _ in groups:
                x[:, drop] = 0.0
    wikiqa_dev, squad_fit, squad_test = (named["wikiqa_dev"], named["squad_fit"],
                                         named["squad_test"])
    sizes = args.conversation_sizes.split(",")
    by_size = {size: [named.get(f"conversations{'' if size == 'single' else '_' + size}_{h}", [])
                      for h in (0, 1)] for size in sizes}
    halves = by_size.get("single", [[], []])
    wikiqa_train = named.get("wikiqa_train", [])
    wikiqa_fit = wikiqa_dev + (wikiqa_train if args.wikiqa_train else [])
    report("bundled", bundled, wikiqa_dev, squad_test, halves[0] + halves[1])
    report("cosine", SentenceModel(("cosine",), (1.0,), 0.0), wikiqa_dev, squad_test,
           halves[0] + halves[1])
    # SQuAD counts three times: its answers are where a regression shows first (the README's
    # first-sentence figure), while WikiQA's natural questions pull towards meaning over words;
    # the conversations (news, follow-ups) count `--conversation-weight` times.
    base = [wikiqa_fit] * args.wikiqa_weight + [squad_fit] * 3
    def conversation_sources(half: int | None) -> list[list[Group]]:
        """The conversations at each size (one half, or both), each a source of its own."""
        return [(pair[half] if half is not None else pair[0] + pair[1])
                for pair in by_size.values()] * args.conversation_weight

    def general(sources: list[list[Group]]) -> SentenceModel:
        return model_of(*fit([only(g, GENERAL) for g in sources]))

    if all(pair[0] and pair[1] for pair in by_size.values()):  # each half by the other
        models = [general(base + conversation_sources(1 - h)) for h in (0, 1)]
        for size, pair in by_size.items():
            held_out = [first_hit(models[h], pair[h]) for h in (0, 1)]
            print(f"conversations ({size}), each half by a fit on the other: first sentence "
                  f"{np.mean(held_out):.4f} ({held_out[0]:.4f}, {held_out[1]:.4f})")
    fitted = general(base + conversation_sources(None))
    report("fitted", fitted, wikiqa_dev, squad_test, halves[0] + halves[1])
    print(json.dumps(dict(zip(fitted.features, fitted.weights, strict=True))), "bias",
          fitted.bias)
    # The subject model (documents titled by their subject: all of WikiQA's and SQuAD's) has
    # `titled` too, and WikiQA train as well as dev; the conversations (news, where `titled` is
    # the plain cosine) teach it follow-ups. Its WikiQA dev figure is measured held out first.
    subject = [wikiqa_dev + wikiqa_train, *[squad_fit] * 3, *conversation_sources(None)]
    if wikiqa_train:
        held = model_of(*fit([wikiqa_train, *subject[1:]]), features=FEATURES)
        report("subject, fitted without WikiQA dev", held, wikiqa_dev, squad_test, [])
    subject_model = model_of(*fit(subject), features=FEATURES)
    report("subject", subject_model, wikiqa_dev, squad_test, [])
    print(json.dumps(dict(zip(FEATURES, subject_model.weights, strict=True))), "bias",
          subject_model.bias)
    if args.write:
        write_model(
            MODEL, fitted,
            "WikiQA dev" + (" + train" if args.wikiqa_train else "")
            + f" (weighted x{args.wikiqa_weight})"
            + f" + {args.squad} of half of SQuAD 2.0 dev's answerable questions"
            " (weighted x3) + the natural conversations' dev answer turns asked"
            f" of {args.conversation_sizes} indexes"
            f" (weighted x{args.conversation_weight}); conditional logit",
            "benchmarks/fit_sentences.py --write"
            + (f" --conversation-sizes {args.conversation_sizes}"
               if args.conversation_sizes != "single" else ""))
    if args.write or args.write_subject:
        write_model(
            SUBJECT_MODEL, subject_model,
            f"WikiQA dev + train + {args.squad} of half of SQuAD 2.0 dev's answerable "
            "questions (weighted x3) + the natural conversations' dev answer turns asked of "
            f"{args.conversation_sizes} indexes (weighted x{args.conversation_weight}); "
            "conditional logit with the titled cosine",
            "benchmarks/fit_sentences.py --write-subject")


if __name__ == "__main__":
    main()
