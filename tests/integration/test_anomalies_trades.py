"""Whale watching on a live trade stream: the real ccxt binance client polls a local Binance-compatible server
(aggregated trades revealed step by step, like a live market); the poller's whales equal `detect_whales` on the
same trades, each with its side and notional."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from fake_exchange import FakeBinance

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"
T0 = 1_700_000_000_000


class TradesServer:
    """GET /api/v3/exchangeInfo (+ fapi/dapi, via FakeBinance's) and /api/v3/aggTrades with startTime/endTime/
    limit, answering only the trades at or before `horizon_ms` (the live edge)."""

    def __init__(self, trades: pd.DataFrame) -> None:
        self.trades = trades
        self.horizon_ms = T0
        info = FakeBinance(DATA_FILE)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                if url.path == "/api/v3/exchangeInfo":
                    body: Any = info.exchange_info(True)
                elif url.path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
                    body = info.exchange_info(False)
                elif url.path == "/api/v3/aggTrades":
                    body = server.agg_trades(q)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def agg_trades(self, q: dict[str, str]) -> list[dict[str, Any]]:
        t = self.trades
        lo = int(q.get("startTime", 0))
        hi = min(int(q.get("endTime", 2**62)), self.horizon_ms)
        sel = t[(t["ms"] >= lo) & (t["ms"] <= hi)].head(int(q.get("limit", 500)))
        return [{"a": int(r.id), "p": f"{r.price:.2f}", "q": f"{r.amount:.8f}", "f": int(r.id), "l": int(r.id),
                 "T": int(r.ms), "m": bool(r.side == "sell"), "M": True} for r in sel.itertuples()]

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def test_poller_finds_the_whales_of_a_live_trade_stream(tmp_path) -> None:
    from quantdesk.data.ccxt_client import make_exchange
    from quantdesk.intel.anomalies.trade_feed import TradePoller
    from quantdesk.intel.anomalies.whales import WhaleWatcher, detect_whales
    from quantdesk.settings import Settings

    rng = np.random.default_rng(4)
    n = 3000
    ms = T0 + np.cumsum(rng.integers(50, 400, n))  # several trades may share a millisecond
    ms[100:103] = ms[100]
    amount = np.round(np.exp(rng.normal(-3.0, 0.7, n)), 8)
    planted = np.sort(rng.choice(np.arange(700, n), size=8, replace=False))
    amount[planted] = np.round(amount[planted] * 300, 8)
    trades = pd.DataFrame({"id": np.arange(n) + 1, "ms": ms, "price": np.round(30_000 + np.cumsum(rng.normal(0, 2, n)), 2),
                           "amount": amount, "side": np.where(rng.random(n) < 0.5, "buy", "sell")})
    server = TradesServer(trades)
    try:
        settings = Settings(home=tmp_path / "qdhome", exchanges={"binance": {"base_url": server.base_url}})
        ex = make_exchange("binance", settings, timeout_s=10)
        seen: list[Any] = []
        poller = TradePoller(ex, "BTC/USDT", WhaleWatcher(window=300, z=6.0), since_ms=T0, limit=700,
                             on_event=seen.append)
        found = []
        for horizon in np.linspace(T0, ms[-1], 12).astype(np.int64)[1:]:
            server.horizon_ms = int(horizon)
            for _ in range(4):  # a few polls per step: at most `limit` trades per request
                found += poller.poll()
        assert poller.trades == n, "every trade must reach the watcher exactly once"
    finally:
        server.close()
    ref = detect_whales(pd.DataFrame({"timestamp": pd.to_datetime(trades["ms"], unit="ms", utc=True),
                                      "price": trades["price"], "amount": trades["amount"], "side": trades["side"]}),
                        window=300, z=6.0)
    assert [e.ts_event for e in found] == [int(t.value) for t in ref["timestamp"]]
    assert [e.side for e in found] == list(ref["side"]) and found == seen
    np.testing.assert_allclose([e.notional for e in found], ref["notional"], rtol=1e-12)
    assert {int(i) for i in trades["id"].to_numpy()[planted]} <= {int(e.details["trade_id"]) for e in found}


def test_cli_polls_an_exchange_for_whales(tmp_path) -> None:
    from test_regimes_cli import run

    rng = np.random.default_rng(5)
    n = 800
    amount = np.round(np.exp(rng.normal(-3.0, 0.5, n)), 8)
    amount[[500, 650]] = amount[[500, 650]] * 500
    trades = pd.DataFrame({"id": np.arange(n) + 1, "ms": T0 + np.arange(n) * 100, "price": 30_000.0,
                           "amount": amount, "side": ["buy"] * n})
    server = TradesServer(trades)
    server.horizon_ms = T0 + n * 100
    home = tmp_path / "home"
    try:
        proc = run(home, "--json", "anomaly", "whales", "--exchange", "binance", "--symbol", "BTC/USDT",
                   "--polls", "2", "--interval", "0", "--window", "200", "--no-store",
                   env_extra={"QD_EXCHANGES__BINANCE__BASE_URL": server.base_url})
    finally:
        server.close()
    doc = json.loads(proc.stdout)
    assert doc["trades"] == 800 and doc["whales"] == 2
    assert doc["buy_notional"] == pytest.approx(30_000.0 * (amount[500] + amount[650]))
    bad = run(home, "anomaly", "whales", "--symbol", "X", check=False)
    assert bad.returncode != 0 and "exactly one" in bad.stderr
