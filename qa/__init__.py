"""Offline question answering over a folder of documents, with exact citations.

    >>> from qa import Settings, load_answerer  # doctest: +SKIP
    >>> print(load_answerer(Settings()).ask("Where will the shield go?").answer)  # doctest: +SKIP
"""

from .answer.answerer import Answer, Citation, load_answerer
from .config import Settings

__all__ = ["Answer", "Citation", "Settings", "load_answerer"]
