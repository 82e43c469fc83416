"""Market data: readers (CSV/Parquet), validation, the Parquet/DuckDB candle store, resampling, synthetic data.

Typical use::

    from quantdesk.data import load
    df = load("BTC/USDT", "1h")            # the bundled sample works on a fresh QD_HOME
    df = load("BTC/USDT", "1h", exchange="binance", start="2024-01-01", end="2024-02-01")

`load` returns a frame with a UTC DatetimeIndex named `timestamp` and float64 open/high/low/close/volume.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.data.importer import ImportResult, import_file
from quantdesk.data.io import read_file, write_candles
from quantdesk.data.resample import resample
from quantdesk.data.sample import SAMPLE_EXCHANGE
from quantdesk.data.store import CandleStore, open_store
from quantdesk.data.validate import ImportReport, ValidationRefused, find_gaps, prepare
from quantdesk.model.identifiers import normalize_symbol, normalize_venue
from quantdesk.model.timeframe import Timeframe

__all__ = [
    "CandleStore",
    "ImportReport",
    "ImportResult",
    "ValidationRefused",
    "find_gaps",
    "import_file",
    "load",
    "open_store",
    "prepare",
    "read_file",
    "resample",
    "resolve_exchange",
    "synth_ohlcv",
    "write_candles",
]


def resolve_exchange(store: CandleStore, symbol: str, timeframe: str) -> str:
    """The exchange holding symbol/timeframe (the user's own data before the bundled sample); NotFoundError, or
    ParameterError when several exchanges hold it."""
    sym, tf = normalize_symbol(symbol), str(Timeframe.parse(timeframe))
    catalog = store.catalog()
    choices = sorted(e["exchange"] for e in catalog if e["symbol"] == sym and e["timeframe"] == tf)
    own = [c for c in choices if c != SAMPLE_EXCHANGE]
    if len(choices) == 1 or (len(own) == 1 and len(choices) == 2):
        return own[0] if own else choices[0]  # data the user imported wins over the bundled sample
    if not choices:
        same_symbol = sorted(f"{e['timeframe']}@{e['exchange']}" for e in catalog if e["symbol"] == sym)
        if same_symbol:
            raise NotFoundError(
                f"no {tf} candles for {sym} in the store at {store.root.resolve()}; {sym} is stored as {', '.join(same_symbol)} "
                f"(resample with `quantdesk data resample {sym} --from <tf> --to {tf}`)"
            )
        from quantdesk.data.store import _what_exists

        raise NotFoundError(
            f"no candles for {sym} in the store at {store.root.resolve()} (QD_HOME={store.root.resolve().parent}); "
            f"{_what_exists(catalog)}; import with `quantdesk data import FILE --symbol {sym} --timeframe {tf}` "
            f"or `quantdesk data download --exchange binance --symbol {sym} --timeframe {tf}`")
    raise ParameterError(
        f"{sym} {tf} is stored on several exchanges ({', '.join(choices)}): pass exchange= (or --exchange) to pick one"
    )


def load(
    symbol: str,
    timeframe: str,
    exchange: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    store: CandleStore | None = None,
    tail: int | None = None,
) -> pd.DataFrame:
    """Candles from the store: UTC DatetimeIndex `timestamp`, float64 OHLCV; start/end inclusive (UTC);
    `tail`: only the last `tail` candles of that range."""
    store = store or open_store()
    ex = normalize_venue(exchange) if exchange is not None else resolve_exchange(store, symbol, timeframe)
    return store.read(ex, symbol, timeframe, start=start, end=end, tail=tail)


def __getattr__(name: str) -> Any:  # lazy: synth pulls in numba
    if name == "synth_ohlcv":
        from quantdesk.data.synth import synth_ohlcv

        return synth_ohlcv
    raise AttributeError(f"module 'quantdesk.data' has no attribute {name!r}")
