"""The `qa` command through `main([...])`, with the fake embedder standing in for the model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import FakeEmbedder, write

from qa import cli


@pytest.fixture(autouse=True)
def fake_model(registered_fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> FakeEmbedder:
    fake = registered_fake
    monkeypatch.setenv("QA_MODEL", fake.name)
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("QA_ABSTAIN_THRESHOLD", "0.1")
    return fake


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    write(tmp_path / "docs" / "zoo.txt", "May 1, 2020\n\nZoo news\n\nZebras arrived from Kenya.")
    write(tmp_path / "docs" / "tax.txt", "Tax rules\n\nForms are due in April.")
    (tmp_path / "docs" / "junk.bin").write_bytes(b"\x00\x01")
    return tmp_path / "docs"


def test_index_reports_counts_and_skipped_files(docs: Path) -> None:
    code, out, err = run("index", str(docs), "--quiet")
    assert code == 0
    assert "updated: 2 documents" in out and "added 2" in out and "skipped 1" in out
    assert f"skipped {docs / 'junk.bin'}: unsupported file type .bin" in err
    code, out, _ = run("index", str(docs), "--quiet")
    assert code == 0 and "already up to date" in out and "embedded 0" in out


def test_index_of_a_missing_path_fails_with_one_line(tmp_path: Path) -> None:
    code, out, err = run("index", str(tmp_path / "nope"))
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "no such file or folder" in err


def test_ask_without_an_index_says_what_to_run() -> None:
    code, _, err = run("ask", "anything")
    assert code == 1
    assert err.startswith("qa ask: no index at") and "run `qa index`" in err
    assert "Traceback" not in err


def test_ask_text_and_json(docs: Path) -> None:
    run("index", str(docs), "--quiet")
    code, out, _ = run("ask", "zebras from Kenya")
    assert code == 0 and "Zebras arrived from Kenya. [1]" in out and "[1] Zoo news (2020-05-01)" in out
    code, out, _ = run("ask", "--json", "-", stdin="zebras from Kenya\n\nforms due April\n")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    answers = [json.loads(line) for line in lines]
    assert [a["citations"][0]["title"] for a in answers] == ["Zoo news", "Tax rules"]
    assert all(a["query_used"] == a["question"] for a in answers)


def test_ask_with_history_file(docs: Path, tmp_path: Path) -> None:
    run("index", str(docs), "--quiet")
    history = write(tmp_path / "h.json", json.dumps([{"role": "user", "content": "zebras?"}]))
    code, out, _ = run("ask", "zebras from Kenya", "--json", "--history", str(history))
    assert code == 0 and json.loads(out)["citations"]
    bad = write(tmp_path / "bad.json", json.dumps({"role": "user"}))
    code, _, err = run("ask", "x", "--history", str(bad))
    assert code == 1 and "history must be a JSON list" in err


def test_empty_question_is_a_clear_error(docs: Path) -> None:
    run("index", str(docs), "--quiet")
    code, _, err = run("ask", "   ")
    assert code == 1 and "question is empty" in err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "qa ask --json - < questions.txt" in capsys.readouterr().out


def test_eval_on_a_tiny_beir_dataset(tmp_path: Path) -> None:
    data = tmp_path / "tiny"
    rows = [
        {"_id": "a", "title": "Zebras", "text": "Zebras live in Africa and eat grass."},
        {"_id": "b", "title": "Taxes", "text": "Tax forms are due in April every year."},
        {"_id": "c", "title": "Rockets", "text": "The rocket carried a satellite to orbit."},
    ]
    write(data / "corpus.jsonl", "\n".join(json.dumps(r) for r in rows))
    queries = [
        {"_id": "q1", "text": "what do zebras eat", "metadata": {"gold": "a"}},
        {"_id": "q2", "text": "when are tax forms due", "metadata": {}},
        {"_id": "q3", "text": "no qrels for me", "metadata": {}},
    ]
    write(data / "queries.jsonl", "\n".join(json.dumps(q) for q in queries))
    write(data / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\n")
    code, out, _ = run("eval", str(data), "--index", str(tmp_path / "eval-ix"), "--json", "--quiet")
    assert code == 0
    result = json.loads(out)
    assert (result["dataset"], result["queries"]) == ("tiny", 2)
    for system in ("bm25", "dense", "hybrid"):
        assert set(result["retrieval"][system]) == {
            "ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10"}
        assert result["retrieval"][system]["recall@1"] == 1.0
    code, out, _ = run("eval", str(data), "--index", str(tmp_path / "eval-ix"), "--quiet")
    assert code == 0 and "| hybrid | 1.0000 |" in out


def test_eval_refuses_the_main_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d" / "corpus.jsonl", "")
    write(tmp_path / "d" / "queries.jsonl", "")
    write(tmp_path / "d" / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n")
    code, _, err = run("eval", "d", "--index", "index")
    assert code == 1 and "never writes index/" in err


def test_ask_now_anchors_relative_dates(docs: Path) -> None:
    run("index", str(docs), "--quiet")
    code, out, _ = run("ask", "--json", "--now", "2020-05-03", "zebras from Kenya this week")
    assert code == 0 and json.loads(out)["date_range"] == ["2020-04-26", "2020-05-03"]


def test_serve_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    monkeypatch.setattr("qa.web.server.serve",
                        lambda settings, out: seen.setdefault("s", settings))
    code, _, _ = run("serve", "--port", "8123", "--cors-origin", "https://a.example",
                     "--cors-origin", "http://localhost:3000", "--frame-ancestors", "'none'")
    settings = seen["s"]
    assert code == 0
    assert settings.host == "127.0.0.1" and settings.port == 8123
    assert settings.cors_origins == "https://a.example,http://localhost:3000"
    assert settings.frame_ancestors == "'none'"


def test_a_reader_that_goes_away_is_no_traceback(docs: Path) -> None:
    class Closed(io.StringIO):
        def write(self, _text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    assert run("index", str(docs), "--quiet")[0] == 0
    err = io.StringIO()
    code = cli.main(["ask", "Where did the zebras come from?"], stdin=io.StringIO(""),
                    stdout=Closed(), stderr=err)
    assert code == 0 and err.getvalue() == ""


def test_related_documents_are_listed_once_each(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    long = " ".join(f"Zebra herd number {i} crossed the river near camp {i}." for i in range(200))
    write(tmp_path / "docs" / "zebras.txt", f"Zebra diary\n\n{long}")
    assert run("index", str(tmp_path / "docs"), "--quiet")[0] == 0
    monkeypatch.setenv("QA_ABSTAIN_THRESHOLD", "1.0")  # nothing is supported: all related
    code, out, _ = run("ask", "How many zebras crossed the river?")
    assert code == 0 and "Possibly related:" in out
    related = [line for line in out.splitlines() if line.startswith("  - ")]
    assert len(related) == 1 and "Zebra diary" in related[0]
    code, out, _ = run("ask", "--json", "How many zebras crossed the river?")
    assert len(json.loads(out)["related"]) > 1, "the JSON keeps every related passage"
