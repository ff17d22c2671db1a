"""spaCy is imported with torch turned away, and torch's importers wait for that to end."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from conftest import ROOT

from qa.index.torchless import torch_import, without_torch


def test_torch_is_turned_away_only_inside_the_block() -> None:
    script = (
        "import sys\n"
        "from qa.index.torchless import without_torch\n"
        "with without_torch():\n"
        "    try:\n"
        "        import torch\n"
        "        print('imported inside')\n"
        "    except ImportError:\n"
        "        print('refused inside')\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "print('imported after', torch.__version__ != '')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=False)
    assert result.stdout.split("\n")[:3] == ["refused inside", "False", "imported after True"], \
        result.stdout + result.stderr


def test_an_importer_of_torch_waits_for_the_block_to_end() -> None:
    order: list[str] = []

    def importer() -> None:
        with torch_import():
            order.append("torch import")

    with without_torch():
        other = threading.Thread(target=importer)
        other.start()
        time.sleep(0.2)
        order.append("block ends")
    other.join(5)
    assert order == ["block ends", "torch import"]
