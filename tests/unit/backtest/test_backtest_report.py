"""Report files: summary.json (NaN -> null, full config, fingerprint), CSVs in UTC ISO-8601, offline HTML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import fastpath
from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.report import downsample_ohlc, render_html, write_report


def _frame(n: int, freq: str = "h") -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    idx = pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.002,
                         "low": np.minimum(open_, close) * 0.998, "close": close, "volume": 1.0}, index=idx)


def test_downsample_aggregates_ohlc() -> None:
    df = _frame(23)
    small, step = downsample_ohlc(df, max_candles=5)
    assert step == 5 and len(small) == 5
    assert small.index[1] == df.index[5]
    assert small["open"].iloc[1] == df["open"].iloc[5] and small["close"].iloc[1] == df["close"].iloc[9]
    assert small["high"].iloc[1] == df["high"].iloc[5:10].max() and small["low"].iloc[1] == df["low"].iloc[5:10].min()
    assert small["close"].iloc[-1] == df["close"].iloc[-1] and small["volume"].iloc[-1] == 3.0
    same, step = downsample_ohlc(df, max_candles=100)
    assert step == 1 and same is df


def test_write_report_files(tmp_path: Path) -> None:
    df = _frame(400)
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="BTC/USDT", timeframe="1h")
    res = fastpath.run_fast(cfg, df)
    res.events.append({"ts": df.index[3], "kind": "denial", "reason": "max position"})
    paths = write_report(res, tmp_path / "r", data=df, engine="fast")
    doc = json.loads(paths["summary.json"].read_text())
    assert doc["config"] == cfg.model_dump(mode="json") and doc["engine"] == "fast"
    assert doc["data"]["rows"] == 400 and doc["data"]["first"] == "2024-01-01T00:00:00Z"
    assert doc["data"]["fingerprint"] == res.data_info["fingerprint"]
    assert set(res.metrics) == set(doc["metrics"])
    for key, value in res.metrics.items():
        if np.isfinite(value):
            assert doc["metrics"][key] == pytest.approx(value)
        else:
            assert doc["metrics"][key] is None
    trades = pd.read_csv(paths["trades.csv"])
    assert len(trades) == len(res.trades)
    assert trades["entry_time"].iloc[0].endswith("Z")
    if res.trades["is_open"].iloc[-1]:
        assert pd.isna(trades["exit_time"].iloc[-1])
    np.testing.assert_allclose(trades["pnl"], res.trades["pnl"], rtol=1e-9)
    orders = pd.read_csv(paths["orders.csv"])
    assert list(orders.columns) == ["ts", "client_order_id", "symbol", "side", "type", "quantity", "price",
                                    "status", "reason", "tags"]
    eq = pd.read_csv(paths["equity.csv"])
    assert len(eq) == 400 and eq["drawdown_pct"].max() == 0
    page = paths["report.html"].read_text()
    assert "<script src=" not in page and "max position" in page and "denial" in page
    assert 'id="events"' in page and "candles of" not in page


def test_html_downsamples_big_data() -> None:
    df = _frame(12_000, "min")
    res = fastpath.run_fast(BacktestConfig(strategy="sma_cross"), df)
    page = render_html(res, data=df, engine="fast", max_candles=5000)
    assert "12,000 bars are shown as 4,000 candles of 3 bars each" in page


def test_no_html_and_no_trades(tmp_path: Path) -> None:
    df = _frame(10)
    res = fastpath.run_fast(BacktestConfig(strategy="sma_cross"), df)  # too short for slow=30: no trades
    paths = write_report(res, tmp_path, data=df, html_report=False)
    assert "report.html" not in paths and not (tmp_path / "report.html").exists()
    assert pd.read_csv(paths["trades.csv"]).empty
    doc = json.loads(paths["summary.json"].read_text())
    assert doc["metrics"]["num_trades"] == 0 and doc["metrics"]["win_rate_pct"] is None
    page = render_html(res, data=df)
    assert "<h2>Trades (0)</h2>" in page and "No trades." in page


def test_orders_csv_carries_the_strategys_tags(tmp_path) -> None:
    """bollinger tags each order with why it traded; orders.csv keeps it (the event engine's orders)."""
    from quantdesk.backtest.runner import run_backtest

    df = _frame(1500, "h")
    res = run_backtest(BacktestConfig(strategy="bollinger", symbol="BTC/USDT", timeframe="1h"), df)
    orders = pd.read_csv(write_report(res, tmp_path / "b", data=df)["orders.csv"], keep_default_na=False)
    assert len(orders) > 0
    assert set(orders["tags"]) <= {"close above upper band", "close below middle band", "close below lower band",
                                   "close back at middle band"}
    assert (orders["tags"] != "").all()  # every bollinger order says which band rule placed it

