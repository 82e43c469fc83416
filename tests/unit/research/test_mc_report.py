"""Monte Carlo report: the "original" figures match the backtest's or say why (an open trade at the end, drawdown
between trades, per-trade Sharpe), with the gap explained to the cent; the page is themed, labelled and has no raw
JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.unit.backtest.report_parse import figures, table_rows, visible_text

from quantdesk.backtest import fastpath
from quantdesk.backtest.config import BacktestConfig
from quantdesk.research.montecarlo import monte_carlo, reconcile, render_html


@pytest.fixture(scope="module")
def run(real_ohlcv: dict[str, pd.DataFrame]):
    bars = real_ohlcv["btc_1h"].iloc[:1500]
    res = fastpath.run_fast(BacktestConfig(strategy="sma_cross", params={"fast": 10, "slow": 30}, symbol="BTC/USDT",
                                           timeframe="1h"), bars)
    assert bool(res.trades["is_open"].iloc[-1])  # this run ends with an open trade
    return res


def test_open_trade_explains_the_gap_in_final_return(run) -> None:
    mc = monte_carlo(trades=run.trades, equity=run.equity, method="trades-shuffle", sims=200, seed=3)
    row = mc.backtest["final_return_pct"]
    assert row["backtest"] == pytest.approx(run.metrics["total_return_pct"], rel=1e-12)
    closed = run.trades.loc[~run.trades["is_open"].astype(bool)]
    start = float(run.equity.iloc[0])
    assert row["original"] == pytest.approx(closed["pnl"].sum() / start * 100, rel=1e-9)
    assert not row["matches"]
    unreal = float(run.trades.loc[run.trades["is_open"].astype(bool), "pnl"].sum())
    # the gap is exactly the open trade's unrealised P&L, and the explanation says so with the number
    assert row["backtest"] - row["original"] == pytest.approx(unreal / start * 100, rel=1e-6)
    assert "1 trade(s) still open" in row["why"] and f"{unreal:+,.2f}" in row["why"]
    dd = mc.backtest["max_drawdown_pct"]
    assert dd["backtest"] == pytest.approx(run.metrics["max_drawdown_pct"]) and dd["original"] >= dd["backtest"]
    assert "between trades" in dd["why"]
    assert mc.backtest["sharpe"]["backtest"] == pytest.approx(run.metrics["sharpe"])
    assert mc.summary()["backtest"] == mc.backtest


def test_block_bootstrap_original_is_the_backtest(run) -> None:
    mc = monte_carlo(trades=run.trades, equity=run.equity, method="returns-block-bootstrap", sims=100, seed=3)
    for key, metric in (("final_return_pct", "total_return_pct"), ("max_drawdown_pct", "max_drawdown_pct"),
                        ("sharpe", "sharpe")):
        row = mc.backtest[key]
        assert row["matches"] and row["why"] is None
        assert row["original"] == pytest.approx(run.metrics[metric], rel=1e-9)


def test_closed_trades_only_match_and_a_cash_gap_is_named() -> None:
    idx = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
    trades = pd.DataFrame({"entry_time": idx[[0, 2, 4]], "exit_time": idx[[1, 3, 5]], "pnl": [100.0, -50.0, 30.0],
                           "is_open": [False, False, False], "return_pct": [1.0, -0.5, 0.3]})
    equity = pd.Series([10_000, 10_100, 10_100, 10_050, 10_050, 10_080], index=idx, dtype=float)
    out = reconcile("trades-bootstrap", {"final_return_pct": 0.8, "max_drawdown_pct": -50 / 10_100 * 100,
                                         "sharpe": 1.0}, trades, equity, 10_000.0, 365.0)
    assert out["final_return_pct"]["matches"] and out["final_return_pct"]["backtest"] == pytest.approx(0.8)
    assert out["max_drawdown_pct"]["matches"]  # the drawdown happened between trades here
    shifted = equity.copy()
    shifted.iloc[-1] -= 12.5  # e.g. a cost outside the trades
    gap = reconcile("trades-shuffle", {"final_return_pct": 0.8}, trades, shifted, 10_000.0, 365.0)
    assert "-12.50 more than the closed trades' P&L" in gap["final_return_pct"]["why"]


def test_page_is_labelled_and_explains(run) -> None:
    mc = monte_carlo(trades=run.trades, equity=run.equity, method="trades-shuffle", sims=200, seed=3)
    page = render_html(mc, "Monte Carlo: test")
    text = visible_text(page)
    assert '{"' not in text and "still open at the end" in text
    # trades-shuffle cannot change the final return: a sentence instead of a one-bar histogram
    assert "Every simulation gives the same final return" in text
    figs = figures(page)
    assert "hist-final" not in figs and "hist-max" in figs
    fan = figs["fan"]
    orig = next(t for t in fan["data"] if t.get("name") == "original run")
    np.testing.assert_allclose(np.asarray(orig["y"], dtype=float), mc.original_path)
    assert fan["layout"]["yaxis"]["title"]["text"] == "Equity (account currency)"
    assert figs["hist-max"]["layout"]["xaxis"]["title"]["text"] == "Max drawdown (%)"
    dist = {r[0]: r[1:] for r in table_rows(page, "distributions")}
    p5 = mc.percentiles["max_drawdown_pct"]["p5"]
    assert dist["Max drawdown (%)"][2] == f"{p5:,.2f}%"
    bt = {r[0]: r for r in table_rows(page, "backtest")}
    assert bt["Final return (%)"][2] == f"{run.metrics['total_return_pct']:,.2f}%"
