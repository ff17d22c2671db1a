"""The one `Answerer` a server shares between the chat and the API, loaded on first use.

It sits below both edges, so neither owns the core: the Gradio chat and the REST API each take
a holder and ask it for the answerer in use. After an index change, `reload` points it at the
new generation; a request already running keeps the answerer it started with, so it never
mixes two generations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..config import Settings
from .answerer import Answerer, load_answerer


class AnswererHolder:
    """Loads the index and model on first use; hands out the current answerer.

    Example:
        >>> holder = AnswererHolder(Settings())  # doctest: +SKIP
        >>> holder.answerer().ask("Where will the shield go?")  # doctest: +SKIP
    """

    def __init__(self, settings: Settings,
                 loader: Callable[[Settings], Answerer] = load_answerer) -> None:
        self.settings = settings
        self._loader = loader
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    def answerer(self) -> Answerer:
        """The answerer in use, loading it first if need be.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError, ConfigError.
        """
        with self._lock:
            if self._answerer is None:
                self._answerer = self._loader(self.settings)
            return self._answerer

    def reload(self) -> None:
        """Answer from the index as it is now on disk (it changed), keeping the loaded model."""
        with self._lock:
            self._answerer = (self._answerer.reloaded() if self._answerer is not None
                              else self._loader(self.settings))
