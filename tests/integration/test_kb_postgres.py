"""PostgreSQL full-text search as the lexical half of retrieval (the real server), and migration kb_0001."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

QUESTIONS = Path(__file__).resolve().parents[1] / "data" / "kb" / "questions.jsonl"


def _migration_diffs(url: str) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from quantdesk.intel.kb.models import KbChunk
    from quantdesk.storage import db

    db.upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert "kb_chunks" in sa.inspect(conn).get_table_names()
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), KbChunk.metadata)
    finally:
        engine.dispose()

    def touches_kb(d: object) -> bool:
        return "kb_chunks" in repr(d)

    return [d for d in diffs if touches_kb(d)]


def test_migration_matches_the_model_on_sqlite(tmp_path: Path) -> None:
    assert _migration_diffs(f"sqlite:///{tmp_path / 'm.db'}") == []


@pytest.mark.postgres
def test_migration_matches_the_model_on_postgres(postgres_url: str) -> None:
    diffs = _migration_diffs(postgres_url)
    # the GIN expression index exists only on PostgreSQL (created by the migration, not by the portable model)
    assert [d for d in diffs if not (d[0] == "remove_index" and d[1].name == "ix_kb_chunks_tsv")] == []
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("kb_chunks")}
        assert "ix_kb_chunks_tsv" in names
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_full_text_search_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    from quantdesk.core.config import load_settings
    from quantdesk.intel.kb.answer import ABSTAIN_BELOW
    from quantdesk.intel.kb.evaluate import evaluate, load_questions
    from quantdesk.intel.kb.pg import tsquery_text
    from quantdesk.intel.kb.service import KnowledgeBase

    assert tsquery_text("Why did my bot lose money in March?") == (
        "bot | bots | lose | loss | lost | loses | losing | losses | loser | losers | money | march | mar")
    assert tsquery_text("'; DROP TABLE kb_chunks; --") == "drop | table | kb | chunks"
    settings = load_settings(home=tmp_path / "qdhome", database={"url": postgres_url})
    kb = KnowledgeBase(settings)
    report = kb.ingest()
    assert report["postgres"]["rows"] == report["chunks"] and report["postgres"]["inserted"] == report["chunks"]
    pg = kb._postgres()
    assert pg.count() == report["chunks"]
    assert kb.status()["lexical"] == "postgresql"
    hits = kb.search("what does the sortino ratio penalise", k=3)
    assert hits[0]["anchor"] == "sortino-ratio" and hits[0]["lexical_rank"] == 1
    # PostgreSQL's own ranking (ts_rank, English stemming) instead of BM25 still meets the quality bar
    index = kb.index()
    result = evaluate(index, load_questions(QUESTIONS), threshold=ABSTAIN_BELOW,
                      search=lambda q, n: index.search(q, n, lexical=pg.lexical_for(index)))
    assert result["recall_at_k"] >= 0.85 and result["mrr"] >= 0.7, (result["recall_at_k"], result["mrr"])
    # a re-ingest with one user file added inserts exactly its chunks and deletes nothing
    notes = tmp_path / "notes"
    notes.mkdir()
    notes.joinpath("n.md").write_text("# Journal\n\nMy grid bot bled during the breakout.\n")
    again = kb.ingest([notes])
    assert again["postgres"] == {"inserted": 1, "deleted": 0, "rows": report["chunks"] + 1}
    assert kb.search("grid bot bled during the breakout", k=1)[0]["anchor"] == "journal"
