"""`quantdesk risk report|stress` and `quantdesk portfolio optimize` end to end, on real data imported with the CLI.

Every command runs as a real process (`python -m quantdesk`) against an isolated QD_HOME. Numbers are checked
against independent pandas/numpy computations on the same CSV files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
MULTI = DATA / "multi_5m_2018-01"
ALTS = ("ETH", "LTC", "XMR", "ADA")


def _run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home), "COLUMNS": "200"}
    env.pop("QD_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True,
                          env=env, cwd=home.parent, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"quantdesk {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _json(home: Path, *args: str) -> dict:
    return json.loads(_run(home, "--json", *args).stdout)


def _close(path: Path) -> pd.Series:
    df = pd.read_csv(path)
    return pd.Series(df["close"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True)))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("risk_cli")
    h = root / "qdhome"
    for coin in ALTS:
        _run(h, "data", "import", str(MULTI / f"{coin}-BTC_5m.csv"), "--symbol", f"{coin}/BTC",
             "--exchange", "bittrex", "--timeframe", "5m")
    _run(h, "data", "import", str(DATA / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv"), "--symbol", "BTC/USD",
         "--exchange", "coinbase", "--timeframe", "1d")
    _run(h, "data", "import", str(DATA / "GOOG_1d_2004-08-19_2013-03-01.csv"), "--symbol", "GOOG/USD",
         "--exchange", "nasdaq", "--timeframe", "1d")
    return h


def _alt_returns() -> pd.DataFrame:
    closes = pd.concat({f"{c}/BTC": _close(MULTI / f"{c}-BTC_5m.csv") for c in ALTS}, axis=1, join="inner")
    return closes.pct_change().iloc[1:]


SYMS = ",".join(f"{c}/BTC" for c in ALTS)
W = "0.4,0.3,0.2,0.1"


def test_risk_report_numbers_and_html(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    d = _json(home, "risk", "report", "--symbols", SYMS, "--timeframe", "5m", "--weights", W, "--value", "50000",
              "--benchmark", "ETH/BTC", "--out", str(out), "--sims", "20000")
    rets = _alt_returns()
    assert d["rows"]["rows_kept"] == len(rets) + 1  # inner join of the four files, computed independently
    assert "inner join" in d["alignment"] and str(len(rets) + 1) in d["alignment"]
    port = rets.to_numpy() @ np.array([0.4, 0.3, 0.2, 0.1])
    var = {(r["method"], r["level"]): r for r in d["var"]}
    assert len(var) == 8
    h99 = var[("historical", 0.99)]
    assert h99["var"] == pytest.approx(-np.percentile(port, 1), rel=1e-9)
    assert h99["var_value"] == pytest.approx(h99["var"] * 50_000, rel=1e-12)
    assert var[("parametric", 0.95)]["var"] == pytest.approx(1.6448536269514722 * port.std(ddof=1) - port.mean(), rel=1e-9)
    assert d["portfolio_vol"]["per_period"] == pytest.approx(port.std(ddof=1), rel=1e-9)
    assert d["periods_per_year"] == pytest.approx(365 * 288)
    assets = {a["symbol"]: a for a in d["assets"]}
    slope = np.polyfit(rets["ETH/BTC"], rets["LTC/BTC"], 1)[0]
    assert assets["LTC/BTC"]["beta"] == pytest.approx(slope, rel=1e-9) and assets["ETH/BTC"]["beta"] == pytest.approx(1.0)
    comp = d["component_var"]["0.95"]
    assert sum(c["component_var"] for c in comp) == pytest.approx(var[("parametric", 0.95)]["var"], rel=1e-9)
    corr = {r["symbol"] if "symbol" in r else r["index"]: r for r in d["correlation"]}
    assert corr["ETH/BTC"]["ADA/BTC"] == pytest.approx(rets["ETH/BTC"].corr(rets["ADA/BTC"]), rel=1e-9)
    html = (out / "risk_report.html").read_text()
    assert Path(d["html"]) == out / "risk_report.html"
    assert html.count("Plotly.newPlot") == 3 and len(html) > 1_000_000  # plotly.js inline, 3 figures
    assert re.search(r"<script[^>]*\bsrc=", html) is None  # offline: nothing loaded from a CDN


def test_risk_report_tables_for_people(home: Path) -> None:
    p = _run(home, "risk", "report", "--symbols", SYMS, "--timeframe", "5m", "--weights", W, "--sims", "5000")
    common = _alt_returns().shape[0] + 1
    assert f"kept {common} rows" in p.stdout  # ADA's outage on 2018-01-15 removes those bars for all
    for text in ("Portfolio VaR / CVaR", "cornish_fisher", "monte_carlo", "Component VaR", "Correlation",
                 "no benchmark: none of BTC/USDT, BTC/USD is stored for 5m"):
        assert text in p.stdout


def test_calendars_without_overlap_are_a_clear_error(home: Path) -> None:
    # the Coinbase daily file starts in 2014-12, GOOG's ends in 2013-03: nothing in common
    p = _run(home, "risk", "report", "--symbols", "BTC/USD,GOOG/USD", "--timeframe", "1d", check=False)
    assert p.returncode == 2
    assert "only 0 common 1d timestamps across BTC/USD, GOOG/USD (BTC/USD 1770, GOOG/USD 2148 rows)" in p.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--weights", "0.5,0.5"), "got 2 weights for 4 symbols"),
        (("--weights", "0.4,0.3,0.2,0.2"), "sum to 1.1, not 1; fix them or pass --normalize"),
        (("--weights", "a,b,c,d"), "must be comma-separated numbers"),
        (("--symbols", "DOGE/BTC"), "DOGE/BTC"),
        (("--start", "2018-01-12T00:00:00Z", "--end", "2018-01-12T00:20:00Z"), "only 5 common 5m timestamps"),
        (("--benchmark", "BTC/USDT"), "--benchmark BTC/USDT"),
    ],
)
def test_risk_report_bad_inputs_one_line_exit_2(home: Path, args: tuple[str, ...], message: str) -> None:
    base = {"--symbols": SYMS}
    argv = ["risk", "report", "--timeframe", "5m"]
    if "--symbols" not in args:
        argv += ["--symbols", base["--symbols"]]
    p = _run(home, *argv, *args, check=False)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_normalize_rescales_weights(home: Path) -> None:
    d = _json(home, "risk", "report", "--symbols", SYMS, "--timeframe", "5m", "--weights", "4,3,2,1", "--normalize",
              "--sims", "1000")
    assert d["weights"] == pytest.approx({"ETH/BTC": 0.4, "LTC/BTC": 0.3, "XMR/BTC": 0.2, "ADA/BTC": 0.1})


def test_risk_stress_scenarios(home: Path, tmp_path: Path) -> None:
    scen = tmp_path / "alts.yaml"
    scen.write_text("name: alt-dump\ndefault_shock: -0.05\nshocks:\n  ADA/BTC: -0.5\n")
    d = _json(home, "risk", "stress", "--symbols", SYMS, "--timeframe", "5m", "--weights", W, "--value", "10000",
              "--scenario", "crash:-0.3", "--scenario", "flash:-0.2:0.5", "--scenario", "corr-breakdown:2",
              "--scenario", "replay:btc-2018-01-16", "--scenario", "replay:btc-2018-11-selloff",
              "--scenario", f"file:{scen}")
    by = {s["name"]: s for s in d["scenarios"]}
    assert by["crash:-0.3"]["total_pnl"] == pytest.approx(-3000)
    assert by["flash:-0.2:0.5"]["trough_pnl"] == pytest.approx(-2000) and by["flash:-0.2:0.5"]["total_pnl"] == pytest.approx(-1000)
    cb = by["corr-breakdown:2"]
    assert all(v["stressed_var"] > v["var"] for v in cb["var_by_level"])
    rep = by["replay:btc-2018-01-16"]
    assert rep["missing"] == {}
    eth = _close(MULTI / "ETH-BTC_5m.csv")
    eth_ret = eth[eth.index < "2018-01-18"].iloc[-1] / eth[eth.index < "2018-01-16"].iloc[-1] - 1
    eth_row = next(p for p in rep["positions"] if p["symbol"] == "ETH/BTC")
    assert eth_row["pnl"] == pytest.approx(4000 * eth_ret, rel=1e-9)
    nov = by["replay:btc-2018-11-selloff"]
    assert set(nov["missing"]) == {f"{c}/BTC" for c in ALTS}  # 5m alts end in Jan 2018
    assert nov["status"] == "no data" and nov["total_pnl"] is None and nov["total_pct"] is None  # not 0.00
    user = by["alt-dump"]
    assert user["total_pnl"] == pytest.approx(-0.05 * 9000 - 0.5 * 1000)


def test_risk_stress_default_set_and_replay_on_btc(home: Path) -> None:
    d = _json(home, "risk", "stress", "--symbols", "BTC/USD", "--timeframe", "1d", "--value", "1000")
    names = [s["name"] for s in d["scenarios"]]
    assert names[:3] == ["crash:-0.3", "flash:-0.2:0.5", "corr-breakdown:2"] and "replay:btc-2017-12-top" in names
    top = next(s for s in d["scenarios"] if s["name"] == "replay:btc-2017-12-top")
    btc = _close(DATA / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv")
    expected = btc[btc.index < "2018-02-07"].iloc[-1] / btc[btc.index < "2017-12-17"].iloc[-1] - 1
    assert top["total_pnl"] == pytest.approx(1000 * expected, rel=1e-9) and expected < -0.5
    ftx = next(s for s in d["scenarios"] if s["name"] == "replay:btc-2022-01-21")
    assert list(ftx["missing"]) == ["BTC/USD"]  # the Coinbase daily file ends in 2019


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("boom:1", "unknown kind 'boom'"),
        ("crash:x", "shock 'x' is not a number"),
        ("replay:nope", "unknown replay episode 'nope'"),
        ("file:/nonexistent/s.yaml", "/nonexistent/s.yaml: file not found"),
    ],
)
def test_risk_stress_bad_scenarios(home: Path, scenario: str, message: str) -> None:
    p = _run(home, "risk", "stress", "--symbols", "BTC/USD", "--scenario", scenario, check=False)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_risk_stress_bad_scenario_file_names_key(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("default_shock = -0.1\n[shocks]\n'BTC/USD' = -3\n")
    p = _run(home, "risk", "stress", "--symbols", "BTC/USD", "--scenario", f"file:{bad}", check=False)
    assert p.returncode == 2
    assert "bad.toml: shocks: shock for BTC/USD -3 is below -1" in p.stderr


@pytest.mark.parametrize("method", ["max_sharpe", "min_vol", "risk_parity"])
def test_portfolio_optimize(home: Path, method: str) -> None:
    d = _json(home, "portfolio", "optimize", "--method", method, "--symbols", SYMS, "--timeframe", "5m",
              "--bounds", "0:0.5", "--value", "1000")
    w = pd.Series(d["weights"])
    assert w.sum() == pytest.approx(1.0, abs=1e-8) and (w >= -1e-8).all() and (w <= 0.5 + 1e-8).all()
    assert sum(d["allocation"].values()) == pytest.approx(1000)
    if method == "risk_parity":
        rc = pd.Series(d["risk_contributions"])
        assert np.allclose(rc, 0.25, rtol=1e-6)
    if method == "min_vol":  # same as PyPortfolioOpt directly on the independently aligned returns
        from pypfopt import EfficientFrontier, expected_returns, risk_models

        r = _alt_returns()
        mu = expected_returns.mean_historical_return(r, returns_data=True, frequency=365 * 288)
        S = risk_models.sample_cov(r, returns_data=True, frequency=365 * 288)
        direct = pd.Series(EfficientFrontier(mu, S, weight_bounds=(0, 0.5)).min_volatility())
        assert np.allclose(w[direct.index], direct, atol=1e-6)


def test_portfolio_black_litterman_and_errors(home: Path, tmp_path: Path) -> None:
    views = tmp_path / "views.json"
    views.write_text(json.dumps({"views": [{"asset": "ETH/BTC", "return": 0.5, "confidence": 0.8},
                                           {"long": "LTC/BTC", "short": "ADA/BTC", "return": 0.1, "confidence": 0.5}]}))
    d = _json(home, "portfolio", "optimize", "--method", "black_litterman", "--views", str(views), "--symbols", SYMS,
              "--timeframe", "5m")
    assert pd.Series(d["weights"]).sum() == pytest.approx(1.0) and d["n_views"] == 2
    p = _run(home, "portfolio", "optimize", "--method", "min_vol", "--symbols", SYMS, "--timeframe", "5m",
             "--bounds", "0:0.2", check=False)
    assert p.returncode == 2 and "bounds are infeasible: the maximum weights sum to 0.8 < 1" in p.stderr
    p = _run(home, "portfolio", "optimize", "--method", "black_litterman", "--symbols", SYMS, "--timeframe", "5m", check=False)
    assert p.returncode == 2 and "needs --views FILE" in p.stderr
    p = _run(home, "portfolio", "optimize", "--method", "magic", "--symbols", SYMS, "--timeframe", "5m", check=False)
    assert p.returncode == 2 and "choose from max_sharpe" in p.stderr


def test_risk_heat(home: Path, tmp_path: Path) -> None:
    pos = tmp_path / "positions.yaml"
    pos.write_text(
        "positions:\n"
        "  - {symbol: BTC/USDT, qty: 0.5, entry: 40000, stop: 38000}\n"  # 1000 at risk
        "  - {symbol: ETH/USDT, qty: -10, entry: 2000, stop: 2100}\n"  # short: 1000 at risk
        "  - {symbol: ADA/USDT, qty: 1000, entry: 0.5}\n"  # no stop: 500
    )
    d = _json(home, "risk", "heat", str(pos), "--equity", "25000")
    assert d["heat"] == 2500 and d["heat_pct"] == pytest.approx(0.1) and d["unprotected"] == ["ADA/USDT"]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"symbol": "X/Y", "qty": 1}]')
    p = _run(home, "risk", "heat", str(bad), check=False)
    assert p.returncode == 2 and "bad.json: position 0: missing key 'entry'" in p.stderr
