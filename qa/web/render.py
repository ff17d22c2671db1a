"""One answer as the chat shows it (HTML), and as people copy it (plain text, Markdown).

The reply is the quoted sentences, each followed by a link `[n]` to its place in the sources;
then the cited passages, the first one open, each quoted sentence marked and numbered (and the
short answer, when there is one, marked inside it), with why the passage was picked in plain
words, its raw scores behind a detail, and a link to the whole document; then buttons that copy
the answer as plain text with footnotes or as Markdown.

Document text is untrusted: every piece of it goes through `html.escape` here, so tags, scripts
and entities show as the characters they are. The only markup in the output is what this module
writes, and Gradio's sanitiser still checks it in the browser. Sources must already be public
(`qa.web.sources`): this module prints what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from itertools import groupby
from urllib.parse import quote, urlencode

from ..answer.answerer import Answer, Citation, ShortAnswer
from ..config import Settings
from ..index.analysis import TextAnalyzer
from .why import explain, plain_words

#: The link to a document's own page, relative to the chat page.
DOCUMENT_PATH = "documents/"


def reply_html(answer: Answer, *, key: str, settings: Settings,
               analyzer: TextAnalyzer | None = None) -> str:
    """The chat message for one answer. `key` makes its element ids unique in the page."""
    parts = ['<div class="qa-reply">']
    if answer.abstained:
        parts.append(f'<p class="qa-text">{escape(answer.answer)}</p>')
    else:
        parts.append(f'<p class="qa-text">{_answer_line(answer, key)}</p>')
    parts += _notes(answer)
    groups = _passages(answer.related if answer.abstained else answer.citations)
    if groups:
        label = ("Possibly related passages (not an answer)" if answer.abstained
                 else f"Sources ({len(answer.citations)})")
        parts.append(f'<p class="qa-label">{label}</p>')
        for i, group in enumerate(groups):
            parts.append(_source(group, answer, key=key, open_=i == 0 and not answer.abstained,
                                 settings=settings, analyzer=analyzer))
    if not answer.abstained:
        parts.append(
            '<div class="qa-actions">'
            '<button type="button" class="qa-copy" title="Copy the answer with its sources as '
            'plain text">Copy answer</button> '
            '<button type="button" class="qa-copy-md" title="Copy the answer with footnotes, '
            'in Markdown">Copy as Markdown</button></div>'
            f'<pre class="qa-plain" hidden>{escape(plain_text(answer))}</pre>'
            f'<pre class="qa-markdown" hidden>{escape(answer_markdown(answer))}</pre>')
    parts.append("</div>")
    return "".join(parts)


def message_html(text: str, *, kind: str = "note") -> str:
    """A reply that is not an answer (no document matches, an error), escaped."""
    return f'<div class="qa-reply qa-{escape(kind)}"><p class="qa-text">{escape(text)}</p></div>'


def _answer_line(answer: Answer, key: str) -> str:
    out = []
    for c in answer.citations:
        label = escape(f"Source {c.n}: {c.title or c.source}", quote=True)
        out.append(f'{_with_short(c, answer.short_answer)} '
                   f'<a class="qa-cite" href="#{_anchor(key, c.n)}" title="{label}">[{c.n}]</a>')
    return " ".join(out)


def _notes(answer: Answer) -> list[str]:
    notes = []
    if answer.query_used != answer.question:
        notes.append(f'<p class="qa-note">Searched for: {escape(answer.query_used)}</p>')
    if answer.date_range:
        start, end = (escape(d) for d in answer.date_range)
        notes.append(f'<p class="qa-note">Dates favoured: {start} to {end}</p>')
    return notes


def _passages(citations: Iterable[Citation]) -> list[list[Citation]]:
    """The citations grouped by passage, passages in the order of their first citation."""
    ordered = sorted(citations, key=lambda c: (c.doc_id, c.passage_start, c.n))
    groups = [list(g) for _, g in groupby(ordered, key=lambda c: (c.doc_id, c.passage_start))]
    return sorted(groups, key=lambda g: g[0].n)


def _source(group: list[Citation], answer: Answer, *, key: str, open_: bool,
            settings: Settings, analyzer: TextAnalyzer | None) -> str:
    first = group[0]
    numbers = "" if answer.abstained else " ".join(f"[{c.n}]" for c in group)
    where = [first.date or "no date"] + ([first.source] if first.source else [])
    if first.page:
        where.append(f"page {first.page}")
    why = explain(first, answer.query_used, settings, analyzer)
    body = _marked(group, answer.short_answer, key)  # related passages have nothing marked
    opened = " open" if open_ else ""
    return (
        f'<details class="qa-source"{opened}><summary>'
        f'<span class="qa-nums">{numbers}</span> <span class="qa-title">'
        f'{escape(first.title or "(untitled)")}</span> '
        f'<span class="qa-where">{escape(" · ".join(where))}</span></summary>'
        f'<blockquote class="qa-passage">{body}</blockquote>'
        f'<p class="qa-why">Why this passage: {escape(plain_words(why))}</p>'
        f'<details class="qa-scores"><summary>Scores</summary><p>{escape(why.scores)}</p>'
        f'</details><p class="qa-open"><a href="{_document_link(first)}">Open the whole '
        f'document</a></p></details>')


def _marked(group: list[Citation], short: ShortAnswer | None, key: str) -> str:
    """The passage with each cited sentence in its own numbered mark."""
    text, out, cursor = group[0].passage, [], 0
    for c in sorted(group, key=lambda c: c.highlight_start):
        start = max(cursor, c.highlight_start - c.passage_start)
        end = c.highlight_end - c.passage_start
        if end <= start:
            continue
        out.append(escape(text[cursor:start]))
        out.append(f'<mark class="qa-quote" id="{_anchor(key, c.n)}" tabindex="-1">'
                   f'{_with_short(c, short)}</mark>'
                   f'<span class="qa-n">[{c.n}]</span>')
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def _with_short(c: Citation, short: ShortAnswer | None) -> str:
    """The citation's sentence, escaped, with the short answer inside it marked."""
    sentence = c.highlight
    if short is None or short.n != c.n or not (
            c.highlight_start <= short.start < short.end <= c.highlight_end):
        return escape(sentence)
    a, b = short.start - c.highlight_start, short.end - c.highlight_start
    return (f'{escape(sentence[:a])}<mark class="qa-short" title="The short answer">'
            f'{escape(sentence[a:b])}</mark>{escape(sentence[b:])}')


def _anchor(key: str, n: int) -> str:
    return f"qa-{key}-{n}"


def _document_link(c: Citation) -> str:
    query = urlencode({"from": c.highlight_start, "to": c.highlight_end})
    return escape(f"{DOCUMENT_PATH}{quote(c.doc_id, safe='')}?{query}#quote", quote=True)


def plain_text(answer: Answer) -> str:
    """The answer as plain text: the sentences with their [n], then one footnote per source.

    Example output::

        The US wants to base the system in eastern Europe by 2013. [1]

        [1] US, Russian officials take conciliatory tone (2008-03-18), 000.txt
    """
    if answer.abstained:
        return answer.answer
    lines = [" ".join(f"{' '.join(c.highlight.split())} [{c.n}]" for c in answer.citations), ""]
    lines += [f"[{c.n}] {_footnote(c)}" for c in answer.citations]
    return "\n".join(lines)


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown with footnote citations, to paste elsewhere.

    Example output::

        The US says it wants to base the system in eastern Europe by 2013. [^1]

        [^1]: US, Russian officials take conciliatory tone in missile talks (2008-03-18),
        000.txt: "The US says it wants to base the system in eastern Europe by 2013."
    """
    if answer.abstained:
        return answer.answer
    lines = [" ".join(f"{' '.join(c.highlight.split())} [^{c.n}]" for c in answer.citations), ""]
    for c in answer.citations:
        quoted = " ".join(c.highlight.split())
        lines.append(f"[^{c.n}]: {_footnote(c)}: \"{quoted}\"")
    return "\n".join(lines)


def _footnote(c: Citation) -> str:
    where = ", ".join(x for x in (c.source, f"page {c.page}" if c.page else "") if x)
    return f"{c.title} ({c.date or 'no date'})" + (f", {where}" if where else "")
