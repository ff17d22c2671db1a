"""Offline question answering over a folder of documents, with exact citations.

    >>> from qa import Settings, load_answerer
    >>> print(load_answerer(Settings()).ask("Where will the missile shield go?").answer)
"""

from .answer import Answer, Citation, load_answerer
from .config import Settings

__all__ = ["Answer", "Citation", "Settings", "load_answerer"]
