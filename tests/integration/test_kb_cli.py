"""`quantdesk kb ...` as a user runs it (subprocesses), including with the network namespace cut (`unshare -n`):
nothing is fetched, ingest and search work offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


OFFLINE = ["unshare", "-n"] if _can_unshare() else []


def qd(home: Path, *args: str, offline: bool = False, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    prefix = OFFLINE if offline else []
    if offline:  # no network at all, not even to a PostgreSQL server: the embedded store (SQLite, BM25) only
        for var in ("QD_DATABASE__URL", "QD_REDIS__URL"):
            env.pop(var, None)
    return subprocess.run([*prefix, sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("kbcli") / "qdhome"
    # with the suite on PostgreSQL (QD_TEST_DATABASE=postgres) the ingest needs the server: network on
    proc = qd(home, "--json", "kb", "ingest", offline="QD_DATABASE__URL" not in os.environ)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["added"] == report["chunks"] > 300 and report["collections"]["project"] == report["chunks"]
    assert "reading QuantDesk's docs" in proc.stderr  # progress on stderr, JSON alone on stdout
    return home


def test_search_json_has_the_documented_fields(home: Path) -> None:
    proc = qd(home, "--json", "kb", "search", "what does the sortino ratio penalise", "--k", "3")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 3 and hits[0]["source"] == "src/quantdesk/intel/kb/knowledge/risk.md"
    assert hits[0]["anchor"] == "sortino-ratio" and "downside deviation" in hits[0]["text"]
    assert all({"source", "anchor", "text", "score"} <= set(h) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_ask_json_and_human_output(home: Path) -> None:
    proc = qd(home, "--json", "kb", "ask", "What does a narrow Bollinger Band squeeze often come before?")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"answer", "citations", "abstained"} <= set(doc) and doc["abstained"] is False
    cit = doc["citations"][0]
    assert {"source", "anchor", "quote"} <= set(cit) and cit["anchor"] == "bollinger-bands"
    page = Path(__file__).resolve().parents[2] / cit["source"]
    assert cit["quote"] in page.read_text(encoding="utf-8")  # verbatim in the file it cites
    text = qd(home, "kb", "ask", "What is the capital of Australia?")
    assert text.returncode == 0 and "I don't know" in text.stdout


def test_search_works_with_the_network_cut(home: Path) -> None:
    if not OFFLINE:
        pytest.skip("unshare -n is not available here (needs root or user namespaces)")
    proc = qd(home, "--json", "kb", "search", "funding rate of perpetual futures", "--k", "2", offline=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["anchor"] == "perpetual-futures-and-funding-rates"
    probe = subprocess.run([*OFFLINE, sys.executable, "-c", "import socket; socket.create_connection(('pypi.org', "
                            "443), timeout=3)"], capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0  # the namespace really has no network


def cli_in_process(home: Path, args: tuple[str, ...], capsys, monkeypatch) -> tuple[int, str]:
    """The console-script entry point in this process (saves a Python start per case): exit code, stderr."""
    from quantdesk.cli.app import main
    from quantdesk.core.config import set_settings

    monkeypatch.setenv("QD_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["quantdesk", *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        set_settings(None)
    return code, capsys.readouterr().err


def test_user_errors_are_one_line_and_non_zero(home: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    proc = qd(home, "kb", "search", "  ")  # one real process: the console script's one-line error
    assert proc.returncode == 2 and proc.stderr.startswith("error: the question is empty")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    cases = [
        (("kb", "search", "  "), "the question is empty"),
        (("kb", "ingest", str(tmp_path / "missing")), "no such file or folder"),
        (("kb", "why", "nonsense", "x"), "cannot explain 'nonsense'"),
        (("kb", "why", "backtest", "not-a-uuid"), "is not a backtest run id"),
        (("kb", "search", "x", "--kind", "bogus"), "unknown kind"),
        (("kb", "ask", "sortino", "--llm"), "no LLM is configured"),
        (("kb", "brief", "--symbol", "NOPE/USD"), "no candles stored for NOPE/USD"),
    ]
    for args, message in cases:
        code, err = cli_in_process(home, args, capsys, monkeypatch)
        assert code == 2, (args, err)
        assert "Traceback" not in err, (args, err)
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], err  # progress lines may come before it
    code, err = cli_in_process(tmp_path / "fresh", ("kb", "search", "anything"), capsys, monkeypatch)
    assert code == 2 and "run `quantdesk kb ingest` first" in err


def test_status_and_brief(home: Path) -> None:
    status = json.loads(qd(home, "--json", "kb", "status").stdout)
    lexical = "postgresql" if os.environ.get("QD_DATABASE__URL", "").startswith("postgresql") else "bm25"
    assert status["ingested"] and status["lexical"] == lexical and status["kinds"]["indicator"] >= 150
    brief = qd(home, "--json", "kb", "brief", "--symbol", "BTC/USDT", "--timeframe", "1h")
    assert brief.returncode == 0, brief.stderr
    doc = json.loads(brief.stdout)
    assert doc["statements"][0]["text"].startswith("BTC/USDT last closed at")
    assert all(s["citations"] for s in doc["statements"])
