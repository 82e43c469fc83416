"""Backtest statistics: a pure function of the trade list and the equity curve (plus the close for buy & hold).

Every key is snake_case and carries its unit (`_pct` = percent, `_days`, `_bars`, `_hours`; currency amounts
have no suffix and are in the account currency). The same function serves both engines and the report.

Definitions (r = per-bar simple returns of the equity curve, `equity[i] / equity[i-1] - 1`):

- `start_equity`, `final_equity`: first and last value of the equity curve (the first value is the equity after
  the first bar, which equals the starting cash because no order can fill before the second bar).
- `total_return_pct`: `(final / start - 1) * 100`.
- `periods_per_year`: bars per year. Given explicitly, or inferred from the calendar of the index (see
  `infer_periods_per_year`): 365 days a year when weekend bars are present (24/7 markets), 252 trading days
  otherwise (exchange sessions), times bars per day.
- `annual_return_pct` (CAGR): `((final / start) ** (1 / years) - 1) * 100` with `years = len(r) / periods_per_year`
  (bar count, not calendar time, like backtesting.py's geometric annualisation).
- `annual_volatility_pct`: `std(r, ddof=1) * sqrt(periods_per_year) * 100`.
- `sharpe`: `(mean(r) - rf_bar) / std(r, ddof=1) * sqrt(periods_per_year)`, `rf_bar = (1 + risk_free) **
  (1 / periods_per_year) - 1` (risk_free is an annual fraction). NaN when the volatility is zero.
- `sortino`: `(mean(r) - rf_bar) / sqrt(mean(min(r - rf_bar, 0) ** 2)) * sqrt(periods_per_year)`. NaN when there is
  no downside.
- `calmar`: `annual_return_pct / abs(max_drawdown_pct)`. NaN when there is no drawdown.
- `max_drawdown_pct`: `min(equity / cummax(equity) - 1) * 100`; zero or negative (like backtesting.py).
- `max_drawdown_duration_bars` / `_days`: the longest stretch from a peak to the bar where the equity is back at
  that peak (or the last bar if it never recovers), in bars and in calendar days (each maximised separately).
- Trade statistics use CLOSED trades only (`is_open` False); `open_trades` counts the others. `num_trades`,
  `win_rate_pct` (pnl > 0), `profit_factor` (gross profit / gross loss), `expectancy` (mean pnl per trade),
  `avg_win` and `avg_loss` (mean pnl of winners / losers; avg_loss is negative), `best_trade_pct`,
  `worst_trade_pct` (of `return_pct`), `avg_holding_hours`, `avg_holding_bars`.
- `exposure_pct`: share of bars with a position: a trade covers its entry bar through its exit bar inclusive
  (like backtesting.py), an open trade through the last bar.
- `var_95_pct`: historical 95% value at risk: the 5th percentile of r in percent (a loss is negative).
  `cvar_95_pct`: the mean of the returns at or below that percentile.
- `buy_and_hold_return_pct`: `(close[-1] / close[0] - 1) * 100` over the same bars (NaN without `close`).
- `total_fees`: all fees paid, open trades' entry fees included.

Edge cases: no closed trades -> win_rate_pct, profit_factor, expectancy, avg_*, best/worst, holding are NaN;
winners but no losers -> profit_factor = +inf; zero volatility -> sharpe NaN (sortino NaN without downside);
fewer than two equity points -> return-based statistics NaN. NaN and inf become `null` in JSON
(`quantdesk.cli.output.to_jsonable`); the report and the CLI table print them as "-" / "inf".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

NAN = math.nan
_DAY_NS = 86_400 * 10**9

METRIC_KEYS = (
    "start_equity",
    "final_equity",
    "total_return_pct",
    "annual_return_pct",
    "annual_volatility_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "num_trades",
    "open_trades",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "avg_win",
    "avg_loss",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_holding_hours",
    "avg_holding_bars",
    "exposure_pct",
    "var_95_pct",
    "cvar_95_pct",
    "buy_and_hold_return_pct",
    "total_fees",
    "periods_per_year",
    "bars",
    "duration_days",
)


def infer_periods_per_year(index: pd.Index) -> float:
    """Bars per year from the data's calendar.

    Weekend bars present -> a 24/7 market: `365 * 86400 s / median spacing`. No weekend bars -> exchange
    sessions on 252 trading days a year: intraday bars count `252 * median bars per calendar date`; daily and
    slower bars count `252 / trading days per bar` (a bar of 5 or more calendar days spans `5/7` trading days per
    calendar day, so weekly bars give 50.4). Falls back to 252 when the index has no usable times.
    """
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return 252.0
    ns = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    spacing = float(np.median(np.diff(ns)))
    if spacing <= 0:
        return 252.0
    # weekday from integer days since 1970-01-01 (a Thursday): (days + 3) % 7 -> Monday = 0
    weekend = bool((((ns // _DAY_NS) + 3) % 7 >= 5).any())
    if weekend:
        return 365.0 * _DAY_NS / spacing
    if spacing < _DAY_NS:
        days = ns // _DAY_NS
        _, counts = np.unique(days, return_counts=True)
        return 252.0 * float(np.median(counts))
    spacing_days = spacing / _DAY_NS
    trading_days_per_bar = spacing_days * 5.0 / 7.0 if spacing_days >= 5 else spacing_days
    return 252.0 / trading_days_per_bar


def drawdown_durations(equity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each bar: index of the last peak at or before it and of the first recovery bar at or after it.

    A peak is a bar whose equity equals the running maximum. The recovery of a bar in drawdown is the next peak
    (or the last bar when it never recovers).
    """
    n = len(equity)
    idx = np.arange(n)
    peak = equity >= np.maximum.accumulate(equity)
    last_peak = np.maximum.accumulate(np.where(peak, idx, 0))
    nxt = np.where(peak, idx, n - 1)
    next_peak = np.minimum.accumulate(nxt[::-1])[::-1]
    return last_peak, next_peak


def _nan_if_empty(values: np.ndarray, fn) -> float:
    return float(fn(values)) if len(values) else NAN


def compute_metrics(
    trades: pd.DataFrame,
    equity: pd.Series,
    *,
    close: pd.Series | None = None,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """Statistics of one backtest (see the module docstring for every definition). Pure: inputs are not changed."""
    eq = np.asarray(equity, dtype=np.float64)
    n = len(eq)
    index = equity.index
    ppy = float(periods_per_year) if periods_per_year else infer_periods_per_year(index)
    out: dict[str, float] = dict.fromkeys(METRIC_KEYS, NAN)
    out["periods_per_year"] = ppy
    out["bars"] = float(n)
    if isinstance(index, pd.DatetimeIndex) and n >= 1:
        out["duration_days"] = (index[-1] - index[0]) / pd.Timedelta(days=1)

    # ---- equity-curve statistics --------------------------------------------------------------
    if n >= 1:
        start, final = float(eq[0]), float(eq[-1])
        out["start_equity"], out["final_equity"] = start, final
        out["total_return_pct"] = (final / start - 1.0) * 100.0 if start else NAN
        peak = np.maximum.accumulate(eq)
        dd = eq / peak - 1.0
        out["max_drawdown_pct"] = float(dd.min()) * 100.0
        last_peak, next_peak = drawdown_durations(eq)
        in_dd = dd < 0
        if in_dd.any():
            out["max_drawdown_duration_bars"] = float((next_peak - last_peak)[in_dd].max())
            if isinstance(index, pd.DatetimeIndex):
                ns = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
                out["max_drawdown_duration_days"] = float((ns[next_peak] - ns[last_peak])[in_dd].max()) / _DAY_NS
        else:
            out["max_drawdown_duration_bars"] = 0.0
            out["max_drawdown_duration_days"] = 0.0
    if n >= 2:
        r = eq[1:] / eq[:-1] - 1.0
        years = len(r) / ppy
        growth = eq[-1] / eq[0]
        out["annual_return_pct"] = (growth ** (1.0 / years) - 1.0) * 100.0 if growth > 0 else -100.0
        rf_bar = (1.0 + risk_free) ** (1.0 / ppy) - 1.0
        sd = float(np.std(r, ddof=1)) if len(r) > 1 else NAN
        out["annual_volatility_pct"] = sd * math.sqrt(ppy) * 100.0
        excess = r - rf_bar
        out["sharpe"] = float(excess.mean()) / sd * math.sqrt(ppy) if sd > 0 else NAN
        downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
        out["sortino"] = float(excess.mean()) / downside * math.sqrt(ppy) if downside > 0 else NAN
        mdd = out["max_drawdown_pct"]
        out["calmar"] = out["annual_return_pct"] / abs(mdd) if mdd < 0 else NAN
        var = float(np.percentile(r, 5))
        out["var_95_pct"] = var * 100.0
        out["cvar_95_pct"] = float(r[r <= var].mean()) * 100.0

    # ---- trade statistics -----------------------------------------------------------------------
    if trades is not None and len(trades):
        is_open = trades["is_open"].to_numpy(dtype=bool) if "is_open" in trades else np.zeros(len(trades), bool)
        closed = trades.loc[~is_open]
        out["open_trades"] = float(is_open.sum())
        out["total_fees"] = float(pd.to_numeric(trades["fees"]).sum()) if "fees" in trades else 0.0
        pnl = closed["pnl"].to_numpy(dtype=np.float64)
        out["num_trades"] = float(len(closed))
        if len(closed):
            wins, losses = pnl[pnl > 0], pnl[pnl < 0]
            out["win_rate_pct"] = len(wins) / len(pnl) * 100.0
            gross_loss = -losses.sum()
            if gross_loss > 0:
                out["profit_factor"] = float(wins.sum() / gross_loss)
            else:
                out["profit_factor"] = math.inf if len(wins) else NAN
            out["expectancy"] = float(pnl.mean())
            out["avg_win"] = _nan_if_empty(wins, np.mean)
            out["avg_loss"] = _nan_if_empty(losses, np.mean)
            ret = closed["return_pct"].to_numpy(dtype=np.float64)
            out["best_trade_pct"] = float(ret.max())
            out["worst_trade_pct"] = float(ret.min())
            held = pd.to_datetime(closed["exit_time"], utc=True) - pd.to_datetime(closed["entry_time"], utc=True)
            out["avg_holding_hours"] = float((held / pd.Timedelta(hours=1)).mean())
            if "bars_held" in closed:
                out["avg_holding_bars"] = float(closed["bars_held"].astype("float64").mean())
        out["exposure_pct"] = _exposure_pct(trades, is_open, index, n)
    else:
        out["num_trades"] = 0.0
        out["open_trades"] = 0.0
        out["total_fees"] = 0.0
        out["exposure_pct"] = 0.0

    if close is not None and len(close) >= 1:
        c = np.asarray(close, dtype=np.float64)
        out["buy_and_hold_return_pct"] = (c[-1] / c[0] - 1.0) * 100.0
    return {k: float(v) for k, v in out.items()}


def _exposure_pct(trades: pd.DataFrame, is_open: np.ndarray, index: pd.Index, n: int) -> float:
    if n == 0:
        return NAN
    held = np.zeros(n + 1, dtype=np.int64)
    if isinstance(index, pd.DatetimeIndex):
        entry = index.searchsorted(pd.to_datetime(trades["entry_time"], utc=True))
        exit_t = pd.to_datetime(trades["exit_time"], utc=True)
        exit_pos = np.where(is_open | exit_t.isna().to_numpy(), n - 1, index.searchsorted(exit_t.fillna(index[-1])))
    else:  # no times: fall back to bars_held from the last bar backwards is meaningless; count bars_held
        return float(np.clip(trades["bars_held"].to_numpy(dtype=np.float64) + 1, 0, n).sum() / n * 100.0)
    for e, x in zip(entry, exit_pos, strict=True):
        a, b = min(int(e), n - 1), min(int(x), n - 1)
        held[a] += 1
        held[b + 1] -= 1
    return float((np.cumsum(held[:n]) > 0).mean() * 100.0)
