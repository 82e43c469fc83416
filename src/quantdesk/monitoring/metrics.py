"""Platform metrics (Prometheus) on a per-service CollectorRegistry: several apps in one process never clash.

    m = PlatformMetrics()
    m.attach_bot(bot)          # paper bot: bars, signals, orders, fills, denials, equity/P&L, feed lag, latency
    m.detach_bot("b1")         # its gauges disappear (counters and histograms stay: they are monotonic)
    m.set_probes(database=probe, redis=probe)   # DB / Redis health, checked when /metrics is scraped
    body = m.render()

Hot path: `attach_bot` subscribes to the bot's `BarProcessed` events; per processed bar it does one histogram
observation, one counter increment and three gauge sets on label children bound at attach time (no label
lookups, no allocation beyond floats). Orders, fills, denials and P&L are counted from the bar's commit (the
rows exactly as persisted), so the counters agree with the API's own numbers; signals from `on_signal`.

Names follow prometheus-client conventions: `qd_` prefix, `_total` counters, `_seconds` durations.
`qd_paper_orders_total{status}` counts each order once per status it reached as committed: "submitted" = every
order placed (what GET /orders lists), then accepted / partially_filled / filled / canceled / denied / rejected /
expired. Terminal statuses are exact; an intermediate status that lasted less than one bar may be skipped.
Feed lag (`qd_paper_feed_lag_seconds`): exchange feeds = wall now - bar close; replay feeds = how late the bar
was processed behind its schedule (previous bar + the replay's pacing delay), i.e. time lost to other bots / locks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from quantdesk.model.bot_events import watch_bot
from quantdesk.model.order_tags import is_strategy_signal

BAR_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
               2.5)
LOOP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TERMINAL = frozenset({"filled", "canceled", "denied", "rejected", "expired"})
UNMATCHED = "unmatched"  # route label of requests no route matched (bounded cardinality)

now = time.perf_counter  # the monotonic clock of every per-bot timestamp below


@dataclass
class BotTrack:
    """What the monitoring knows about one attached bot (read by the health report)."""

    bot: Any
    currency: str
    live: bool
    attached_at: float
    last_bar_at: float | None = None  # `now()` after the last processed bar
    last_bar_ts: int | None = None  # bar open time (UTC ns) of the last processed bar
    lag_s: float = 0.0
    failed_polls_at_bar: int = 0  # exchange feed: failed polls counted when the last bar arrived
    error: str | None = None  # last strategy error ("callback: Type: message")
    cost: float = 0.0  # cost basis of the open positions (for unrealized P&L), refreshed on fills
    open_orders: dict[str, str] = field(default_factory=dict)  # client order id -> last committed status
    undo: list[Callable[[], None]] = field(default_factory=list)


class PlatformMetrics:
    """Every qd_ metric of one service/app; see the module docstring."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = reg = registry if registry is not None else CollectorRegistry()
        if process:
            ProcessCollector(registry=reg)
        # ---- paper bots
        self.bars = Counter("qd_paper_bars_processed", "Bars processed by a paper bot", ["bot"], registry=reg)
        self.signals = Counter("qd_paper_signals", "Signals recorded (manual, simulated, ...)", ["bot", "source"],
                               registry=reg)
        self.orders = Counter("qd_paper_orders", "Orders by the status they reached (submitted = placed)",
                              ["bot", "status"], registry=reg)
        self.fills = Counter("qd_paper_fills", "Fills (persisted)", ["bot", "side"], registry=reg)
        self.denials = Counter("qd_paper_risk_denials", "Orders denied by a risk rule", ["bot", "rule"],
                               registry=reg)
        self.strategy_errors = Counter("qd_paper_strategy_errors", "Strategy callbacks that raised (bot stopped)",
                                       ["bot"], registry=reg)
        self.equity = Gauge("qd_paper_equity", "Equity (cash + positions at the last close), quote currency",
                            ["bot", "currency"], registry=reg)
        self.pnl = Gauge("qd_paper_pnl", "P&L in the quote currency: realized (gross of fees) / unrealized",
                         ["bot", "currency", "kind"], registry=reg)
        self.feed_lag = Gauge("qd_paper_feed_lag_seconds", "Delay between a bar being due/closed and processed",
                              ["bot"], registry=reg)
        self.bar_seconds = Histogram("qd_paper_bar_processing_seconds",
                                     "Time the node spends on one bar (strategy, risk, matching, commit)", ["bot"],
                                     buckets=BAR_BUCKETS, registry=reg)
        # ---- API
        self.requests = Counter("qd_api_requests", "HTTP requests", ["method", "route", "status"], registry=reg)
        self.request_seconds = Histogram("qd_api_request_duration_seconds", "HTTP request latency",
                                         ["method", "route", "status"], buckets=REQUEST_BUCKETS, registry=reg)
        self.rate_limited = Counter("qd_api_rate_limited", "Requests refused by the rate limiter", registry=reg)
        self.ws_clients = Gauge("qd_ws_clients", "Connected WebSocket clients", registry=reg)
        self.loop_lag = Histogram("qd_event_loop_lag_seconds", "Lag of the API's asyncio event loop (sampled)",
                                  buckets=LOOP_BUCKETS, registry=reg)
        # ---- alerts
        self.alerts = Counter("qd_alerts", "Alerts raised (not counting de-duplicated ones)", ["kind", "severity"],
                              registry=reg)
        self.deliveries = Counter("qd_alert_deliveries", "Alert deliveries by final status", ["channel", "status"],
                                  registry=reg)
        # ---- anomalies (quantdesk.intel.anomalies: bar anomalies, feed health, whale trades)
        self.anomalies = Counter("qd_anomalies", "Anomalies detected", ["symbol", "kind"], registry=reg)
        self._bots: dict[str, BotTrack] = {}
        self._lock = threading.Lock()
        self._probes: dict[str, Any] = {}
        reg.register(_ScrapeCollector(self))

    # ---- bots ---------------------------------------------------------------------------------------------
    def attach_bot(self, bot: Any) -> BotTrack:
        """Start measuring `bot` (a PaperBot). Call under the node's lock, before its next step."""
        self.detach_bot(bot.name)
        name = bot.name
        eng = bot.engine
        pf = eng.portfolio
        feed = bot.feed
        live = bool(getattr(feed, "live", False))
        track = BotTrack(bot=bot, currency=str(pf.currency), live=live, attached_at=now(),
                         cost=float(pf.cost_basis), failed_polls_at_bar=int(feed.failed_polls))
        track.open_orders = {o.client_order_id: o.status.value for o in eng.orders if not o.is_terminal}
        cur = track.currency
        bars, latency, lag = self.bars.labels(name), self.bar_seconds.labels(name), self.feed_lag.labels(name)
        equity = self.equity.labels(name, cur)
        unrealized = self.pnl.labels(name, cur, "unrealized")
        realized = self.pnl.labels(name, cur, "realized")
        realized.set(float(pf.realized_pnl - pf.total_fees))  # net of fees, as the API reports it
        equity.set(eng.equity_f)
        unrealized.set(0.0)
        lag.set(0.0)
        tf_ns = int(feed.timeframe.nanos)
        pace = 0.0 if live else float(feed.delay())
        clock = feed.clock  # what a live feed's lag is measured against (BarFeed)
        last_end = [track.attached_at]

        def on_bar(ev: Any) -> None:  # BarProcessed (quantdesk.model.bot_events), published after each step
            t0, t1 = ev.started, ev.ended
            latency.observe(t1 - t0)
            bars.inc()
            ts = int(ev.ts_event)
            if live:
                behind = (clock.now_ns() - ts - tf_ns) / 1e9
                track.failed_polls_at_bar = feed.failed_polls
            else:
                behind = t0 - last_end[0] - pace
            behind = behind if behind > 0.0 else 0.0
            lag.set(behind)
            eq = eng.equity_f
            equity.set(eq)
            unrealized.set(eq - eng.cash_f - track.cost)  # market value - cost basis (0 when flat)
            last_end[0] = t1
            track.last_bar_at, track.last_bar_ts, track.lag_s = t1, ts, behind

        def on_commit(ev: Any) -> None:  # BarCommitted
            if ev.orders:
                self._count_orders(name, track.open_orders, ev.orders)
            if ev.fills:
                for row in ev.fills:
                    self.fills.labels(name, str(row["side"])).inc()
                track.cost = float(pf.cost_basis)
                realized.set(float(pf.realized_pnl - pf.total_fees))
            for row in ev.risk_events:
                if row.get("type") == "OrderDenied":
                    self.denials.labels(name, str(row.get("rule") or "unknown")).inc()

        def on_signal(ev: Any) -> None:  # SignalRecorded
            self.signals.labels(name, str(ev.row.get("source") or "manual")).inc()

        def on_strategy(ev: Any) -> None:
            if type(ev).__name__ == "StrategyErrored":
                track.error = f"{ev.callback}: {ev.error}"[:300]
                self.strategy_errors.labels(name).inc()

        unwatch = watch_bot(eng.bus, name, bar=on_bar, commit=on_commit, signal=on_signal)
        eng.bus.subscribe("strategy", on_strategy)

        def undo() -> None:
            unwatch()
            eng.bus.unsubscribe("strategy", on_strategy)
            for gauge, labels in ((self.equity, (name, cur)), (self.pnl, (name, cur, "realized")),
                                  (self.pnl, (name, cur, "unrealized")), (self.feed_lag, (name,))):
                try:
                    gauge.remove(*labels)
                except KeyError:
                    pass

        track.undo.append(undo)
        with self._lock:
            self._bots[name] = track
        return track

    def _count_orders(self, name: str, seen: dict[str, str], rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            cid, status = row["client_order_id"], str(row["status"])
            prev = seen.get(cid)
            if prev == status:
                continue
            if prev is None:
                self.orders.labels(name, "submitted").inc()
                if is_strategy_signal(row):  # every strategy order is a signal (GET /signals lists them)
                    self.signals.labels(name, "strategy").inc()
            if status != "submitted":
                self.orders.labels(name, status).inc()
            if status in TERMINAL:
                seen.pop(cid, None)
            else:
                seen[cid] = status

    def detach_bot(self, name: str) -> None:
        """Stop measuring a bot (stopped / removed): undo the hooks, drop its gauges."""
        with self._lock:
            track = self._bots.pop(name, None)
        if track is not None:
            for fn in track.undo:
                fn()

    def tracks(self) -> dict[str, BotTrack]:
        with self._lock:
            return dict(self._bots)

    # ---- API ------------------------------------------------------------------------------------------------
    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        code = str(status)
        self.requests.labels(method, route, code).inc()
        self.request_seconds.labels(method, route, code).observe(seconds)

    async def sample_loop_lag(self, interval_s: float = 0.25) -> None:
        """Run in the API's event loop (app lifespan): how late `asyncio.sleep(interval)` wakes up."""
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(interval_s)
            self.loop_lag.observe(max(0.0, loop.time() - t0 - interval_s))

    # ---- dependencies ------------------------------------------------------------------------------------------
    def set_probes(self, **probes: Any) -> None:
        """Probes (quantdesk.monitoring.health.Probe) by name: 'database', 'redis'; run at scrape time."""
        self._probes.update(probes)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ScrapeCollector:
    """Values computed when /metrics is scraped: bots by status, risk halts, database and Redis health."""

    def __init__(self, metrics: PlatformMetrics) -> None:
        self.m = metrics

    def describe(self) -> list[Any]:  # registration must not run the probes
        return [GaugeMetricFamily(n, "") for n in ("qd_paper_bots", "qd_paper_risk_halted", "qd_db_up",
                                                    "qd_db_ping_seconds", "qd_redis_up", "qd_redis_ping_seconds")]

    def collect(self) -> Iterable[Any]:
        tracks = self.m.tracks()
        by_status = GaugeMetricFamily("qd_paper_bots", "Paper bots on the node by status", labels=["status"])
        counts: dict[str, int] = {"running": 0, "paused": 0, "finished": 0}
        halted = GaugeMetricFamily("qd_paper_risk_halted", "1 when the bot's risk state is not ACTIVE",
                                   labels=["bot"])
        for name, t in sorted(tracks.items()):
            status = str(t.bot.status)
            counts[status] = counts.get(status, 0) + 1
            state = getattr(getattr(t.bot.engine.risk, "state", None), "value", "ACTIVE")
            halted.add_metric([name], 0.0 if state == "ACTIVE" else 1.0)
        for status, n in sorted(counts.items()):
            by_status.add_metric([status], n)
        yield by_status
        yield halted
        for name, prefix, what in (("database", "qd_db", "the database"), ("redis", "qd_redis", "Redis")):
            probe = self.m._probes.get(name)
            if probe is None:
                continue
            res = probe.result()
            if res.status == "disabled":
                continue
            yield GaugeMetricFamily(f"{prefix}_up", f"1 when {what} answers a ping", value=res.up)
            yield GaugeMetricFamily(f"{prefix}_ping_seconds", f"Ping round trip to {what} (timeout when down)",
                                    value=res.latency_s if res.latency_s is not None else float("nan"))
