"""Whale trades: trades whose notional is far beyond the rolling distribution of recent trade sizes.

    score = (log(notional) - median) / (1.4826 x MAD)   over the previous `window` trades (robust z, causal)
A trade is a whale when score > `z` and notional >= `min_notional` (both configurable). Works on a trade stream
(`WhaleWatcher.update`) or a trade file (`detect_whales`: columns timestamp, price, amount, side; `size`/`qty`
are accepted for amount and `taker_side` for side).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.intel.anomalies.robust import RollingScore

COLUMNS = ("timestamp", "side", "price", "amount", "notional", "score")


class WhaleWatcher:
    def __init__(self, *, window: int = 500, z: float = 6.0, min_notional: float = 0.0) -> None:
        if window < 10:
            raise ParameterError(f"whale window must be >= 10 trades, got {window}")
        if not z > 0:
            raise ParameterError(f"whale z must be > 0, got {z}")
        self.z, self.min_notional = z, min_notional
        self._score = RollingScore(window, iqr=False)

    def update(self, price: float, amount: float) -> float | None:
        """The trade's score when it is a whale, else None (every trade updates the reference)."""
        notional = abs(price * amount)
        if not notional > 0:
            return None
        s = self._score.update(math.log(notional))
        return s if (s == s and s > self.z and notional >= self.min_notional) else None


def read_trades(path: str | Path) -> pd.DataFrame:
    """A trade CSV/Parquet file as a frame (timestamp UTC, price, amount, side) sorted by time."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"trade file not found: {p}")
    df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    return normalize_trades(df, where=str(p))


def normalize_trades(df: pd.DataFrame, where: str = "trades") -> pd.DataFrame:
    cols = {str(c).lower(): c for c in df.columns}
    amount = next((cols[k] for k in ("amount", "size", "qty", "quantity") if k in cols), None)
    side = next((cols[k] for k in ("side", "taker_side") if k in cols), None)
    missing = [k for k, v in (("timestamp", cols.get("timestamp")), ("price", cols.get("price")),
                              ("amount", amount)) if v is None]
    if missing:
        raise DataError(f"{where}: trade data needs columns {missing} (have {list(df.columns)})")
    ts = df[cols["timestamp"]]
    if pd.api.types.is_numeric_dtype(ts):
        unit: Literal["ms", "ns"] = "ms" if float(ts.abs().max()) < 1e14 else "ns"
        times = pd.to_datetime(ts, unit=unit, utc=True)
    else:
        times = pd.to_datetime(ts, utc=True, errors="coerce")
    out = pd.DataFrame({"timestamp": times, "price": pd.to_numeric(df[cols["price"]], errors="coerce"),
                        "amount": pd.to_numeric(df[amount], errors="coerce"),
                        "side": df[side].astype(str).str.lower() if side is not None else "unknown"})
    bad = out["timestamp"].isna() | ~np.isfinite(out["price"]) | ~np.isfinite(out["amount"])
    if bad.any():
        raise DataError(f"{where}: row {int(np.flatnonzero(bad.to_numpy())[0])} has a bad timestamp, price or amount")
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def detect_whales(trades: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """One row per whale trade: timestamp, side, price, amount, notional, score."""
    t = normalize_trades(trades)
    w = WhaleWatcher(**params)
    rows = []
    for ts, price, amount, side in zip(t["timestamp"], t["price"], t["amount"], t["side"], strict=True):
        s = w.update(float(price), float(amount))
        if s is not None:
            rows.append((ts, side, float(price), float(amount), abs(float(price) * float(amount)), s))
    return pd.DataFrame(rows, columns=list(COLUMNS))
