"""Compiled fast path: a numba simulator for strategies expressed as vectorised signals.

Same semantics as the event engine (`quantdesk.backtest.runner.run_backtest`), checked by parity tests:

- A signal is read on the CLOSE of bar i; the market order it creates fills at the OPEN of bar i+1. A signal on
  the last bar is never filled.
- Sizing: all available cash, fractional quantity `cash / (fill * (1 + fee))`, so notional plus fee uses all the
  cash. Fee = `fee * notional`, charged on entry and on exit.
- Slippage: fixed `slippage_bps`, adverse: buys fill at `price * (1 + bps/1e4)`, sells at `price * (1 - bps/1e4)`.
  It applies to market fills and to stop-loss fills; take-profit fills are limit fills (no slippage).
- Long only by default: `entries` open a long when flat, `exits` close it. With `short_entries` / `short_exits`
  a short is opened when flat / closed when short (a signal for the other side while in a position is ignored).
  If an entry and a short entry fire on the same bar, the long entry wins.
- Stops (`sl_pct`, `tp_pct`, in percent of the entry fill price), checked on every bar a position is held,
  including the bar it was opened: if the open is already through a level the exit fills at the open
  (gap-through); if both levels are inside one bar's range the worse one (the stop loss) is assumed to have hit
  first; otherwise the level that was touched fills at the level.
- Equity after each bar = cash + position * close. An open position at the end is marked to the last close and
  reported as an open trade (no exit fee).

Inputs are 1-D (one backtest) or 2-D `(bars, columns)` arrays (one backtest per column, e.g. one per parameter
combination); columns run in parallel (`prange`). Two kernels share one per-column simulation:
`simulate` keeps the equity curves and the trade records; `simulate_summary` / `sweep_sma_cross` keep only a
per-column summary (final equity, total return, Sharpe, max drawdown, trades, win rate), so a sweep over
hundreds of columns of a million bars never materialises more than one column of signals per thread.
`simulate_weights` rebalances to target weights (fraction of equity) with the same fill/fee/slippage rules.

Rounding: with `price_precision` / `size_precision` (what `run_fast` uses, taken from the event engine's
instrument rules: price decimals found in the data, 8 size decimals) fill prices are rounded to the nearest tick
and quantities DOWN to the lot, so the fast path gives the event engine's trades to ~1e-12.

    ent, ext = sma_cross_signals(df["close"], [10, 20], [30, 50])   # 2 columns
    fr = simulate(df, ent, ext, fee=0.001)                           # equity (n, 2), trade records
    table = sweep_sma_cross(df, *param_grid(range(5, 101, 5), range(110, 301, 10)))   # 400 backtests

The code is split by role: `fast_kernels` (numba loops and record dtypes), `fast_simulator` (the simulator:
signals, sweeps, target weights) and `fast_results` (`run_fast` and the conversion to the BacktestResult
contract). This module is their public face; import from here.
"""

from __future__ import annotations

from quantdesk.backtest.fast_kernels import (
    EXIT_REASONS,
    FILL_DTYPE,
    SUMMARY_FIELDS,
    TRADE_DTYPE,
)
from quantdesk.backtest.fast_results import (
    describe_data,
    instrument_precision,
    prepare_frame,
    records_to_frames,
    run_fast,
    to_backtest_result,
    validate_sma_cross_params,
)
from quantdesk.backtest.fast_simulator import (
    FastResult,
    WeightsResult,
    param_grid,
    simulate,
    simulate_summary,
    simulate_weights,
    sma,
    sma_cross_signals,
    sweep_sma_cross,
)

__all__ = [
    "EXIT_REASONS",
    "FILL_DTYPE",
    "FastResult",
    "SUMMARY_FIELDS",
    "TRADE_DTYPE",
    "WeightsResult",
    "describe_data",
    "instrument_precision",
    "param_grid",
    "prepare_frame",
    "records_to_frames",
    "run_fast",
    "simulate",
    "simulate_summary",
    "simulate_weights",
    "sma",
    "sma_cross_signals",
    "sweep_sma_cross",
    "to_backtest_result",
    "validate_sma_cross_params",
]
