"""A local Binance-compatible HTTP server for download tests (test helper, not a mock of ccxt).

The real `ccxt.binance` class talks to it over real HTTP. It implements what ccxt 4.5's binance
`load_markets` + `fetch_ohlcv` call on the public spot API:

- `GET /api/v3/exchangeInfo` (one BTCUSDT spot symbol), `/fapi/v1/exchangeInfo` and `/dapi/v1/exchangeInfo`
  (no symbols), so the default `fetchMarkets` types (spot, linear, inverse) all load.
- `GET /api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=..&endTime=..&limit=..` in Binance's
  array-of-arrays format with string prices, served from a real 1m CSV file (decimal text copied unchanged).
  Semantics as Binance: candles with `startTime <= open time <= endTime`, at most `limit` (default 500,
  max 1000, otherwise error -1130), unknown symbol -> HTTP 400 `{"code": -1121, "msg": "Invalid symbol."}`.

Faults are injected with `inject(...)`: an HTTP status (429 with Retry-After, 5xx), a timeout (the handler
sleeps longer than the client's timeout), or a malformed page (bad JSON, wrong shape, non-numeric values,
candles outside the requested range). Every request is logged (`requests`) with its arrival time
(monotonic), path, query and the status answered.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

KLINES = "/api/v3/klines"
MALFORMED_KINDS = ("json", "shape", "nonnumeric", "out_of_range", "invalid_candle")


@dataclass
class Fault:
    """One injected fault. Matches requests to `path` (and `start_ms` if given), `count` times (None = always)."""

    kind: str  # "status" | "timeout" | "malformed"
    path: str = KLINES
    count: int | None = 1
    start_ms: int | None = None
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 2.0
    variant: str = "json"  # for kind == "malformed": one of MALFORMED_KINDS

    def matches(self, path: str, query: dict[str, str]) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if path != self.path:
            return False
        return self.start_ms is None or query.get("startTime") == str(self.start_ms)


@dataclass
class LoggedRequest:
    t: float
    path: str
    query: dict[str, str]
    status: int = 0
    rows: int = 0

    @property
    def start_ms(self) -> int | None:
        value = self.query.get("startTime")
        return int(value) if value is not None else None


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    requests: list[LoggedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@functools.lru_cache(maxsize=4)
def _load(csv_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Open times (ms) and the OHLCV decimal text of a data file (read once per process)."""
    frame = pd.read_csv(csv_path, dtype=str)
    ts = pd.to_datetime(frame["timestamp"], utc=True)
    epoch = pd.Timestamp(0, tz="UTC")
    open_ms = ((ts - epoch) // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64)
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=object)
    open_ms.setflags(write=False)
    values.setflags(write=False)
    return open_ms, values


class FakeBinance:
    """Serve `csv_path` (a 1m OHLCV file in the tests/data layout) as Binance spot BTCUSDT klines."""

    def __init__(self, csv_path: Path, *, symbol: str = "BTCUSDT", base: str = "BTC", quote: str = "USDT") -> None:
        self.open_ms, self.values = _load(str(csv_path))
        self.symbol, self.base, self.quote = symbol, base, quote
        self.state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What goes into `settings.exchanges['binance'].base_url`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def kline_requests(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == KLINES]

    def clear_log(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    def inject(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind=kind, **kwargs)
        if kind == "malformed" and fault.variant not in MALFORMED_KINDS:
            raise ValueError(f"unknown malformed variant {fault.variant!r}")
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def start(self) -> FakeBinance:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- data -----------------------------------------------------------------------------------
    def klines(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[list[Any]]:
        hi = len(self.open_ms) if end_ms is None else int(np.searchsorted(self.open_ms, end_ms, side="right"))
        if start_ms is None:  # as Binance: without startTime, the most recent `limit` candles up to endTime
            lo = max(0, hi - limit)
        else:
            lo = int(np.searchsorted(self.open_ms, start_ms, side="left"))
            hi = min(hi, lo + limit)
        rows = []
        for i in range(lo, hi):
            o, h, low, c, v = self.values[i]
            t = int(self.open_ms[i])
            rows.append([t, o, h, low, c, v, t + 59_999, "0", 0, "0", "0", "0"])
        return rows

    def exchange_info(self, with_symbol: bool) -> dict[str, Any]:
        symbols = []
        if with_symbol:
            symbols.append(
                {
                    "symbol": self.symbol,
                    "status": "TRADING",
                    "baseAsset": self.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": self.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
                         "tickSize": "0.01000000"},
                        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                         "stepSize": "0.00001000"},
                        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
                         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        }


def _make_handler(fake: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # silence stderr
            return

        def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else body
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            entry = LoggedRequest(t=time.monotonic(), path=url.path, query=query)
            with fake.state.lock:
                fake.state.requests.append(entry)
                fault = next((f for f in fake.state.faults if f.matches(url.path, query)), None)
                if fault is not None and fault.count is not None:
                    fault.count -= 1
            status, body, headers = self._answer(url.path, query, fault, entry)
            entry.status = status
            if status == 0:  # timeout: the client gave up long ago
                return
            self._send(status, body, headers)

        def _answer(
            self, path: str, query: dict[str, str], fault: Fault | None, entry: LoggedRequest
        ) -> tuple[int, str, dict[str, str]]:
            if fault is not None and fault.kind == "timeout":
                time.sleep(fault.delay_s)
                self.close_connection = True
                return 0, "", {}
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                if fault.status == 429:
                    body = json.dumps({"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."})
                else:
                    body = f"<html><body><h1>{fault.status} Server Error</h1></body></html>"
                return fault.status, body, headers
            if path == "/api/v3/exchangeInfo":
                return 200, json.dumps(fake.exchange_info(True)), {}
            if path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
                return 200, json.dumps(fake.exchange_info(False)), {}
            if path == "/api/v3/ping":
                return 200, "{}", {}
            if path == KLINES:
                return self._klines(query, fault, entry)
            return 404, json.dumps({"code": -1, "msg": f"no route {path}"}), {}

        def _klines(self, query: dict[str, str], fault: Fault | None, entry: LoggedRequest) -> tuple[int, str, dict[str, str]]:
            if query.get("symbol") != fake.symbol:
                return 400, json.dumps({"code": -1121, "msg": "Invalid symbol."}), {}
            if query.get("interval") != "1m":
                return 400, json.dumps({"code": -1120, "msg": "Invalid interval."}), {}
            try:
                limit = int(query.get("limit", "500"))
                start = int(query["startTime"]) if "startTime" in query else None
                end = int(query["endTime"]) if "endTime" in query else None
            except ValueError:
                return 400, json.dumps({"code": -1100, "msg": "Illegal characters found in a parameter."}), {}
            if not 1 <= limit <= 1000:
                return 400, json.dumps({"code": -1130, "msg": "Invalid data sent for a parameter."}), {}
            rows = fake.klines(start, end, limit)
            entry.rows = len(rows)
            if fault is not None and fault.kind == "malformed":
                return 200, _malformed(fault.variant, rows, start), {}
            return 200, json.dumps(rows), {}

    return Handler


def _malformed(variant: str, rows: list[list[Any]], start_ms: int | None) -> str:
    if variant == "json":
        return json.dumps(rows)[: max(10, len(json.dumps(rows)) // 2)]  # truncated JSON
    if variant == "shape":
        return json.dumps({"data": rows[:3], "note": "not an array of klines"})
    if variant == "nonnumeric":
        bad = [list(r) for r in rows]
        if bad:
            bad[len(bad) // 2][2] = "n/a"
        return json.dumps(bad)
    if variant == "out_of_range":
        bad = [list(r) for r in rows]
        if bad:
            shift = 86_400_000 * 3  # three days later than asked
            bad[-1][0] = bad[-1][0] + shift
            bad[-1][6] = bad[-1][6] + shift
        return json.dumps(bad)
    if variant == "invalid_candle":
        bad = [list(r) for r in rows]
        if bad:
            row = bad[len(bad) // 2]
            row[2], row[3] = row[3], str(float(row[2]) + 1000.0)  # high below low
        return json.dumps(bad)
    raise ValueError(variant)
