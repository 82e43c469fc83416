"""The `powertrader` strategy's rules on a hand-made path and memory, its protections, and the DCA report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.intel.powertrader.dca_report import ladder, run_report
from quantdesk.intel.powertrader.memory_io import MemoryBank, write_bank
from quantdesk.strategies.loader import create_strategy


@pytest.fixture(scope="module")
def memory(tmp_path_factory) -> Path:
    """1-hour memory predicting +1 % / -1 % for any candle: lower bound = close x 0.99 x 0.995 = close x 0.98505."""
    pats = np.concatenate([[0.0], 10 ** (np.arange(-60, 21) / 10), -(10 ** (np.arange(-60, 21) / 10))])
    n = len(pats)
    bank = MemoryBank(pats[:, None], np.zeros(n), np.ones(n), -np.ones(n))
    bank.threshold = 100.0
    out = tmp_path_factory.mktemp("mem")
    write_bank(out, "1hour", bank)
    return out


def _bars(closes: list[float], start: str = "2024-01-01T00:00:00Z") -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(closes), freq="15min", tz="UTC", name="timestamp")
    c = np.array(closes, dtype=float)
    o = np.concatenate([[c[0]], c[:-1]])
    return pd.DataFrame({"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c), "close": c,
                         "volume": np.ones(len(c))}, index=idx)


PARAMS = {"mode": "compat", "trade_start_level": 1, "level_basis": "all", "dca_signal_stages": 0,
          "start_allocation_pct": 10}


def _run(df: pd.DataFrame, memory: Path, **params):
    p = {**PARAMS, "memory_dir": str(memory), **params}
    cfg = BacktestConfig(strategy="powertrader", params=p, symbol="TEST/USD", timeframe="15m", fee=0.0)
    strat = create_strategy("powertrader", p)
    return strat, run_backtest(cfg, df, strategy=strat)


def test_entry_dca_and_trailing_exit_by_hand(memory: Path) -> None:
    closes = [100.0] * 8 + [98.0, 98.0, 95.5, 95.5, 96.0, 97.0, 99.0, 99.5, 98.9, 98.9, 98.9]
    strat, res = _run(_bars(closes), memory)
    fills = res.orders[res.orders["status"] == "filled"].reset_index(drop=True)
    assert list(fills["side"].astype(str).str.lower()) == ["buy", "buy", "sell"]
    # entry: at the close of bar 8 the price 98 is below 100 x 0.98505 (LONG = 1); fills at bar 9's open
    q0 = 1000.0 / 98.0  # 10 % of the 10 000 account
    assert fills.loc[0, "price"] == 98.0 and fills.loc[0, "quantity"] == pytest.approx(q0, rel=1e-6)
    # DCA stage 1 at bar 10: P&L (95.5 - 98) / 98 = -2.55 % <= -2.5 %; size 2 x the position's value
    q1 = 2 * q0 * 95.5 / 95.5
    assert fills.loc[1, "price"] == 95.5 and fills.loc[1, "quantity"] == pytest.approx(q1, rel=1e-6)
    avg = (q0 * 98.0 + q1 * 95.5) / (q0 + q1)
    # trail after a DCA starts at avg x 1.025 = 98.74; 99.0 and 99.5 lift the peak, the line becomes
    # max(98.74, 99.5 x 0.995 = 99.0025); 98.9 crosses it from above -> sell at the next open
    assert avg * 1.025 < 99.0
    assert fills.loc[2, "price"] == 98.9 and fills.loc[2, "quantity"] == pytest.approx(q0 + q1, rel=1e-6)
    kinds = [e["kind"] for e in strat.events]
    assert kinds == ["entry", "dca", "exit"]
    assert strat.events[1]["trigger"] == "loss" and strat.events[2]["reason"] == "trail"


def test_no_entry_without_a_signal_and_no_stop_by_default(memory: Path) -> None:
    closes = [100.0] * 8 + [99.0, 98.8, 98.7]  # never below 98.505
    strat, res = _run(_bars(closes), memory)
    assert res.orders.empty and strat.events == []
    falling = [100.0] * 8 + [98.0] + list(np.linspace(97.0, 60.0, 30))  # -39 %: DCA, never a stop
    strat, res = _run(_bars(falling), memory, max_dca_buys_per_24h=100)
    assert "exit" not in [e["kind"] for e in strat.events]
    strat, res = _run(_bars(falling), memory, stop_loss_pct=8, max_dca_buys_per_24h=100)
    exits = [e for e in strat.events if e["kind"] == "exit"]
    assert exits and exits[0]["reason"] == "stop" and exits[0]["pnl"] <= -8


def test_24h_cap_and_capital_cap(memory: Path) -> None:
    falling = [100.0] * 8 + [98.0] + list(np.linspace(97.0, 70.0, 40))
    strat, _ = _run(_bars(falling), memory, dca_level_1=-1, dca_level_2=-2, dca_level_3=-3, dca_level_4=-4,
                    dca_level_5=-5, dca_level_6=-6, dca_level_7=-7)
    dca = [e for e in strat.events if e["kind"] == "dca"]
    assert len(dca) == 2  # the default cap: 2 adds in any 24 h (the whole path is 12 h)
    assert any(e["kind"] == "cap_hit" for e in strat.events)
    strat, _ = _run(_bars(falling), memory, max_capital_at_risk_pct=25, max_dca_buys_per_24h=100)
    assert any(e["kind"] == "risk_cap_block" for e in strat.events)
    for e in strat.events:
        if e["kind"] == "dca":
            assert e["notional"] > 0


def test_stale_memory_blocks_entries(memory: Path, tmp_path: Path) -> None:
    import shutil

    stale = tmp_path / "stale"
    shutil.copytree(memory, stale)
    (stale / "training_status.json").write_text(
        '{"timeframes": {"1hour": {"trained_at": "2023-01-01T00:00:00Z"}}}')
    closes = [100.0] * 8 + [98.0, 98.0]
    strat, res = _run(_bars(closes), stale, max_training_age_hours=24 * 30)
    assert res.orders.empty and {e["kind"] for e in strat.events} == {"stale_block"}
    strat, res = _run(_bars(closes, start="2023-01-10T00:00:00Z"), stale, max_training_age_hours=24 * 30)
    assert [e["kind"] for e in strat.events] == ["entry"]


def test_bad_ladder_is_named() -> None:
    from quantdesk.core.errors import ParameterError

    with pytest.raises(ParameterError, match="dca_level_3"):
        create_strategy("powertrader", {"dca_level_3": -1.0})


# ---- the DCA risk report ---------------------------------------------------------------------------------------
def test_ladder_triples_the_position_per_stage() -> None:
    rows = ladder(0.5, 2.0, (-2.5, -5, -10), stages=3)
    # by hand: entry 0.5 % at price 1; stage 1 at avg x 0.975 buys 2 x its value: cost 0.5 + 0.975 = 1.475
    assert rows[1]["buy_pct_of_account"] == pytest.approx(2 * 0.5 * 0.975)
    assert rows[1]["cost_pct_of_account"] == pytest.approx(0.5 + 0.975)
    qty = 1 + 0.975 / 0.4875  # units: 1 + buy / (price x 0.5 %/unit)
    assert qty == pytest.approx(3.0)  # the position tripled
    assert rows[3]["cost_x_entry"] > 20
    big = ladder()
    assert big[-1]["cost_pct_of_account"] > 100  # the default ladder needs more than the whole account


def test_run_report_by_hand() -> None:
    t = pd.date_range("2024-01-01", periods=6, freq="1h", tz="UTC")
    bars = pd.DataFrame({"close": [100.0, 95.0, 90.0, 97.0, 103.0, 104.0]}, index=t)
    orders = pd.DataFrame({
        "ts": [t[0], t[1], t[2], t[4]], "side": ["buy", "buy", "buy", "sell"], "quantity": [1.0, 2.0, 6.0, 9.0],
        "price": [100.0, 95.0, 90.0, 103.0], "status": ["filled"] * 4})
    equity = pd.Series(1000.0, index=t)
    rep = run_report(orders, bars, equity, events=[{"kind": "cap_hit"}], max_dca_buys_per_24h=2)
    assert rep["cycles"] == 1 and rep["max_stage"] == 2
    cost = 100 + 190 + 540
    assert rep["by_stage"][0]["worst_cost"] == pytest.approx(cost)
    assert rep["worst_cost_pct_equity"] == pytest.approx(100 * cost / 1000)
    # under water: t1 (95 < avg 96.67) and t2 (90 < 92.2) and t3 (97 > 92.2? no: 97 > 92.2 -> above)
    assert rep["time_under_water_h"] == pytest.approx(2.0)
    assert rep["cap_hits_24h"] == 1 and rep["cap_saturations_24h"] == 1
