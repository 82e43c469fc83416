"""The fast path as a backtest: `run_fast` (a BacktestConfig of a vectorised built-in) and the conversion of
simulator output to the BacktestResult contract (trades, orders, equity, metrics, data description).
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import pandas as pd

from quantdesk.backtest.fast_kernels import (
    EXIT_REASONS,
)
from quantdesk.backtest.fast_simulator import (
    FastResult,
    simulate,
)
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.engine.spec import fingerprint, infer_price_precision


# ---- conversion to the BacktestResult contract --------------------------------------------------------------
def records_to_frames(
    records: np.ndarray, index: pd.Index, symbol: str, col: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trade records of one column -> (trades, orders) frames in the BacktestResult column contract."""
    from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS

    recs = records[records["col"] == col]
    times = pd.DatetimeIndex(index) if isinstance(index, pd.DatetimeIndex) else None

    def t(i: np.ndarray) -> Any:
        return times[i] if times is not None else i

    is_open = recs["is_open"].astype(bool)
    exit_time = pd.Series(t(recs["exit_idx"]), dtype=times.dtype if times is not None else None)
    if times is not None:
        exit_time[is_open] = pd.NaT
    trades = pd.DataFrame(
        {
            "symbol": symbol,
            "side": np.where(recs["direction"] > 0, "long", "short"),
            "entry_time": pd.Series(t(recs["entry_idx"])),
            "exit_time": exit_time,
            "entry_price": recs["entry_price"],
            "exit_price": recs["exit_price"],
            "quantity": recs["quantity"],
            "fees": recs["entry_fee"] + recs["exit_fee"],
            "pnl": recs["pnl"],
            "return_pct": recs["return_pct"],
            "bars_held": (recs["exit_idx"] - recs["entry_idx"]).astype(np.int64),
            "is_open": is_open,
        },
        columns=list(TRADE_COLUMNS),
    )
    # ts = submission time, like the event engine: a market order on the signal bar's close (the bar before
    # its fill); stop-loss / take-profit orders when the entry filled. Two rows per closed trade, one if open.
    k = len(recs)
    long = recs["direction"] > 0
    reasons = np.asarray(EXIT_REASONS, dtype=object)[recs["exit_reason"].astype(np.int64)]
    otype = np.select([reasons == "stop_loss", reasons == "take_profit"], ["stop", "limit"], "market")
    exit_sub = np.where(reasons == "signal", recs["exit_idx"] - 1, recs["entry_idx"])
    entry_rows = pd.DataFrame({
        "ts": pd.Series(t(np.maximum(recs["entry_idx"] - 1, 0))),
        "client_order_id": [f"fp-{col}-{2 * j}" for j in range(k)],
        "symbol": symbol, "side": np.where(long, "buy", "sell"), "type": "market",
        "quantity": recs["quantity"], "price": recs["entry_price"], "status": "filled", "reason": "signal",
        "tags": "", "_key": np.arange(k) * 2,
    })
    closed = ~is_open
    exit_rows = pd.DataFrame({
        "ts": pd.Series(t(exit_sub[closed])),
        "client_order_id": [f"fp-{col}-{2 * j + 1}" for j in np.flatnonzero(closed)],
        "symbol": symbol, "side": np.where(long[closed], "sell", "buy"), "type": otype[closed],
        "quantity": recs["quantity"][closed], "price": recs["exit_price"][closed], "status": "filled",
        "reason": reasons[closed].astype(str), "tags": "", "_key": np.flatnonzero(closed) * 2 + 1,
    })
    orders = pd.concat([entry_rows, exit_rows], ignore_index=True) if k else entry_rows
    orders = orders.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
    orders = orders.reindex(columns=list(ORDER_COLUMNS))
    return trades, orders


def to_backtest_result(fr: FastResult, col: int, data: pd.DataFrame, config: Any, *, indicators=None,
                       data_info: dict[str, Any] | None = None) -> Any:
    """One column of a FastResult as a BacktestResult (metrics from `compute_metrics`)."""
    from quantdesk.backtest.metrics import compute_metrics
    from quantdesk.backtest.result import BacktestResult

    trades, orders = records_to_frames(fr.trades, data.index, config.symbol, col)
    equity = pd.Series(fr.equity[:, col], index=data.index, name="equity")
    close = data[[c for c in data.columns if str(c).lower() == "close"][0]]
    metrics = compute_metrics(trades, equity, close=close)
    info = data_info or describe_data(data, config)
    return BacktestResult(config=config, data_info=info, trades=trades, equity=equity, orders=orders,
                          metrics=metrics, indicators=dict(indicators or {}), events=[])


def describe_data(data: pd.DataFrame, config: Any) -> dict[str, Any]:
    """The run's data description, as the event engine's runner writes it (same fingerprint bytes)."""
    from quantdesk.core.timeutil import iso

    idx = data.index
    fp_hex = fingerprint(data)
    return {
        "symbol": config.symbol,
        "timeframe": config.timeframe,
        "exchange": config.exchange,
        "first": iso(idx[0]) if len(idx) else None,
        "last": iso(idx[-1]) if len(idx) else None,
        "rows": len(data),
        "fingerprint": fp_hex,
    }


def prepare_frame(data: pd.DataFrame, config: Any) -> pd.DataFrame:
    """Normalise (float64 OHLCV, UTC index) and cut to config.start/end, like the event engine's runner."""
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.engine.feed import normalize_ohlcv

    frame = normalize_ohlcv(data)
    if config.start:
        frame = frame[frame.index >= parse_utc(config.start, name="start")]
    if config.end:
        frame = frame[frame.index <= parse_utc(config.end, name="end")]
    if len(frame) == 0:
        raise DataError(f"no bars between start={config.start} and end={config.end}")
    return frame


class Precision(TypedDict):
    """Decimals the simulated venue rounds to (keyword arguments of `simulate`)."""

    price_precision: int
    size_precision: int
    money_precision: int


def instrument_precision(data: pd.DataFrame) -> Precision:
    """The simulated venue's rounding for this data: price decimals found in the data, 8 size decimals."""
    cols = [c for c in data.columns if str(c).lower() in ("open", "high", "low", "close")]
    return {"price_precision": infer_price_precision(data[cols].to_numpy().ravel()), "size_precision": 8,
            "money_precision": 10}


def validate_sma_cross_params(params: dict[str, Any]) -> dict[str, Any]:
    """The event engine's `sma_cross` parameter rules (same defaults, ranges and messages)."""
    from quantdesk.strategies.loader import load_strategy

    return load_strategy("sma_cross").validate_params(dict(params))


def run_fast(config: Any, data: pd.DataFrame) -> Any:
    """A vectorisable built-in strategy (`quantdesk.backtest.signals.REGISTRY`: sma_cross, ema_cross,
    rsi_reversion, macd, bollinger, momentum, vwap_flow, buy_and_hold) through the fast path, as a
    BacktestResult (the `--engine fast` path). Long only: `margin=True` and `risk` configs are refused (use the
    event engine)."""
    from quantdesk.backtest import signals as sig

    name = str(config.strategy).strip().lower()
    if not sig.is_vectorised(name):
        raise ParameterError(
            f"the fast engine runs only the vectorised built-ins ({', '.join(sig.vectorised_strategies())}); "
            f"got {config.strategy!r}; use --engine event"
        )
    if config.margin:
        raise ParameterError(f"the fast engine's {name} is long only (margin=True is not supported); "
                             "use --engine event")
    if getattr(config, "risk", None):
        raise ParameterError("the fast engine has no pre-trade risk checks; run configs with `risk` on the event engine")
    p = sig.validate(name, dict(config.params))
    data = prepare_frame(data, config)
    cache = sig.IndicatorCache(data)
    ent, ext = sig.signals(name, data, p, cache=cache)
    prec = instrument_precision(data)
    fr = simulate(data, ent, ext, cash=config.cash, fee=config.fee, slippage_bps=config.slippage_bps,
                  **prec)
    indicators = sig.indicator_series(name, data, p, cache=cache)
    info = describe_data(data, config)
    info["price_precision"] = prec["price_precision"]
    return to_backtest_result(fr, 0, data, config, indicators=indicators, data_info=info)
