"""Stress scenarios on hand-made books, historical replays on the real data files, scenario-file errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantdesk.core.errors import ConfigError, ParameterError
from quantdesk.risk.portfolio import stress as st
from quantdesk.risk.portfolio.scenarios import load_scenarios

DATA = Path(__file__).resolve().parents[2] / "data"
BOOK = {"BTC/USDT": 6000.0, "ETH/BTC": 3000.0, "GOOG/USD": 2000.0, "LTC/BTC": -1000.0}


def _close(path: Path) -> pd.Series:
    df = pd.read_csv(path)
    return pd.Series(df["close"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True)))


def test_market_crash_by_hand() -> None:
    r = st.market_crash(BOOK, -0.3, non_crypto={"GOOG/USD": 0.5})
    p = r.positions
    assert p.loc["BTC/USDT", "pnl"] == pytest.approx(-1800)
    assert p.loc["ETH/BTC", "pnl"] == pytest.approx(-900)
    assert p.loc["GOOG/USD", "shock"] == pytest.approx(-0.15) and p.loc["GOOG/USD", "pnl"] == pytest.approx(-300)
    assert p.loc["LTC/BTC", "pnl"] == pytest.approx(300)  # the short gains
    assert r.total_pnl == pytest.approx(-2700)
    assert r.total_pct == pytest.approx(-2700 / 10_000)  # net book value 10,000
    assert p.loc["BTC/USDT", "value_after"] == pytest.approx(4200)
    with pytest.raises(ParameterError, match="crash shock -1.5"):
        st.market_crash(BOOK, -1.5)


def test_flash_crash_trough_and_end() -> None:
    r = st.flash_crash({"A/X": 1000.0, "B/X": -500.0}, drop=-0.2, recovery=0.25)
    assert r.extra["trough_pnl"] == pytest.approx(-200 + 100)
    # end move = -0.2 * (1 - 0.25) = -0.15
    assert r.positions.loc["A/X", "pnl"] == pytest.approx(-150)
    assert r.positions.loc["B/X", "pnl"] == pytest.approx(75)
    assert r.total_pnl == pytest.approx(-75)
    with pytest.raises(ParameterError, match="recovery 1.5"):
        st.flash_crash(BOOK, -0.2, 1.5)
    with pytest.raises(ParameterError, match="must be <= 0"):
        st.flash_crash(BOOK, 0.2, 0.5)


def test_correlation_breakdown_by_hand() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (500, 2)) * [0.02, 0.04]
    rets = pd.DataFrame(x, columns=["A/X", "B/X"])
    w = np.array([0.7, 0.3])
    s1, s2 = rets.std(ddof=1)
    mu = rets.mean().to_numpy() @ w
    r = st.correlation_breakdown(rets, w, value=10_000, vol_factor=1.5)
    # correlation 1 and vols x1.5: sigma_p = 1.5 * (w1 s1 + w2 s2)
    sig_stressed = 1.5 * (0.7 * s1 + 0.3 * s2)
    for row, alpha in zip(r.extra["var_by_level"], (0.95, 0.99), strict=True):
        assert row["stressed_var"] == pytest.approx(stats.norm.ppf(alpha) * sig_stressed - mu, rel=1e-10)
        assert row["stressed_var_value"] == pytest.approx(row["stressed_var"] * 10_000)
        assert row["stressed_var"] > row["var"]
    # stressed components sum to the stressed VaR at the last level
    assert r.positions["stressed_component_var"].sum() == pytest.approx(r.extra["var_by_level"][-1]["stressed_var"], rel=1e-10)
    assert r.total_pnl == pytest.approx(-r.extra["var_by_level"][-1]["stressed_var_value"])


def test_replay_on_hand_made_prices() -> None:
    ep = st.Episode("t", pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-05", tz="UTC"), "test", "-")
    idx = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")  # 01..06
    a = pd.Series([100, 90, 70, 80, 85, 999.0], index=idx)  # base = close of 01-01 = 100, end = 01-04 = 80
    late = pd.Series([1.0, 1.0], index=idx[3:5])  # starts inside the window -> missing
    r = st.historical_replay({"A/X": 1000.0, "B/X": 500.0, "C/X": 10.0}, {"A/X": a, "B/X": late}, ep)
    row = r.positions.loc["A/X"]
    assert row["base_price"] == 100 and row["end_price"] == 80
    assert row["return"] == pytest.approx(-0.2) and row["trough_return"] == pytest.approx(-0.3)
    assert row["pnl"] == pytest.approx(-200) and row["trough_pnl"] == pytest.approx(-300)
    assert r.total_pnl == pytest.approx(-200)
    assert r.extra["trough_pnl"] == pytest.approx(-300)
    assert set(r.extra["missing"]) == {"B/X", "C/X"}
    assert "window start" in r.extra["missing"]["B/X"] and r.extra["missing"]["C/X"] == "no price data"
    with pytest.raises(ParameterError, match="unknown replay episode 'nope'"):
        st.historical_replay(BOOK, {}, "nope")


def test_replay_book_trough_is_simultaneous_not_summed() -> None:
    ep = st.Episode("t", pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC"), "test", "-")
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    a = pd.Series([100, 50, 100.0], index=idx)  # trough on day 2
    b = pd.Series([100, 100, 50.0], index=idx)  # trough on day 3
    r = st.historical_replay({"A/X": 1000.0, "B/X": 1000.0}, {"A/X": a, "B/X": b}, ep)
    assert r.positions["trough_pnl"].sum() == pytest.approx(-1000)
    assert r.extra["trough_pnl"] == pytest.approx(-500)


@pytest.mark.parametrize(
    ("episode", "file"),
    [
        ("btc-2018-01-16", "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"),
        ("btc-2017-12-top", "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv"),
        ("btc-2018-11-selloff", "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"),
        ("btc-2019-06-26", "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"),
        ("btc-2022-01-21", "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"),
    ],
)
def test_replay_windows_exist_in_real_data(episode: str, file: str) -> None:
    close = _close(DATA / file)
    ep = st.EPISODES[episode]
    # independent reading of the window: the last close before start, the last close before end
    base = close[close.index < ep.start].iloc[-1]
    inside = close[(close.index >= ep.start) & (close.index < ep.end)]
    assert len(inside) > 0 and inside.index[0] - ep.start < pd.Timedelta("1D")
    r = st.historical_replay({"BTC/USD": 10_000.0}, {"BTC/USD": close}, episode)
    assert r.extra["missing"] == {}
    assert r.positions.loc["BTC/USD", "return"] == pytest.approx(inside.iloc[-1] / base - 1, rel=1e-12)
    assert r.total_pnl == pytest.approx(10_000 * (inside.iloc[-1] / base - 1), rel=1e-12)
    assert r.positions.loc["BTC/USD", "trough_return"] <= min(0.0, r.positions.loc["BTC/USD", "return"])


def test_replay_known_moves_in_real_data() -> None:
    h = _close(DATA / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv")
    r = st.historical_replay({"BTC/USD": 1.0}, {"BTC/USD": h}, "btc-2018-01-16")
    row = r.positions.loc["BTC/USD"]
    assert row["base_price"] == 13590.0  # close of the 2018-01-15 23:00 bar
    assert row["end_price"] == 11200.01  # close of the 2018-01-17 23:00 bar
    assert row["trough_return"] == pytest.approx(9386.59 / 13590.0 - 1)
    m = _close(DATA / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv")
    r = st.historical_replay({"BTC/USD": 1.0}, {"BTC/USD": m}, "btc-2022-01-21")
    assert r.positions.loc["BTC/USD", "trough_return"] == pytest.approx(33061.0 / r.positions.loc["BTC/USD", "base_price"] - 1)


def test_replay_alts_cover_jan_2018_but_not_dec_2017() -> None:
    prices = {f"{c}/BTC": _close(DATA / "multi_5m_2018-01" / f"{c}-BTC_5m.csv") for c in ("ETH", "ADA", "XMR")}
    book = {"ETH/BTC": 5000.0, "ADA/BTC": 3000.0, "XMR/BTC": 2000.0}
    r = st.historical_replay(book, prices, "btc-2018-01-16")
    assert r.extra["missing"] == {} and set(r.positions.index) == set(book)
    eth = prices["ETH/BTC"]
    expected = eth[eth.index < "2018-01-18"].iloc[-1] / eth[eth.index < "2018-01-16"].iloc[-1] - 1
    assert r.positions.loc["ETH/BTC", "return"] == pytest.approx(expected, rel=1e-12)
    assert r.positions.loc["ETH/BTC", "bars"] == 576  # 2 days of 5-minute bars, no gaps for ETH
    r = st.historical_replay(book, prices, "btc-2017-12-top")
    assert set(r.extra["missing"]) == set(book) and r.extra["status"] == "no data"
    assert math.isnan(r.total_pnl) and math.isnan(r.extra["trough_pnl"])  # unknown, not a P&L of 0


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_user_scenario_yaml_toml_json(tmp_path: Path) -> None:
    y = _write(tmp_path, "s.yaml", "name: alts\ndefault_shock: -0.1\nshocks:\n  eth/btc: -0.4\n  XRP/BTC: -0.5\n")
    (spec,) = load_scenarios(y)
    r = st.user_scenario(BOOK, spec)
    assert r.positions.loc["ETH/BTC", "pnl"] == pytest.approx(-1200)
    assert r.positions.loc["BTC/USDT", "pnl"] == pytest.approx(-600)  # default shock
    assert r.positions.loc["LTC/BTC", "pnl"] == pytest.approx(100)
    assert r.total_pnl == pytest.approx(-1200 - 600 - 200 + 100)
    assert r.extra["shocks_not_in_book"] == ["XRP/BTC"]
    t = _write(tmp_path, "s.toml", "[[scenarios]]\nname = 'a'\ndefault_shock = -0.2\n[[scenarios]]\nshocks = {'BTC/USDT' = -0.5}\n")
    specs = load_scenarios(t)
    assert [s.name for s in specs] == ["a", "s#1"]
    j = _write(tmp_path, "s.json", json.dumps({"default_shock": 0.1}))
    assert st.user_scenario(BOOK, load_scenarios(j)[0]).total_pnl == pytest.approx(0.1 * 10_000)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("bad.yaml", "shocks:\n  ETH/BTC: -1.5\n", r"bad.yaml: shocks: shock for ETH/BTC -1.5 is below -1"),
        ("bad.yaml", "shock:\n  ETH/BTC: -0.5\n", r"bad.yaml: shock: Extra inputs are not permitted"),
        ("bad.yaml", "shocks:\n  ETH/BTC: lots\n", r"bad.yaml: shocks.ETH/BTC: Input should be a valid number"),
        ("bad.yaml", "shocks:\n  'not a symbol': -0.1\n", r"bad.yaml: shocks: key 'not a symbol' is not a symbol"),
        ("bad.json", '{"scenarios": [{"default_shock": "x"}]}', r"bad.json: scenarios.0.default_shock: Input should be a valid number"),
        ("bad.json", '{"scenarios": []}', r"bad.json: scenarios: List should have at least 1 item"),
        ("bad.yaml", "shocks: [1, 2\n", r"bad.yaml: not valid YAML"),
        ("bad.toml", "shocks = {\n", r"bad.toml: not valid TOML"),
        ("bad.txt", "x", r"bad.txt: unknown file type '.txt'"),
        ("bad.yaml", "- 1\n- 2\n", r"bad.yaml: expected a mapping"),
    ],
)
def test_user_scenario_file_errors(tmp_path: Path, name: str, text: str, match: str) -> None:
    p = _write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_scenarios(p)
    assert "\n" not in str(info.value)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_scenarios(tmp_path / "nope.yaml")


def test_parse_scenario() -> None:
    assert st.parse_scenario("crash:-0.3") == ("crash", ["-0.3"])
    assert st.parse_scenario("flash:-0.2:0.5") == ("flash", ["-0.2", "0.5"])
    assert st.parse_scenario("file:C:/x.yaml") == ("file", ["C:/x.yaml"])
    with pytest.raises(ParameterError, match="unknown kind 'boom'"):
        st.parse_scenario("boom:1")
