"""The one `Answerer` a server shares between the chat and the API, kept on the newest index.

It sits below both edges, so neither owns the core: the Gradio chat and the REST API each take
a holder and lease the answerer in use for one request (`with holder.lease() as answerer:`).

The index on disk changes under a running server (`qa index` in a terminal, an upload over
HTTP). Its commit point is `manifest.json`, replaced atomically by the writer, so between
requests — at most every `settings.reload_check_seconds` — the holder stats that one file. When
it changed and names a new generation, the holder loads the new generation beside the one in
use (every file its manifest names present, with the size and stamp it recorded: never a
half-written index), then swaps it in. Requests already
running keep the answerer they leased, so none is dropped and none mixes two generations; the
old store is closed when its last lease ends. A generation that can't be loaded is logged and
skipped: the server goes on answering from the one it has.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..config import Settings
from ..errors import QAError
from ..index.layout import MANIFEST, Manifest
from .answerer import Answerer, load_answerer

log = logging.getLogger(__name__)

#: What identifies one committed manifest file: inode, modification time (ns) and size.
Signature = tuple[int, int, int]


@dataclass
class _Loaded:
    """One loaded generation and how many requests are using it."""

    answerer: Answerer
    signature: Signature | None
    leases: int = 0
    retired: bool = False
    closed: bool = False


class AnswererHolder:
    """Loads the index and model on first use; hands out the current answerer, and swaps in a
    new index generation when one is committed.

    Example:
        >>> holder = AnswererHolder(Settings())  # doctest: +SKIP
        >>> with holder.lease() as answerer:  # doctest: +SKIP
        ...     answerer.ask("Where will the shield go?")
    """

    def __init__(self, settings: Settings,
                 loader: Callable[[Settings], Answerer] = load_answerer, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._loader = loader
        self._clock = clock
        self._current: _Loaded | None = None
        self._lock = threading.Lock()  # guards _current and every lease count
        self._loading = threading.Lock()  # one load of a new generation at a time
        self._next_check = 0.0
        self._failed: Signature | None = None  # a manifest that would not load

    @contextlib.contextmanager
    def lease(self) -> Iterator[Answerer]:
        """The answerer for one request, after swapping in a newer index if one is on disk.
        It stays open until the block ends, even if a newer generation is swapped in meanwhile.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError: the index
                can't be loaded and none is loaded yet.
        """
        self._refresh_if_due()
        loaded = self._acquire(count=True)
        try:
            yield loaded.answerer
        finally:
            with self._lock:
                loaded.leases -= 1
            self._close_if_unused(loaded)

    def answerer(self) -> Answerer:
        """The answerer in use, loading it first if need be, without a lease: for one-off
        callers (a command, a test). A swap may close its store once no lease holds it, so a
        server request uses `lease()` instead.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError.
        """
        return self._acquire(count=False).answerer

    @property
    def generation(self) -> int | None:
        """The index generation in use (None before the first load)."""
        with self._lock:
            current = self._current
        return current.answerer.retriever.store.manifest.generation if current else None

    def refresh(self) -> bool:
        """Swap in the index on disk if it is another generation than the one in use; a load
        that fails is logged and the current one kept. Returns whether it swapped."""
        with self._loading:
            with self._lock:
                current = self._current
            signature = manifest_signature(self.settings)
            if current is None or signature in (None, current.signature, self._failed):
                return False
            try:
                generation = Manifest.read(self.settings.index_dir).generation
                if generation == current.answerer.retriever.store.manifest.generation:
                    with self._lock:
                        current.signature = signature
                    return False
                fresh = current.answerer.reloaded()
            except QAError as err:
                self._failed = signature
                log.warning("the index at %s/ changed but could not be loaded (%s); still "
                            "answering from generation %d", self.settings.index_dir, err,
                            current.answerer.retriever.store.manifest.generation)
                return False
            self._swap(_Loaded(fresh, signature))
            log.info("now answering from index generation %d (%d documents)",
                     generation, fresh.retriever.store.manifest.counts["documents"])
            return True

    def reload(self) -> None:
        """Answer from the index as it is now on disk (the caller just changed it), keeping the
        loaded model.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError.
        """
        with self._loading:
            with self._lock:
                current = self._current
            if current is None:
                self._acquire(count=False)
                return
            signature = manifest_signature(self.settings)
            self._swap(_Loaded(current.answerer.reloaded(), signature))

    def close(self) -> None:
        """Close the store in use once no request holds it (at server shutdown)."""
        with self._lock:
            current, self._current = self._current, None
            if current is not None:
                current.retired = True
        if current is not None:
            self._close_if_unused(current)

    def _acquire(self, *, count: bool) -> _Loaded:
        with self._lock:
            if self._current is None:
                signature = manifest_signature(self.settings)
                self._current = _Loaded(self._loader(self.settings), signature)
                self._next_check = self._clock() + self.settings.reload_check_seconds
            if count:
                self._current.leases += 1
            return self._current

    def _refresh_if_due(self) -> None:
        with self._lock:
            now = self._clock()
            if self._current is None or now < self._next_check:
                return
            self._next_check = now + self.settings.reload_check_seconds
        if not self._loading.locked():  # another request is loading it: use the current one
            self.refresh()

    def _swap(self, fresh: _Loaded) -> None:
        with self._lock:
            old, self._current = self._current, fresh
            self._failed = None
            if old is not None:
                old.retired = True
        if old is not None:
            self._close_if_unused(old)

    def _close_if_unused(self, loaded: _Loaded) -> None:
        with self._lock:
            if not loaded.retired or loaded.leases > 0 or loaded.closed:
                return
            loaded.closed = True
        loaded.answerer.retriever.store.close()


def manifest_signature(settings: Settings) -> Signature | None:
    """What identifies the committed manifest now: it changes with every commit (the writer
    replaces the file). None when there is no index."""
    try:
        stat = os.stat(settings.index_dir / MANIFEST)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
