"""Recorded results in the knowledge base: a real backtest's months become sentences whose numbers match an
independent pandas computation, and "why did my bot lose money in March?" finds that run and quotes it."""

from __future__ import annotations

import re

import pytest
from kb_helpers import monthly_returns, record_backtest


@pytest.fixture(scope="module")
def kb_with_run(tmp_path_factory):
    """One QD_HOME for the module: a real recorded backtest, then a full ingest (the incremental test runs last)."""
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.intel.kb.service import KnowledgeBase

    root = tmp_path_factory.mktemp("kbres")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QD_HOME", str(root / "qdhome"))
        (root / "research-notes").mkdir()
        (root / "research-notes" / "ideas.md").write_text("# Ideas\n\nTry a volatility filter on the crossover "
                                                          "during Asian hours.\n")
        mp.setenv("QD_KB__USER_DIR", str(root / "research-notes"))
        mp.chdir(root)  # [kb] results_dirs defaults to ./runs
        set_settings(None)
        settings = load_settings()
        set_settings(settings)
        out = root / "runs" / "bt"
        run_id = record_backtest(out)
        kb = KnowledgeBase(settings)
        report = kb.ingest()
        yield kb, run_id, out, report, root
    set_settings(None)


def test_monthly_sentences_match_an_independent_computation(kb_with_run) -> None:
    kb, run_id, out, report, _ = kb_with_run
    assert report["collections"]["runs"] >= 2
    index = kb.index()
    monthly = [c for c in index.chunks if c.source == run_id and c.anchor.startswith("monthly-")]
    assert {c.anchor for c in monthly} == {f"monthly-{y}" for y in range(2014, 2020)}
    ref = monthly_returns(out)
    checked = 0
    for c in monthly:
        for m in re.finditer(r"In (\w+ \d{4}) backtest run \w+ (lost money|made money|was flat): equity "
                             r"(?:fell|rose|moved) ([\d.]+)%", c.text):
            month = ref[ref.index.strftime("%B %Y") == m.group(1)]
            assert len(month) == 1
            value = float(month.iloc[0])
            assert abs(abs(value) - float(m.group(3))) < 0.006
            assert (m.group(2) == "lost money") == (value < -0.005) or abs(value) < 0.005
            checked += 1
    assert checked == len(ref)


def test_why_did_my_bot_lose_money_in_march_finds_the_run(kb_with_run) -> None:
    kb, run_id, out, _, _ = kb_with_run
    ref = monthly_returns(out)
    losing_marches = {t.year for t, v in ref.items() if t.month == 3 and v < 0}
    assert losing_marches  # planted truth from the real data: at least one March lost money
    answer = kb.ask("Why did my bot lose money in March?")
    assert not answer["abstained"]
    first = answer["citations"][0]
    assert first["source"] == run_id and first["anchor"].startswith("monthly-")
    assert "March" in first["quote"] and "lost money" in first["quote"]
    year = int(re.search(r"March (\d{4})", first["quote"]).group(1))
    assert year in losing_marches
    chunk = kb.chunk(first["chunk_id"])
    assert first["quote"] in chunk["text"]
    assert f"quantdesk kb why backtest {run_id}" in answer["notes"][-1]  # where the reasons are
    hits = kb.search("Why did my bot lose money in March?", k=5, kinds=["run"])
    assert hits and all(h["source"] == run_id for h in hits)


def test_explain_backtest_numbers_match_the_recorded_run(kb_with_run) -> None:
    from quantdesk.intel.kb.explain import explain
    from quantdesk.storage import db

    _, run_id, out, _, _ = kb_with_run
    metrics = db.get_run(run_id)["metrics"]
    doc = explain("backtest", run_id)
    text = " ".join(s["text"] for s in doc["statements"])
    assert f"{metrics['total_return_pct']:,.2f}%" in text
    assert f"{metrics['max_drawdown_pct']:.2f}%" in text  # drawdown from equity.csv == the run's own metric
    ref = monthly_returns(out)
    worst = ref.idxmin()
    assert f"The worst month was {worst.strftime('%B %Y')}: {ref.min():.2f}%" in text
    sources = {c["source"] for c in doc["citations"]}
    assert run_id in sources and any(s.endswith("knowledge/strategies.md") for s in sources)
    for s in doc["statements"]:
        assert s["citations"], s  # every statement is cited


def test_research_folders_and_re_ingest_is_incremental(kb_with_run) -> None:
    import json

    kb, run_id, out, first, root = kb_with_run
    wf = root / "runs" / "wf"
    wf.mkdir(parents=True)
    wf.joinpath("summary.json").write_text(json.dumps({
        "strategy": "sma_cross", "method": "grid", "objective": "sharpe", "anchored": False, "train": "180d",
        "test": "30d", "n_windows": 1, "wfe": -0.2, "oos": {"total_return_pct": -12.5, "sharpe": -0.4},
        "is_mean": {"sharpe": 2.0}, "windows": [{"window": 0, "test_start": "2019-03-01T00:00:00Z",
                                                 "test_end": "2019-03-31T00:00:00Z", "params": {"fast": 5},
                                                 "oos": {"total_return_pct": -12.5, "sharpe": -0.4}}]}))
    again = kb.ingest([root / "runs"])  # the recorded run's folder is not ingested twice
    assert again["added"] == 2 and again["removed"] == 0 and again["refit"] is False
    hits = kb.search("walk-forward window that lost out of sample in March 2019", k=3)
    assert any(h["source"].endswith("runs/wf") and h["anchor"] == "windows" for h in hits)
    same = kb.ingest()
    assert same["added"] == 0 and same["removed"] == 0


def test_user_folder_and_remembered_roots(kb_with_run, tmp_path) -> None:
    kb, _, _, report, root = kb_with_run
    assert report["collections"]["user-dir"] == 1
    hit = kb.search("volatility filter crossover Asian hours", k=1)[0]
    assert hit["source"] == str((root / "research-notes" / "ideas.md").resolve()) and hit["anchor"] == "ideas"
    extra = tmp_path / "extra.txt"
    extra.write_text("A note about slippage on thin weekend order books.")
    added = kb.ingest([extra])
    assert added["added"] == 1 and str(extra.resolve()) in kb.status()["roots"]
    extra.unlink()  # a remembered file that disappeared is dropped by the next full ingest
    again = kb.ingest()
    assert again["removed"] == 1 and str(extra.resolve()) not in kb.status()["roots"]
