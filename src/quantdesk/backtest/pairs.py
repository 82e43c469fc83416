"""Backtest a pair of instruments with the built-in `pairs` strategy (quantdesk.strategies.pairs) in one engine.

It lives in the backtest layer because it runs the backtest runner; the strategy itself does not import it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.result import BacktestResult
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.errors import DataError
from quantdesk.strategies.pairs import Pairs


def run_pairs(
    data_a: pd.DataFrame,
    data_b: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    symbols: tuple[str, str] = ("A/QUOTE", "B/QUOTE"),
    cash: float = 10_000.0,
    fee: float = 0.001,
    margin: bool = True,
    timeframe: str = "1h",
    strategy: Pairs | None = None,
) -> BacktestResult:
    """Backtest the pair (A = `data_a`) in one multi-instrument engine; returns the BacktestResult."""
    if symbols[0] == symbols[1]:
        raise DataError("pairs: the two symbols must differ")
    cfg = BacktestConfig(
        strategy="pairs",
        params=dict(params or {}),
        symbol=",".join(symbols),
        cash=cash,
        fee=fee,
        margin=margin,
        timeframe=timeframe,
    )
    return run_backtest(cfg, {symbols[0]: data_a, symbols[1]: data_b}, strategy=strategy)
