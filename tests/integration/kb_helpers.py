"""Helpers of the knowledge-base integration tests: a real recorded backtest with its report folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

BTC_1D = Path(__file__).resolve().parents[1] / "data" / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv"


def btc_daily() -> pd.DataFrame:
    df = pd.read_csv(BTC_1D)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64")


def record_backtest(out_dir: Path, url: str | None = None, **params: int) -> str:
    """sma_cross on real BTC daily bars: report folder written, run recorded in the database; returns the run id."""
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.report import write_report
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.storage import db

    cfg = BacktestConfig(strategy="sma_cross", params=params or {"fast": 10, "slow": 30}, symbol="BTC/USD",
                         timeframe="1d")
    result = run_backtest(cfg, btc_daily())
    write_report(result, out_dir, html_report=False)
    return db.record_result(result, out_dir=out_dir, engine="event", url=url)


def monthly_returns(out_dir: Path, cash: float = 10_000.0) -> pd.Series:
    """Independent reference: month-end equity from equity.csv, percent change (first month vs the cash)."""
    eq = pd.read_csv(out_dir / "equity.csv")
    s = pd.Series(eq["equity"].to_numpy(), index=pd.to_datetime(eq["timestamp"], utc=True))
    month_end = s.resample("ME").last().dropna()
    prev = month_end.shift(1)
    prev.iloc[0] = cash
    return (month_end / prev - 1) * 100
