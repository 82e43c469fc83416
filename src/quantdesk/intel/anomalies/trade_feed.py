"""Whale watching on a live trade stream: poll an exchange's public trades (ccxt `fetch_trades`) and feed each new
trade, in exchange order, to a `WhaleWatcher`; whale trades become `AnomalyDetected` events (kind "whale", with
side and notional) handed to `on_event` (publish on a bus, store, count: see service.dispatch).

    poller = TradePoller(make_exchange("binance"), "BTC/USDT", WhaleWatcher(z=6), on_event=handle)
    poller.poll()          # call on a timer: returns the whale events of the new trades

Polls overlap on purpose (`since` = the last trade's time, inclusive); trades already seen (same id) are
skipped, so each trade reaches the watcher exactly once and the result equals `detect_whales` on the same trades.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from quantdesk.intel.anomalies.events import AnomalyDetected
from quantdesk.intel.anomalies.whales import WhaleWatcher


class TradePoller:
    def __init__(self, exchange: Any, symbol: str, watcher: WhaleWatcher, *, since_ms: int | None = None,
                 limit: int = 1000, source: str = "trades", on_event: Callable[[AnomalyDetected], None] | None = None
                 ) -> None:
        self.exchange, self.symbol, self.watcher = exchange, symbol, watcher
        self.since, self.limit, self.source, self.on_event = since_ms, limit, source, on_event
        self._seen: deque[str] = deque(maxlen=10_000)
        self._seen_set: set[str] = set()
        self.trades = 0

    def poll(self) -> list[AnomalyDetected]:
        """One request; the whale events among the trades not seen before."""
        rows = self.exchange.fetch_trades(self.symbol, since=self.since, limit=self.limit)
        rows = sorted(rows, key=lambda t: (int(t["timestamp"]), str(t["id"])))
        out: list[AnomalyDetected] = []
        for t in rows:
            tid = str(t["id"])
            if tid in self._seen_set:
                continue
            self._remember(tid)
            self.trades += 1
            price, amount = float(t["price"]), float(t["amount"])
            score = self.watcher.update(price, amount)
            ts = int(t["timestamp"]) * 1_000_000
            self.since = int(t["timestamp"])
            if score is None:
                continue
            ev = AnomalyDetected(ts, ts, self.symbol, "whale", float(score), "robust_z", "", "whale",
                                 side=str(t.get("side") or "unknown"), price=price, notional=abs(price * amount),
                                 source=self.source, details={"amount": amount, "trade_id": tid})
            out.append(ev)
            if self.on_event is not None:
                self.on_event(ev)
        return out

    def _remember(self, tid: str) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(tid)
        self._seen_set.add(tid)
