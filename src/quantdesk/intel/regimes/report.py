"""Performance split by regime: `by_regime(equity, trades, regimes)`, for a backtest, a walk-forward's stitched
out-of-sample run or a paper bot.

Attribution (causal, like a trader would see it): the bar return r_t = equity_t / equity_{t-1} - 1 is earned
under the regime known at t-1 (the one in force while the position was held); a trade belongs to the regime
known at its entry time. `regimes` may be sampled on another grid than `equity`: the regime at a time is the
last one known at or before it (bars before the first label are "unknown", e.g. the detector's warm-up).

Per regime: bars, time_pct, return_pct (compounded: (prod(1 + r) - 1) x 100), sharpe (mean / std (ddof 1) x
sqrt(periods_per_year), NaN with < 2 returns or no variation), trades, win_rate_pct (pnl > 0), avg_trade_pnl,
total_pnl. The last row, "all", covers every bar and trade.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError

UNKNOWN = "unknown"
COLUMNS = ("regime", "bars", "time_pct", "return_pct", "sharpe", "trades", "win_rate_pct", "avg_trade_pnl",
           "total_pnl")


def _as_series(equity: pd.Series | pd.DataFrame) -> pd.Series:
    if isinstance(equity, pd.DataFrame):
        col = "equity" if "equity" in equity.columns else equity.columns[0]
        equity = equity[col]
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise DataError("by_regime: the equity curve needs a DatetimeIndex")
    return equity.astype("float64").sort_index()


def regime_names(regimes: pd.Series, labels: Sequence[str] | None) -> pd.Series:
    """Codes -> names (NaN -> "unknown"); names are kept as they are."""
    if labels is None or not pd.api.types.is_numeric_dtype(regimes):
        return regimes.astype("object").where(regimes.notna(), UNKNOWN)
    names = {float(i): str(n) for i, n in enumerate(labels)}
    return regimes.map(lambda v: UNKNOWN if v != v else names.get(float(v), str(v))).astype("object")


def as_of(regimes: pd.Series, times: pd.DatetimeIndex) -> np.ndarray:
    """The last regime known at or before each time (UNKNOWN before the first)."""
    reg = regimes.sort_index()
    pos = reg.index.searchsorted(times, side="right") - 1
    values = reg.to_numpy(dtype=object)
    return np.where(pos >= 0, values[np.clip(pos, 0, None)], UNKNOWN)


def by_regime(equity: pd.Series | pd.DataFrame, trades: pd.DataFrame | None, regimes: pd.Series, *,
              labels: Sequence[str] | None = None, periods_per_year: float | None = None) -> pd.DataFrame:
    """The table of the module docstring (one row per regime in order of first appearance, then "all")."""
    from quantdesk.backtest.metrics import infer_periods_per_year

    eq = _as_series(equity)
    if len(eq) < 2:
        raise DataError("by_regime: the equity curve needs at least two points")
    if not isinstance(regimes.index, pd.DatetimeIndex):
        raise DataError("by_regime: the regimes need a DatetimeIndex")
    names = regime_names(regimes, labels)
    ppy = float(periods_per_year) if periods_per_year else infer_periods_per_year(eq.index)
    rets = eq.pct_change().to_numpy()[1:]
    held = as_of(names, cast(pd.DatetimeIndex, eq.index[:-1]))  # the regime known at t-1 for the return of bar t
    tr = trades if trades is not None else pd.DataFrame(columns=["entry_time", "pnl"])
    if len(tr):
        entry = pd.DatetimeIndex(pd.to_datetime(tr["entry_time"], utc=True))
        trade_regime = as_of(names, entry)
        pnl = pd.to_numeric(tr["pnl"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        trade_regime, pnl = np.array([], dtype=object), np.array([], dtype=np.float64)
    order = list(dict.fromkeys([*held.tolist(), *trade_regime.tolist()]))
    rows = [_row(name, rets[held == name], pnl[trade_regime == name], len(rets), ppy) for name in order]
    rows.append(_row("all", rets, pnl, len(rets), ppy))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _row(name: str, r: np.ndarray, pnl: np.ndarray, total: int, ppy: float) -> dict[str, Any]:
    r = r[np.isfinite(r)]
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else math.nan
    sharpe = float(np.mean(r)) / sd * math.sqrt(ppy) if sd > 0 else math.nan
    wins = pnl[np.isfinite(pnl)]
    return {"regime": name, "bars": int(len(r)), "time_pct": 100.0 * len(r) / total if total else math.nan,
            "return_pct": (float(np.prod(1.0 + r)) - 1.0) * 100.0 if len(r) else 0.0, "sharpe": sharpe,
            "trades": int(len(pnl)), "win_rate_pct": 100.0 * float((wins > 0).mean()) if len(wins) else math.nan,
            "avg_trade_pnl": float(wins.mean()) if len(wins) else math.nan, "total_pnl": float(wins.sum())}
