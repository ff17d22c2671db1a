"""What visitors see of where a document came from: a path relative to the indexed folder, or
nothing — never the server's absolute path.

In the index, a document's `source` is the absolute path of its file (`/srv/articles/a.txt`,
or `/data/corpus.jsonl#42` for a row of a corpus): the indexer and `qa ask` need it, a visitor
must not see it. Everything the web edges send — chat answers, API answers, the widget's
passages, copied footnotes, the Documents view — goes through `SourceNames`, which shows a path
relative to `settings.source_root` or, by default, to the deepest folder every indexed file
shares (`a.txt`, `uploads/notes-1f2e.txt`). A file outside that root shows its name only. With
`show_paths="none"` no path is shown at all, only titles.

The names are worked out once per loaded index generation (`names_for`), in the web layer,
because who sees a path is a question of serving, not of indexing.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..answer.answerer import Answer, Citation
from ..config import Settings
from ..index.parts import DocumentRow
from ..index.store import IndexStore
from ..ingest import source_file


class SourceNames:
    """Turns absolute sources into what a visitor may see.

    Example:
        >>> names = SourceNames(["/srv/articles/a.txt", "/srv/articles/2008/b.txt"], Settings())
        >>> names.show("/srv/articles/2008/b.txt"), names.show("/etc/passwd")
        ('2008/b.txt', 'passwd')
        >>> SourceNames(["/srv/a.txt"], Settings(show_paths="none")).show("/srv/a.txt")
        ''
    """

    def __init__(self, sources: Iterable[str], settings: Settings) -> None:
        self.hidden = settings.show_paths == "none"
        if settings.source_root:
            self.root: Path | None = Path(os.path.abspath(settings.source_root))
        else:
            folders = {str(source_file(s).parent) for s in sources}
            self.root = Path(os.path.commonpath(sorted(folders))) if folders else None

    def show(self, source: str) -> str:
        """The path of `source` below the root ("" when paths are hidden)."""
        if self.hidden or not source:
            return ""
        path = source_file(source)
        row = source[len(str(path)):]  # "#42" for a corpus row, else ""
        try:
            relative = path.relative_to(self.root) if self.root else Path(path.name)
        except ValueError:
            relative = Path(path.name)
        return PurePosixPath(*relative.parts).as_posix() + row

    def citation(self, citation: Citation) -> Citation:
        return dataclasses.replace(citation, source=self.show(citation.source))

    def answer(self, answer: Answer) -> Answer:
        """`answer` with every citation's and related passage's source made public."""
        return dataclasses.replace(
            answer, citations=tuple(self.citation(c) for c in answer.citations),
            related=tuple(self.citation(c) for c in answer.related))

    def document(self, row: DocumentRow) -> DocumentRow:
        return dataclasses.replace(row, source=self.show(row.source))


_cache: weakref.WeakKeyDictionary[IndexStore, SourceNames] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def names_for(store: IndexStore, settings: Settings) -> SourceNames:
    """The `SourceNames` of one loaded index (worked out on first use, then kept with it)."""
    with _cache_lock:
        names = _cache.get(store)
    if names is None:
        names = SourceNames((row.source for row in store.catalog.documents()), settings)
        with _cache_lock:
            _cache[store] = names
    return names
