"""Keeping torch off the query path: spaCy imported without it, and one lock for importing it.

spaCy's array library (thinc) imports torch whenever it is installed, for models that run on
torch; the entity recogniser runs on numpy, and importing torch would add a second or more to
every start. So spaCy is imported with `import torch` turned away (`without_torch`), and the
code that does need torch (the sentence-transformers embedder, the ONNX export) imports it
under the same lock (`torch_import`), so that the two never overlap in a process whose
threads load things side by side.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

_lock = threading.RLock()


@contextlib.contextmanager
def without_torch() -> Iterator[None]:
    """While the block lasts, `import torch` fails as if torch were not installed (nothing
    changes when it is loaded already); afterwards it imports as usual."""
    with _lock:
        if "torch" in sys.modules:
            yield
            return
        sys.modules["torch"] = None  # type: ignore[assignment]
        try:
            yield
        finally:
            if sys.modules.get("torch", 0) is None:
                del sys.modules["torch"]


@contextlib.contextmanager
def torch_import() -> Iterator[None]:
    """Hold this while importing torch or a library that imports it."""
    with _lock:
        yield
