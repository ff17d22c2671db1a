"""Plain text and Markdown: a date line and a title line at the top become metadata.

Markdown `# headings` and `---` front matter (`title:`, `date:`) count too; page cruft at the
end ("No comments:", "Posted by…", "Labels:") is dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from .document import Document, finish, parse_date

# Lines that blogs and news sites leave at the end of an article; they are not content.
_CRUFT = re.compile(
    r"^(no comments?:?|\d+ comments?:?|posted by\b.*|labels?:.*|share this( article)?:?|"
    r"email this.*|newer post.*|older post.*|home|subscribe to:.*|advertisement|"
    r"read more\.?|tags?:.*)$",
    re.IGNORECASE,
)
#: A line that is only a rule ("---", "***", "==="): never a title. An unclosed front matter
#: block leaves its opening `---` at the top.
_RULE = re.compile(r"^\s*([-*_=~])(\s*\1){2,}\s*$")
_MAX_TITLE_CHARS = 200
_MAX_DATE_LINE_CHARS = 60
#: Front matter is looked for only this many lines down.
_MAX_FRONT_MATTER_LINES = 50


def read_text(path: Path, raw: str) -> Document:
    """A text or Markdown file's Document: date and title lines taken out of the text."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, lines = front_matter(lines)
    title, when = meta.get("title", ""), parse_date(meta.get("date"))
    _drop_blank_head(lines)
    if lines and when is None and len(lines[0].strip()) <= _MAX_DATE_LINE_CHARS:
        when = parse_date(lines[0])
        if when is not None:
            lines.pop(0)
    _drop_blank_head(lines)
    if not title and lines:
        title = _take_title(lines)
    while lines and (not lines[-1].strip() or _CRUFT.match(lines[-1].strip())):
        lines.pop()
    return finish(path, title, "\n".join(lines), date=when)


def _drop_blank_head(lines: list[str]) -> None:
    while lines and (not lines[0].strip() or _RULE.match(lines[0])):
        lines.pop(0)


def _take_title(lines: list[str]) -> str:
    """Pop and return the first line when it reads as a title (a heading, or a short line
    not ending like a sentence); otherwise leave the lines and return ""."""
    first = lines[0].strip()
    is_heading = first.startswith("#")
    first = first.lstrip("#").strip()
    if is_heading or (len(first) <= _MAX_TITLE_CHARS and not first.endswith((".", ":"))):
        lines.pop(0)
        return first
    return ""


def front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Simple `key: value` YAML front matter between `---` lines, as Markdown files often have.

    Example:
        >>> front_matter(["---", "title: Hi", "---", "Body"])
        ({'title': 'Hi'}, ['Body'])
    """
    if not lines or lines[0].strip() != "---":
        return {}, lines
    for end in range(1, min(len(lines), _MAX_FRONT_MATTER_LINES)):
        if lines[end].strip() == "---":
            meta = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("'\"")
            return meta, lines[end + 1 :]
    return {}, lines
