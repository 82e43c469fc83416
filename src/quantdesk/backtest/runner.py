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
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.metrics import compute_metrics
from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS, BacktestResult
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.engine.engine import Progress
from quantdesk.engine.feed import HistoricalFeed, index_ns, normalize_ohlcv
from quantdesk.engine.portfolio import RoundTrip
from quantdesk.engine.spec import build_engine, fingerprint, infer_price_precision, instrument_id
from quantdesk.model.instrument import Instrument
from quantdesk.model.orders import Order
from quantdesk.model.timeframe import Timeframe
from quantdesk.risk.config import parse_risk_config
from quantdesk.risk.engine import RiskEngine
from quantdesk.simulation.models import SlippageModel
from quantdesk.strategies.base import Strategy
from quantdesk.strategies.loader import create_strategy

__all__ = ["fingerprint", "infer_price_precision", "instrument_id", "make_instrument", "run_backtest"]


def make_instrument(config: BacktestConfig, frame: pd.DataFrame, symbol: str | None = None) -> Instrument:
    """The instrument a backtest of `config` trades `symbol` (default `config.symbol`) as (quantdesk.engine.spec)."""
    sym = symbol if symbol is not None else config.symbol
    return config.run_spec([sym]).instrument(sym, frame)


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


def run_backtest(
    config: BacktestConfig,
    data: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
    *,
    detail: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
    strategy: Strategy | None = None,
    risk: RiskEngine | None = None,
    slippage: SlippageModel | None = None,
    progress: Progress | None = None,
    orders_from: Any = None,
) -> BacktestResult:
    """Backtest `config` on `data` (loaded from the store / `data_file` when None) with the event engine.

    `detail`: lower-timeframe bars of the same period, used to resolve intrabar order (stop-loss vs take-profit).
    `strategy`: an already built instance (else built from `config.strategy` + `config.params`).
    `progress(done, total)`: called every 256 bars (steps) and at the end.
    `orders_from`: a time (UTC) before which the strategy's orders are refused (a warm-up that trades nothing).
    """
    frames, details, single = _frames(config, data, detail)
    run = config.run_spec(list(frames))
    strat = strategy if strategy is not None else create_strategy(config.strategy, config.params)
    engine = build_engine(run, strat, frames=frames, risk=_risk_engine(config, risk, strat), slippage=slippage,
                          orders_from_ns=None if orders_from is None else int(parse_utc(orders_from).value))
    try:
        timeframe: Timeframe | None = Timeframe.parse(config.timeframe)
    except ParameterError:
        timeframe = None
    engine.run([HistoricalFeed(inst.id, frames[s], timeframe, details.get(s))
                for s, inst in zip(frames, engine.instruments, strict=True)], progress=progress)
    res = engine.result()
    names = {inst.id: s for s, inst in zip(frames, engine.instruments, strict=True)}
    if single:
        (symbol, frame), = frames.items()
        index = cast(pd.DatetimeIndex, frame.index)  # normalized: a UTC DatetimeIndex
        trades = _trips_table(res.trips, frame, symbol)
        orders = orders_frame(res.orders, symbol)
        indicators = {k: pd.Series(v, index=index, name=k) for k, v in res.indicator_series.items()}
        close = frame["close"]
    else:
        index = pd.DatetimeIndex(pd.to_datetime(res.timeline, unit="ns", utc=True).as_unit("ns"), name="timestamp")
        trades = trades_frame_multi(res.trips, frames, names)
        orders = orders_frame(res.orders, config.symbol, names)
        indicators = {}
        for k, v in res.indicator_series.items():
            sym = names[res.indicator_owner[k]]
            name = f"{sym}:{k.split(':', 1)[1]}"
            indicators[name] = pd.Series(v, index=frames[sym].index, name=name)
        # equal-weight buy & hold: mean over instruments of close / first close (1 before an instrument's first bar)
        rel = (pd.concat([(f["close"] / float(f["close"].iloc[0])).rename(s) for s, f in frames.items()], axis=1,
                         sort=True).reindex(index).ffill().fillna(1.0))
        close = rel.mean(axis=1).rename("close")
    equity = pd.Series(res.equity, index=index, name="equity")
    metrics = compute_metrics(trades, equity, close=close)
    if risk is not None or config.risk is not None:
        metrics["orders_denied"] = sum(1 for o in res.orders if o.status.value == "denied")
        metrics["orders_resized"] = sum(res.resized.values())
    return BacktestResult(config=config, data_info=_data_info(config, frames, engine.instruments, index, single),
                          trades=trades, equity=equity, orders=orders, metrics=metrics, indicators=indicators,
                          events=list(res.events))


def _frames(config: BacktestConfig, data: Any, detail: Any
            ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], bool]:
    """{symbol: bars} (normalised, sliced to the window), {symbol: detail bars}, and whether it is the
    one-instrument form (a DataFrame, or None with one symbol: its outputs keep the one-instrument layout)."""
    from quantdesk import data as qdata

    symbols = split_symbols(config.symbol)
    if isinstance(data, dict) and len(data) == 1:
        ((sym, raw),) = data.items()
        frames = {str(sym): _slice(normalize_ohlcv(raw), config)}
        single = True
    elif isinstance(data, dict):
        frames = {str(s): _slice(normalize_ohlcv(raw, what=f"data[{s!r}]"), config) for s, raw in data.items()}
        single = False
    elif data is None and len(symbols) > 1:
        if config.data_file:
            raise ParameterError("several symbols cannot be loaded from one `data_file`: pass `data` as a dict")
        frames = {s: _slice(normalize_ohlcv(qdata.load(s, config.timeframe, config.exchange, config.start,
                                                       config.end), what=f"data[{s!r}]"), config) for s in symbols}
        single = False
    elif len(symbols) > 1:
        raise ParameterError(
            f"symbol {config.symbol!r} names several instruments: pass `data` as a dict {{symbol: DataFrame}}")
    else:
        raw = _load_data(config) if data is None else data
        frames = {config.symbol: _slice(normalize_ohlcv(raw), config)}
        single = True
    if detail is None:
        details: dict[str, pd.DataFrame] = {}
    elif single and not isinstance(detail, dict):
        details = {next(iter(frames)): detail}
    elif isinstance(detail, dict):
        details = dict(detail)
    else:
        raise ParameterError("with several instruments `detail` must be a dict {symbol: DataFrame}")
    return frames, details, single


def _data_info(config: BacktestConfig, frames: dict[str, pd.DataFrame], insts: list[Instrument],
               index: pd.DatetimeIndex, single: bool) -> dict[str, Any]:
    first = insts[0]
    if single:
        ((symbol, frame),) = frames.items()
        return {"symbol": symbol, "timeframe": config.timeframe, "exchange": config.exchange,
                "first": iso(frame.index[0]), "last": iso(frame.index[-1]), "rows": len(frame),
                "fingerprint": fingerprint(frame), "price_precision": first.price_precision}
    h = hashlib.sha256()
    for s, f in frames.items():
        h.update(s.encode())
        h.update(fingerprint(f).encode())
    return {"symbol": ",".join(frames), "symbols": list(frames), "timeframe": config.timeframe,
            "exchange": config.exchange, "first": iso(index[0]), "last": iso(index[-1]), "rows": len(index),
            "rows_per_symbol": {s: len(f) for s, f in frames.items()}, "fingerprint": h.hexdigest(),
            "price_precision": first.price_precision,
            "price_precisions": {s: i.price_precision for s, i in zip(frames, insts, strict=True)}}


def _risk_engine(config: BacktestConfig, risk: RiskEngine | None, strat: Strategy) -> RiskEngine | None:
    """An explicit `risk` wins; else one built from `config.risk`; else None (no rules)."""
    if risk is not None or config.risk is None:
        return risk
    return RiskEngine.from_settings(parse_risk_config(config.risk), strategy_id=strat.strategy_id)


def trades_frame_multi(trips: list[RoundTrip], frames: dict[str, pd.DataFrame], names: dict[Any, str]
                       ) -> pd.DataFrame:
    """The trades table of a multi-instrument run: per symbol as `trades_frame` (open trips marked to that
    symbol's last close, bars_held in its own bars), rows in the order the round trips were opened."""
    order = {id(t): n for n, t in enumerate(trips)}
    parts: list[pd.DataFrame] = []
    seq: list[int] = []
    for iid, sym in names.items():
        mine = [t for t in trips if t.instrument == iid]
        if mine:
            parts.append(_trips_table(mine, frames[sym], sym))
            seq.extend(order[id(t)] for t in mine)
    if not parts:
        return _trips_table([], next(iter(frames.values())), "")
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[np.argsort(np.array(seq), kind="stable")].reset_index(drop=True)


def trades_frame(trips: list[RoundTrip], frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Round trips as the `trades` table (see backtest/result.py); pnl is net of fees."""
    return _trips_table(trips, frame, symbol)


def _trips_table(trips: list[RoundTrip], frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    ts = index_ns(frame.index)
    last_close = float(frame["close"].iloc[-1])
    n = len(trips)
    entry_price = np.array([float(t.entry_price) for t in trips], dtype=np.float64)
    qty = np.array([float(t.entry_qty) for t in trips], dtype=np.float64)
    fees = np.array([float(t.fees) for t in trips], dtype=np.float64)
    realized = np.array([float(t.realized) for t in trips], dtype=np.float64)
    is_open: npt.NDArray[np.bool_] = np.array([t.is_open for t in trips], dtype=bool)
    sign = np.array([1.0 if t.side == "long" else -1.0 for t in trips], dtype=np.float64)
    remaining = np.array([float(t.entry_qty - t.exit_qty) for t in trips], dtype=np.float64)
    exit_price = np.array([last_close if t.is_open or t.exit_price is None else float(t.exit_price) for t in trips],
                          dtype=np.float64)
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
            "exit_time": exit_time.where(~is_open),  # NaT for open trips
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


def orders_frame(orders: list[Order], symbol: str, names: dict[Any, str] | None = None) -> pd.DataFrame:
    """One row per order, final state: `quantity` = filled quantity if any else requested; `price` = average
    fill price if filled, else the limit / trigger price (NaN for an unfilled market order). `names`
    (instrument id -> symbol) gives each row its own symbol (several instruments)."""
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
            "tags": pd.Series([";".join(o.tags) for o in orders], dtype=object),
        },
        columns=list(ORDER_COLUMNS),
    )
