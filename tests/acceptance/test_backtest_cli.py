"""`quantdesk backtest` end to end: real data, both engines, report files, run recording, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import REAL_FILES


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdhome")


@pytest.fixture(scope="module")
def event_run(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("out") / "event"
    proc = run_cli("--json", "backtest", "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30",
                   "--symbol", "BTC/USDT", "--timeframe", "1h", "--start", "2018-01-01", "--end", "2018-12-31",
                   "--cash", "5000", "--fee", "0.002", "--slippage-bps", "2", "--out", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out


def test_event_engine_run_writes_every_file(event_run) -> None:
    doc, out = event_run
    for name in ("summary.json", "trades.csv", "equity.csv", "orders.csv", "report.html"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert {k: v for k, v in doc.items() if k != "files"} == summary
    assert summary["config"]["strategy"] == "sma_cross" and summary["config"]["params"] == {"fast": 10, "slow": 30}
    assert summary["config"]["cash"] == 5000 and summary["config"]["fee"] == 0.002
    assert summary["config"]["slippage_bps"] == 2
    assert summary["data"]["first"] == "2018-01-01T00:00:00Z" and summary["data"]["last"] == "2018-12-31T00:00:00Z"
    assert len(summary["data"]["fingerprint"]) == 64 and summary["engine"] == "event"
    m = summary["metrics"]
    for key in ("total_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct", "var_95_pct",
                "buy_and_hold_return_pct", "total_fees", "exposure_pct", "annual_return_pct"):
        assert key in m
    assert m["start_equity"] == 5000 and m["num_trades"] > 10
    trades = pd.read_csv(out / "trades.csv")
    assert list(trades.columns)[:4] == ["symbol", "side", "entry_time", "exit_time"]
    assert trades["entry_time"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert len(trades.query("is_open == False")) == m["num_trades"]
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns) == ["timestamp", "equity", "drawdown_pct"]
    assert equity["equity"].iloc[-1] == pytest.approx(m["final_equity"])
    orders = pd.read_csv(out / "orders.csv")
    assert set(orders["status"]) == {"filled"} and len(orders) >= 2 * m["num_trades"]
    page = (out / "report.html").read_text()
    assert "<script src=" not in page and "Plotly" in page and "candlestick" in page
    assert 'id="trades"' in page and 'id="metrics"' in page


def test_runs_are_recorded_and_listed(event_run, home: Path) -> None:
    doc, out = event_run
    proc = run_cli("--json", "backtest", "list", home=home)
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    mine = [r for r in runs if r["id"] == doc["run_id"]]
    assert mine and mine[0]["out_dir"] == str(out.resolve()) and mine[0]["engine"] == "event"
    assert mine[0]["total_return_pct"] == pytest.approx(doc["metrics"]["total_return_pct"])
    table = run_cli("backtest", "list", home=home)
    assert table.returncode == 0 and doc["run_id"][:8] in table.stdout


def test_fast_engine_on_a_file_matches_the_event_engine(home: Path, tmp_path: Path) -> None:
    outs = {}
    for engine in ("fast", "event"):
        out = tmp_path / engine
        proc = run_cli("--json", "backtest", "--strategy", "sma_cross", "--data", str(REAL_FILES["goog_1d"]),
                       "--engine", engine, "--out", str(out), "--no-record", home=home)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["run_id"] is None and doc["data"]["timeframe"] == "1d" and doc["data"]["rows"] == 2148
        outs[engine] = (doc, pd.read_csv(out / "trades.csv"))
    (fdoc, ft), (edoc, et) = outs["fast"], outs["event"]
    assert fdoc["data"]["fingerprint"] == edoc["data"]["fingerprint"]
    pd.testing.assert_frame_equal(ft[["entry_time", "exit_time"]], et[["entry_time", "exit_time"]])
    pd.testing.assert_frame_equal(ft[["entry_price", "exit_price", "quantity", "pnl"]],
                                  et[["entry_price", "exit_price", "quantity", "pnl"]], rtol=1e-9)
    assert fdoc["metrics"]["final_equity"] == pytest.approx(edoc["metrics"]["final_equity"], rel=1e-9)


def test_big_data_report_is_downsampled_and_says_so(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "m1"
    proc = run_cli("backtest", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "1m",
                   "--engine", "fast", "--out", str(out), "--no-record", home=home)
    assert proc.returncode == 0, proc.stderr
    assert "total_return_pct" in proc.stdout and "Traceback" not in proc.stderr
    page = (out / "report.html").read_text()
    assert "candles of 10 bars each" in page


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strategy", "no_such_strategy", "--symbol", "BTC/USDT"], "unknown strategy"),
        (["--strategy", "sma_cross", "--param", "fast=abc", "--symbol", "BTC/USDT"], "fast"),
        (["--strategy", "sma_cross", "--param", "nope=1", "--symbol", "BTC/USDT"], "nope"),
        (["--strategy", "sma_cross", "--symbol", "BTC/USDT", "--start", "2031-01-01"], "no bars"),
        (["--strategy", "sma_cross", "--data", "/no/such/file.csv"], "not found"),
        (["--strategy", "sma_cross", "--symbol", "BTC/USDT", "--fee", "0.5"], "--fee"),
        (["--strategy", "sma_cross", "--symbol", "BTC/USDT", "--engine", "warp"], "--engine"),
        (["--strategy", "sma_cross"], "--symbol"),
    ],
)
def test_errors_are_one_line_exit_2(home: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    proc = run_cli("backtest", *args, "--out", str(tmp_path / "x"), home=home)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_risk_flag_puts_denials_and_halts_in_the_report(tmp_path) -> None:
    """`--risk` applies the config's [risk] section: a 1% position cap denies sma_cross's all-cash buys."""
    import json as _json
    import os as _os
    import subprocess as _sp
    import sys as _sys

    cfg = tmp_path / "quantdesk.toml"
    cfg.write_text("[risk]\nmax_position_pct = 0.01\ndaily_loss_pct = 0.5\nmax_drawdown_pct = 0.9\n"
                   "fit_to_limits = false\n")
    out = tmp_path / "run"
    env = {**_os.environ, "QD_HOME": str(tmp_path / "home")}
    base = [_sys.executable, "-m", "quantdesk", "--json", "--config", str(cfg), "backtest", "--strategy", "sma_cross",
            "--symbol", "BTC/USDT", "--timeframe", "1h", "--end", "2017-09-01", "--no-record", "--no-html"]
    proc = _sp.run([*base, "--risk", "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = _json.loads(proc.stdout)
    denied = [e for e in doc["events"] if e.get("rule") == "max_position_pct"]
    assert denied, doc["events"][:3]
    assert doc["metrics"]["orders_denied"] == len([e for e in doc["events"] if e["type"] == "OrderDenied"])
    assert doc["metrics"]["num_trades"] == 0  # every all-cash entry exceeds the 1% cap
    assert doc["config"]["risk"]["max_position_pct"] == 0.01
    # with fit_to_limits (the default) every entry is sized down to 1% of equity and the run trades
    fit_cfg = tmp_path / "fit.toml"
    fit_cfg.write_text("[risk]\nmax_position_pct = 0.01\ndaily_loss_pct = 0.5\nmax_drawdown_pct = 0.9\n")
    fit_args = [str(fit_cfg) if a == str(cfg) else a for a in base]
    fitted = _sp.run([*fit_args, "--risk", "--out", str(tmp_path / "fit")], capture_output=True, text=True,
                     env=env, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    fit_doc = _json.loads(fitted.stdout)
    assert fit_doc["metrics"]["num_trades"] > 0 and fit_doc["metrics"]["orders_denied"] == 0
    resized = [e for e in fit_doc["events"] if e["type"] == "OrderResized"]
    assert len(resized) == fit_doc["metrics"]["orders_resized"] > 0
    assert all(e["rule"] == "max_position_pct" and e["details"]["quantity"] < e["details"]["requested"]
               for e in resized)
    free = _sp.run([*base, "--out", str(tmp_path / "free")], capture_output=True, text=True, env=env, timeout=300)
    assert free.returncode == 0, free.stderr
    assert _json.loads(free.stdout)["metrics"]["num_trades"] > 0
    # the fast engine refuses rather than ignoring the limits
    fast = _sp.run([*base, "--risk", "--engine", "fast", "--out", str(tmp_path / "f")], capture_output=True,
                   text=True, env=env, timeout=300)
    assert fast.returncode == 2 and "risk" in fast.stderr and "Traceback" not in fast.stderr


def test_timeframe_detail_resolves_intrabar_order(tmp_path) -> None:
    """--timeframe-detail walks the stored 1m bars inside each 1h bar: brackets resolve differently from the
    pessimistic one-bar rule, the config records it, and bad combinations are one-line errors."""
    import json as _json
    import os as _os
    import subprocess as _sp
    import sys as _sys

    from quantdesk.data.resample import resample
    from quantdesk.data.store import CandleStore
    from quantdesk.data.synth import synth_ohlcv

    home = tmp_path / "home"
    store = CandleStore(home / "candles")
    minute = synth_ohlcv(24 * 60 * 20, "1m", seed=5)
    store.append("synthetic", "SYN/USD", "1m", minute)
    store.append("synthetic", "SYN/USD", "1h", resample(minute, "1m", "1h"))
    env = {**_os.environ, "QD_HOME": str(home)}
    base = [_sys.executable, "-m", "quantdesk", "--json", "backtest", "--strategy", "scalping", "--symbol", "SYN/USD",
            "--timeframe", "1h", "--param", "take_profit_pct=1.0", "--param", "stop_loss_pct=1.0", "--no-record",
            "--no-html"]

    def run(*extra: str) -> dict:
        proc = _sp.run([*base, *extra], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return _json.loads(proc.stdout)

    coarse = run("--out", str(tmp_path / "coarse"))
    fine = run("--timeframe-detail", "1m", "--out", str(tmp_path / "fine"))
    assert fine["config"]["timeframe_detail"] == "1m" and coarse["config"]["timeframe_detail"] is None
    assert coarse["metrics"]["num_trades"] > 10 and fine["metrics"]["num_trades"] > 10
    # the pessimistic rule books the stop whenever both levels sit inside one bar; the 1m path finds some wins
    assert fine["metrics"]["win_rate_pct"] > coarse["metrics"]["win_rate_pct"]
    bad = _sp.run([*base, "--timeframe-detail", "7m", "--out", str(tmp_path / "bad")], capture_output=True, text=True,
                  env=env, timeout=300)
    assert bad.returncode == 2 and "must divide" in bad.stderr and "Traceback" not in bad.stderr
