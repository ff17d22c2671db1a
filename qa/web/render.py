"""Answers as Markdown for the chat: escaped document text, sources with their scores, footnotes.

Document text is untrusted. Everything taken from a document is escaped before it reaches a
Markdown renderer, so HTML, scripts, images and `$$…$$` show as the characters they are. The
only markup in the output is the markup this module writes (`<mark>`, bold, quotes, rules).
"""

from __future__ import annotations

import re
from itertools import groupby

from ..answer.answerer import Answer, Citation

_SPACE_AROUND_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINES = re.compile(r"\n{3,}")
# Every ASCII punctuation character CommonMark lets a backslash escape, except those turned
# into HTML entities below.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=\"'^@%/?,;])")
_BACKTICKS = re.compile(r"`+")


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders to exactly these characters: no HTML, links, images,
    emphasis, headings, code or math.

    Example:
        >>> escape_markdown("<b>x</b> ![i](http://e/x.png)")
        '&lt;b&gt;x&lt;\\\\/b&gt; \\\\!\\\\[i\\\\]\\\\(http\\\\:\\\\/\\\\/e\\\\/x\\\\.png\\\\)'
    """
    # Backslashes first: escaping the `;` of an entity written here would break the entity,
    # and `&lt;` would show as the characters "&lt;".
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Spaces next to a line break would start a code block or vanish; the text's own line
    # breaks are kept (a blank line stays a paragraph break). Other spaces are left alone,
    # so escaped pieces can be joined without losing the space between them.
    text = _BLANK_LINES.sub("\n\n", _SPACE_AROUND_BREAK.sub("\n", text))
    return text.replace("\n\n", "\x00").replace("\n", "  \n").replace("\x00", "\n\n")


def format_answer(answer: Answer) -> str:
    """The answer text for the chat, escaped, with its [n] markers kept as plain text."""
    if answer.abstained:
        return escape_markdown(answer.answer)
    parts = [f"{escape_markdown(c.highlight)} \\[{c.n}\\]" for c in answer.citations]
    text = " ".join(parts)
    if answer.query_used != answer.question:
        text += f"\n\nSearched for: {escape_markdown(answer.query_used)}"
    if answer.date_range:
        start, end = (escape_markdown(d) for d in answer.date_range)
        text += f"\n\nDates favoured: {start} to {end}"
    return text


def _why(c: Citation) -> str:
    """The evidence for a passage: its dense, BM25 and fused scores and ranks."""
    s = c.scores
    parts = [f"dense {s['dense']:.3f}" + (f" (#{s['dense_rank']})" if s.get("dense_rank") else "")]
    if s.get("bm25") is not None:
        parts.append(f"BM25 {s['bm25']:.2f} (#{s['bm25_rank']})")
    else:
        parts.append("BM25 no match")
    parts.append(f"fused {s['fused']:.4f} (#{s['fused_rank']})")
    return " · ".join(parts)


def format_passage(citations: list[Citation], *, label: str) -> str:
    """One passage: title, date, source and scores, then its text with every cited sentence
    marked. `citations` all point into this passage."""
    first = citations[0]
    text, marked, cursor = first.passage, [], 0
    for c in sorted(citations, key=lambda c: c.highlight_start):
        start = max(cursor, c.highlight_start - c.passage_start)
        end = c.highlight_end - c.passage_start
        if end <= start:
            continue
        marked.append(escape_markdown(text[cursor:start]))
        marked.append(f"<mark>{escape_markdown(text[start:end])}</mark>")
        cursor = end
    marked.append(escape_markdown(text[cursor:]))
    body = "".join(marked)
    where = escape_markdown(first.source) + (f", page {first.page}" if first.page else "")
    date = escape_markdown(first.date or "no date")
    header = (f"**{label} {escape_markdown(first.title)}**  \n{date} · {where}  \n"
              f"Why: {escape_markdown(_why(first))}")
    return f"{header}\n\n> {body.replace(chr(10), chr(10) + '> ')}"


def format_sources(answer: Answer) -> str:
    """Each cited passage once (the sentences it gave marked), or the related passages."""
    if answer.abstained:
        return "\n\n---\n\n".join(format_passage([c], label="·") for c in answer.related)
    by_passage = groupby(sorted(answer.citations, key=lambda c: (c.doc_id, c.passage_start,
                                                                 c.n)),
                         key=lambda c: (c.doc_id, c.passage_start))
    groups = sorted((list(g) for _, g in by_passage), key=lambda g: g[0].n)
    return "\n\n---\n\n".join(
        format_passage(g, label=" ".join(f"\\[{c.n}\\]" for c in g)) for g in groups)


def answer_markdown(answer: Answer) -> str:
    """The answer as plain Markdown with footnote citations, to paste elsewhere.

    Example output::

        The US says it wants to base the system in eastern Europe by 2013. [^1]

        [^1]: US, Russian officials take conciliatory tone in missile talks (2008-03-18),
        seeds/000.txt: "The US says it wants to base the system in eastern Europe by 2013."
    """
    if answer.abstained:
        return answer.answer
    lines = [" ".join(f"{c.highlight} [^{c.n}]" for c in answer.citations), ""]
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        quoted = " ".join(c.highlight.split())
        lines.append(f"[^{c.n}]: {c.title} ({c.date or 'no date'}), {c.source}{page}: "
                     f"\"{quoted}\"")
    return "\n".join(lines)


def fenced(text: str) -> str:
    """`text` in a Markdown code block, shown verbatim whatever backticks it holds."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}markdown\n{text}\n{fence}"


def render(answer: Answer) -> list[dict[str, object]]:
    """The chat messages for one answer: the answer, its sources, and a copyable Markdown
    version (the last two collapsible)."""
    messages: list[dict[str, object]] = [{"role": "assistant", "content": format_answer(answer)}]
    sources = format_sources(answer)
    if sources:
        title = ("Possibly related passages (not an answer)" if answer.abstained
                 else f"Sources ({len(answer.citations)})")
        messages.append({"role": "assistant", "content": sources,
                         "metadata": {"title": title, "status": "done"}})
    if not answer.abstained:
        messages.append({"role": "assistant", "content": fenced(answer_markdown(answer)),
                         "metadata": {"title": "Copy as Markdown", "status": "done"}})
    return messages
