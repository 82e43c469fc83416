"""Run a backtest with the event engine: historical feed + SimulatedClock + SimulatedVenue.

    result = run_backtest(BacktestConfig(strategy="sma_cross", params={"fast": 10, "slow": 30}), df)

The instrument is built from the config and the data: fill prices (slipped ones included) are rounded to
the tick implied by the data (the decimals its prices use, at most 8; `infer_price_precision`), quantities are
rounded down to 8 decimals, fees from `fee` (taker) and `maker_fee` (default `fee`), fixed
slippage `slippage_bps`, shorting only with `margin=True`. Working orders left at the end are cancelled
("end of data"); an open position is reported as an open trade marked to the last close (no exit fee).

SEVERAL INSTRUMENTS (one engine, one shared cash balance; every instrument must have the same quote currency):
    run_backtest(BacktestConfig(strategy=..., symbol="ETH/BTC,LTC/BTC", margin=True), {"ETH/BTC": df_eth,
                                                                                        "LTC/BTC": df_ltc})
- `data` may be a dict {symbol: DataFrame} (its keys, in order, are the instruments; the first is the default
  instrument of the strategy; `config.symbol` is then only a label). With `data=None` a comma-separated
  `config.symbol` ("ETH/BTC,LTC/BTC") loads every symbol from the candle store (`data_file` is one file, so it
  cannot be combined with several symbols). A dict of one entry is a one-instrument run.
- Each instrument's tick is inferred from its own prices; fee/margin/slippage settings are shared.
- The bars are aligned on the union of the timestamps (see quantdesk.engine.engine): `equity` is indexed by
  that timeline; `trades`/`orders` have one row per round trip/order with its `symbol` (the dict key);
  `bars_held` counts the instrument's own bars; `indicators` are named "SYMBOL:key" (each on its own index).
- Metrics are the same function; `buy_and_hold_return_pct` is the EQUAL-WEIGHT buy & hold of all the instruments
  (each bought at its first close, held to its last close): the mean of their returns.
- `data_info`: `symbol` = the comma-joined symbols, `symbols` the list, `rows` = timeline length, first/last of
  the timeline, `fingerprint` = sha256 over the per-symbol fingerprints, `price_precision` = the first
  instrument's, `price_precisions` = per symbol.

RISK: backtests run with NO risk rule unless `config.risk` is given (a dict validated as
quantdesk.risk.config.RiskSettings: unspecified keys take the RiskSettings defaults, None switches a rule off;
an invalid dict raises ConfigError naming the key) or a `risk=RiskEngine(...)` is passed (it wins). Denials,
trading-state changes (halts), cooldowns and the kill switch are in `result.events` (dicts with ts (UTC ISO),
type, rule, symbol, details) and, when risk is on, `metrics["orders_denied"]` counts the denied orders and `metrics["orders_resized"]` those sized
down to fit a limit (`risk.fit_to_limits`).
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS, BacktestResult
from quantdesk.core.clock import SimulatedClock
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed, index_ns, normalize_ohlcv
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import to_decimal
from quantdesk.model.timeframe import Timeframe
from quantdesk.risk.config import parse_risk_config
from quantdesk.risk.engine import RiskEngine
from quantdesk.simulation.models import FeeModel, FixedBps, NoSlippage, SlippageModel
from quantdesk.strategies.base import Strategy
from quantdesk.strategies.loader import create_strategy


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
    venue = (exchange or "sim").lower()
    try:
        return InstrumentId(symbol, venue)
    except ParameterError:
        base = re.sub(r"[^A-Z0-9._-]", "", symbol.upper()) or "ASSET"
        return InstrumentId(f"{base}/USD", venue)


def make_instrument(config: BacktestConfig, frame: pd.DataFrame, symbol: str | None = None) -> Instrument:
    prices = frame[["open", "high", "low", "close"]].to_numpy().ravel()
    fee = to_decimal(config.fee)
    maker = to_decimal(config.maker_fee) if config.maker_fee is not None else fee
    return Instrument(
        instrument_id(symbol if symbol is not None else config.symbol, config.exchange),
        price_precision=infer_price_precision(prices),
        size_precision=8,
        maker_fee=maker,
        taker_fee=fee,
        margin=config.margin,
    )


def split_symbols(symbol: str) -> list[str]:
    """'ETH/BTC, LTC/BTC' -> ['ETH/BTC', 'LTC/BTC'] (a single symbol -> [symbol])."""
    out = [s.strip() for s in symbol.split(",") if s.strip()]
    if len(set(out)) != len(out):
        raise ParameterError(f"symbol {symbol!r} lists the same symbol twice")
    return out or [symbol]


def _load_data(config: BacktestConfig) -> pd.DataFrame:
    """`data_file`: read + validate with quantdesk.data (read_file + prepare); else the candle store (`load`)."""
    from quantdesk import data as qdata

    if config.data_file:
        raw = qdata.read_file(config.data_file)
        frame, _report = qdata.prepare(raw, config.timeframe)
        return frame
    return qdata.load(config.symbol, config.timeframe, config.exchange, config.start, config.end)


def _slice(frame: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    if config.start:
        frame = frame[frame.index >= parse_utc(config.start, name="start")]
    if config.end:
        frame = frame[frame.index <= parse_utc(config.end, name="end")]
    if len(frame) == 0:
        raise DataError(f"no bars between start={config.start} and end={config.end}")
    return frame


def fingerprint(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(index_ns(frame.index).tobytes())
    h.update(
        np.ascontiguousarray(frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)).tobytes()
    )
    return h.hexdigest()


def run_backtest(
    config: BacktestConfig,
    data: pd.DataFrame | None = None,
    *,
    detail: pd.DataFrame | None = None,
    strategy: Strategy | None = None,
    risk: RiskEngine | None = None,
    slippage: SlippageModel | None = None,
) -> BacktestResult:
    """Backtest `config` on `data` (loaded from the store / `data_file` when None) with the event engine.

    `detail`: lower-timeframe bars of the same period, used to resolve intrabar order (stop-loss vs take-profit).
    `strategy`: an already built instance (else built from `config.strategy` + `config.params`).
    """
    symbol = config.symbol
    if isinstance(data, dict) and len(data) == 1:
        ((symbol, data),) = data.items()
        symbol = str(symbol)
    elif isinstance(data, dict) or (data is None and len(split_symbols(config.symbol)) > 1):
        return _run_multi(config, data, detail=detail, strategy=strategy, risk=risk, slippage=slippage)
    elif len(split_symbols(config.symbol)) > 1:
        raise ParameterError(
            f"symbol {config.symbol!r} names several instruments: pass `data` as a dict {{symbol: DataFrame}}"
        )
    raw = _load_data(config) if data is None else data
    frame = _slice(normalize_ohlcv(raw), config)
    inst = make_instrument(config, frame, symbol)
    strat = strategy if strategy is not None else create_strategy(config.strategy, config.params)
    risk = _risk_engine(config, risk, strat)
    if slippage is None:
        slippage = FixedBps(config.slippage_bps) if config.slippage_bps else NoSlippage()
    engine = TradingEngine(
        strat,
        inst,
        cash=Decimal(repr(float(config.cash))),
        clock=SimulatedClock(),
        risk=risk,
        fees=FeeModel(inst.maker_fee, inst.taker_fee),
        slippage=slippage,
        margin=config.margin,
    )
    try:
        timeframe = Timeframe.parse(config.timeframe)
    except ParameterError:
        timeframe = None
    engine.run(HistoricalFeed(inst.id, frame, timeframe, detail))
    equity = pd.Series(engine.equity_array(), index=frame.index, name="equity")
    trades = trades_frame(engine, frame, symbol)
    orders = orders_frame(engine, symbol)
    indicators = {k: pd.Series(v, index=frame.index, name=k) for k, v in engine.indicator_series.items()}
    metrics: dict[str, float] = {}
    try:
        from quantdesk.backtest.metrics import compute_metrics
    except ImportError:
        compute_metrics = None  # type: ignore[assignment]
    if compute_metrics is not None:
        metrics = compute_metrics(trades, equity, close=frame["close"])
    _risk_metrics(metrics, engine, config, risk)
    data_info: dict[str, Any] = {
        "symbol": symbol,
        "timeframe": config.timeframe,
        "exchange": config.exchange,
        "first": iso(frame.index[0]),
        "last": iso(frame.index[-1]),
        "rows": len(frame),
        "fingerprint": fingerprint(frame),
        "price_precision": inst.price_precision,
    }
    return BacktestResult(
        config=config,
        data_info=data_info,
        trades=trades,
        equity=equity,
        orders=orders,
        metrics=metrics,
        indicators=indicators,
        events=list(engine.events),
    )


def _run_multi(
    config: BacktestConfig,
    data: dict[str, pd.DataFrame] | None,
    *,
    detail: dict[str, pd.DataFrame] | None,
    strategy: Strategy | None,
    risk: RiskEngine | None,
    slippage: SlippageModel | None,
) -> BacktestResult:
    """Several instruments in one engine (see the module docstring)."""
    from quantdesk import data as qdata

    if data is None:
        if config.data_file:
            raise ParameterError(
                "several symbols cannot be loaded from one `data_file`: pass `data` as a dict"
            )
        data = {
            s: qdata.load(s, config.timeframe, config.exchange, config.start, config.end)
            for s in split_symbols(config.symbol)
        }
    if detail is not None and not isinstance(detail, dict):
        raise ParameterError("with several instruments `detail` must be a dict {symbol: DataFrame}")
    frames = {str(s): _slice(normalize_ohlcv(raw, what=f"data[{s!r}]"), config) for s, raw in data.items()}
    insts = {s: make_instrument(config, f, s) for s, f in frames.items()}
    if len({i.id for i in insts.values()}) != len(insts):
        raise ParameterError(f"symbols {list(insts)} map to the same instrument id")
    strat = strategy if strategy is not None else create_strategy(config.strategy, config.params)
    risk = _risk_engine(config, risk, strat)
    if slippage is None:
        slippage = FixedBps(config.slippage_bps) if config.slippage_bps else NoSlippage()
    first = next(iter(insts.values()))
    engine = TradingEngine(
        strat,
        list(insts.values()),
        cash=Decimal(repr(float(config.cash))),
        clock=SimulatedClock(),
        risk=risk,
        fees=FeeModel(first.maker_fee, first.taker_fee),
        slippage=slippage,
        margin=config.margin,
    )
    for s, inst in insts.items():
        engine.alias(s, inst.id)
    try:
        timeframe = Timeframe.parse(config.timeframe)
    except ParameterError:
        timeframe = None
    detail = detail or {}
    engine.run([HistoricalFeed(inst.id, frames[s], timeframe, detail.get(s)) for s, inst in insts.items()])
    timeline = pd.DatetimeIndex(
        pd.to_datetime(np.frombuffer(engine.timeline, dtype=np.int64), unit="ns", utc=True).as_unit("ns"),
        name="timestamp",
    )
    equity = pd.Series(engine.equity_array(), index=timeline, name="equity")
    names = {inst.id: s for s, inst in insts.items()}
    trades = trades_frame_multi(engine, frames, names)
    orders = orders_frame(engine, config.symbol, names)
    indicators = {}
    for k, v in engine.indicator_series.items():
        leg = engine.indicator_owner[k]
        sym = names[leg.iid]
        name = f"{sym}:{k.split(':', 1)[1]}"
        indicators[name] = pd.Series(v, index=frames[sym].index, name=name)
    # equal-weight buy & hold: mean over instruments of close / first close (1 before an instrument's first bar)
    rel = (
        pd.concat(
            [(f["close"] / float(f["close"].iloc[0])).rename(s) for s, f in frames.items()], axis=1, sort=True
        )
        .reindex(timeline)
        .ffill()
        .fillna(1.0)
    )
    bh = rel.mean(axis=1).rename("close")
    metrics: dict[str, float] = {}
    try:
        from quantdesk.backtest.metrics import compute_metrics
    except ImportError:
        compute_metrics = None  # type: ignore[assignment]
    if compute_metrics is not None:
        metrics = compute_metrics(trades, equity, close=bh)
    _risk_metrics(metrics, engine, config, risk)
    h = hashlib.sha256()
    for s, f in frames.items():
        h.update(s.encode())
        h.update(fingerprint(f).encode())
    data_info: dict[str, Any] = {
        "symbol": ",".join(frames),
        "symbols": list(frames),
        "timeframe": config.timeframe,
        "exchange": config.exchange,
        "first": iso(timeline[0]),
        "last": iso(timeline[-1]),
        "rows": len(timeline),
        "rows_per_symbol": {s: len(f) for s, f in frames.items()},
        "fingerprint": h.hexdigest(),
        "price_precision": first.price_precision,
        "price_precisions": {s: i.price_precision for s, i in insts.items()},
    }
    return BacktestResult(
        config=config,
        data_info=data_info,
        trades=trades,
        equity=equity,
        orders=orders,
        metrics=metrics,
        indicators=indicators,
        events=list(engine.events),
    )


def _risk_engine(config: BacktestConfig, risk: RiskEngine | None, strat: Strategy) -> RiskEngine | None:
    """An explicit `risk` wins; else one built from `config.risk`; else None (no rules)."""
    if risk is not None or config.risk is None:
        return risk
    return RiskEngine.from_settings(parse_risk_config(config.risk), strategy_id=strat.strategy_id)


def _risk_metrics(
    metrics: dict[str, float], engine: TradingEngine, config: BacktestConfig, risk: RiskEngine | None
) -> None:
    if risk is None and config.risk is None:
        return
    metrics["orders_denied"] = sum(1 for o in engine.orders if o.status.value == "denied")
    metrics["orders_resized"] = sum(engine.risk.resized_counts().values())


def trades_frame_multi(
    engine: TradingEngine, frames: dict[str, pd.DataFrame], names: dict[Any, str]
) -> pd.DataFrame:
    """The trades table of a multi-instrument run: per symbol as `trades_frame` (open trips marked to that
    symbol's last close, bars_held in its own bars), rows in the order the round trips were opened."""
    trips = engine.portfolio.trips
    order = {id(t): n for n, t in enumerate(trips)}
    parts, seq = [], []
    for iid, sym in names.items():
        mine = [t for t in trips if t.instrument == iid]
        if mine:
            parts.append(_trips_table(mine, frames[sym], sym))
            seq.extend(order[id(t)] for t in mine)
    if not parts:
        return _trips_table([], next(iter(frames.values())), "")
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[np.argsort(np.array(seq), kind="stable")].reset_index(drop=True)


def trades_frame(engine: TradingEngine, frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Round trips as the `trades` table (see backtest/result.py); pnl is net of fees."""
    return _trips_table(engine.portfolio.trips, frame, symbol)


def _trips_table(trips: list, frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    ts = index_ns(frame.index)
    last_close = float(frame["close"].iloc[-1])
    n = len(trips)
    entry_price = np.array([float(t.entry_price) for t in trips], dtype=np.float64)
    qty = np.array([float(t.entry_qty) for t in trips], dtype=np.float64)
    fees = np.array([float(t.fees) for t in trips], dtype=np.float64)
    realized = np.array([float(t.realized) for t in trips], dtype=np.float64)
    is_open = np.array([t.is_open for t in trips], dtype=bool)
    sign = np.array([1.0 if t.side == "long" else -1.0 for t in trips], dtype=np.float64)
    remaining = np.array([float(t.entry_qty - t.exit_qty) for t in trips], dtype=np.float64)
    exit_price = np.array([last_close if t.is_open else float(t.exit_price) for t in trips], dtype=np.float64)
    entry_ts = np.array([t.entry_ts for t in trips], dtype=np.int64)
    exit_ts = np.array([t.exit_ts if t.exit_ts is not None else ts[-1] for t in trips], dtype=np.int64)
    pnl = np.where(is_open, realized + sign * remaining * (last_close - entry_price) - fees, realized - fees)
    notional = entry_price * qty
    entry_bar = np.searchsorted(ts, entry_ts, side="right") - 1
    exit_bar = np.where(is_open, len(ts) - 1, np.searchsorted(ts, exit_ts, side="right") - 1)
    exit_time = pd.to_datetime(exit_ts, unit="ns", utc=True).as_unit("ns")
    out = pd.DataFrame(
        {
            "symbol": pd.Series([symbol] * n, dtype=object),
            "side": pd.Series([t.side for t in trips], dtype=object),
            "entry_time": pd.to_datetime(entry_ts, unit="ns", utc=True).as_unit("ns"),
            "exit_time": exit_time.where(~is_open, pd.NaT),
            "entry_price": entry_price,
            "exit_price": exit_price,
            "quantity": qty,
            "fees": fees,
            "pnl": pnl,
            "return_pct": np.divide(pnl * 100.0, notional, out=np.zeros(n), where=notional != 0),
            "bars_held": (exit_bar - entry_bar).astype(np.int64),
            "is_open": is_open,
        },
        columns=list(TRADE_COLUMNS),
    )
    return out


def orders_frame(engine: TradingEngine, symbol: str, names: dict[Any, str] | None = None) -> pd.DataFrame:
    """One row per order, final state: `quantity` = filled quantity if any else requested; `price` = average
    fill price if filled, else the limit / trigger price (NaN for an unfilled market order). `names`
    (instrument id -> symbol) gives each row its own symbol (several instruments)."""
    orders = engine.orders
    symbols = [symbol] * len(orders) if names is None else [names.get(o.instrument, symbol) for o in orders]
    nan = float("nan")
    qty, price = [], []
    for o in orders:
        q = o.filled_qty if o.filled_qty > 0 else o.quantity
        qty.append(float(q) if q is not None else nan)
        p = o.avg_price if o.avg_price is not None else (o.price if o.price is not None else o.trigger_price)
        price.append(float(p) if p is not None else nan)
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(
                np.array([o.ts_init for o in orders], dtype=np.int64), unit="ns", utc=True
            ).as_unit("ns"),
            "client_order_id": pd.Series([o.client_order_id for o in orders], dtype=object),
            "symbol": pd.Series(symbols, dtype=object),
            "side": pd.Series([o.side.value for o in orders], dtype=object),
            "type": pd.Series([o.type.value for o in orders], dtype=object),
            "quantity": np.array(qty, dtype=np.float64),
            "price": np.array(price, dtype=np.float64),
            "status": pd.Series([o.status.value for o in orders], dtype=object),
            "reason": pd.Series([o.reason for o in orders], dtype=object),
        },
        columns=list(ORDER_COLUMNS),
    )
