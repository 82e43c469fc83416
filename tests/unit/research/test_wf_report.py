"""The walk-forward report: per-window returns over the window (not annualised), equal to the returns computed by
hand from the stitched out-of-sample curve; short windows no longer print absurd annualised figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.unit.backtest.report_parse import figures, table_rows, visible_text

from quantdesk.research.walkforward import walk_forward
from quantdesk.research.wf_report import render_html, window_returns


@pytest.fixture(scope="module")
def wf(real_ohlcv: dict[str, pd.DataFrame]):
    # 3-day test windows on real BTC 1h bars: the case whose annualised returns ran into the millions of percent
    bars = real_ohlcv["btc_1h"].loc["2018-01-25":"2018-02-20"]
    return walk_forward("sma_cross", bars, train="7d", test="3d", space={"fast": [5, 10], "slow": [20, 40]})


def hand_window_returns(wf) -> np.ndarray:
    """Window k's return = its last stitched equity / the previous window's last (the cash for the first) - 1."""
    eq = wf.oos_equity
    ends = eq.groupby("window")["equity"].last().to_numpy()
    starts = np.r_[wf.cash, ends[:-1]]
    return (ends / starts - 1.0) * 100.0


def test_per_window_returns_equal_hand_computed_ones(wf) -> None:
    expected = hand_window_returns(wf)
    table = window_returns(wf)
    np.testing.assert_allclose(table["oos_return_pct"].to_numpy(), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(table["oos_cum_return_pct"].to_numpy(),
                               (np.cumprod(1 + expected / 100) - 1) * 100, rtol=1e-9, atol=1e-9)
    assert table["oos_cum_return_pct"].iloc[-1] == pytest.approx(wf.oos_metrics["total_return_pct"], rel=1e-9)
    page = render_html(wf)
    bars = next(t for t in figures(page)["window-returns"]["data"] if t["type"] == "bar")
    np.testing.assert_allclose(np.asarray(bars["y"], dtype=float), expected, rtol=1e-9, atol=1e-9)
    rows = table_rows(page, "windows")
    col = rows[0].index("OOS return (%)")
    assert [r[col] for r in rows[1:]] == [f"{v:+,.2f}%" if round(v, 2) != 0 else "0.00%" for v in expected]


def test_no_annualised_window_figures(wf) -> None:
    page = render_html(wf)
    # the annualised returns of 3-day windows are huge; none of them is drawn or tabulated
    annual = [r.oos_metrics["annual_return_pct"] for r in wf.results]
    assert max(abs(a) for a in annual if np.isfinite(a)) > 200  # the trap exists in this data
    shown = np.concatenate([np.asarray(t["y"], dtype=float) for f in figures(page).values() for t in f["data"]
                            if t["type"] == "bar"])
    assert np.nanmax(np.abs(shown)) < 100
    text = visible_text(page)
    assert "not annualised" in text and '{"' not in text
    totals = {r[0]: r[1:] for r in table_rows(page, "totals")}
    assert totals["Annual return, CAGR (%)"][0] == "-"  # no mean of annualised train-window returns
    assert totals["Total return (%)"][1] == f"{wf.oos_metrics['total_return_pct']:,.2f}%"


def test_equity_figure_covers_the_stitched_curve_with_units(wf) -> None:
    fig = figures(render_html(wf))["equity"]
    eq = next(t for t in fig["data"] if t["name"].startswith("out-of-sample equity"))
    assert pd.Timestamp(eq["x"][0]) == wf.oos_equity.index[0]  # UTC
    assert pd.Timestamp(eq["x"][-1]) == wf.oos_equity.index[-1]
    titles = [v["title"]["text"] for k, v in fig["layout"].items() if k.startswith("yaxis") and "title" in v]
    assert titles == ["Equity (account currency)", "Drawdown (%)"]
    # one shaded band per other test window
    assert len(fig["layout"]["shapes"]) == (len(wf.results) + 1) // 2
