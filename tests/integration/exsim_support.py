"""Shared by the exchange-simulator integration tests: a slice of the real BTC 1m file and the simulator on it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"
ROWS = 600


def write_sample(folder: Path, rows: int = ROWS) -> Path:
    """The first `rows` candles of the real file (2021-12-31 23:01 onwards), as a CSV in `folder`."""
    lines = DATA.read_text().splitlines()[: rows + 1]
    path = folder / "btc_1m_sample.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def file_candles(path: Path) -> pd.DataFrame:
    """The file's candles as text -> Decimal, indexed by open time in ms (the independent reference)."""
    frame = pd.read_csv(path, dtype=str)
    stamps = pd.to_datetime(frame.pop("timestamp"), utc=True)
    frame.index = ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy()
    return frame.map(Decimal)


def sim_settings(**overrides):
    """Binance-like BTCUSDT rules: tick 0.01, step 0.00001, min notional 5, 10,000 USDT; manual clock."""
    base = {"speed": 0, "tick_size": Decimal("0.01"), "balances": {"USDT": Decimal(10_000)}}
    base.update(overrides)
    return base
