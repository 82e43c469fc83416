"""The composition root: one frozen run specification and the one function that builds an engine from it.

    run = RunSpec(strategy="sma_cross", params={"fast": 5, "slow": 20}, symbols=("BTC/USDT",), timeframe="1m")
    strategy = create_strategy(run.strategy, run.params)               # quantdesk.strategies.loader
    engine = build_engine(run, strategy, frames={"BTC/USDT": df})      # a backtest: SimulatedClock, batch
    engine = build_engine(run, strategy, indicator_mode="stream", order_gate=write_ahead)   # a paper bot

A `RunSpec` is what backtest, paper and live share (strategy, parameters, instruments, timeframe, cash, costs,
margin, risk); each mode adds only its own part: a backtest its data window (`BacktestConfig`), a paper bot its
feed and pacing (`BotSpec`), a live bot its venue. Instruments are built here only: ticks inferred from the data
(`infer_price_precision`) or given (`price_precisions`), lots of 8 decimals, the run's fees and margin.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from quantdesk.core.errors import ParameterError
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import to_decimal

SIZE_PRECISION = 8


class RunSpec(BaseModel):
    """What determines a run's orders, whatever the mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: tuple[str, ...] = ("BTC/USDT",)
    exchange: str | None = None
    timeframe: str = "1h"
    cash: float = Field(default=10_000.0, gt=0)
    fee: float = Field(default=0.001, ge=0, lt=0.1, description="Fraction of notional, charged per fill.")
    maker_fee: float | None = Field(default=None, ge=0, lt=0.1, description="Limit-order fee; default = fee.")
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)
    margin: bool = Field(default=False, description="Allow short positions.")
    risk: dict[str, Any] | None = Field(default=None, description="RiskSettings fields; None = no risk rules.")
    price_precisions: dict[str, int] = Field(default_factory=dict, description="Ticks (decimals) per symbol; "
                                             "inferred from the data when missing.")

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a run needs at least one symbol")
        if len(set(value)) != len(value):
            raise ValueError(f"symbols {list(value)} list the same symbol twice")
        return value

    def instrument(self, symbol: str, frame: pd.DataFrame | None = None) -> Instrument:
        """The instrument of `symbol`: its tick from `price_precisions`, else inferred from `frame`'s prices."""
        if symbol in self.price_precisions:
            precision = int(self.price_precisions[symbol])
        elif frame is not None:
            precision = infer_price_precision(frame[["open", "high", "low", "close"]].to_numpy().ravel())
        else:
            precision = 2
        fee = to_decimal(self.fee)
        maker = to_decimal(self.maker_fee) if self.maker_fee is not None else fee
        return Instrument(instrument_id(symbol, self.exchange), price_precision=precision,
                          size_precision=SIZE_PRECISION, maker_fee=maker, taker_fee=fee, margin=self.margin)

    def instruments(self, frames: Mapping[str, pd.DataFrame] | None = None) -> list[Instrument]:
        out = [self.instrument(s, (frames or {}).get(s)) for s in self.symbols]
        if len({i.id for i in out}) != len(out):
            raise ParameterError(f"symbols {list(self.symbols)} map to the same instrument id")
        return out


def build_engine(run: RunSpec, strategy: Any, *,
                 instruments: Sequence[Instrument] | None = None, frames: Mapping[str, pd.DataFrame] | None = None,
                 clock: Any = None, bus: Any = None, venue: Any = None, risk: Any = None, slippage: Any = None,
                 indicator_mode: str = "batch", order_gate: Any = None, orders_from_ns: int | None = None) -> Any:
    """The engine of `run` for `strategy` (an instance: `quantdesk.strategies.loader.create_strategy(run.strategy,
    run.params)`; the engine layer does not load strategies), instruments (given, or
    built from the frames' prices / `price_precisions`), risk engine (`risk` given, else from `run.risk`, else
    none), fees and slippage from the run, the simulated venue unless `venue` is given, and the mode's own
    parts (clock, bus, indicator mode, order gate, orders refused before a time). Symbols address their legs."""
    from quantdesk.core.clock import SimulatedClock
    from quantdesk.engine.engine import TradingEngine
    from quantdesk.risk.engine import RiskEngine
    from quantdesk.simulation.models import FeeModel, FixedBps, NoSlippage

    strat = strategy
    insts = list(instruments) if instruments is not None else run.instruments(frames)
    if risk is None and run.risk is not None:
        risk = RiskEngine.from_settings(run.risk, strategy_id=strat.strategy_id)
    if slippage is None:
        slippage = FixedBps(run.slippage_bps) if run.slippage_bps else NoSlippage()
    first = insts[0]
    engine = TradingEngine(strat, insts, cash=Decimal(repr(float(run.cash))),
                           clock=clock if clock is not None else SimulatedClock(), bus=bus, risk=risk,
                           fees=FeeModel(first.maker_fee, first.taker_fee), slippage=slippage, margin=run.margin,
                           venue=venue, indicator_mode=indicator_mode,  # type: ignore[arg-type]
                           order_gate=order_gate, orders_from_ns=orders_from_ns)
    for symbol, inst in zip(run.symbols, insts, strict=True):
        engine.alias(symbol, inst.id)
    return engine


def infer_price_precision(values: np.ndarray, max_decimals: int = 8) -> int:
    """Smallest number of decimals that represents every (sampled) price exactly."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) > 5000:
        x = x[np.linspace(0, len(x) - 1, 5000).astype(np.int64)]
    if len(x) == 0:
        return 2
    for d in range(max_decimals + 1):
        if np.all(np.abs(np.round(x, d) - x) <= 1e-12 * np.maximum(1.0, np.abs(x))):
            return d
    return max_decimals


def instrument_id(symbol: str, exchange: str | None) -> InstrumentId:
    """The id of `symbol` on `exchange` (default venue "sim"); a symbol that is not BASE/QUOTE (a file name)
    becomes `NAME/USD`."""
    venue = (exchange or "sim").lower()
    try:
        return InstrumentId(symbol, venue)
    except ParameterError:
        base = re.sub(r"[^A-Z0-9._-]", "", symbol.upper()) or "ASSET"
        return InstrumentId(f"{base}/USD", venue)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the bars' times and OHLCV values: the data a run's results depend on."""
    from quantdesk.engine.feed import index_ns

    h = hashlib.sha256()
    h.update(index_ns(frame.index).tobytes())
    h.update(np.ascontiguousarray(frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)).tobytes())
    return h.hexdigest()
