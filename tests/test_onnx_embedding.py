"""The lean embedder (onnxruntime + tokenizers) against the sentence-transformers reference,
the precision the index records, and a query path that never imports torch."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS, FakeEmbedder, write

from qa import cli
from qa.config import BUNDLED_MODEL, Settings
from qa.errors import ConfigError
from qa.index.builder import index_paths
from qa.index.cache import EmbeddingCache, embed_cached
from qa.index.chunking import embed_text, fit_title, split_document
from qa.index.embedding import (
    SentenceTransformerEmbedder,
    cache_key,
    load_embedder,
    register_embedder,
    unregister_embedder,
)
from qa.index.layout import Manifest
from qa.index.onnx_embedding import OnnxEmbedder
from qa.index.onnx_export import default_cache_dir, export_folder
from qa.ingest import read_file


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def seed_texts(model: OnnxEmbedder) -> list[str]:
    """The seed article's passages as the index embeds them (title + text), its lines, and a
    text longer than the model's window (cut at 256 word pieces by both)."""
    doc = read_file(next(SEEDS.glob("*.txt")))
    title = fit_title(doc.title, model.count_tokens)
    passages = [embed_text(title, p.text) for p in split_document(
        doc, model.count_tokens, max_tokens=256, model_max_tokens=model.max_tokens,
        overlap_sentences=1, max_chars=3000)]
    lines = [line for line in doc.text.splitlines() if line.strip()]
    return [*passages, *lines, doc.text, "Where does the US want to put its missile shield?"]


@pytest.mark.model
def test_lean_embedder_matches_sentence_transformers_on_the_seed(real_model) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(real_model, OnnxEmbedder) and real_model.precision == "fp32"
    reference = SentenceTransformerEmbedder(BUNDLED_MODEL)
    texts = seed_texts(real_model)
    assert len(texts) > 10
    lean, ref = real_model.embed(texts), reference.embed(texts)
    assert lean.shape == ref.shape == (len(texts), 384)
    cosines = (lean * ref).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines.min()
    assert np.allclose(np.linalg.norm(lean, axis=1), 1.0, atol=1e-5)
    # Chunking depends on the token counts: they must agree too (long text included).
    assert real_model.count_tokens(texts) == reference.count_tokens(texts)
    assert real_model.max_tokens == reference.max_tokens == 256


@pytest.mark.model
def test_int8_is_close_to_fp32_but_not_the_same(real_model) -> None:  # type: ignore[no-untyped-def]
    int8 = load_embedder(BUNDLED_MODEL, precision="int8")
    assert int8.precision == "int8" and cache_key(int8) == f"{BUNDLED_MODEL}@int8"
    texts = seed_texts(real_model)
    cosines = (int8.embed(texts) * real_model.embed(texts)).sum(axis=1)
    assert cosines.min() > 0.9, cosines.min()
    assert cosines.max() < 0.99999  # really quantised, not the fp32 file under another name


def test_export_folder_changes_with_the_model_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    write(model / "config.json", "{}")
    first = export_folder(model, tmp_path / "cache")
    assert export_folder(model, tmp_path / "cache") == first
    write(model / "config.json", '{"hidden_size": 8}')  # another size: another model
    assert export_folder(model, tmp_path / "cache") != first
    other = tmp_path / "other" / "model"
    write(other / "config.json", '{"hidden_size": 8}')
    assert export_folder(other, tmp_path / "cache") != export_folder(model, tmp_path / "cache")


def test_a_folder_that_is_not_a_mean_pooling_model_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    write(model / "modules.json", json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"}]))
    write(model / "1_Pooling" / "config.json", json.dumps(
        {"pooling_mode_weightedmean_tokens": True, "pooling_mode_mean_tokens": False}))
    with pytest.raises(ConfigError, match="pooling"):
        OnnxEmbedder(model, name="m", cache_dir=tmp_path / "cache")


def test_a_model_without_int8_is_refused_with_the_precision_it_has(
        registered_fake: FakeEmbedder) -> None:
    with pytest.raises(ConfigError, match="fp32 only, not int8"):
        load_embedder(registered_fake.name, precision="int8")
    with pytest.raises(ConfigError, match="precision must be one of"):
        Settings().with_overrides(precision="fp16")


def test_the_cache_never_mixes_precisions(tmp_path: Path) -> None:
    fp32, int8 = FakeEmbedder(), FakeEmbedder()
    int8.precision = "int8"
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    texts = ["Zebras arrived from Kenya.", "Forms are due in April."]
    _, sent = embed_cached(fp32, texts, cache)
    assert sent == 2
    _, sent = embed_cached(int8, texts, cache)
    assert sent == 2 and int8.embedded == texts  # fp32 vectors were not taken for int8 ones
    _, sent = embed_cached(int8, texts, cache)
    assert sent == 0
    assert {cache_key(fp32), cache_key(int8)} == {"fake-bow", "fake-bow@int8"}
    cache.close()


def test_an_index_refuses_another_precision_with_what_to_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    int8 = FakeEmbedder()
    int8.precision = "int8"
    register_embedder("fake-bow", lambda options: int8 if options.precision == "int8"
                      else FakeEmbedder())
    try:
        monkeypatch.setenv("QA_MODEL", "fake-bow")
        docs = write(tmp_path / "docs" / "zoo.txt", "Zoo news\n\nZebras arrived from Kenya.")
        index = tmp_path / "index"
        code, _, err = run("index", str(docs), "--index", str(index), "--quiet")
        assert code == 0, err
        assert Manifest.read(index).precision == "fp32"
        write(tmp_path / "docs" / "tax.txt", "Tax rules\n\nForms are due in April.")
        code, _, err = run("index", str(docs.parent), "--index", str(index), "--precision",
                           "int8", "--quiet")
        assert code == 1
        assert "built at fp32 precision, not int8" in err
        assert "qa index --rebuild --precision int8" in err
        assert Manifest.read(index).generation == 1  # nothing written
        # Without --precision, an update keeps the index's; --rebuild changes it.
        code, _, err = run("index", str(docs.parent), "--index", str(index), "--quiet")
        assert code == 0 and Manifest.read(index).precision == "fp32"
        code, _, err = run("index", str(docs.parent), "--index", str(index), "--rebuild",
                           "--precision", "int8", "--quiet")
        assert code == 0 and Manifest.read(index).precision == "int8"
        code, _, err = run("index", str(docs.parent), "--index", str(index), "--rebuild",
                           "--quiet")
        assert code == 0 and Manifest.read(index).precision == "int8"  # kept
        # Questions are embedded at the index's precision, whatever is asked for.
        monkeypatch.setenv("QA_PRECISION", "fp32")
        from qa.answer.answerer import load_answerer

        answerer = load_answerer(Settings.from_env(index_dir=index))
        assert answerer.retriever.embedder.precision == "int8"
    finally:
        unregister_embedder("fake-bow")


@pytest.mark.model
def test_int8_index_of_the_seed_answers(tmp_path: Path) -> None:
    index = tmp_path / "index"
    code, out, err = run("index", str(SEEDS), "--index", str(index), "--precision", "int8",
                         "--quiet")
    assert code == 0, err
    manifest = Manifest.read(index)
    assert manifest.precision == "int8" and manifest.model == BUNDLED_MODEL
    code, out, err = run("ask", "Where does the US want to put its missile defence system?",
                         "--index", str(index), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert not answer["abstained"]
    assert "Poland" in answer["answer"]


@pytest.mark.model
def test_the_query_path_never_imports_torch(tmp_path: Path, real_model) -> None:  # type: ignore[no-untyped-def]
    """A cold `qa ask` (and the server's app) run without torch, transformers or
    sentence-transformers: importing them took most of a start."""
    index = tmp_path / "index"
    index_paths([SEEDS], Settings(index_dir=index), embedder=real_model)
    assert export_folder(Path(real_model_dir()), default_cache_dir()).is_dir()
    script = (
        "import sys\n"
        "from qa.cli import main\n"
        f"code = main(['ask', '--index', {str(index)!r}, "
        "'Where does the US want to put its missile defence system?'])\n"
        "from qa.config import Settings\nfrom qa.web.server import create_app\n"
        f"create_app(Settings(index_dir={str(index)!r}))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'transformers', 'sentence_transformers'})\n"
        "print('HEAVY', heavy, code)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=300, check=False)
    assert "Poland" in result.stdout, result.stderr
    assert "HEAVY [] 0" in result.stdout, result.stdout + result.stderr


def real_model_dir() -> str:
    from qa.index.embedding import bundled_model_path

    return bundled_model_path()
