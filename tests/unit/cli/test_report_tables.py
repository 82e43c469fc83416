"""Numbers for people: CLI tables round by what a column holds (percent with %, money 2 decimals, prices at the
values' precision, ratios 2-3 decimals, quantities without 0E-8); the risk views print the risk layer's fractions
as labelled percentages, a replay without data as "no data"; risk_report.html in the theme with 3 figures."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from tests.unit.backtest.report_parse import figures, table_rows, visible_text

from quantdesk.cli.output import columns_table, kv_table, records_table
from quantdesk.cli.risk_views import render_report, render_stress, write_html
from quantdesk.core.numfmt import decimals_needed, format_key, format_value, infer_kind, metric_label


def text(renderable) -> str:
    c = Console(record=True, width=220)
    c.print(renderable)
    return c.export_text()


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("total_return_pct", 12.3456, "12.35%"),
    ("max_drawdown_pct", -0.004, "0.00%"),  # no "-0.00%"
    ("final_equity", 10523.456, "10,523.46"),
    ("pnl", -1234.567, "-1,234.57"),
    ("sharpe", 1.23456, "1.23"),
    ("beta", 0.98765, "0.988"),
    ("profit_factor", math.inf, "inf"),
    ("entry_price", 0.00001234, "0.00001234"),
    ("quantity", Decimal("0E-8"), "0"),
    ("quantity", Decimal("1.50000000"), "1.5"),
    ("qty", 0.1 + 0.2, "0.3"),
    ("num_trades", 12.0, "12"),
    ("rows", 1770, "1770"),  # integers untouched (ids, counts)
    ("max_position_pct", 0.15, "15.00%"),  # a risk limit: a fraction
    ("risk.max_drawdown_pct", 0.2, "20.00%"),
    ("whatever", float("nan"), "-"),
    ("whatever", None, "-"),
    ("whatever", 8760.0, "8,760"),
    ("whatever", 0.000123456, "0.000123456"),
])
def test_format_by_key(key, value, expected) -> None:
    assert format_key(key, value) == expected


def test_labels_and_kinds() -> None:
    assert metric_label("total_return_pct") == "Total return (%)"
    assert metric_label("final_equity", "USDT") == "Final equity (USDT)"
    assert metric_label("max_drawdown_duration_bars") == "Longest drawdown (bars)"
    assert infer_kind("exit_price") == "price" and infer_kind("fees") == "money" and infer_kind("wfe") == "ratio"
    assert decimals_needed([46319.0, 46319.5, 100.25]) == 2 and decimals_needed([1e-8]) == 8
    assert format_value(3.2, "pct", signed=True) == "+3.20%" and format_value(-0.1234, "fraction") == "-12.34%"


def test_records_table_rounds_by_column_and_prices_share_a_precision() -> None:
    rows = [{"symbol": "BTC/USDT", "entry_price": 46319.0, "quantity": Decimal("0E-8"), "pnl": -12.3456,
             "return_pct": 1.23456, "sharpe": 1.2345},
            {"symbol": "BTC/USDT", "entry_price": 46319.5, "quantity": Decimal("0.015"), "pnl": 1e6,
             "return_pct": float("nan"), "sharpe": None}]
    out = text(records_table(rows))
    assert "46,319.0 " in out and "46,319.5" in out  # one precision for the column (the values need 1 decimal)
    assert "0E-8" not in out and "0.015" in out
    assert "-12.35" in out and "1,000,000.00" in out and "1.23%" in out and " 1.23 " in out
    kv = text(kv_table({"final_equity": 10234.5678, "win_rate_pct": 55.5555}))
    assert "10,234.57" in kv and "55.56%" in kv


def test_breakdowns_by_rule_are_counts_not_percentages() -> None:
    # a paper bot's risk summary: counts keyed by rule name; "max_position_pct" names the rule, not the value
    kv = text(kv_table({"risk": {"denied_by_rule": {}, "resized_by_rule": {"max_position_pct": 1900}},
                        "metrics": {"win_rate_pct": 55.5555}}))
    assert "max_position_pct=1900" in kv and "%" not in kv.split("metrics")[0]
    assert "denied_by_rule=none" in kv and "win_rate_pct=55.56%" in kv


def test_columns_table_passes_text_through() -> None:
    out = text(columns_table([{"s": "a", "v": 0.1234}, {"s": "b", "v": "no data"}],
                             [("s", "scenario", "text"), ("v", "P&L (% of book)", "fraction")]))
    assert "12.34%" in out and "no data" in out and "P&L (% of book)" in out


@pytest.fixture(scope="module")
def report() -> dict:
    """A risk report built by the real analytics on seeded returns (what build_report assembles from the store)."""
    from quantdesk.risk.portfolio import analytics as an

    rng = np.random.default_rng(4)
    idx = pd.date_range("2024-01-01", periods=600, freq="5min", tz="UTC")
    rets = pd.DataFrame(rng.multivariate_normal([0, 0], [[1e-5, 4e-6], [4e-6, 2e-5]], 600), index=idx,
                        columns=["ETH/BTC", "LTC/BTC"])
    w = np.array([0.6, 0.4])
    var = an.var_table(rets, w, value=50_000, n_sims=2000, seed=1)
    return {
        "symbols": ["ETH/BTC", "LTC/BTC"], "timeframe": "5m", "value": 50_000.0, "alignment": "aligned: 600 rows",
        "returns": 600, "periods_per_year": 105_120.0, "benchmark": None, "benchmark_note": "no benchmark",
        "portfolio_vol": an.portfolio_volatility(rets, w, 105_120.0),
        "assets": an.asset_stats(rets, None, 105_120.0).assign(weight=w), "var": var,
        "component_var": {f"{a:g}": an.component_var(rets, w, a, value=50_000) for a in an.DEFAULT_LEVELS},
        "correlation": an.correlation_matrix(rets), "_portfolio_returns": pd.Series(rets.to_numpy() @ w, idx),
        "var_conventions": "losses as positive fractions; historical = loss quantile",
    }


def test_risk_report_prints_fractions_as_labelled_percentages(report) -> None:
    c = Console(record=True, width=220)
    render_report(c, report)
    out = c.export_text()
    hist95 = report["var"].query("method == 'historical' and level == 0.95").iloc[0]
    assert "VaR (% of book)" in out and "VaR (BTC)" in out and "vol annualised (%)" in out
    assert f"{hist95['var'] * 100:.2f}%" in out and f"{hist95['var_value']:,.2f}" in out
    assert f"{report['portfolio_vol']['annualised'] * 100:.2f}%" in out
    assert "book value (BTC)" in out and "50,000.00" in out and "60.00%" in out  # the weight
    assert "0.00" + "3" not in out.split("Correlation")[0]  # no raw fractions like 0.0037 before the matrix


def test_stress_replay_without_data_says_no_data() -> None:
    from quantdesk.risk.portfolio import stress as st

    book = {"ETH/BTC": 6000.0, "LTC/BTC": 4000.0}
    idx = pd.date_range("2018-01-10", periods=500, freq="5min", tz="UTC")
    prices = {s: pd.Series(np.linspace(0.1, 0.11, 500), index=idx) for s in book}
    replay = st.historical_replay(book, prices, "btc-2018-11-selloff")
    assert replay.extra["status"] == "no data" and math.isnan(replay.total_pnl)
    crash = st.market_crash(book, -0.3)
    c = Console(record=True, width=220)
    render_stress(c, {"book": book, "value": 10_000.0, "scenarios": [crash.to_dict(), replay.to_dict()]})
    out = c.export_text()
    line = next(x for x in out.splitlines() if "replay:btc-2018-11-selloff" in x)
    assert line.count("no data") >= 3 and "0.00" not in line
    crash_line = next(x for x in out.splitlines() if x.strip().startswith("│ crash:-0.3"))
    assert "-3,000.00" in crash_line and "-30.00%" in crash_line
    assert "shock (%)" in out and "P&L (BTC)" in out


def test_risk_report_html(report, tmp_path: Path) -> None:
    path = write_html(dict(report), tmp_path)
    page = path.read_text()
    assert page.count("Plotly.newPlot") == 3
    assert '{"' not in visible_text(page)
    figs = figures(page)
    dist = figs["distribution"]
    xs = sorted(s["x0"] for s in dist["layout"]["shapes"])
    assert xs == pytest.approx(sorted(-report["var"]["var"].to_numpy() * 100))  # VaR lines in % of the book
    assert dist["layout"]["xaxis"]["title"]["text"] == "portfolio return per bar (%)"
    assert figs["component-var"]["layout"]["yaxis"]["title"]["text"] == "component VaR (BTC)"
    rows = table_rows(page, "var")
    assert rows[0][:4] == ["method", "level (%)", "VaR (% of book)", "CVaR (% of book)"]
    first = report["var"].iloc[0]
    assert rows[1][2] == f"{first['var'] * 100:.2f}%"
