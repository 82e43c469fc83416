"""The optimisation report: the heat map is the trials' objective over the two parameters (checked against the
results table), the best trial is marked, every figure and column carries its metric's name and unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.unit.backtest.report_parse import figures, table_rows, visible_text

from quantdesk.research.optimize import optimize
from quantdesk.research.optimize_report import write_report


@pytest.fixture(scope="module")
def result():
    from quantdesk.data import synth_ohlcv

    return optimize("sma_cross", synth_ohlcv(1500, "1h", seed=11), {"fast": [5, 10, 20], "slow": [30, 60]})


def test_heat_map_is_the_objective_table(result, tmp_path) -> None:
    page = write_report(result, tmp_path / "r.html", command="quantdesk backtest ...").read_text()
    figs = figures(page)
    heat = next(f for f in figs.values() if f["data"][0]["type"] == "heatmap")
    h = heat["data"][0]
    t = result.table[result.table["feasible"]]
    for i, fast in enumerate(h["y"]):
        for j, slow in enumerate(h["x"]):
            cell = t[(t["fast"].astype(str) == fast) & (t["slow"].astype(str) == slow)]
            z = np.asarray(h["z"], dtype=float)[i][j]
            if len(cell):
                assert z == pytest.approx(cell["sharpe"].mean())
            else:
                assert np.isnan(z)
    star = heat["data"][1]
    assert star["x"] == [str(result.best_params["slow"])] and star["y"] == [str(result.best_params["fast"])]
    assert h["colorbar"]["title"]["text"] == "Sharpe ratio (annualised)"
    assert heat["layout"]["xaxis"]["title"]["text"] == "slow" and heat["layout"]["yaxis"]["title"]["text"] == "fast"
    dist = next(f for f in figs.values() if f["data"][0]["type"] == "histogram")
    assert dist["layout"]["xaxis"]["title"]["text"] == "Sharpe ratio (annualised)"
    assert [s["x0"] for s in dist["layout"]["shapes"]] == [pytest.approx(result.best_metrics["sharpe"])]


def test_tables_are_formatted_and_labelled(result, tmp_path) -> None:
    page = write_report(result, tmp_path / "r.html").read_text()
    assert '{"' not in visible_text(page)
    rows = table_rows(page, "top-trials")
    head = rows[0]
    assert head[:4] == ["#", "Trial", "fast", "slow"]
    assert "Sharpe ratio (annualised)" in head and "Total return (%)" in head and "Max drawdown (%)" in head
    best = result.table.iloc[0]
    first = dict(zip(head, rows[1], strict=True))
    assert first["Sharpe ratio (annualised)"] == f"{best['sharpe']:.2f}"
    tr = best["total_return_pct"]
    assert first["Total return (%)"] == (f"{tr:+,.2f}%" if round(tr, 2) else "0.00%")
    over = {r[0]: r[1] for r in table_rows(page, "overfitting")[1:]}
    dsr = result.overfitting["dsr"]
    assert over["deflated Sharpe ratio (DSR)"] == ("-" if pd.isna(dsr) else f"{dsr:.3f}")
