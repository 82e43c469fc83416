"""report.html as structure: each indicator on the axis it belongs to, axis titles with units, trade markers
thinned while every trade is still counted, no raw JSON in what a person reads (real BTC 1h bars, fast path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.unit.backtest.report_parse import axis_name, figures, layout_axis, table_rows, visible_text

from quantdesk.backtest import fastpath
from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.report import render_html
from quantdesk.backtest.report_figures import indicator_panes, trade_markers
from quantdesk.backtest.report_html import build_figure, every


@pytest.fixture(scope="module")
def bars(real_ohlcv: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return real_ohlcv["btc_1h"].iloc[:1500]


def run(strategy: str, bars: pd.DataFrame, **params: object):
    cfg = BacktestConfig(strategy=strategy, params=params, symbol="BTC/USDT", timeframe="1h")
    return fastpath.run_fast(cfg, bars)


def price_axis(fig: dict) -> str:
    return axis_name(next(t for t in fig["data"] if t["type"] == "candlestick"))


def traces(fig: dict, prefix: str) -> list[dict]:
    return [t for t in fig["data"] if str(t.get("name", "")).startswith(prefix)]


def test_oscillators_get_their_own_axis_overlays_stay_on_price(bars: pd.DataFrame) -> None:
    rsi = figures(render_html(run("rsi_reversion", bars), data=bars))["chart"]
    price = price_axis(rsi)
    (rsi_trace,) = traces(rsi, "RSI(14)")
    assert axis_name(rsi_trace) != price  # the issue: RSI squashed the price on one axis
    ax = layout_axis(rsi["layout"], axis_name(rsi_trace))
    assert list(ax["range"]) == [0, 100] and ax["title"]["text"] == "RSI(14)"
    # the reference levels 30 / 70 as dotted lines on the RSI axis
    levels = sorted(s["y0"] for s in rsi["layout"]["shapes"] if s.get("yref", "").startswith(axis_name(rsi_trace)))
    assert levels == [30, 70]
    # the RSI values drawn are the indicator's (no step: 1500 bars < max candles)
    np.testing.assert_allclose(np.asarray(rsi_trace["y"], dtype=float),
                               run("rsi_reversion", bars).indicators["rsi"].to_numpy(), equal_nan=True)

    macd = figures(render_html(run("macd", bars), data=bars))["chart"]
    parts = traces(macd, "MACD(12, 26, 9)")
    assert {t["name"].rsplit(" ", 1)[1] for t in parts} == {"macd", "signal", "hist"}
    assert len({axis_name(t) for t in parts}) == 1 and axis_name(parts[0]) != price_axis(macd)  # one pane
    assert next(t for t in parts if t["name"].endswith("hist"))["type"] == "bar"

    sma = figures(render_html(run("sma_cross", bars, fast=10, slow=30), data=bars))["chart"]
    for label in ("SMA(10)", "SMA(30)"):
        (t,) = traces(sma, label)
        assert axis_name(t) == price_axis(sma)  # moving averages are overlays
    bb = figures(render_html(run("bollinger", bars), data=bars))["chart"]
    assert {axis_name(t) for t in traces(bb, "BBANDS")} == {price_axis(bb)}
    # an oscillator's pane adds a row: the rsi chart has one more y axis than the sma chart
    count = lambda f: sum(1 for k in f["layout"] if k.startswith("yaxis"))  # noqa: E731
    assert count(rsi) == count(sma) + 1


def test_axis_titles_carry_units_and_volume_has_its_own_axis(bars: pd.DataFrame) -> None:
    fig = figures(render_html(run("sma_cross", bars, fast=10, slow=30), data=bars))["chart"]
    titles = {k: v.get("title", {}).get("text") for k, v in fig["layout"].items() if k.startswith("yaxis")}
    assert {"Price (USDT)", "Volume", "Equity (USDT)", "Drawdown (%)"} <= set(titles.values())
    vol = next(t for t in fig["data"] if t.get("name") == "volume")
    assert axis_name(vol) != price_axis(fig)
    np.testing.assert_allclose(np.asarray(vol["y"], dtype=float), bars["volume"].to_numpy())
    dd_axis = layout_axis(fig["layout"], axis_name(next(t for t in fig["data"] if t.get("name") == "drawdown")))
    assert dd_axis["ticksuffix"] == "%"


def test_dense_markers_are_aggregated_and_every_trade_is_counted(bars: pd.DataFrame) -> None:
    res = run("sma_cross", bars, fast=2, slow=3)
    trades = res.trades
    closed = ~trades["is_open"].astype(bool)
    assert len(trades) > 200  # dense: more events than a third of the candles' worth of markers allows
    fig = figures(render_html(res, data=bars))["chart"]
    entries, exits = traces(fig, "long entry")[0], traces(fig, "long exit")[0]
    counts_in = np.array([row[0] for row in entries["customdata"]], dtype=int)
    counts_out = np.array([row[0] for row in exits["customdata"]], dtype=int)
    assert counts_in.sum() == len(trades) and counts_out.sum() == int(closed.sum())  # every trade represented
    drawn = len(entries["x"]) + len(exits["x"])
    assert drawn <= 200 and drawn < len(trades)  # thinned
    assert counts_in.max() > 1
    # the hover's average fill price of each entry marker = the mean entry price of the trades it aggregates
    entry_t = pd.to_datetime(trades["entry_time"], utc=True)
    first = pd.to_datetime([row[1] for row in entries["customdata"]], utc=True)
    lasts = pd.to_datetime([row[2] for row in entries["customdata"]], utc=True)
    for i in (0, len(first) // 2, len(first) - 1):
        inside = (entry_t >= first[i]) & (entry_t < lasts[i] + pd.Timedelta(minutes=1))
        assert inside.sum() == counts_in[i]
        assert entries["customdata"][i][3] == pytest.approx(trades.loc[inside, "entry_price"].mean(), rel=1e-9)
    # drawn off the candles: buys below the bucket's lows, sells above its highs
    assert np.all(np.asarray(entries["y"], dtype=float) < bars["low"].max())
    page = render_html(res, data=bars)
    assert f"{len(trades) + int(closed.sum()):,} trade entries and exits are drawn as {drawn:,} markers" in page


def test_sparse_markers_one_per_trade_at_their_fill_prices(bars: pd.DataFrame) -> None:
    res = run("sma_cross", bars, fast=10, slow=30)
    trades = res.trades
    fig = figures(render_html(res, data=bars))["chart"]
    entries = traces(fig, "long entry")[0]
    assert len(entries["x"]) == len(trades) and all(row[0] == 1 for row in entries["customdata"])
    np.testing.assert_allclose([row[3] for row in entries["customdata"]], trades["entry_price"].to_numpy())
    # each buy marker sits just below the low of the bar it filled in
    lows = bars["low"].reindex(pd.to_datetime(trades["entry_time"], utc=True)).to_numpy()
    y = np.asarray(entries["y"], dtype=float)
    assert np.all(y < lows) and np.all(y > lows - 0.05 * (bars["high"].max() - bars["low"].min()))


def test_trade_markers_counts_add_up_for_shorts_and_open_trades() -> None:
    times = pd.date_range("2024-01-01", periods=1000, freq="h", tz="UTC")
    rng = np.random.default_rng(5)
    n = 400
    entry = np.sort(rng.choice(1000, n, replace=False))
    trades = pd.DataFrame({
        "side": rng.choice(["long", "short"], n), "entry_time": times[entry],
        "exit_time": times[np.minimum(entry + 3, 999)], "entry_price": rng.uniform(90, 110, n),
        "exit_price": rng.uniform(90, 110, n), "is_open": np.r_[np.zeros(n - 1, bool), True]})
    lows, highs = np.full(1000, 90.0), np.full(1000, 110.0)
    sets, bucket = trade_markers(trades, times, 60, lows=lows, highs=highs)
    assert bucket > 1
    by = {s.name: s for s in sets}
    long, short = trades["side"].eq("long"), trades["side"].eq("short")
    assert by["long entry"].events == long.sum() and by["short entry"].events == short.sum()
    assert by["long exit"].events + by["short exit"].events == n - 1  # the open trade has no exit
    assert sum(len(s.x) for s in sets) <= 60
    assert np.all(by["long entry"].y < 90) and np.all(by["short entry"].y > 110)


def test_every_keeps_the_last_point() -> None:
    s = pd.Series(np.arange(10.0), index=pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC"))
    out = every(s, 4, "last")  # buckets stamped with their first time (like the candles), then the very last point
    assert list(out.to_numpy()) == [3.0, 7.0, 9.0, 9.0]
    assert list(out.index) == [s.index[0], s.index[4], s.index[8], s.index[9]]
    lows = every(s, 4, "min")
    assert lows.index[-1] == s.index[-1] and lows.iloc[-1] == 9.0


def test_unknown_series_go_on_price_only_inside_the_price_range(bars: pd.DataFrame) -> None:
    res = run("sma_cross", bars, fast=10, slow=30)
    res.config = res.config.model_copy(update={"strategy": "no_such_strategy"})  # declarations unknown
    res.indicators = {"near": bars["close"] * 1.01, "osc": pd.Series(np.linspace(0, 100, len(bars)), bars.index)}
    panes = {p.key: p for p in indicator_panes(res, float(bars["low"].min()), float(bars["high"].max()))}
    assert panes["near"].overlay and not panes["osc"].overlay


def test_no_raw_json_and_metrics_are_labelled_with_units(bars: pd.DataFrame) -> None:
    res = run("sma_cross", bars, fast=10, slow=30)
    res.events.append({"ts": bars.index[5], "kind": "denial", "rule": "max_position_pct",
                       "detail": {"value": 0.3, "limit": 0.15}})
    page = render_html(res, data=bars, engine="fast")
    text = visible_text(page)
    assert '{"' not in text and "{'" not in text  # no JSON / dict dumps
    assert "value=0.3, limit=0.15" in text  # the nested event detail as readable text
    rows = {r[0]: r[1] for r in table_rows(page, "metrics")}
    m = res.metrics
    assert rows["Total return (%)"] == f"{m['total_return_pct']:+,.2f}%"
    assert rows["Final equity (USDT)"] == f"{m['final_equity']:,.2f}"
    assert rows["Sharpe ratio (annualised)"] == f"{m['sharpe']:+.2f}"
    assert rows["Max drawdown (%)"] == f"{m['max_drawdown_pct']:.2f}%"
    assert rows["Closed trades"] == f"{int(m['num_trades'])}"
    cfg = {r[0]: r[1] for r in table_rows(page, "config")}
    assert cfg["params"] == "fast=10, slow=30" and cfg["symbol"] == "BTC/USDT"
    trades = table_rows(page, "trades")
    assert trades[0][:5] == ["Side", "Entry (UTC)", "Exit (UTC)", "Entry price", "Exit price"]
    assert trades[1][1].endswith("Z") and len(trades) == len(res.trades) + 1


def test_build_figure_without_data_still_draws_equity_and_drawdown(bars: pd.DataFrame) -> None:
    res = run("sma_cross", bars, fast=10, slow=30)
    fig, notes = build_figure(res, None)
    names = [t.name for t in fig.data]
    assert "equity" in names and "drawdown" in names and notes == []
    eq = next(t for t in fig.data if t.name == "equity")
    assert pd.Timestamp(eq.x[0]) == res.equity.index[0] and pd.Timestamp(eq.x[-1]) == res.equity.index[-1]


def test_several_instruments_chart_the_first_with_its_own_trades() -> None:
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.data import synth_ohlcv

    a, b = synth_ohlcv(600, "1h", seed=1), synth_ohlcv(600, "1h", seed=2) * 3.0
    b["volume"] = a["volume"]
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="AAA/USDT,BBB/USDT")
    res = run_backtest(cfg, {"AAA/USDT": a, "BBB/USDT": b})
    assert set(res.trades["symbol"]) == {"AAA/USDT"}  # sma_cross trades its default instrument
    other = res.trades.head(3).assign(symbol="BBB/USDT", entry_price=lambda t: t["entry_price"] * 3.0)
    res.trades = pd.concat([res.trades, other], ignore_index=True)  # as if the strategy traded BBB too
    page = render_html(res, data={"AAA/USDT": a, "BBB/USDT": b})
    fig = figures(page)["chart"]
    price = price_axis(fig)
    mine = res.trades[res.trades["symbol"] == "AAA/USDT"]
    entries = traces(fig, "long entry")[0]
    assert sum(row[0] for row in entries["customdata"]) == len(mine)  # only the charted instrument's trades
    np.testing.assert_allclose(sorted(row[3] for row in entries["customdata"]), sorted(mine["entry_price"]))
    # AAA's moving averages on its price axis, BBB's in panes of their own (another price level)
    assert all(axis_name(t) == price for t in traces(fig, "AAA/USDT SMA"))
    assert traces(fig, "BBB/USDT SMA") and all(axis_name(t) != price for t in traces(fig, "BBB/USDT SMA"))
    titles = {v.get("title", {}).get("text") for k, v in fig["layout"].items() if k.startswith("yaxis")}
    assert "AAA/USDT (USDT)" in titles and "Equity (USDT)" in titles
    assert "2 instruments traded; the chart shows AAA/USDT" in visible_text(page)
    assert not any(t.get("name") == "buy & hold" for t in fig["data"])
    assert len(table_rows(page, "trades")) == len(res.trades) + 1  # every trade in the table
