"""A segment's BM25 statistics: for each term, the rows holding it and how often; each row's
length.

bm25s stores, for every (term, passage) pair, the finished BM25 score, with the collection's
idf and average length baked in when the index is built. Scores of two bm25s indexes built
separately can't be added up: each used its own statistics. A segment therefore keeps only
what does not depend on the rest of the collection — term frequencies and passage lengths, as
Lucene's segments do — and `qa.index.lexical` scores a query with statistics taken over every
live segment at that moment. Merging segments is then a matter of concatenating postings.

On disk, in the segment's folder (numpy files, memory-mapped on load):

    terms.txt            the terms, sorted, one per line (BM25 terms never hold a newline)
    postings_start.npy   int64, term t's postings are [start[t], start[t+1])
    postings_rows.npy    int32, the rows (positions in the segment) holding the term
    postings_tf.npy      uint16, how often the term occurs in that row
    lengths.npy          int32, each row's number of terms (BM25's document length)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from . import files

FILES = ("terms.txt", "postings_start.npy", "postings_rows.npy", "postings_tf.npy",
         "lengths.npy")
#: A passage holds at most `max_passage_chars` characters, so no term occurs this often.
_MAX_TF = np.iinfo(np.uint16).max


@dataclass(frozen=True, eq=False)
class Postings:
    """Term → (rows, frequencies) of one segment, and each row's length.

    Example:
        >>> p = build_postings([["cat", "sat", "cat"], ["dog"]])
        >>> p.terms, p.lookup("cat")[0].tolist(), p.lookup("cat")[1].tolist()
        (['cat', 'dog', 'sat'], [0], [2])
    """

    #: Sorted (Python's string order).
    terms: Sequence[str]
    starts: np.ndarray
    rows: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows holding `term` and its frequency in each, or None if none does."""
        # The terms are sorted: a binary search needs no dictionary built at load (a million
        # passages hold some 400,000 terms).
        number = bisect_left(self.terms, term)
        if number == len(self.terms) or self.terms[number] != term:
            return None
        start, end = int(self.starts[number]), int(self.starts[number + 1])
        return self.rows[start:end], self.tfs[start:end]

    def save(self, folder: Path) -> None:
        """Write the five files into `folder` and fsync them."""
        if any("\n" in term for term in self.terms):
            raise ValueError("a BM25 term holds a newline")
        (folder / "terms.txt").write_text("\n".join(self.terms), encoding="utf-8")
        np.save(folder / "postings_start.npy", self.starts.astype(np.int64, copy=False))
        np.save(folder / "postings_rows.npy", self.rows.astype(np.int32, copy=False))
        np.save(folder / "postings_tf.npy", self.tfs.astype(np.uint16, copy=False))
        np.save(folder / "lengths.npy", self.lengths.astype(np.int32, copy=False))
        for name in FILES:
            files.fsync(folder / name)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Map the files of `folder` (ValueError/OSError when one is unreadable)."""
        starts = np.load(folder / "postings_start.npy", mmap_mode="r")
        text = (folder / "terms.txt").read_text(encoding="utf-8")
        terms = text.split("\n") if len(starts) > 1 else []
        postings = cls(terms=terms, starts=starts,
                       rows=np.load(folder / "postings_rows.npy", mmap_mode="r"),
                       tfs=np.load(folder / "postings_tf.npy", mmap_mode="r"),
                       lengths=np.load(folder / "lengths.npy", mmap_mode="r"))
        postings.check()
        return postings

    def check(self) -> None:
        """The arrays fit together (ValueError naming what doesn't)."""
        if len(self.starts) != len(self.terms) + 1:
            raise ValueError(f"{len(self.terms)} terms but {len(self.starts) - 1} posting lists")
        if len(self.rows) != len(self.tfs) or (len(self.starts) and (
                self.starts[0] != 0 or self.starts[-1] != len(self.rows))):
            raise ValueError("the posting lists do not cover the postings")


def build_postings(token_lists: Sequence[Sequence[str]]) -> Postings:
    """Postings of rows 0..n-1 from each row's terms (repeats counted)."""
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in token_lists]
    return _from_ids(ids, list(vocab))


def postings_from_tokenized(ids: Sequence[Sequence[int]], vocab: dict[str, int]) -> Postings:
    """Postings from bm25s' `Tokenized` (token ids per row and the term → id vocabulary)."""
    names = [""] * len(vocab)
    for term, number in vocab.items():
        names[number] = term
    return _from_ids(ids, names)


def _from_ids(ids: Sequence[Sequence[int]], names: list[str]) -> Postings:
    lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    rows = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
    keys, tfs = np.unique(rank[flat] * max(len(ids), 1) + rows, return_counts=True)
    return _assemble([names[i] for i in order], keys, tfs, len(ids), lengths)


def _assemble(terms: list[str], keys: np.ndarray, tfs: np.ndarray, n_rows: int,
              lengths: np.ndarray) -> Postings:
    """Postings from sorted keys `term * n_rows + row` and their frequencies."""
    if len(tfs) and int(tfs.max()) > _MAX_TF:
        raise ValueError("a term occurs more often in one passage than a passage can hold")
    width = max(n_rows, 1)
    term_of = keys // width
    starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_of, minlength=len(terms)), out=starts[1:])
    return Postings(terms=terms, starts=starts, rows=(keys % width).astype(np.int32),
                    tfs=tfs.astype(np.uint16), lengths=lengths.astype(np.int32))


def merge_postings(parts: Sequence[tuple[Postings, np.ndarray]], n_rows: int) -> Postings:
    """The postings of a merged segment.

    Args:
        parts: each segment's postings, with the row each of its rows becomes in the merged
            segment (-1: dropped, a deleted passage).
        n_rows: rows of the merged segment.
    """
    terms = sorted(set(chain.from_iterable(p.terms for p, _ in parts)))
    number = {term: i for i, term in enumerate(terms)}
    keys, tfs = [], []
    lengths = np.zeros(n_rows, dtype=np.int64)
    for postings, new_row in parts:
        kept = new_row >= 0
        lengths[new_row[kept]] = np.asarray(postings.lengths)[kept]
        term_map = np.fromiter((number[t] for t in postings.terms), dtype=np.int64,
                               count=len(postings.terms))
        term_of = np.repeat(term_map, np.diff(np.asarray(postings.starts)))
        rows = new_row[np.asarray(postings.rows)]
        keep = rows >= 0
        keys.append(term_of[keep] * max(n_rows, 1) + rows[keep])
        tfs.append(np.asarray(postings.tfs)[keep])
    all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    order = np.argsort(all_keys, kind="stable")
    all_keys = all_keys[order]
    all_tfs = np.concatenate(tfs)[order] if tfs else np.zeros(0, dtype=np.int64)
    # Terms only deleted passages held are dropped; the others are numbered afresh.
    width = max(n_rows, 1)
    used, term_of = np.unique(all_keys // width, return_inverse=True)
    return _assemble([terms[i] for i in used], term_of * width + all_keys % width, all_tfs,
                     n_rows, lengths)
