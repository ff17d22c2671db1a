"""Typos in a question: "Where is the missle shield going?" is asked of documents that say
"missile".

A typo costs more than one keyword. The misspelled word matches no passage in BM25, its word
pieces pull the question's vector away from the passages that answer it, and the support
model then refuses the question (support 0.08 for the typo on the seed article, against 0.97
for the word spelled right).

A word is respelled only when all of these hold, so that nothing a user meant is changed:

- no passage of the collection holds it (the index's own vocabulary decides);
- it is no English word (pyspellchecker's frequency list, a well-kept Norvig-style corrector
  that ships its dictionary);
- one edit away there is an English word the collection does hold (the commonest such word
  is taken: "arive" is "arrive" in a text about arrivals, though "drive" is commoner), and
  some passage holds it beside another word of the question ("missile" beside "shield"; a
  question about a "neuro tract" is not respelled to another word one edit away that no
  passage puts beside "tract").

So "defence" in a British article, a rare name the documents give, and an English word the
documents lack all stay as typed. A name with a typo ("Medvedv") is not fixed: it is no
English word, and the dictionary offers nothing for it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

#: Words shorter than this are left alone: a short typo ("caan", "calc") has too many
#: neighbours.
_MIN_LENGTH = 5
#: A lower-case word (a capitalised one is likely a name, which the dictionary doesn't know).
_WORD = re.compile(r"\b[a-z][a-z'’]*[a-z]\b")
_LOCK = threading.Lock()


def respelled(question: str, unseen: Callable[[Sequence[str]], set[str]],
              analyze: Callable[[Sequence[str]], list[list[str]]],
              beside: Callable[[Sequence[str], Sequence[str]], bool]) -> str:
    """`question` with each typo the collection can correct replaced (see the module).

    Args:
        unseen: of some index terms, those no passage holds.
        analyze: texts → their index terms (stemmed as BM25 stems them).
        beside: whether some passage holds all of the first terms and one of the second.

    Example:
        >>> vocabulary = {"missil", "shield"}
        >>> def unseen(terms): return {t for t in terms if t not in vocabulary}
        >>> def analyze(texts): return [[w.lower()[:6] for w in t.split()] for t in texts]
        >>> def beside(terms, others): return True
        >>> respelled("Where is the missle shield going?", unseen, analyze, beside)
        'Where is the missile shield going?'
    """
    words = [m.group() for m in _WORD.finditer(question) if len(m.group()) >= _MIN_LENGTH]
    if not words:
        return question
    terms = dict(zip(words, analyze(words), strict=True))
    missing = unseen(sorted({t for found in terms.values() for t in found}))
    suspects = [w for w in dict.fromkeys(words) if terms[w] and set(terms[w]) <= missing]
    if not suspects:
        return question
    others = sorted({t for found in terms.values() for t in found} - missing)
    checker = _checker()
    with _LOCK:  # pyspellchecker keeps no state per call, but its caches are not documented
        # An English word the documents lack is asked as typed; else the candidates one edit
        # away, commonest first.
        options = {w: sorted(checker.candidates(w) or (), key=lambda c: (
            -checker.word_usage_frequency(c), c)) for w in suspects if not checker.known([w])}
    fixes: dict[str, str] = {}
    for word, candidates in options.items():
        found = [c for c in candidates if c != word]
        stems = dict(zip(found, analyze(found), strict=True)) if found else {}
        held = [c for c in found if stems[c] and not unseen(stems[c])]
        # The commonest the documents hold, when a passage holds it beside another word of
        # the question ("missile" beside "shield"): "neuro tract" is not "negro tract".
        fix = next((c for c in held if not others or beside(stems[c], others)), None)
        if fix is not None:
            fixes[word] = fix
    if not fixes:
        return question
    return _WORD.sub(lambda m: fixes.get(m.group(), m.group()), question)


@cache
def _checker() -> Any:
    """The English corrector, loaded on first use (its dictionary takes about 0.15 s)."""
    from spellchecker import SpellChecker

    # One edit: most typos are one ("missle", "sheild", "goverment"), and two edits of a long
    # word take the corrector most of a second.
    return SpellChecker(language="en", distance=1)
