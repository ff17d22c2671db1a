"""Which sentences of a passage are prose: headings and the title are not.

The answer quotes prose sentences only, and the index stores a vector for each of them
(`qa.index.sentence_vectors`), so both must agree on what a sentence is: this module is that
one definition.
"""

from __future__ import annotations

import re

from .chunking import sentence_spans

#: A heading: at most this many words on a line of its own, not ending like a sentence.
_HEADING_WORDS = 14
_SENTENCE_END = re.compile(r"[.!?…:;\"'”’)\]]\s*$")


def is_heading(text: str, sentence: str, start: int, end: int, title: str) -> bool:
    """Whether a sentence is a heading or the title rather than prose: the title itself, a
    Markdown `#` line, or a short line of its own that doesn't end like a sentence.

    Example:
        >>> is_heading("Intro\\nIt rained.", "Intro", 0, 5, "")
        True
    """
    stripped = sentence.strip()
    if not stripped or stripped.lower() == title.strip().lower() or stripped.startswith("#"):
        return True
    own_line = (start == 0 or text[start - 1] == "\n") and (end >= len(text) or text[end] == "\n")
    # A question on a line of its own is a subheading ("How many stores are closing?").
    if own_line and stripped.endswith("?"):
        return True
    return own_line and len(sentence.split()) <= _HEADING_WORDS \
        and not _SENTENCE_END.search(sentence)


def prose_spans(text: str, title: str) -> list[tuple[int, int]]:
    """The sentences of `text` without headings: a heading line glued to the sentence after it
    (the splitter breaks only at blank lines) is cut off, and a sentence that is only a
    heading is left out."""
    out = []
    for span in sentence_spans(text):
        start, end = span.start, span.end
        while (newline := text.find("\n", start, end)) >= 0 and is_heading(
                text, text[start:newline].strip(), start, newline, title):
            start = newline + 1
            while start < end and text[start].isspace():
                start += 1
        if start < end and not is_heading(text, text[start:end], start, end, title):
            out.append((start, end))
    return out


#: "WHAT IS LAKE EFFECT SNOW:Here's how…": a capitalised label and a colon open a promoted link.
_PROMO_LABEL = re.compile(r"^[^a-z]*[A-Z]{2,}[^a-z]*:")
_LINE_END = re.compile(r"[.!…\"”’)\]]\s*$")
#: "Here's what to know about…", "Read more:", "Sign up for…": a signpost to other text, which
#: answers nothing itself.
_SIGNPOST = re.compile(
    r"^\W*(?:here(?:'s|’s| is| are) (?:what|how|why|everything|a look|the latest)\b|"
    r"read (?:more|the full)\b|click here\b|sign up\b|subscribe\b|follow (?:us|our)\b|"
    r"related:|watch:|listen:|more:|see also\b)", re.I)


def in_link_line(text: str, start: int, end: int) -> bool:
    """Whether the sentence at `start:end` of `text` sits in a line that is a headline or a
    link to another story rather than prose: a line that is followed by more text but doesn't
    end like a sentence ("A look at Anna Wintour's kids and if they followed in her fashion
    footsteps", "What was the 2025 Met Gala theme? Explaining Black dandyism"), or one opened by
    a capitalised label and a colon; or a sentence that only points elsewhere ("Here's what to
    know about Saturn's newly-discovered moons."). Such lines are kept in the index, but never
    quoted as an answer.

    Example:
        >>> text = "Snow fell.\\n\\nWHAT IS SNOW:Here's how it forms.\\n\\nIt melted."
        >>> in_link_line(text, 12, 45), in_link_line(text, 0, 10)
        (True, False)
        >>> in_link_line("Here's what to know about the moons. They are small.", 0, 36)
        True
    """
    if _SIGNPOST.match(text[start:end]):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : len(text) if line_end < 0 else line_end].strip()
    if _PROMO_LABEL.match(line):
        return True
    return line_end >= 0 and bool(text[line_end:].strip()) and not _LINE_END.search(line)
