"""The lean embedder: the bundled model run by onnxruntime, tokenised by `tokenizers`.

It computes what the sentence-transformers pipeline of the model computes — read from the
model folder's `modules.json`: the transformer on at most `max_seq_length` word pieces, then
its pooling (mean over the real tokens for all-MiniLM-L6-v2, per `1_Pooling/config.json`),
then L2 normalisation — without importing torch, transformers or sentence-transformers, which
take seconds to import. The transformer itself comes from an ONNX export of the same weights
(`qa.index.onnx_export`), at full precision (fp32: the same vectors as sentence-transformers,
to within 1e-6) or with int8 weights (faster, slightly different vectors).

`SentenceTransformerEmbedder` stays the reference: the tests compare the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .onnx_export import onnx_file

#: The sentence-transformers modules this embedder reproduces, in order.
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                  "pooling_mode_max_tokens": "max"}


class OnnxEmbedder:
    """A sentence-transformers model folder, run with onnxruntime.

    Args:
        model_dir: the model folder (tokenizer.json, modules.json, the weights).
        name: the name the index records (the bundled model's, for the bundled folder).
        precision: "fp32" or "int8".
        cache_dir: where the ONNX exports are kept (`qa.index.onnx_export`).
        batch_size: texts per run of the model.
        threads: threads one run of the model may use.

    Raises:
        ConfigError: the folder is not a model this embedder can reproduce, or the export
            failed.

    Example:
        >>> model = OnnxEmbedder(Path(bundled_model_path()), name=BUNDLED_MODEL,
        ...                      cache_dir=default_cache_dir())  # doctest: +SKIP
        >>> model.embed(["Where is the missile shield?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, model_dir: Path, *, name: str, cache_dir: Path,
                 precision: str = "fp32", batch_size: int = 32, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.name = name
        self.precision = precision
        self.batch_size = batch_size
        self._pooling, self._normalize, self.max_tokens = _pipeline(model_dir)
        try:
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as err:  # tokenizers raises its own Exception type
            raise ConfigError(f"cannot read {model_dir}/tokenizer.json ({err})") from None
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        pad = self._tokenizer.token_to_id("[PAD]") or 0
        self._tokenizer.enable_padding(pad_id=pad, pad_token="[PAD]")
        self._counter.no_truncation()
        self._counter.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(0, threads)  # 0: one per core
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        path = onnx_file(model_dir, precision, cache_dir)
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime's own error types
            raise ConfigError(f"cannot load {path} ({err}); delete it to export it again") \
                from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, so each batch pads to lengths alike (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        vectors = _pool(np.asarray(hidden, dtype=np.float32), feeds["attention_mask"],
                        self._pooling)
        if self._normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts),
                                                                 add_special_tokens=False)]


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """One vector per text from its tokens' vectors, as sentence-transformers' `Pooling`."""
    if mode == "cls":
        return hidden[:, 0]
    weights = mask[..., None].astype(np.float32)
    if mode == "max":
        return np.where(weights > 0, hidden, -1e9).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


def _pipeline(model_dir: Path) -> tuple[str, bool, int]:
    """The pooling mode, whether vectors are normalised, and the window, from the model
    folder's sentence-transformers configuration.

    Raises:
        ConfigError: a module or pooling mode this embedder does not reproduce.
    """
    modules = _read_json(model_dir / "modules.json")
    kinds = [m.get("type") for m in modules] if isinstance(modules, list) else []
    if kinds not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        raise ConfigError(f"{model_dir} is not a Transformer → Pooling (→ Normalize) "
                          f"sentence-transformers model ({kinds}); set QA_MODEL to its folder "
                          "to run it with sentence-transformers")
    pooling_dir = model_dir / modules[1].get("path", "")
    pooling = _read_json(pooling_dir / "config.json")
    modes = [mode for key, mode in _POOLING_MODES.items() if pooling.get(key)]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
              and k not in _POOLING_MODES]
    if len(modes) != 1 or others:
        raise ConfigError(f"{pooling_dir}/config.json asks for pooling this embedder does not "
                          "reproduce (one of mean, cls or max)")
    config = _read_json(model_dir / "sentence_bert_config.json")
    window = int(config.get("max_seq_length") or 512)
    return modes[0], kinds[-1] == _NORMALIZE, window


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path} ({err})") from None
