"""The PostgreSQL store against a real server: the same rankings and answers as the index folder,
incremental updates in transactions, a lock between writers, schema versions, `qa eval`.

One embedded PostgreSQL 18 + pgvector serves the whole session (`postgres_url` in conftest);
each test writes a schema of its own. The fake embedder stands in for the model.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import FakeEmbedder, write
from psycopg import sql

from qa import cli
from qa.answer.answerer import Answerer, load_answerer
from qa.answer.retrieval import Filters, Ranking, Retriever
from qa.config import Settings
from qa.errors import IndexBusyError, IndexMismatchError, IndexMissingError
from qa.index.backend import open_store
from qa.index.builder import index_paths
from qa.index.embedding import Embedder
from qa.index.postgres.database import redact
from qa.index.postgres.target import PostgresTarget
from qa.index.store import IndexStore

pytestmark = pytest.mark.postgres

ARTICLES = {
    "space.txt": "March 3, 2021\n\nRocket launch\n\nThe rocket launched from Florida carrying "
                 "a weather satellite. Engineers cheered as the booster landed on a barge. "
                 "The satellite will watch storms over the Atlantic for ten years.",
    "garden.txt": "June 9, 2022\n\nGarden tips\n\nTomatoes need full sun and deep watering. "
                  "Mulch keeps the soil moist during hot summer weeks. Weather permitting, "
                  "plant beans in May.",
    "bank.txt": "Central bank holds rates\n\nThe central bank kept interest rates unchanged, "
                "citing slowing inflation. Markets rallied after the announcement, and the "
                "bank said the weather of the economy was calm.",
    "ferry.md": "# Ferry log\n\nThe ferry crossed the Danube river at dawn. Fog delayed the "
                "crossing by an hour. The captain logged the weather and the river level.",
}
QUESTIONS = [
    ("Where did the rocket launch from?", None),
    ("What do tomatoes need?", None),
    ("Which river did the ferry cross?", None),
    ("What did the central bank do with interest rates?", None),
    ("weather", Filters(source="garden")),
    ("weather report", Filters(date_from="2022-01-01")),
    ("weather satellite", Filters(date_to="2021-12-31")),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    for name, text in ARTICLES.items():
        write(tmp_path / "docs" / name, text)
    return tmp_path / "docs"


def _local(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "local", model="fake-bow", chunk_tokens=24,
                    embedding_cache=str(tmp_path / "cache.sqlite"), abstain_threshold=0.0)


def _pg(settings: Settings) -> Settings:
    return settings.with_overrides(chunk_tokens=24, abstain_threshold=0.0)


def _keyed(store: IndexStore, ranking: Ranking) -> list[tuple[str, int]]:
    """A ranking as (document, passage ordinal): passage ids differ between the stores."""
    return [(p.doc_id, p.ordinal) for p in store.catalog.passages(ranking.ids.tolist())]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _schema_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("QA_MODEL", "fake-bow")
    monkeypatch.setenv("QA_PG_SCHEMA", settings.pg_schema)
    monkeypatch.setenv("QA_EMBEDDING_CACHE", settings.embedding_cache)


@pytest.mark.model
def test_rankings_and_answers_match_the_index_folder(
        tmp_path: Path, corpus: Path, pg_settings: Settings, real_model: Embedder) -> None:
    """With the real model (the fake one scores many passages exactly alike, and ties may
    come in either order), both stores rank, score and answer alike, filters included."""
    local = _local(tmp_path).with_overrides(model=real_model.name)
    pg = _pg(pg_settings).with_overrides(model=real_model.name)
    assert index_paths([corpus], local, embedder=real_model).passages == index_paths(
        [corpus], pg, embedder=real_model).passages > 4
    a_local = Answerer(Retriever(open_store(local), real_model, local), local)
    a_pg = Answerer(Retriever(open_store(pg), real_model, pg), pg)
    assert a_pg.retriever.store.count == a_local.retriever.store.count
    for question, filters in QUESTIONS:
        for mine, theirs in zip(a_pg.retriever.rankings(question, filters=filters),
                                a_local.retriever.rankings(question, filters=filters),
                                strict=True):
            assert _keyed(a_pg.retriever.store, mine) == _keyed(a_local.retriever.store, theirs)
            np.testing.assert_allclose(mine.scores, theirs.scores, rtol=1e-5, atol=1e-6)
        got, expected = a_pg.ask(question, filters=filters), a_local.ask(question, filters=filters)
        assert (got.answer, got.abstained) == (expected.answer, expected.abstained)
        assert [(c.doc_id, c.highlight_start, c.highlight_end, c.page) for c in got.citations] \
            == [(c.doc_id, c.highlight_start, c.highlight_end, c.page) for c in expected.citations]
    idf = a_local.retriever.store.lexical.idf(["weather", "rocket", "absent"])
    assert a_pg.retriever.store.lexical.idf(["weather", "rocket", "absent"]) == pytest.approx(idf)
    unseen = a_local.retriever.store.lexical.unseen(["weather", "rocket", "absent"])
    assert unseen == {"absent"}
    assert a_pg.retriever.store.lexical.unseen(["weather", "rocket", "absent"]) == unseen
    manifest = a_pg.retriever.store.manifest
    assert (manifest.model, manifest.dim, manifest.counts) == (
        real_model.name, 384, a_local.retriever.store.manifest.counts)


def test_updates_add_change_and_prune_by_content_hash_like_the_index_folder(
        tmp_path: Path, corpus: Path, pg_settings: Settings, registered_fake: FakeEmbedder) -> None:
    local, pg = _local(tmp_path), _pg(pg_settings)

    def both(**kwargs: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
        reports = [index_paths([corpus], s, **kwargs) for s in (local, pg)]
        return tuple((r.added, r.changed, r.unchanged, r.removed, r.documents, r.passages,
                      r.written) for r in reports)  # type: ignore[return-value]

    first, second = both()
    assert first == second
    assert both() == ((0, 0, 4, 0, 4, first[5], False),) * 2
    write(corpus / "garden.txt", "June 9, 2022\n\nGarden tips\n\nRoses like clay soil and rain.")
    write(corpus / "chess.txt", "Chess\n\nThe chess final went to a tiebreak in Oslo.")
    (corpus / "bank.txt").unlink()
    changed = both(prune=True)
    assert changed[0] == changed[1] and changed[0][:5] == (1, 1, 2, 1, 4)
    store = open_store(pg, model="fake-bow")
    assert {r.title for r in store.catalog.documents()} == {
        "Rocket launch", "Garden tips", "Chess", "Ferry log"}
    garden = next(r.doc_id for r in store.catalog.documents() if r.title == "Garden tips")
    assert store.catalog.document(garden).text.endswith("Roses like clay soil and rain.")
    assert store.lexical.search("tomatoes mulch", 10)[0].size == 0, "the old garden text is gone"
    assert store.lexical.search("interest inflation", 10)[0].size == 0, "the bank is pruned"
    answer = load_answerer(pg).ask("Where was the chess final?")
    assert answer.citations and answer.citations[0].title == "Chess"
    with psycopg.connect(pg.store, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(pg.pg_schema)))
        live = conn.execute("SELECT count(*) FROM passages WHERE retired IS NULL").fetchone()
        terms = conn.execute("SELECT count(*) FROM lexicon WHERE term = 'mulch'").fetchone()
    assert live == (store.count,) and terms == (0,)


def test_a_search_racing_a_write_can_still_read_what_it_found(
        corpus: Path, pg_settings: Settings, registered_fake: FakeEmbedder) -> None:
    pg = _pg(pg_settings)
    index_paths([corpus], pg)
    store = open_store(pg, model="fake-bow")
    found = store.lexical.search("tomatoes", 10)[0].tolist()
    assert found
    write(corpus / "garden.txt", "Garden tips\n\nRoses like clay soil.")
    index_paths([corpus], pg)
    # The same store object sees the write without being opened again...
    assert not set(store.lexical.search("tomatoes", 10)[0].tolist())
    assert not set(store.dense.search(registered_fake.embed(["tomatoes"])[0], 50)[0]) & set(found)
    # ...and the passages the earlier search found are still readable, for a while.
    assert "Tomatoes" in store.catalog.passages(found)[0].text
    assert store.dense.vectors(found).shape == (len(found), 256)
    write(corpus / "garden.txt", "Garden tips\n\nTulips like sand.")
    index_paths([corpus], pg.with_overrides(pg_keep_retired_s=0))
    with pytest.raises(KeyError):
        store.catalog.passages(found)


def test_two_runs_at_once_are_refused_with_one_line(
        corpus: Path, pg_settings: Settings, registered_fake: FakeEmbedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _schema_env(monkeypatch, pg_settings)
    with PostgresTarget(pg_settings).lock():
        with pytest.raises(IndexBusyError, match="another `qa index` is writing the PostgreSQL"):
            index_paths([corpus], pg_settings)
        code, out, err = _run("index", str(corpus), "--store", pg_settings.store, "--quiet")
        assert (code, out) == (1, "")
        assert err.startswith("qa index: another `qa index` is writing the PostgreSQL store ")
        assert err.endswith("; wait for it to finish\n") and err.count("\n") == 1
    code, out, _ = _run("index", str(corpus), "--store", pg_settings.store, "--quiet")
    assert code == 0 and "updated: 4 documents" in out


def test_missing_mismatched_and_old_schemas_say_what_to_run(
        corpus: Path, pg_settings: Settings, registered_fake: FakeEmbedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _schema_env(monkeypatch, pg_settings)
    url, shown = pg_settings.store, redact(pg_settings.store)
    code, _, err = _run("ask", "anything", "--store", url)
    assert code == 1 and err.startswith("qa ask: no index in the PostgreSQL store ")
    assert f"run `QA_PG_SCHEMA={pg_settings.pg_schema} qa index --store '{shown}'`" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    index_paths([corpus], pg_settings)
    with pytest.raises(IndexMismatchError, match="built with model 'fake-bow', not 'other'"):
        open_store(pg_settings, model="other")
    # The precision is recorded like the model, and another one is refused on update.
    assert open_store(pg_settings, model="fake-bow").manifest.precision == "fp32"
    code, _, err = _run("index", str(corpus), "--store", url, "--precision", "int8", "--quiet")
    assert code == 1 and "was built at fp32 precision, not int8" in err
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {}.meta SET schema_version = 0").format(
            sql.Identifier(pg_settings.pg_schema)))
    with pytest.raises(IndexMismatchError) as refused:
        open_store(pg_settings, model="fake-bow")
    assert "has schema version 0; this qa uses version 1: run `QA_PG_SCHEMA=" in str(refused.value)
    assert f"qa index --rebuild --store '{shown}'` to build it again" in str(refused.value)
    code, _, err = _run("index", str(corpus), "--store", url, "--rebuild", "--quiet")
    assert code == 0, err
    assert open_store(pg_settings, model="fake-bow").count == load_answerer(pg_settings) \
        .retriever.store.count > 0


def test_a_new_database_gets_the_extension_and_the_tables(
        corpus: Path, pg_settings: Settings, registered_fake: FakeEmbedder) -> None:
    """The session's database has pgvector already; a new one gets it from `qa index`."""
    with psycopg.connect(pg_settings.store, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg_settings.pg_schema)))
    url = pg_settings.store.replace("/postgres?", f"/{pg_settings.pg_schema}?")
    try:
        settings = pg_settings.with_overrides(store=url)
        assert index_paths([corpus], settings).documents == 4
        assert open_store(settings, model="fake-bow").lexical.search("ferry", 5)[0].size
        with psycopg.connect(url) as conn:
            where = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                 "WHERE extname = 'vector'").fetchone()
        assert where == ("public",)
    finally:
        from qa.index.postgres.database import close_pools

        close_pools()
        with psycopg.connect(pg_settings.store, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                sql.Identifier(pg_settings.pg_schema)))


def test_a_store_that_cannot_be_reached_is_one_line(
        tmp_path: Path, registered_fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MODEL", "fake-bow")
    url = f"postgresql://qa:secret@/qa?host={tmp_path}"
    code, _, err = _run("ask", "anything", "--store", url)
    assert code == 1 and err.startswith("qa ask: cannot use the PostgreSQL store postgresql://qa@/")
    assert "secret" not in err and err.count("\n") == 1
    with pytest.raises(IndexMissingError):
        open_store(Settings(index_dir=tmp_path / "none"))


def test_eval_on_postgres_gives_the_local_figures(
        tmp_path: Path, pg_settings: Settings, registered_fake: FakeEmbedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "tiny"
    rows = [{"_id": n.split(".")[0], "title": "", "text": text} for n, text in ARTICLES.items()]
    write(data / "corpus.jsonl", "\n".join(json.dumps(r) for r in rows))
    queries = [{"_id": f"q{i}", "text": q} for i, (q, _) in enumerate(QUESTIONS[:4])]
    write(data / "queries.jsonl", "\n".join(json.dumps(q) for q in queries))
    write(data / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n"
          "q0\tspace\t1\nq1\tgarden\t1\nq2\tferry\t1\nq3\tbank\t1\n")
    _schema_env(monkeypatch, pg_settings)
    monkeypatch.delenv("QA_EMBEDDING_CACHE")
    monkeypatch.chdir(tmp_path)
    code, out, err = _run("eval", str(data), "--json", "--quiet")
    assert code == 0, err
    local = json.loads(out)
    code, out, err = _run("eval", str(data), "--json", "--quiet", "--store", pg_settings.store)
    assert code == 0, err
    assert json.loads(out)["retrieval"] == local["retrieval"]
    eval_schema = f"{pg_settings.pg_schema}_eval_tiny"
    with psycopg.connect(pg_settings.store, autocommit=True) as conn:
        count = conn.execute(sql.SQL("SELECT documents FROM {}.meta").format(
            sql.Identifier(eval_schema))).fetchone()
        main_tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s",
                                   [pg_settings.pg_schema]).fetchone()
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(eval_schema)))
    assert count == (4,) and main_tables == (0,), "eval writes its own schema, never the main one"
